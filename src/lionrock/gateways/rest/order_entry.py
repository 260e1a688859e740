"""The order entry fast path: ``POST /v1/orders`` without routing or dependencies.

Under load the REST gateway is bound by Python on its event loop (``bench api``, docs/service.md
"where the time goes"): for a new order, FastAPI's routing and dependency solving cost more than
the order itself. This ASGI middleware answers the common case
directly and hands everything else to the FastAPI route, which stays the one documented
endpoint (OpenAPI ``/docs``) and the one source of every error body for malformed requests.

It takes a request only when all of these hold, and otherwise passes it on untouched (with the
body it read replayed):

- ``POST /v1/orders`` with ``Content-Type: application/json``;
- an API key verified in the last ten minutes whose user is active (`AuthStore.cached_api_key`:
  from memory; a first use, a session cookie, a bad key go the route's way, whose 401 and
  whose argon2 check run off the loop);
- a body that `models.NewOrderIn` decodes: the route's own Struct and decoder (strict ints and
  bools, unknown fields refused, identifiers through the kernel's `parse_identifier`). A body it
  refuses goes to the route, which refuses it with its 400 and field, so the error answers are
  the route's own; the fast path cannot accept what the route would refuse.

It then does what the route does (`orders.place_order`: policy, journal with group commit and
fsync, read model, answer from the outcome) and answers the route's 201 body, or the one error
body of a 400/403/404/422/503 (`http.error_answer`). It sits inside the limits middleware, so
rate and body-size limits apply to it exactly as to the route.
"""

from __future__ import annotations

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lionrock.service.root import Service

from .http import api_key_of, error_answer
from .models import NewOrderIn, decoder
from .orders import place_order

PATH = "/v1/orders"
_ENCODER = msgspec.json.Encoder()
_DECODER = decoder(NewOrderIn)


def decode_order(body: bytes) -> NewOrderIn | None:
    """The order in ``body``, or None when the route must judge it (and answer its 400)."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError:  # msgspec.ValidationError is a DecodeError
        return None


def _is_json(raw_headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in raw_headers:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


class OrderEntryFastPath:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, *, service: Service) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        key = api_key_of(headers)
        principal = self.service.auth.cached_api_key(key) if key else None
        if principal is None or not _is_json(headers):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away before sending its body
            return
        order = decode_order(body)
        if order is None:
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            status, answer = 201, await place_order(self.service, principal, order)
        except Exception as exc:
            known = error_answer(exc)
            if known is None:
                raise
            status, answer = known
        payload = _ENCODER.encode(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read once, then defers to the real one."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


__all__ = ["PATH", "OrderEntryFastPath", "decode_order"]
