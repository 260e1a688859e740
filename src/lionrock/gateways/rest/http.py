"""The bottom of the REST gateway: the one error body, JSON responses, and the one caller.

Every router imports this module, never the app, so no import cycle can form (FastAPI's "bigger
applications" layout). Every answer that is not a success is one JSON body::

    {"error": {"code": 2003, "reason": "PRICE_NOT_ON_TICK", "field": "price",
               "message": "...", "rule": "Trading Rules, spread table"}}

Status codes: 400 malformed request (field named), 401 not signed in, 403 role may not do this,
404 unknown object or another tenant's object (tenancy never confirms that an id exists),
422 the engine rejected the command (its `Rejection`, code and rule), 503 engine stopped, 500 a
bug (code 7016, with a reference to the server's log; the traceback never reaches the client).

`identify` is "who is calling", once, for REST, the WebSockets and the dashboard: an API key
(``Authorization: Bearer lr_…`` or ``X-API-Key``; on a WebSocket also ``?key=``, since browsers
cannot set headers there) or the session cookie.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.requests import HTTPConnection

from lionrock.engine import Outcome
from lionrock.files.schema import json_schema_components
from lionrock.kernel.errors import Reject, Rejection, ServiceError, invariant
from lionrock.readmodel.tenancy import NotVisible, Principal, Role
from lionrock.service.auth import SESSION_COOKIE, AuthError
from lionrock.service.policy import Denied, ServiceCode
from lionrock.service.root import Service
from lionrock.service.writer import RunnerStopped

from .models import SCHEMA_RULE, BodyError, decode_body

_LOG = logging.getLogger("lionrock.api")

_ENCODER = msgspec.json.Encoder()
POLICY_RULE = "service access policy (docs/service.md)"
CHANNEL = "REST"
"""The channel a REST command carries: set by the server, never by the caller."""


class ApiError(ServiceError):
    """An answer other than success: an HTTP status and the one error body."""

    def __init__(
        self, status: int, code: int, reason: str, field: str, message: str, rule: str = "", *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "reason": reason, "field": field, "message": message, "rule": rule}
        self.headers = headers
        """Extra response headers (``Retry-After`` on a 429)."""


def service_error(
    status: int, code: ServiceCode, field: str, message: str, rule: str = POLICY_RULE, *, headers: dict[str, str] | None = None
) -> ApiError:
    return ApiError(status, int(code), code.name, field, message, rule, headers=headers)


def rejection_error(rejection: Rejection) -> ApiError:
    return ApiError(422, rejection.code, rejection.reason, rejection.field, rejection.message, rejection.rule)


def not_found(exc: NotVisible) -> ApiError:
    return service_error(404, ServiceCode.NOT_FOUND, exc.field, exc.message)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(_ENCODER.encode(obj), status_code=status, media_type="application/json")


def event_body(event: Any) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(event)
    body["type"] = type(event).__name__
    return body


def events_json(outcome: Outcome) -> list[msgspec.Raw]:
    """The outcome's events as JSON straight from their Structs (tagged: ``"type"`` comes first),
    for an answer that only passes them on (the order entry hot path); the same objects as
    `event_body`'s."""
    return [msgspec.Raw(_ENCODER.encode(event)) for event in outcome.events]


def outcome_body(outcome: Outcome) -> dict[str, Any]:
    return {"seq": outcome.seq, "at_ns": outcome.at_ns, "events": [event_body(e) for e in outcome.events]}


def need(p: Principal, *roles: Role) -> None:
    """403 unless the caller has one of ``roles``."""
    if p.role not in roles:
        raise service_error(403, ServiceCode.ROLE_NOT_ALLOWED, "role", f"role {p.role} may not do this (needs {', '.join(roles)})")


