"""Orders over REST: place, list, look up, cancel, amend.

The answer to a write comes from its outcome: the order as ``OrderAccepted`` (or the amend or
cancel event) states it, with the fills of the same outcome folded in, never a read-back of the
read model. Builders of the trading commands live here (the write side), not with the queries.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter

from lionrock.engine import Outcome
from lionrock.kernel.account import house_account, participant_of
from lionrock.kernel.errors import Rejection
from lionrock.kernel.messages import Command, CommandRejected
from lionrock.kernel.price import MAX_PRICE_TICKS, format_price, parse_price
from lionrock.readmodel import queries
from lionrock.readmodel.tenancy import NotVisible, Principal
from lionrock.service.policy import ServiceCode
from lionrock.trading.commands import AmendOrder, CancelOrder, PlaceOrder
from lionrock.trading.events import (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    OrderRetryAcknowledged,
    TradeExecuted,
)

from .http import (
    CHANNEL,
    ApiError,
    Me,
    Svc,
    events_json,
    json_body,
    json_response,
    not_found,
    rejection_error,
    service_error,
    struct_body,
)
from .models import (
    AmendOrderIn,
    IdentifierQuery,
    NewOrderIn,
    OrderIdPath,
    RowsLimit,
    ShortTextQuery,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"])

PRICE_RULE = f"price format: a plain decimal, at most three places, 0.001-{format_price(MAX_PRICE_TICKS)} (lionrock.kernel.price)"
"""The rule a malformed price cites: the kernel parser's, not the service access policy."""


def price_ticks(text: str | None, field: str) -> int:
    """A price from a request body in ticks (0 when omitted or empty: market, at-any-price); a
    malformed or out-of-bounds price is a 400 naming ``field`` and the price format."""
    if text is None or text == "":
        return 0
    try:
        return parse_price(text)
    except ValueError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, field, str(exc), PRICE_RULE) from exc


def build(cls: type[Command], values: dict[str, Any]) -> Command:
    """Construct ``cls`` from the values it declares (so the builder follows the class's fields)."""
    kwargs = {}
    for name, required in _fields(cls):
        if name in values:
            kwargs[name] = values[name]
        elif required:
            raise service_error(400, ServiceCode.MALFORMED_REQUEST, name, f"{cls.__name__} needs {name}")
    return cls(**kwargs)


@functools.cache
def _fields(cls: type[Command]) -> tuple[tuple[str, bool], ...]:
    """``(name, required)`` of each field: `msgspec.structs.fields` evaluates the class's string
    annotations on every call (about 0.7 ms for PlaceOrder), so once per class."""
    return tuple((f.name, f.required) for f in msgspec.structs.fields(cls))


def place_order_command(p: Principal, body: Any, channel: str = CHANNEL) -> Command:
    account = body.account or (p.accounts[0] if p.accounts else (house_account(p.participant) if p.participant else ""))
    if not account:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "account", "no account given and the caller has none")
    values = {
        "instrument": body.instrument,
        "participant": participant_of(account) or p.participant,
        "account": account,
        "client_order_id": body.client_order_id,
        "side": body.side,
        "order_type": body.order_type,
        "price": price_ticks(body.price, "price"),
        "quantity": body.quantity,
        "channel": channel,
        "short_sell": bool(getattr(body, "short_sell", False)),
    }
    return build(PlaceOrder, values)


def cancel_order_command(order: dict[str, Any]) -> Command:
    return build(CancelOrder, dict(order))


def amend_order_command(order: dict[str, Any], body: Any) -> Command:
    """``quantity`` is the new outstanding quantity (unchanged if omitted); ``price`` 0 = unchanged."""
    values = dict(order)
    values["price"] = price_ticks(body.price, "price") if body.price is not None else 0
    values["quantity"] = body.quantity if body.quantity is not None else order["remaining"]
    return build(AmendOrder, values)


def order_rejection(outcome: Outcome) -> Rejection | None:
    for e in outcome.events:
        match e:
            case OrderRejected() | CommandRejected():
                return e.rejection
    return None


def _shown(order: dict[str, Any]) -> dict[str, Any]:
    order["remaining"] = max(order["quantity"] - order["filled"], 0) if order["status"] in ("new", "partially_filled") else 0
    order["price_text"] = format_price(order["price"]) if order["price"] else ""
    return order


