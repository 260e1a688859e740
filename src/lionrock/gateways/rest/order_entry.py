"""The order entry fast path: ``POST /v1/orders`` without routing or dependencies.

Under load the REST gateway is bound by Python on its event loop (``bench api``, docs/service.md
"where the time goes"): for a new order, FastAPI's routing and dependency solving cost more than
the order itself, and its middleware stack (error, telemetry, body-limit and limits layers, each
wrapping ``send``) about a fifth of the loop's GIL time. The app (`app.LionRockApi`) hands
``POST /v1/orders`` to this ASGI app before that stack; it answers the common case directly and
hands everything else to the stack and the FastAPI route, which stays the one documented
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
body of a 400/403/404/422/503 (`http.error_answer`). It applies the service's limits itself, with
the limits middleware's own `limits.RequestGate` (the caller's token bucket, the body size, the
same 429 and 413), and a request it passes on after taking the token is marked so the
middleware does not take another.
"""

from __future__ import annotations

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lionrock.service.root import Service

from .http import api_key_of, error_answer, internal_error
from .limits import ADMITTED, Limited, RequestGate, too_large
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
    """ASGI app for ``POST /v1/orders`` in front of the middleware stack: see the module docstring.
    ``app`` is the whole stack, for whatever this does not answer."""

    def __init__(self, app: ASGIApp, *, service: Service, gate: RequestGate) -> None:
        self.app, self.service, self.gate = app, service, gate
        self.body_limit = gate.body_limit("POST", PATH, signed_in=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        key = api_key_of(headers)
        principal = self.service.auth.cached_api_key(key) if key else None
        if principal is None or not _is_json(headers):
            await self.app(scope, receive, send)
            return
        try:
            refused = self.gate.take(principal.username, "")
            if refused is not None:
                raise refused
            if _content_length(headers) > self.body_limit:
                raise too_large(self.body_limit)
            body = await _read_body(receive, self.body_limit)
        except Limited as limited:
            await _send(send, limited.status, _ENCODER.encode(limited.body()), limited.headers())
            return
        if body is None:  # the client went away before sending its body
            return
        order = decode_order(body)
        if order is None:
            scope[ADMITTED] = True  # the token is taken: the limits middleware must not take another
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            status, answer = 201, await place_order(self.service, principal, order)
        except Exception as exc:
            status, answer = error_answer(exc) or internal_error(exc)  # a bug: 500 in the one body, as the app's handler answers
        await _send(send, status, _ENCODER.encode(answer))


async def _send(send: Send, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
    raw = [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _content_length(raw_headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in raw_headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The body, or None when the client went away first; `Limited` (413) past ``limit`` bytes (a
    streamed body is counted as it comes)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
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