def internal_error(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """A bug's answer: 500 in the one error body, with a reference the server logged beside the
    traceback (which never reaches the client)."""
    reference = secrets.token_hex(4)
    _LOG.error("internal error %s: %r", reference, exc, exc_info=exc)
    message = f"internal error; the server logged it under reference {reference}"
    return 500, {"error": service_error(500, ServiceCode.INTERNAL_ERROR, "", message, "").body}


def error_answer(exc: BaseException) -> tuple[int, dict[str, Any]] | None:
    """The HTTP status and the one error body of a service failure (`ApiError`, `NotVisible`,
    `Denied`, `RunnerStopped`); None for anything else (a bug: `internal_error` answers it)."""
    match exc:
        case ApiError():
            return exc.status, {"error": exc.body}
        case NotVisible():
            return 404, {"error": not_found(exc).body}
        case Denied():
            return exc.status, {"error": exc.body()}
        case RunnerStopped():
            status = getattr(exc, "status", 503)  # 504: stored on the bus, its outcome late (lionrock.scale.edge)
            return status, {"error": service_error(status, ServiceCode.ENGINE_UNAVAILABLE, "", str(exc)).body}
    return None


_STRUCT_SCHEMAS: dict[str, Any] = {}
"""JSON schemas of the bodies that msgspec Structs decode or describe (`struct_body`,
`struct_response`), by component name."""


def _struct_ref(struct: type) -> dict[str, Any]:
    """``struct``'s schema reference, its components registered for the OpenAPI document (one Struct per name)."""
    (ref,), components = json_schema_components([struct])
    for name, schema in components.items():
        invariant(_STRUCT_SCHEMAS.setdefault(name, schema) == schema, "two request or response Structs named %s", name)
    return ref


def struct_body(struct: type, description: str, *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a route that decodes its JSON body with ``struct`` (`json_body`, or
    an input file's own Struct): the request body's schema is the Struct's JSON schema."""
    ref = _struct_ref(struct)
    return {"requestBody": {"required": required, "description": description, "content": {"application/json": {"schema": ref}}}}


def struct_response(struct: type, description: str) -> dict[str, Any]:
    """A documented response whose body is ``struct`` (for a route's or the app's ``responses``)."""
    return {"description": description, "content": {"application/json": {"schema": _struct_ref(struct)}}}


def struct_schemas() -> dict[str, Any]:
    """The components of every `struct_body` and `struct_response`, for ``components.schemas`` of the OpenAPI document."""
    return dict(_STRUCT_SCHEMAS)


def schema_error(exc: Reject) -> ApiError:
    """A request body that broke its Struct's schema (a `Reject` naming the field): 400, the field's dotted path."""
    r = exc.rejection
    return service_error(400, ServiceCode.MALFORMED_REQUEST, r.field, r.message, r.rule or SCHEMA_RULE)


def body_error(exc: BodyError) -> ApiError:
    """A body that is not JSON or breaks its Struct: 400 naming the field, the error also in ``details``."""
    error = service_error(400, ServiceCode.MALFORMED_REQUEST, exc.field, exc.message, SCHEMA_RULE)
    error.body["details"] = [{"field": exc.field, "message": exc.message}]
    return error


def read_body[T](raw: bytes, struct: type[T]) -> T:
    """``raw`` decoded to ``struct`` (`models.decode_body`), or the 400 of `body_error`."""
    try:
        return decode_body(raw, struct)
    except BodyError as exc:
        raise body_error(exc) from exc


def json_body[T](struct: type[T], *, optional: bool = False) -> Any:
    """A dependency giving the request's JSON body as ``struct`` (400 naming the field otherwise);
    ``optional``: no body or ``null`` is ``struct()``. Document it with `struct_body`."""

    async def read(request: Request) -> T:
        raw = await request.body()
        if not optional:
            return read_body(raw, struct)
        if not raw.strip():
            return struct()
        given: T | None = read_body(raw, struct | None)  # type: ignore[arg-type]
        return struct() if given is None else given

    return Depends(read)


def service_of(connection: HTTPConnection) -> Service:
    service: Service = connection.app.state.service
    return service


def api_key_of(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The API key a request carries (``Authorization: Bearer …`` wins over ``X-API-Key``, even
    when empty; the first header of each name counts), or "" when it carries none. Reads the ASGI scope's raw
    headers, so the order entry fast path and `identify` agree without building `Headers`."""
    key, bearer = "", None
    seen_key = seen_authorization = False
    for name, value in raw_headers:
        if name == b"x-api-key" and not seen_key:
            key, seen_key = value.decode("latin-1"), True
        elif name == b"authorization" and not seen_authorization:
            seen_authorization = True
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                bearer = text[7:].strip()
    return key if bearer is None else bearer


def identify(connection: HTTPConnection) -> Principal | None:
    """The caller of a request or WebSocket, or None when it sent no credential; a credential that
    does not verify raises `AuthError`. May read the auth store: call it off the event loop."""
    service = service_of(connection)
    key = api_key_of(connection.scope["headers"])
    if not key and connection.scope["type"] == "websocket":
        key = connection.query_params.get("key") or ""
    if key:
        return service.auth.verify_api_key(key)
    token = connection.cookies.get(SESSION_COOKIE)
    return service.auth.verify_session(token) if token else None


def _caller(request: Request) -> Principal:
    try:
        principal = identify(request)
    except AuthError as exc:
        raise service_error(401, ServiceCode.UNAUTHENTICATED, "authorization", str(exc)) from exc
    if principal is None:
        raise service_error(401, ServiceCode.UNAUTHENTICATED, "authorization", "sign in (POST /v1/session) or send an API key")
    return principal


async def current(request: Request) -> Principal:
    """The REST dependency: the caller, or 401. An API key verified in the last ten minutes is
    answered from memory on the event loop; anything else (argon2, the user's row, a session's
    epoch) is checked in a worker thread, never on the loop."""
    key = api_key_of(request.scope["headers"])
    if key:
        cached = service_of(request).auth.cached_api_key(key)
        if cached is not None:
            return cached
    return await asyncio.to_thread(_caller, request)


async def _service(request: Request) -> Service:
    return service_of(request)


Me = Annotated[Principal, Depends(current)]
Svc = Annotated[Service, Depends(_service)]
"""The service, as a dependency (async: no worker thread for a lookup)."""

__all__ = [
    "CHANNEL",
    "POLICY_RULE",
    "ApiError",
    "Me",
    "Svc",
    "api_key_of",
    "body_error",
    "current",
    "error_answer",
    "event_body",
    "events_json",
    "identify",
    "json_body",
    "json_response",
    "need",
    "not_found",
    "outcome_body",
    "read_body",
    "rejection_error",
    "schema_error",
    "service_error",
    "service_of",
    "struct_body",
    "struct_response",
    "struct_schemas",
]
