"""The REST and WebSocket API (FastAPI; OpenAPI at ``/docs``), wired once.

Each resource module defines its own `APIRouter`; this module only includes them, with the error
handlers that turn every failure into the one JSON error body (`http`) and the documented error
responses. Every request is authenticated (`http.current`: session cookie from
``POST /v1/session``, or an API key), every command is checked by the service policy (role,
tenancy) and journaled with who sent it and through which channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from lionrock.readmodel.tenancy import NotVisible
from lionrock.service.policy import Denied, ServiceCode
from lionrock.service.root import Service
from lionrock.service.writer import RunnerStopped

from . import auth, commands, issuers, market, offerings, orders, records, streams, users, venue
from .docs import mount_docs
from .http import ApiError, error_answer, internal_error, service_error, struct_response, struct_schemas
from .limits import RequestGate, install_limits
from .models import SCHEMA_RULE, ErrorOut
from .order_entry import PATH, OrderEntryFastPath

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: struct_response(ErrorOut, description)
    for status, description in (
        (400, "Malformed request: the field named broke the request schema or a parser's bound (price, quantity, identifier)."),
        (401, "Not signed in (session cookie or API key)."),
        (403, "The caller's role may not do this."),
        (404, "Unknown object, or another tenant's (tenancy never confirms that an id exists)."),
        (409, "Conflict with the current state (e.g. an operator disabling itself)."),
        (413, "Request body too large."),
        (422, "The engine rejected the command: its coded rejection and the rule cited."),
        (429, "Too many requests or login attempts (Retry-After says when to retry)."),
        (503, "The engine is not available."),
        (500, "A bug: code 7016 INTERNAL_ERROR, with a reference to the server's log (never a traceback)."),
    )
}
"""Every error answer is the one JSON body (`ErrorOut`); the OpenAPI document declares it on every route."""
_HTTP_CODES = {
    401: ServiceCode.UNAUTHENTICATED,
    403: ServiceCode.ROLE_NOT_ALLOWED,
    404: ServiceCode.NOT_FOUND,
    503: ServiceCode.ENGINE_UNAVAILABLE,
}
"""The service code of a framework HTTP error by status (any other: MALFORMED_REQUEST)."""
ROUTERS = (
    auth.router,
    commands.router,
    orders.router,
    market.router,
    records.router,
    offerings.router,
    issuers.router,
    users.router,
    venue.router,
    streams.router,
)


class LionRockApi(FastAPI):
    """The API: FastAPI, with ``POST /v1/orders`` handed to the order entry fast path before the
    middleware stack (`order_entry`), which passes on what it does not answer."""

    order_entry: OrderEntryFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.order_entry is not None and scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            await self.order_entry(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def through_stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app without the fast path: the middleware stack and the routes."""
        await super().__call__(scope, receive, send)


def create_app(service: Service, *, clock: Callable[[], float] = time.monotonic) -> LionRockApi:
    """The API over ``service``; ``clock`` (seconds, monotonic) is the rate limits' (tests)."""
    app = LionRockApi(
        title="Lion Rock",
        version="0.1.0",
        description="Listing, IPO offering, trading, clearing and Stock Connect under Hong Kong rules. "
        "Authenticate with POST /v1/session (cookie) or an API key (Authorization: Bearer lr_...).",
        responses=ERROR_RESPONSES,
        docs_url=None,
        redoc_url=None,
        # The service configures no OpenTelemetry provider; FastAPI's check for one on every request
        # (its native telemetry) was about 9% of the event loop's GIL time under bench api.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    mount_docs(app)  # /docs and /redoc from vendored files: they work offline (docs.py)
    app.state.service = service
    _install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    _document_struct_bodies(app)
    gate = RequestGate(service.auth, service.limits, clock)
    install_limits(app, gate)
    app.order_entry = OrderEntryFastPath(app.through_stack, service=service, gate=gate)
    return app


def _document_struct_bodies(app: FastAPI) -> None:
    """Request and response bodies are msgspec Structs (``http.struct_body``, ``http.struct_response``)
    that refer to their JSON schemas under ``components.schemas``: add them to the document FastAPI
    builds (paths, path and query parameters)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            document.setdefault("components", {}).setdefault("schemas", {}).update(struct_schemas())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    async def _service_failure(request: Request, exc: Exception) -> JSONResponse:
        answer = error_answer(exc)
        assert answer is not None, exc
        return JSONResponse(answer[1], status_code=answer[0], headers=exc.headers if isinstance(exc, ApiError) else None)

    for failure in (ApiError, NotVisible, Denied, RunnerStopped):
        app.add_exception_handler(failure, _service_failure)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        """Anything else is a bug: 500 in the one error body (Starlette's error middleware calls
        this instead of answering plain text), the traceback only in the server's log."""
        status, body = internal_error(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Errors raised by the framework itself (a body that is not JSON, bad multipart data, an
        unknown route, a wrong method) in the one error body too, never ``{"detail": ...}``."""
        code = _HTTP_CODES.get(exc.status_code, ServiceCode.MALFORMED_REQUEST)
        body = service_error(exc.status_code, code, "", str(exc.detail), "HTTP request (OpenAPI /docs)").body
        return JSONResponse({"error": body}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        body = {
            "code": int(ServiceCode.MALFORMED_REQUEST),
            "reason": ServiceCode.MALFORMED_REQUEST.name,
            "field": ".".join(loc),
            "message": str(first.get("msg", "invalid request")),
            "rule": SCHEMA_RULE,
            "details": [{"field": ".".join(str(x) for x in e.get("loc", ())), "message": e.get("msg", "")} for e in errors],
        }
        return JSONResponse({"error": body}, status_code=400)


__all__ = ["ERROR_RESPONSES", "ROUTERS", "LionRockApi", "create_app"]
