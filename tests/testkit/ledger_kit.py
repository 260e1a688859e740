"""Builders for clearing and connect tests: an emitter context that publishes other contexts'
events (trades, IPO instructions) through a real engine, and a ledger replayer."""

from __future__ import annotations

from datetime import date, time
from typing import Any, ClassVar

from lionrock.clearing import ClearingContext
from lionrock.clearing.events import Posting
from lionrock.connect import ConnectContext
from lionrock.engine import Engine
from lionrock.kernel import Command, Event, Stamp
from lionrock.kernel.xhkg import hk_ns
from lionrock.offering.events import IpoApplicationsFunded, IpoSettlementInstructed
from lionrock.trading.events import (
    InstrumentListed,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    TradeExecuted,
)

DAY = date(2025, 11, 24)  # a Monday; T+2 = Wednesday 26 Nov


def at(d: date = DAY, hh: int = 10, mm: int = 0) -> int:
    return hk_ns(d, time(hh, mm))


class LedgerTestEmit(Command):
    """Test-only: publish these events as if their contexts had emitted them."""

    trades: list[TradeExecuted] = []
    listed: list[InstrumentListed] = []
    funded: list[IpoApplicationsFunded] = []
    instructed: list[IpoSettlementInstructed] = []
    accepted: list[OrderAccepted] = []
    rejected: list[OrderRejected] = []
    cancelled: list[OrderCancelled] = []


class EmitterContext:
    name: ClassVar[str] = "emitter"
    command_types: ClassVar[tuple[type[Command], ...]] = (LedgerTestEmit,)
    observed_event_types: ClassVar[tuple[type[Event], ...]] = ()

    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        assert isinstance(command, LedgerTestEmit)
        return [
            *command.listed,
            *command.funded,
            *command.accepted,
            *command.rejected,
            *command.trades,
            *command.cancelled,
            *command.instructed,
        ]

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        return []

    def snapshot(self) -> Any:
        return {}

    def restore(self, data: Any) -> None:
        pass

    def canonical_state(self) -> Any:
        return {}


def engine(journal: Any = None) -> tuple[Engine, ClearingContext, ConnectContext]:
    clearing, connect = ClearingContext(), ConnectContext()
    return Engine([EmitterContext(), clearing, connect], journal), clearing, connect


def trade(
    trade_id: int,
    buyer: str,
    seller: str,
    price: int,
    quantity: int,
    instrument: str = "02525",
    currency: str = "HKD",
    buy_order_id: int = 0,
    sell_order_id: int = 0,
) -> TradeExecuted:
    def participant(account: str) -> str:
        return account.split(":")[1]

    return TradeExecuted(
        instrument=instrument,
        trade_id=trade_id,
        price=price,
        quantity=quantity,
        currency=currency,
        buyer=buyer,
        buyer_participant=participant(buyer),
        buy_order_id=buy_order_id or trade_id * 2,
        seller=seller,
        seller_participant=participant(seller),
        sell_order_id=sell_order_id or trade_id * 2 + 1,
        aggressor="B",
    )


def fold(events: list[Event], balances: dict[str, dict[str, int]]) -> None:
    """Apply every posting in ``events`` to ``balances`` (what a projection does)."""
    for e in events:
        for p in getattr(e, "postings", ()):
            assert isinstance(p, Posting)
            balances.setdefault(p.source, {})
            balances.setdefault(p.destination, {})
            balances[p.source][p.asset] = balances[p.source].get(p.asset, 0) - p.amount
            balances[p.destination][p.asset] = balances[p.destination].get(p.asset, 0) + p.amount


__all__ = ["DAY", "EmitterContext", "LedgerTestEmit", "at", "engine", "fold", "trade"]