def _fold(order: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """``order`` after the events of ``outcome`` that touch it (fills, a cancel, an amend)."""
    order_id = order["order_id"]
    for e in outcome.events:
        match e:
            case TradeExecuted() if order_id in (e.buy_order_id, e.sell_order_id):
                order["filled"] += e.quantity
                order["status"] = "filled" if order["filled"] >= order["quantity"] else "partially_filled"
            case OrderCancelled() if e.order_id == order_id:
                order["status"], order["reason"] = "cancelled", e.reason
            case OrderAmended() if e.order_id == order_id:
                order["price"] = e.price or order["price"]
                order["quantity"] = order["filled"] + e.quantity
            case _:
                continue
        order["updated_seq"] = outcome.seq
    return _shown(order)


def placed_order(outcome: Outcome, command: PlaceOrder) -> dict[str, Any] | None:
    """The order a `PlaceOrder` made (or, for an exact retry, the one it already made), from the outcome."""
    for e in outcome.events:
        match e:
            case OrderAccepted() if e.client_order_id == command.client_order_id:
                order = {
                    "order_id": e.order_id,
                    "instrument": e.instrument,
                    "participant": e.participant,
                    "account": e.account,
                    "client_order_id": e.client_order_id,
                    "side": e.side,
                    "order_type": e.order_type,
                    "price": e.price,
                    "quantity": e.quantity,
                    "filled": 0,
                    "status": "new",
                    "channel": e.channel,
                    "reason": "",
                    "created_seq": outcome.seq,
                    "updated_seq": outcome.seq,
                    "at_ns": outcome.at_ns,
                    "short_sell": bool(e.short_sell),
                }
                return _fold(order, outcome)
            case OrderRetryAcknowledged() if e.client_order_id == command.client_order_id:
                return {
                    "order_id": e.order_id,
                    "instrument": e.instrument,
                    "participant": e.participant,
                    "account": command.account,
                    "client_order_id": e.client_order_id,
                    "side": command.side,
                    "order_type": command.order_type,
                    "price": command.price,
                    "price_text": format_price(command.price) if command.price else "",
                    "quantity": command.quantity,
                    "remaining": e.remaining,
                    "channel": command.channel,
                    "short_sell": command.short_sell,
                    "retry": True,
                }
    return None


def _mine(service: Any, p: Principal, order_id: int, *, write: bool = False) -> dict[str, Any]:
    try:
        return queries.order_for(service.read, p, order_id, write=write)
    except NotVisible as exc:
        raise not_found(exc) from exc


@router.post("", status_code=201, openapi_extra=struct_body(NewOrderIn, "A new order."))
async def new_order(p: Me, service: Svc, body: Annotated[NewOrderIn, json_body(NewOrderIn)]) -> Any:
    """Place an order. (A well-formed order from a recently verified API key is answered by the
    same `place_order` from `order_entry.OrderEntryFastPath`, before this route: the same Struct
    decodes it, the same answers, no routing on the hot path.)"""
    return json_response(await place_order(service, p, body), 201)


async def place_order(service: Any, p: Principal, body: Any) -> dict[str, Any]:
    """The 201 answer to a new order (``body``: `NewOrderIn`, from the route or the fast path);
    raises `ApiError` (400, 422), `Denied` or `RunnerStopped` as the route would."""
    command = place_order_command(p, body)
    outcome = await service.submit(p, command)
    if outcome.rejection is not None:
        raise rejection_error(outcome.rejection)
    assert isinstance(command, PlaceOrder)
    order = placed_order(outcome, command)
    if order is None:  # e.g. rejected by trading via an observed event (OrderRejected)
        rejection = order_rejection(outcome)
        if rejection is not None:
            raise rejection_error(rejection)
    return {"order": order, "seq": outcome.seq, "events": events_json(outcome)}


@router.get("")
async def my_orders(p: Me, service: Svc, status: ShortTextQuery = None, instrument: IdentifierQuery = None, limit: RowsLimit = 200) -> Any:
    rows = await service.read_async(queries.orders, p, status=status, instrument=instrument, limit=min(limit, 5000))
    return json_response(rows)


@router.get("/{order_id}")
async def order_status(order_id: OrderIdPath, p: Me, service: Svc) -> Any:
    return json_response(await service.read_async(_lookup, p, order_id))


def _lookup(read: Any, p: Principal, order_id: int, write: bool = False) -> dict[str, Any]:
    try:
        return queries.order_for(read, p, order_id, write=write)
    except NotVisible as exc:
        raise not_found(exc) from exc


@router.delete("/{order_id}")
async def cancel_order(order_id: OrderIdPath, p: Me, service: Svc) -> Any:
    order = await service.read_async(_lookup, p, order_id, True)
    outcome = await service.submit(p, cancel_order_command(order))
    if outcome.rejection is not None:
        raise rejection_error(outcome.rejection)
    return json_response({"order": _fold(order, outcome), "seq": outcome.seq})


@router.patch("/{order_id}", openapi_extra=struct_body(AmendOrderIn, "The new price, the new outstanding quantity, or both."))
async def amend_order(order_id: OrderIdPath, p: Me, service: Svc, body: Annotated[AmendOrderIn, json_body(AmendOrderIn)]) -> Any:
    order = await service.read_async(_lookup, p, order_id, True)
    outcome = await service.submit(p, amend_order_command(order, body))
    if outcome.rejection is not None:
        raise rejection_error(outcome.rejection)
    return json_response({"order": _fold(order, outcome), "seq": outcome.seq})


__all__ = [
    "PRICE_RULE",
    "ApiError",
    "amend_order_command",
    "build",
    "cancel_order_command",
    "order_rejection",
    "place_order",
    "place_order_command",
    "placed_order",
    "price_ticks",
    "router",
]
