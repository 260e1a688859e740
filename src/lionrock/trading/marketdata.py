"""Market data as a subscriber sees it: the venue's market-data events folded into a book by price
level, top of book, last trade, auction indicative price, OHLCV bars and the closing price.

Every market-data event of an instrument carries ``md_seq``, one more than the instrument's
previous one (`events.py`). `MarketDataView.apply` checks that and raises `SequenceGap`, changing
nothing, when an event is missing, so a feed handler knows to resynchronise (take a depth snapshot
from the read model or the API, then `resume`) instead of showing a wrong book. The view is a pure
fold over events: the same events give the same view, in a live subscriber or over a replay.

Bars are aligned to Hong Kong local time (UTC+8, no daylight saving), so a 60-second bar starts
on the minute of the exchange's clock and a 1-day bar at local midnight.

Short selling turnover (the exchange publishes it per stock each day): the view notes the short
sales among accepted orders (``OrderAccepted.short_sell``) and adds every trade whose sell order
is one to the day's short-selling volume and turnover, which start again on a new Hong Kong date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lionrock.kernel.errors import LionRockError
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.price import consideration_minor
from lionrock.kernel.xhkg import hk_date
from lionrock.trading.events import (
    AuctionCompleted,
    AuctionIndicativeUpdated,
    ClosingAuctionReferenceSet,
    ClosingPriceSet,
    MarketDepthUpdated,
    OrderAccepted,
    OrderCancelled,
    TradeExecuted,
    VolatilityCoolingOffEnded,
    VolatilityCoolingOffStarted,
)

NS = 1_000_000_000
HK_OFFSET_NS = 8 * 3600 * NS
DAY_S = 86_400
SEQUENCED = (
    TradeExecuted, MarketDepthUpdated, AuctionIndicativeUpdated, AuctionCompleted, ClosingAuctionReferenceSet,
    VolatilityCoolingOffStarted, VolatilityCoolingOffEnded, ClosingPriceSet,
)  # fmt: skip


class SequenceGap(LionRockError):
    """A market-data event is missing: the view is behind and must be resynchronised."""

    def __init__(self, instrument: str, expected: int, got: int) -> None:
        super().__init__(
            f"{instrument}: expected md_seq {expected}, got {got} ({got - expected} event(s) missing); "
            "take a depth snapshot and resume from its md_seq"
        )
        self.instrument, self.expected, self.got = instrument, expected, got


def bar_start(at_ns: int, interval_s: int) -> int:
    """Start (UTC epoch ns) of the ``interval_s`` bar holding ``at_ns``, aligned to HK local time."""
    if interval_s <= 0 or DAY_S % interval_s:
        raise ValueError(f"bar interval must divide a day (86,400 s) evenly, got {interval_s} s")
    width = interval_s * NS
    return at_ns - (at_ns + HK_OFFSET_NS) % width


@dataclass
class Bar:
    """OHLCV over one interval: prices in ticks, volume in shares, turnover in minor units."""

    start_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover_minor: int
    trades: int

    def add(self, price: int, quantity: int, cash: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += quantity
        self.turnover_minor += cash
        self.trades += 1


@dataclass
class InstrumentView:
    md_seq: int = 0
    bids: dict[int, tuple[int, int]] = field(default_factory=dict)  # price -> (quantity, orders)
    asks: dict[int, tuple[int, int]] = field(default_factory=dict)
    bid: tuple[int, int] = (0, 0)  # top of book (price, quantity) as the venue reports it
    ask: tuple[int, int] = (0, 0)
    last: tuple[int, int] = (0, 0)  # last trade (price, quantity)
    indicative: tuple[int, int] = (0, 0)  # auction indicative (price, quantity)
    cooling_off: tuple[int, int] | None = None  # VCM band while in force
    closing: tuple[str, int, str] | None = None  # (day, price, method)
    bars: dict[int, list[Bar]] = field(default_factory=dict)
    short_selling: tuple[str, int, int] = ("", 0, 0)  # (HK date, shares, turnover in minor units) of short sales traded


class MarketDataView:
    """Fold of market-data events into per-instrument views (see the module docstring)."""

    def __init__(self, intervals: Iterable[int] = (60, 300)) -> None:
        self.intervals = tuple(intervals)
        for interval in self.intervals:
            bar_start(0, interval)  # validates
        self.instruments: dict[str, InstrumentView] = {}
        self.short_orders: set[int] = set()  # live short-sale orders (venue order ids)

    def __call__(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        """Engine subscriber (`Engine.subscribe(view)`)."""
        for event in events:
            if isinstance(event, SEQUENCED):
                self.apply(event, stamp.at_ns)
            elif isinstance(event, OrderAccepted):
                if event.short_sell:
                    self.short_orders.add(event.order_id)
            elif isinstance(event, OrderCancelled):
                self.short_orders.discard(event.order_id)

    def view(self, instrument: str) -> InstrumentView:
        return self.instruments.setdefault(instrument, InstrumentView())

    def resume(self, instrument: str, md_seq: int, bids: Iterable[tuple[int, int, int]], asks: Iterable[tuple[int, int, int]]) -> None:
        """Resynchronise from a snapshot taken at ``md_seq``: levels ``(price, quantity, orders)``."""
        v = self.view(instrument)
        v.md_seq = md_seq
        v.bids = {p: (q, n) for p, q, n in bids if q}
        v.asks = {p: (q, n) for p, q, n in asks if q}

    def apply(self, event: Event, at_ns: int) -> None:
        instrument: str = event.instrument  # type: ignore[attr-defined]
        v = self.view(instrument)
        seq: int = event.md_seq  # type: ignore[attr-defined]
        if seq != v.md_seq + 1:
            raise SequenceGap(instrument, v.md_seq + 1, seq)
        v.md_seq = seq
        if isinstance(event, MarketDepthUpdated):
            for levels, changes in ((v.bids, event.bids), (v.asks, event.asks)):
                for price, quantity, orders in changes:
                    if quantity:
                        levels[price] = (quantity, orders)
                    else:
                        levels.pop(price, None)
            v.bid, v.ask = (event.bid_price, event.bid_quantity), (event.ask_price, event.ask_quantity)
        elif isinstance(event, TradeExecuted):
            v.last = (event.price, event.quantity)
            cash = consideration_minor(event.price, event.quantity)
            for interval in self.intervals:
                bars = v.bars.setdefault(interval, [])
                start = bar_start(at_ns, interval)
                if bars and bars[-1].start_ns == start:
                    bars[-1].add(event.price, event.quantity, cash)
                else:
                    bars.append(Bar(start, event.price, event.price, event.price, event.price, event.quantity, cash, 1))
            if event.sell_order_id in self.short_orders:
                day = hk_date(at_ns).isoformat()
                _, shares, turnover = v.short_selling if v.short_selling[0] == day else (day, 0, 0)
                v.short_selling = (day, shares + event.quantity, turnover + cash)
                if not event.sell_remaining:
                    self.short_orders.discard(event.sell_order_id)
        elif isinstance(event, AuctionIndicativeUpdated):
            v.indicative = (event.price, event.quantity)
        elif isinstance(event, AuctionCompleted):
            v.indicative = (0, 0)
        elif isinstance(event, VolatilityCoolingOffStarted):
            v.cooling_off = (event.lower_price, event.upper_price)
        elif isinstance(event, VolatilityCoolingOffEnded):
            v.cooling_off = None
        elif isinstance(event, ClosingPriceSet):
            v.closing = (event.day, event.price, event.method)

    def depth(self, instrument: str, levels: int = 10) -> dict[str, list[tuple[int, int, int]]]:
        """Best ``levels`` price levels per side, ``(price, quantity, orders)``, best first."""
        v = self.view(instrument)
        return {
            "bids": [(p, *v.bids[p]) for p in sorted(v.bids, reverse=True)[:levels]],
            "asks": [(p, *v.asks[p]) for p in sorted(v.asks)[:levels]],
        }

    def bars(self, instrument: str, interval: int) -> list[Bar]:
        if interval not in self.intervals:
            raise ValueError(f"bars are kept for {', '.join(map(str, self.intervals))} s, not {interval} s")
        return list(self.view(instrument).bars.get(interval, []))


__all__ = ["Bar", "InstrumentView", "MarketDataView", "SequenceGap", "bar_start"]
