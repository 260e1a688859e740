"""The REST and WebSocket API (FastAPI; OpenAPI at ``/docs``).

Every request is authenticated (session cookie from ``POST /v1/session``, or an API key in
``Authorization: Bearer lr_…`` / ``X-API-Key``), every command is checked by the service policy
(role, tenancy) and audited, and every answer that is not a success is a structured error body::

    {"error": {"code": 2003, "reason": "PRICE_NOT_ON_TICK", "field": "price",
               "message": "...", "rule": "Trading Rules, spread table"}}

Status codes: 400 malformed request (field named), 401 not signed in, 403 role may not do this,
404 unknown object or another tenant's object (tenancy never confirms that an id exists),
422 the engine rejected the command (its `Rejection`, code and rule), 503 engine stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lionrock.engine import Outcome
from lionrock.gateways.rest.models import (
    AfterSeq,
    AmendOrderIn,
    ApiKeyOut,
    ErrorOut,
    IdentifierPath,
    IdentifierQuery,
    InstrumentPath,
    Levels,
    LoginIn,
    NewOrderIn,
    NewUserIn,
    OrderIdPath,
    OutcomeOut,
    RowsLimit,
    ShortTextQuery,
    TradesLimit,
)
from lionrock.kernel.errors import Rejection
from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.messages import Codec, Command, command_types
from lionrock.readmodel import queries
from lionrock.service.auth import SESSION_COOKIE, AuthError, LoginThrottled, Principal, Role
from lionrock.service.policy import Denied, ServiceCode
from lionrock.service.root import Published, Service
from lionrock.service.writer import RunnerStopped

_ENC = msgspec.json.Encoder()


class ApiError(Exception):
    def __init__(self, status: int, code: int, reason: str, field: str, message: str, rule: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "reason": reason, "field": field, "message": message, "rule": rule}


def _err(status: int, code: ServiceCode, field: str, message: str) -> ApiError:
    return ApiError(status, int(code), code.name, field, message, "service access policy (docs/service.md)")


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(_ENC.encode(obj), status_code=status, media_type="application/json")


def rejection_error(r: Rejection) -> ApiError:
    return ApiError(422, r.code, r.reason, r.field, r.message, r.rule)


def outcome_body(outcome: Outcome) -> dict[str, Any]:
    return {"seq": outcome.seq, "at_ns": outcome.at_ns, "events": [msgspec.to_builtins(e) | {"type": type(e).__name__} for e in outcome.events]}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
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
    )
}
"""Every error answer is the one JSON body (`ErrorOut`); the OpenAPI document declares it on every route."""
_HTTP_CODES = {401: ServiceCode.UNAUTHENTICATED, 403: ServiceCode.ROLE_NOT_ALLOWED, 404: ServiceCode.NOT_FOUND, 503: ServiceCode.ENGINE_UNAVAILABLE}
"""The service code of a framework HTTP error by status (any other: MALFORMED_REQUEST)."""
_CHANNEL = "REST"
"""The channel a REST command carries: set by the server, never by the caller."""


def current(request: Request) -> Principal:
    """The caller: API key (``Authorization: Bearer`` or ``X-API-Key``) or session cookie."""
    service: Service = request.app.state.service
    key = request.headers.get("x-api-key")
    authz = request.headers.get("authorization", "")
    if authz.lower().startswith("bearer "):
        key = authz[7:].strip()
    try:
        if key:
            return service.auth.verify_api_key(key)
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            return service.auth.verify_session(token)
    except AuthError as exc:
        raise _err(401, ServiceCode.UNAUTHENTICATED, "authorization", str(exc)) from exc
    raise _err(401, ServiceCode.UNAUTHENTICATED, "authorization", "sign in (POST /v1/session) or send an API key")


Me = Annotated[Principal, Depends(current)]


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="Lion Rock",
        version="0.1.0",
        description="Listing, IPO offering, trading, clearing and Stock Connect under Hong Kong rules. "
        "Authenticate with POST /v1/session (cookie) or an API key (Authorization: Bearer lr_...).",
        responses=ERROR_RESPONSES,
    )
    app.state.service = service
    codec = Codec()

    # -- errors ---------------------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.body}, status_code=exc.status)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> JSONResponse:
        return JSONResponse({"error": exc.body()}, status_code=exc.status)

    @app.exception_handler(RunnerStopped)
    async def _stopped(request: Request, exc: RunnerStopped) -> JSONResponse:
        body = _err(503, ServiceCode.ENGINE_UNAVAILABLE, "", str(exc)).body
        return JSONResponse({"error": body}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Errors raised by the framework itself (a body that is not JSON, bad multipart data, an
        unknown route, a wrong method) in the one error body too, never ``{"detail": ...}``."""
        code = _HTTP_CODES.get(exc.status_code, ServiceCode.MALFORMED_REQUEST)
        body = _err(exc.status_code, code, "", str(exc.detail)).body | {"rule": "HTTP request (OpenAPI /docs)"}
        return JSONResponse({"error": body}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        body = {
            "code": int(ServiceCode.MALFORMED_REQUEST), "reason": ServiceCode.MALFORMED_REQUEST.name,
            "field": ".".join(loc), "message": str(first.get("msg", "invalid request")), "rule": "request schema (OpenAPI /docs)",
            "details": [{"field": ".".join(str(x) for x in e.get("loc", ())), "message": e.get("msg", "")} for e in errors],
        }
        return JSONResponse({"error": body}, status_code=400)

    # -- authentication -------------------------------------------------------------------------
    def need(p: Principal, *roles: Role) -> None:
        if p.role not in roles:
            raise _err(403, ServiceCode.ROLE_NOT_ALLOWED, "role", f"role {p.role} may not do this (needs {', '.join(roles)})")

    @app.post("/v1/session", tags=["auth"])
    def login(body: LoginIn, request: Request) -> Response:
        from lionrock.gateways.rest.limits import Limited, client_address

        try:
            p = service.auth.verify_password(body.username, body.password, address=client_address(request))
        except LoginThrottled as exc:
            service.auth.audit(body.username, "", "session", "login", client_address(request), "throttled", str(exc))
            raise Limited(429, ServiceCode.LOGIN_THROTTLED, "username", str(exc), exc.retry_after_s) from exc
        except AuthError as exc:
            service.auth.audit(body.username, "", "session", "login", "", "failed", "")
            raise _err(401, ServiceCode.UNAUTHENTICATED, "password", str(exc)) from exc
        service.auth.audit(p.username, str(p.role), "session", "login", "", "ok")
        resp = json_response(p.public())
        resp.set_cookie(SESSION_COOKIE, service.auth.issue_session(p.username), httponly=True, samesite="strict", max_age=service.auth.session_ttl_s)
        return resp

    @app.delete("/v1/session", tags=["auth"])
    def logout(p: Me) -> Response:
        service.auth.revoke_sessions(p.username)  # the cookie's token (and any copy) stops working
        service.auth.audit(p.username, str(p.role), p.via, "logout", "", "ok")
        resp = json_response({"signed_out": True})
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.get("/v1/me", tags=["auth"])
    def me(p: Me) -> dict[str, Any]:
        return p.public() | {"via": p.via}

    @app.post("/v1/api-keys", tags=["auth"], response_model=ApiKeyOut)
    def new_key(p: Me, label: Annotated[str, Query(max_length=64)] = "") -> ApiKeyOut:
        try:
            parse_identifier(label, "label", allow_empty=True)
        except ValueError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, "label", str(exc)) from exc
        key = service.auth.create_api_key(p.username, label)
        service.auth.audit(p.username, str(p.role), p.via, "api_key:create", key.split("_")[1], "ok", label)
        return ApiKeyOut(key=key, key_id=key.split("_")[1], label=label)

    @app.get("/v1/api-keys", tags=["auth"])
    def list_keys(p: Me) -> list[dict[str, Any]]:
        return service.auth.api_keys(p.username)

    @app.delete("/v1/api-keys/{key_id}", tags=["auth"])
    def revoke_key(key_id: IdentifierPath, p: Me) -> dict[str, Any]:
        if not service.auth.revoke_api_key(p.username, key_id):
            raise _err(404, ServiceCode.NOT_FOUND, "key_id", f"no API key {key_id} of yours")
        service.auth.audit(p.username, str(p.role), p.via, "api_key:revoke", key_id, "ok")
        return {"revoked": key_id}

    @app.post("/v1/users", tags=["auth"])
    def create_user(body: NewUserIn, p: Me) -> dict[str, Any]:
        need(p, Role.OPERATOR)
        try:
            u = service.auth.create_user(
                body.username, body.password, body.role, participant=body.participant, accounts=body.accounts,
                offerings=body.offerings, issuers=body.issuers,
            )
        except ValueError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, "username", str(exc)) from exc
        service.auth.audit(p.username, str(p.role), p.via, "user:create", body.username, "ok", body.role)
        return u.public()

    @app.get("/v1/users", tags=["auth"])
    def list_users(p: Me) -> list[dict[str, Any]]:
        need(p, Role.OPERATOR, Role.REGULATOR)
        return [u.public() for u in service.auth.users()]

    @app.get("/v1/audit", tags=["auth"])
    def audit(p: Me, actor: IdentifierQuery = None, limit: RowsLimit = 200) -> list[dict[str, Any]]:
        if not p.sees_all:
            actor = p.username  # everyone may read what they did; only operators/regulators everyone's
        return service.auth.audit_log(actor=actor, limit=min(limit, 5000))

    # -- commands (generic) --------------------------------------------------------------------------
    @app.get("/v1/commands", tags=["commands"])
    def list_command_types(p: Me) -> dict[str, Any]:
        """Every command type the engine knows, with its JSON schema."""
        types = [t for t in command_types() if t in service.engine._routes]  # noqa: SLF001
        _, components = msgspec.json.schema_components(types)
        return {"types": [t.__name__ for t in types], "schemas": components}

    @app.post("/v1/commands", tags=["commands"], response_model=OutcomeOut)
    async def post_command(request: Request, p: Me) -> Response:
        """Submit any command as JSON ``{"type": "<CommandName>", ...fields}``; checked by role and tenancy."""
        raw = await request.body()
        try:
            command = codec.command_from_json(raw)
        except msgspec.ValidationError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, _field_of(str(exc)), str(exc)) from exc
        except msgspec.DecodeError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, "", f"not JSON: {exc}") from exc
        try:
            command = _server_fields(command)
        except ValueError as exc:  # an identifier outside the charset (parse_identifier)
            field, _, message = str(exc).partition(": ")
            raise _err(400, ServiceCode.MALFORMED_REQUEST, field, message) from exc
        outcome = await service.submit(p, command)
        if outcome.rejection is not None:
            raise rejection_error(outcome.rejection)
        return json_response(outcome_body(outcome))

    # -- orders ----------------------------------------------------------------------------------
    @app.post("/v1/orders", tags=["orders"], status_code=201)
    async def new_order(body: NewOrderIn, p: Me) -> Response:
        command = queries.place_order_command(p, body)
        outcome = await service.submit(p, command)
        if outcome.rejection is not None:
            raise rejection_error(outcome.rejection)
        order = queries.order_from_outcome(service, outcome, command)
        if order is None:  # e.g. rejected by trading via an observed event (OrderRejected)
            rej = queries.order_rejection(outcome)
            if rej is not None:
                raise rejection_error(rej)
        return json_response({"order": order, "seq": outcome.seq, "events": outcome_body(outcome)["events"]}, 201)

    @app.get("/v1/orders", tags=["orders"])
    def my_orders(p: Me, status: ShortTextQuery = None, instrument: IdentifierQuery = None, limit: RowsLimit = 200) -> Response:
        return json_response(queries.orders(service, p, status=status, instrument=instrument, limit=min(limit, 5000)))

    @app.get("/v1/orders/{order_id}", tags=["orders"])
    def order_status(order_id: OrderIdPath, p: Me) -> Response:
        return json_response(queries.order_for(service, p, order_id))

    @app.delete("/v1/orders/{order_id}", tags=["orders"])
    async def cancel_order(order_id: OrderIdPath, p: Me) -> Response:
        order = queries.order_for(service, p, order_id, write=True)
        command = queries.cancel_order_command(order)
        outcome = await service.submit(p, command)
        if outcome.rejection is not None:
            raise rejection_error(outcome.rejection)
        return json_response({"order": queries.order_for(service, p, order_id), "seq": outcome.seq})

    @app.patch("/v1/orders/{order_id}", tags=["orders"])
    async def amend_order(order_id: OrderIdPath, body: AmendOrderIn, p: Me) -> Response:
        order = queries.order_for(service, p, order_id, write=True)
        command = queries.amend_order_command(order, body)
        outcome = await service.submit(p, command)
        if outcome.rejection is not None:
            raise rejection_error(outcome.rejection)
        return json_response({"order": queries.order_for(service, p, order_id), "seq": outcome.seq})

    # -- accounts, market data, offerings, issuers, events ------------------------------------------
    @app.get("/v1/accounts", tags=["accounts"])
    def accounts(p: Me) -> Response:
        return json_response(queries.accounts(service, p))

    @app.get("/v1/accounts/{account}/positions", tags=["accounts"])
    def positions(account: IdentifierPath, p: Me) -> Response:
        """The account's balances in the clearing ledger (cash per currency, ``SEC:<security>`` shares)."""
        if not p.can_read_account(account):
            raise _err(404, ServiceCode.NOT_FOUND, "account", f"no account {account} of yours")
        return json_response(queries.positions(service, [account]))

    @app.get("/v1/market/instruments", tags=["market data"])
    def instruments(p: Me) -> Response:
        return json_response(queries.instruments(service))

    @app.get("/v1/market/{instrument}/depth", tags=["market data"])
    def depth(instrument: InstrumentPath, p: Me, levels: Levels = 10) -> Response:
        return json_response(queries.depth(service, instrument, min(levels, 50)))

    @app.get("/v1/market/{instrument}/trades", tags=["market data"])
    def trades(instrument: InstrumentPath, p: Me, limit: TradesLimit = 100) -> Response:
        return json_response(queries.trades(service, instrument, min(limit, 2000)))

    @app.get("/v1/market/{instrument}/bars", tags=["market data"])
    def bars(instrument: str, p: Me, interval: int = 60, limit: int = 500) -> Response:
        """OHLCV bars aligned to Hong Kong time, oldest first: ``interval`` in seconds (60, 300,
        900, 3600, ...: a multiple of 60 that divides a day), the newest ``limit`` (1-5000)."""
        if interval < 60 or interval % 60 or 86_400 % interval:
            raise _err(422, ServiceCode.MALFORMED_REQUEST, "interval", f"bar interval must be a multiple of 60 seconds that divides a day (60, 300, 900, 3600, ...), got {interval}")
        if not 1 <= limit <= 5000:
            raise _err(422, ServiceCode.MALFORMED_REQUEST, "limit", f"limit must be 1-5000 bars, got {limit}")
        return json_response(queries.bars(service, instrument, interval, limit))

    @app.get("/v1/market/{instrument}/short-selling", tags=["market data"])
    def short_selling(instrument: str, p: Me, days: int = 20) -> Response:
        """Short-selling shares, turnover and share of turnover by Hong Kong trading day, oldest
        first, the newest ``days`` (1-250) days with trades."""
        if not 1 <= days <= 250:
            raise _err(422, ServiceCode.MALFORMED_REQUEST, "days", f"days must be 1-250, got {days}")
        return json_response(queries.short_selling(service, instrument, days))

    @app.get("/v1/offerings", tags=["offerings"])
    def offerings(p: Me) -> Response:
        return json_response(queries.offerings(service, p))

    @app.get("/v1/offerings/{offering_id}", tags=["offerings"])
    def offering(offering_id: IdentifierPath, p: Me) -> Response:
        return json_response(queries.offering(service, p, offering_id))

    @app.get("/v1/issuers", tags=["issuers"])
    def issuers(p: Me) -> Response:
        return json_response(queries.issuers(service, p))

    @app.get("/v1/issuers/{issuer_id}", tags=["issuers"])
    def issuer(issuer_id: IdentifierPath, p: Me) -> Response:
        return json_response(queries.issuer(service, p, issuer_id))

    @app.get("/v1/events", tags=["events"])
    def events(p: Me, after: AfterSeq = 0, type: ShortTextQuery = None, limit: RowsLimit = 500) -> Response:  # noqa: A002
        return json_response(queries.events(service, p, after=after, type_=type, limit=min(limit, 5000)))

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, Any]:
        return service.health()

    # -- WebSockets ----------------------------------------------------------------------------------
    async def ws_principal(ws: WebSocket) -> Principal | None:
        key = ws.query_params.get("key") or ws.headers.get("x-api-key")
        try:
            if key:
                return service.auth.verify_api_key(key)
            token = ws.cookies.get(SESSION_COOKIE)
            if token:
                return service.auth.verify_session(token)
        except AuthError:
            return None
        return None

    async def pump(ws: WebSocket, accept: Any, first: Any = None, shape: Any = None, user: str = "") -> None:
        sub_id, q = service.hub.subscribe(accept)  # subscribe, then snapshot: no event falls between
        after = 0
        try:
            if first is not None:  # () -> message with the "seq" it reflects; events up to it are in it
                message = first()
                after = message["seq"]
                await ws.send_text(_ENC.encode(message).decode())
            receiver = asyncio.ensure_future(ws.receive_text())
            while True:
                getter = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait({getter, receiver}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                if user and not service.auth.is_active(user):  # disabled by an operator: checked at least once a second
                    getter.cancel()
                    await ws.close(code=4403, reason="user disabled")
                    return
                if not done:
                    getter.cancel()
                    continue
                if receiver in done:
                    getter.cancel()
                    receiver.result()  # raises WebSocketDisconnect when the client leaves
                    receiver = asyncio.ensure_future(ws.receive_text())
                    continue
                pub = getter.result()
                if pub is None:
                    await ws.close(code=1013, reason="too slow: more than 10,000 events behind")
                    return
                if pub.seq <= after:  # already reflected in the snapshot
                    continue
                message = _ws_message(pub) if shape is None else shape(pub, q.empty())
                await ws.send_text(_ENC.encode(message).decode())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            service.hub.unsubscribe(sub_id)
            with contextlib.suppress(Exception):
                receiver.cancel()

    @app.websocket("/v1/ws/market/{instrument}")
    async def ws_market(ws: WebSocket, instrument: str) -> None:
        """Trades, depth changes and auction indicative prices of one instrument (no account names).
        The first message is a snapshot (depth, newest trades) with the ``seq`` it reflects; the
        events after it follow, each with its ``seq`` (none at or below the snapshot's)."""
        p = await ws_principal(ws)
        if p is None:
            await ws.close(code=4401, reason="sign in or pass ?key=")
            return
        await ws.accept()
        def snapshot() -> dict[str, Any]:
            seq, (depth, trades) = queries.consistent_snapshot(service, lambda: (queries.depth(service, instrument, 10), queries.trades(service, instrument, 50)))
            return {"type": "snapshot", "seq": seq, "instrument": instrument, "depth": depth, "trades": trades}

        def shape(pub: Published, last_of_burst: bool) -> dict[str, Any]:
            message = _ws_message(pub)
            for name in _MARKET_PRIVATE:
                message["event"].pop(name, None)
            if last_of_burst:
                message["depth"] = queries.depth(service, instrument, 10)
            return message

        await pump(ws, lambda pub: pub.instrument in (instrument, None) and type(pub.event).__name__ in MARKET_EVENT_TYPES, snapshot, shape, user=p.username)

    @app.websocket("/v1/ws/me")
    async def ws_me(ws: WebSocket) -> None:
        """The signed-in user's own order, execution and application events, after a first snapshot
        message (``type`` snapshot: the newest 200 orders and the ``seq`` they reflect)."""
        p = await ws_principal(ws)
        if p is None:
            await ws.close(code=4401, reason="sign in or pass ?key=")
            return
        await ws.accept()
        mine = set(p.parties())

        def snapshot() -> dict[str, Any]:
            seq, orders = queries.consistent_snapshot(service, lambda: queries.orders(service, p, limit=200))
            return {"type": "snapshot", "seq": seq, "orders": orders}

        if p.sees_all:
            await pump(ws, lambda pub: True, snapshot, user=p.username)
        else:

            def own(pub: Published, last_of_burst: bool) -> dict[str, Any]:
                message = _ws_message(pub)
                message["event"] = queries.redact(message["event"], p)
                return message

            await pump(ws, lambda pub: bool(mine & pub.parties), snapshot, shape=own, user=p.username)

    from lionrock.gateways.rest.limits import install_limits
    from lionrock.gateways.rest.offerings import mount_lifecycle
    from lionrock.gateways.rest.users import router as admin_router

    mount_lifecycle(app, service)
    app.include_router(admin_router)
    install_limits(app, service.auth, service.limits)
    return app


MARKET_EVENT_TYPES = frozenset({
    "TradeExecuted", "MarketDepthUpdated", "AuctionIndicativeUpdated", "AuctionCompleted", "ClosingAuctionReferenceSet",
    "ClosingPriceSet", "VolatilityCoolingOffStarted", "VolatilityCoolingOffEnded", "TradingPhaseChanged",
    "TradingDayStarted", "InstrumentListed",
})
"""The only events the market feed forwards (market data; nothing about an account's orders,
applications or settlement)."""
_MARKET_PRIVATE = ("buyer", "seller", "account", "buyer_participant", "seller_participant", "participant", "client_order_id")


def _ws_message(pub: Published) -> dict[str, Any]:
    body = msgspec.to_builtins(pub.event)
    if isinstance(body, dict):
        body["type"] = type(pub.event).__name__
    return {"seq": pub.seq, "at_ns": pub.at_ns, "event": body}


_IDENTIFIER_FIELDS = frozenset({
    "client_order_id", "ioi_id", "instrument", "offering_id", "issuer_id", "account", "participant", "investor", "applicant",
    "username", "underwriter_account", "stabilising_manager_account", "stock_lender_account", "rmb_counter",
})
_IDENTIFIER_LISTS = frozenset({"applicants", "accounts", "participants"})


def _server_fields(command: Command) -> Command:
    """A command from ``POST /v1/commands`` as the server will run it: ``channel`` set by the server
    (a REST caller cannot claim FIX), and every identifier field, nested ones too, in the kernel's
    identifier charset (`parse_identifier`; empty means "not given" in many commands)."""
    _check_identifiers(msgspec.to_builtins(command), "")
    if "channel" in getattr(type(command), "__struct_fields__", ()):
        command = msgspec.structs.replace(command, channel=_CHANNEL)
    return command


def _check_identifiers(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in _IDENTIFIER_FIELDS and isinstance(item, str):
                parse_identifier(item, where, allow_empty=True)
            elif key in _IDENTIFIER_LISTS and isinstance(item, list):
                for i, element in enumerate(item):
                    if isinstance(element, str):
                        parse_identifier(element, f"{where}[{i}]", allow_empty=True)
            else:
                _check_identifiers(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_identifiers(item, f"{path}[{i}]")


def _field_of(message: str) -> str:
    # msgspec: "Expected `int`, got `str` - at `$.quantity`"
    if "at `$." in message:
        return message.split("at `$.", 1)[1].rstrip("`").split("`")[0]
    if "missing required field `" in message:
        return message.split("missing required field `", 1)[1].split("`")[0]
    return ""


__all__ = ["MARKET_EVENT_TYPES", "ApiError", "create_app", "json_response", "outcome_body", "rejection_error"]
