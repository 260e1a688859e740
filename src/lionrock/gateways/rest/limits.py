"""Request limits at the HTTP edge: a rate per caller and a size per request body.

STYLE.md: put a limit on everything; going over a limit is a coded reject, not a slowdown. One
ASGI middleware (`LimitsMiddleware`, installed by `install_limits`) runs before routing, so a
request over a limit costs no authentication, no parsing and no engine work; the order entry fast
path, which runs before the middleware, applies the same `RequestGate` (same buckets, same answers):

1. **rate**: a token bucket per signed-in user (all of its keys and sessions share one), and one
   per client address for every request that carries no credential the middleware can name
   cheaply (sign-in, bad or not-yet-verified keys); an empty bucket answers 429 (code 7013)
   with ``Retry-After``. The middleware names the user without argon2 or a database read
   (`AuthStore.known_username`: a key verified in the last ten minutes, a session whose HMAC
   signature holds), so a forged credential counts against its sender's address, never against
   the user it names;
2. **body size**: 1 MiB by default; the TOML uploads and the public application batch (and
   ``POST /v1/commands``, which can carry one) get larger limits, for signed-in callers only.
   A ``Content-Length`` over the limit answers 413 (code 7014) before the body is read; a
   streamed (chunked) body is counted as it arrives and the request is cut off at the limit.

Both answer with the one JSON error body ``{"error": {code, reason, field, message, rule}}``.
`Limited` (raised by a route, e.g. a throttled sign-in) is answered the same way, with its
``Retry-After`` header. Buckets are bounded in number (least recently used dropped first: a
dropped bucket is a full one, which is what an idle caller has anyway).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lionrock.kernel.errors import ServiceError
from lionrock.service.auth import SESSION_COOKIE, AuthStore
from lionrock.service.policy import ServiceCode, ServiceLimits

RULE = "service limits (docs/service.md, Limits)"
_ENC = msgspec.json.Encoder()
_BATCH_PATH = re.compile(r"^/v1/offerings/[^/]+/applications/?$")


class Limited(ServiceError):
    """A request over one of the service's limits (429 or 413), answered with the one error body
    and, for 429, a ``Retry-After`` header in whole seconds."""

    def __init__(self, status: int, code: ServiceCode, field: str, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.status, self.code, self.field, self.message, self.retry_after_s = status, code, field, message, retry_after_s

    def body(self) -> dict[str, Any]:
        return {"error": {"code": int(self.code), "reason": self.code.name, "field": self.field, "message": self.message, "rule": RULE}}

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after_s)} if self.retry_after_s else {}

    def response(self) -> Response:
        return Response(_ENC.encode(self.body()), status_code=self.status, media_type="application/json", headers=self.headers())


class _BodyTooLarge(ServiceError):
    """Raised into the app from ``receive`` when a streamed body passes its limit."""


class TokenBuckets:
    """One token bucket per key: ``burst`` tokens deep, refilled at ``rate_per_s``; a request
    takes one. At most ``max_tracked`` buckets are kept (least recently used dropped first).
    The clock (seconds, monotonic) is injectable for tests."""

    def __init__(self, rate_per_s: int, burst: int, *, max_tracked: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_s < 1 or burst < 1 or max_tracked < 1:
            raise ValueError(
                f"Condition failed: a token bucket needs rate_per_s, burst and max_tracked >= 1, got {rate_per_s}, {burst}, {max_tracked}"
            )
        self.rate_per_s, self.burst, self.max_tracked, self.clock = rate_per_s, burst, max_tracked, clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at_s)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 if there was one, else the seconds until there is."""
        now = self.clock()
        with self._lock:
            tokens, at_s = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at_s) * self.rate_per_s)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate_per_s
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_tracked:
                self._buckets.popitem(last=False)
            return wait


def client_address(connection: HTTPConnection) -> str:
    """The peer's IP address as the server saw it (proxy headers are not trusted: the service
    binds to loopback, and a proxy in front must do its own limiting)."""
    return connection.client.host if connection.client is not None else ""


