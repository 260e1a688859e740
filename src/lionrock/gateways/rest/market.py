"""Accounts and market data, read from the read models (tags ``accounts``, ``market data``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from lionrock.readmodel import queries
from lionrock.service.policy import ServiceCode

from .http import Me, Svc, json_response, service_error
from .models import IdentifierPath, InstrumentPath, Levels, TradesLimit

router = APIRouter()


@router.get("/v1/accounts", tags=["accounts"])
def accounts(p: Me, service: Svc) -> Response:
    return json_response(queries.accounts(service.read, p))


@router.get("/v1/accounts/{account}/positions", tags=["accounts"])
def positions(account: IdentifierPath, p: Me, service: Svc) -> Response:
    """The account's balances in the clearing ledger (cash per currency, ``SEC:<security>`` shares)."""
    if not p.can_read_account(account):
        raise service_error(404, ServiceCode.NOT_FOUND, "account", f"no account {account} of yours")
    return json_response(queries.positions(service.read, [account]))


@router.get("/v1/market/instruments", tags=["market data"])
def instruments(p: Me, service: Svc) -> Response:
    return json_response(queries.instruments(service.read))


@router.get("/v1/market/{instrument}/depth", tags=["market data"])
def depth(instrument: InstrumentPath, p: Me, service: Svc, levels: Levels = 10) -> Response:
    return json_response(queries.depth(service.read, instrument, min(levels, 50)))


@router.get("/v1/market/{instrument}/trades", tags=["market data"])
def trades(instrument: InstrumentPath, p: Me, service: Svc, limit: TradesLimit = 100) -> Response:
    return json_response(queries.trades(service.read, instrument, min(limit, 2000)))


@router.get("/v1/market/{instrument}/bars", tags=["market data"])
def bars(instrument: str, p: Me, service: Svc, interval: int = 60, limit: int = 500) -> Response:
    """OHLCV bars aligned to Hong Kong time, oldest first: ``interval`` in seconds (60, 300,
    900, 3600, ...: a multiple of 60 that divides a day), the newest ``limit`` (1-5000)."""
    if interval < 60 or interval % 60 or 86_400 % interval:
        raise service_error(
            422,
            ServiceCode.MALFORMED_REQUEST,
            "interval",
            f"bar interval must be a multiple of 60 seconds that divides a day (60, 300, 900, 3600, ...), got {interval}",
        )
    if not 1 <= limit <= 5000:
        raise service_error(422, ServiceCode.MALFORMED_REQUEST, "limit", f"limit must be 1-5000 bars, got {limit}")
    return json_response(queries.bars(service.read, instrument, interval, limit))


@router.get("/v1/market/{instrument}/short-selling", tags=["market data"])
def short_selling(instrument: str, p: Me, service: Svc, days: int = 20) -> Response:
    """Short-selling shares, turnover and share of turnover by Hong Kong trading day, oldest
    first, the newest ``days`` (1-250) days with trades."""
    if not 1 <= days <= 250:
        raise service_error(422, ServiceCode.MALFORMED_REQUEST, "days", f"days must be 1-250, got {days}")
    return json_response(queries.short_selling(service.read, instrument, days))


__all__ = ["router"]
