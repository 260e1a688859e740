"""Builders for trading tests: an engine with the trading context, HK times, order helpers."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from lionrock.engine import Engine
from lionrock.kernel.xhkg import hk_ns
from lionrock.trading import TradingContext
from lionrock.trading.book import Book, FastBook
from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay, TradingTick

DAY = date(2025, 11, 24)  # a Monday, full day, after the 4 Aug 2025 spread table
HALF_DAY = date(2025, 12, 24)


def at(hh: int, mm: int, ss: int = 0, d: date = DAY) -> int:
    return hk_ns(d, time(hh, mm, ss))


class Venue:
    """An engine around one TradingContext, with a clock the test moves forward."""

    def __init__(self, book: type[Book] | Any = FastBook) -> None:
        self.ctx = TradingContext(book)
        self.engine = Engine([self.ctx])
        self.now = at(8, 0)

    def submit(self, command: Any, when: int | None = None) -> Any:
        if when is not None:
            self.now = max(self.now, when)
        return self.engine.submit(command, self.now)

    def tick(self, when: int) -> Any:
        return self.submit(TradingTick(), when)

    def list(self, code: str = "02525", lot: int = 100, nominal: int = 10_000, **kw: Any) -> Any:
        return self.submit(ListInstrument(instrument=code, board_lot=lot, nominal_price=nominal, **kw))

    def start(self, d: date = DAY, seed: int = 1) -> Any:
        return self.submit(StartTradingDay(day=d.isoformat(), seed=seed))

    def to_continuous(self, d: date = DAY) -> None:
        self.tick(at(9, 30, 0, d))

    def order(
        self,
        side: str,
        price: int,
        qty: int,
        otype: str = "LIMIT",
        *,
        code: str = "02525",
        participant: str = "P1",
        coid: str | None = None,
        account: str | None = None,
        short: bool = False,
    ) -> Any:
        self._n = getattr(self, "_n", 0) + 1
        return self.submit(
            PlaceOrder(
                instrument=code,
                participant=participant,
                account=account or f"C:{participant}:A",
                client_order_id=coid or f"o{self._n}",
                side=side,
                order_type=otype,
                price=price,
                quantity=qty,
                short_sell=short,
            )
        )

    def events(self, outcome: Any, kind: type) -> list[Any]:
        return [e for e in outcome.events if isinstance(e, kind)]
