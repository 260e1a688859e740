"""The venue as a whole (tags ``venue``): its clock, trading day and settlement runs, and the
order-entry rules a ticket checks while a person types.

A demo venue runs on a `MarketClock` (``lionrock serve --market-start``): time is an input to the
core, stamped by the sequencer, so moving it is not a command but an operator act on the service,
audited (``venue:clock``) and only ever forward, so stamps stay in order and a replay reads the
same times from the journal. Opening a trading day (``StartTradingDay``) and running settlement
(``RunSettlement``) are ordinary commands through ``POST /v1/commands``, under the same policy.

Each endpoint, what it does, and the roles that may call it:

- ``GET /v1/venue``: clock (HKT), whether it can move, the trading day and phase, the last
  settlement run; any signed-in user
- ``POST /v1/venue/clock``: move a market clock forward to ``{"to": "2025-11-26T09:30"}`` (HKT);
  operator
- ``GET /v1/venue/instruments/{instrument}/rules``: board lot, order size limit, nominal price,
  spread table and quotation rules in force; any signed-in user

Rules data comes from `lionrock.rules.trading` (the provisions the venue itself applies); the
browser only warns early, the venue still decides.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter

from lionrock.kernel.xhkg import HK_TZ, hk_date, hk_time, to_ns
from lionrock.readmodel.tenancy import Role
from lionrock.rules.trading import ORDER_LIMITS, PRICE_CHECKS, SPREAD_TABLE
from lionrock.service.policy import ServiceCode
from lionrock.service.root import MarketClock, Service

from .http import Me, Svc, json_body, need, service_error, struct_body
from .models import ClockIn, InstrumentPath

router = APIRouter(prefix="/v1/venue", tags=["venue"])


def _latest(service: Service, etype: str, instrument: str | None = None) -> dict[str, Any] | None:
    if instrument is None:
        row = service.read.one("SELECT body, at_ns FROM events WHERE type = ? ORDER BY seq DESC, idx DESC LIMIT 1", (etype,))
    else:
        row = service.read.one(
            "SELECT body, at_ns FROM events WHERE type = ? AND instrument = ? ORDER BY seq DESC, idx DESC LIMIT 1", (etype, instrument)
        )
    if row is None:
        return None
    body: dict[str, Any] = json.loads(row[0])
    body["at_ns"] = int(row[1])
    return body


def venue_state(service: Service) -> dict[str, Any]:
    """What the venue page shows: the clock and what the read model knows of the day."""
    now_ns = service.clock()
    started, phase, run = (
        _latest(service, "TradingDayStarted"),
        _latest(service, "TradingPhaseChanged"),
        _latest(service, "SettlementRunCompleted"),
    )
    return {
        "now_ns": now_ns,
        "now": hk_time(now_ns).strftime("%Y-%m-%d %H:%M:%S"),
        "today": hk_date(now_ns).isoformat(),
        "clock": "market" if isinstance(service.clock, MarketClock) else "wall",
        "clock_movable": isinstance(service.clock, MarketClock),
        "trading_day": started["day"] if started else None,
        "phase": phase["phase"] if phase and started and phase.get("day") == started["day"] else None,
        "last_settlement": None
        if run is None
        else {
            "day": run["day"],
            "positions_settled": run["positions_settled"],
            "positions_open": run["positions_open"],
            "failures": run["failures"],
            "awaiting_delivery": run["awaiting_delivery"],
        },
    }


@router.get("")
def venue(p: Me, service: Svc) -> dict[str, Any]:
    """The venue's clock (Hong Kong time), its trading day and phase, and the last settlement run."""
    return venue_state(service)


@router.post("/clock", openapi_extra=struct_body(ClockIn, "The Hong Kong time to move to."))
def move_clock(p: Me, service: Svc, body: Annotated[ClockIn, json_body(ClockIn)]) -> dict[str, Any]:
    """Move a demo venue's market clock forward (operator). Refused for the wall clock (409) and for a
    moment not later than now (409): time never goes back."""
    need(p, Role.OPERATOR)
    try:
        moment = datetime.fromisoformat(body.to)
    except ValueError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "to", f"not an ISO 8601 time: {body.to!r}") from exc
    moment = moment if moment.tzinfo else moment.replace(tzinfo=HK_TZ)
    if not isinstance(service.clock, MarketClock):
        raise service_error(
            409, ServiceCode.MALFORMED_REQUEST, "to", "this venue runs on the wall clock; start it with --market-start to move time"
        )
    before = service.clock()
    if not service.clock.advance_to(to_ns(moment)):
        raise service_error(
            409,
            ServiceCode.MALFORMED_REQUEST,
            "to",
            f"{body.to} is not later than the venue's clock ({hk_time(before):%Y-%m-%d %H:%M:%S} HKT): time only moves forward",
        )
    service.auth.audit(p.username, str(p.role), p.via, "venue:clock", moment.isoformat(), "ok", f"from {hk_time(before).isoformat()}")
    return venue_state(service)


def instrument_rules(service: Service, instrument: str, day: date) -> dict[str, Any]:
    """The rules an order ticket checks as the user types, as the venue applies them on ``day``."""
    listed = _latest(service, "InstrumentListed", instrument)
    if listed is None:
        raise service_error(404, ServiceCode.NOT_FOUND, "instrument", f"no instrument {instrument} listed")
    last = service.read.one("SELECT price FROM trades WHERE instrument = ? ORDER BY seq DESC, trade_id DESC LIMIT 1", (instrument,))
    table, checks, limits = SPREAD_TABLE.provision(day), PRICE_CHECKS.provision(day), ORDER_LIMITS.provision(day)
    return {
        "instrument": instrument,
        "name": listed.get("name", ""),
        "currency": listed.get("currency", "HKD"),
        "board_lot": int(listed["board_lot"]),
        "max_board_lots": limits.value.max_board_lots,
        "nominal_price": int(last[0]) if last else int(listed["nominal_price"]),
        "nominal_basis": "last trade" if last else "listing nominal price",
        "spread_table": {"min_price": table.value.min_price_ticks, "bands": [[b.upper_ticks, b.spread_ticks] for b in table.value.bands]},
        "nominal_multiple": checks.value.nominal_multiple,
        "passive_max_spreads": checks.value.passive_max_spreads,
        "max_price_queues": checks.value.max_price_queues,
        "sources": {"spread_table": table.source, "price_checks": checks.source, "order_limits": limits.source},
    }


@router.get("/instruments/{instrument}/rules")
def rules(instrument: InstrumentPath, p: Me, service: Svc) -> dict[str, Any]:
    """Board lot, the largest order, the nominal price and the spread table and quotation rules in force today."""
    return instrument_rules(service, instrument, hk_date(service.clock()))


__all__ = ["instrument_rules", "router", "venue_state"]