def retry_after_s(wait_s: float) -> int:
    return max(1, math.ceil(wait_s))


class RequestGate:
    """The limits' buckets and checks, shared by `LimitsMiddleware` and the order entry fast path
    (`order_entry.OrderEntryFastPath`, which runs before the middleware stack): one bucket per
    user whichever of the two answers the request."""

    def __init__(self, auth: AuthStore, limits: ServiceLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.auth, self.limits = auth, limits
        self.users = TokenBuckets(limits.requests_per_s_per_user, limits.request_burst_per_user, clock=clock)
        self.addresses = TokenBuckets(limits.requests_per_s_per_address, limits.request_burst_per_address, clock=clock)

    def take(self, username: str | None, address: str) -> Limited | None:
        """Take a token from the user's bucket (or, with no user named, the address's): the 429
        to answer when it was empty, else None."""
        if username is not None:
            wait, who = self.users.take(username), f"user {username}"
        else:
            wait, who = self.addresses.take(address), "this address (no signed-in user)"
        if wait <= 0:
            return None
        rate = self.limits.requests_per_s_per_user if username is not None else self.limits.requests_per_s_per_address
        message = f"more than {rate} requests per second for {who}: retry after {retry_after_s(wait)} s"
        return Limited(429, ServiceCode.RATE_LIMITED, "", message, retry_after_s(wait))

    def username(self, connection: HTTPConnection) -> str | None:
        key = connection.headers.get("x-api-key", "")
        authorization = connection.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if key:
            return self.auth.known_username(api_key=key)
        return self.auth.known_username(session_token=connection.cookies.get(SESSION_COOKIE, ""))

    def body_limit(self, method: str, path: str, *, signed_in: bool) -> int:
        """The largest body accepted for ``method path``: the uploads and the application batch
        get more, but only for a signed-in caller (no one else may make the server read more)."""
        if signed_in and method == "POST":
            if path.endswith("/toml"):
                return self.limits.max_upload_bytes
            if _BATCH_PATH.match(path) or path == "/v1/commands":
                return self.limits.max_batch_bytes
        return self.limits.max_body_bytes


ADMITTED = "lionrock.admitted"
"""Scope key set by the fast path when it has taken the request's token and passes the request on
(a body the route must judge): the middleware then does not take a second one."""


class LimitsMiddleware:
    """Rate and body-size limits, see the module docstring."""

    def __init__(self, app: ASGIApp, *, gate: RequestGate) -> None:
        self.app, self.gate = app, gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        username = self.gate.username(connection)
        if not scope.get(ADMITTED):
            refused = self.gate.take(username, client_address(connection))
            if refused is not None:
                await self._answer(refused, scope, receive, send)
                return
        limit = self.gate.body_limit(scope["method"], scope["path"], signed_in=username is not None)
        length = connection.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await self._answer(too_large(limit), scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app, counting the body as it streams in; past ``limit`` the app's reading
        fails, whatever the app answers is dropped, and the 413 goes out instead."""
        received, over, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._answer(too_large(limit), scope, receive, send)

    @staticmethod
    async def _answer(limited: Limited, scope: Scope, receive: Receive, send: Send) -> None:
        await limited.response()(scope, receive, send)


def too_large(limit: int) -> Limited:
    return Limited(413, ServiceCode.REQUEST_TOO_LARGE, "body", f"request body larger than {limit:,} bytes (the limit for this endpoint)")


def install_limits(app: FastAPI, gate: RequestGate) -> None:
    """Add the limits middleware and the answer to `Limited` raised by a route."""

    async def _limited(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Limited), exc
        return exc.response()

    app.add_exception_handler(Limited, _limited)
    app.add_middleware(LimitsMiddleware, gate=gate)


__all__ = [
    "ADMITTED",
    "RULE",
    "Limited",
    "LimitsMiddleware",
    "RequestGate",
    "TokenBuckets",
    "client_address",
    "install_limits",
    "retry_after_s",
    "too_large",
]
