"""Market data as a subscriber sees it (issue 3, market data): the events alone rebuild the venue's
book by price level and top of book, ``md_seq`` has no holes, a missing event is detected, and
OHLCV bars aligned to Hong Kong time add up to the trades."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time

import pytest
from test_differential import CODES, command_stream

from lionrock.engine import Engine
from lionrock.kernel.price import consideration_minor
from lionrock.kernel.xhkg import hk_ns
from lionrock.trading import TradingContext
from lionrock.trading.commands import StartTradingDay, TradingTick
from lionrock.trading.events import MarketDepthUpdated, TradeExecuted
from lionrock.trading.marketdata import MarketDataView, SequenceGap, bar_start


def _drive(total: int, seed: int = 11, check_every: int = 97):
    """Run the differential test's mixed stream (auctions, every order type, amends, VCM) with a
    view subscribed; compare the view's book with the venue's every ``check_every`` commands."""
    ctx = TradingContext()
    engine = Engine([ctx])
    view = MarketDataView()
    engine.subscribe(view)
    trades: list[tuple[int, TradeExecuted]] = []
    engine.subscribe(lambda stamp, command, events: trades.extend((stamp.at_ns, e) for e in events if type(e) is TradeExecuted))
    checked = 0
    for i, (t, command) in enumerate(command_stream(seed, total, ctx.orders)):
        if not isinstance(command, (TradingTick, StartTradingDay)):
            pending = ctx.timers[ctx.timer_index :]
            if pending and pending[0][0] <= t:
                engine.submit(TradingTick(), t)
        engine.submit(command, t)
        if i % check_every == 0 and ctx.instruments:
            for code in CODES:
                if code in ctx.instruments:
                    assert view.depth(code, 10_000) == ctx.depth(code, 10_000), f"after command {i}"
                    checked += 1
    return ctx, view, trades, checked


def test_view_rebuilds_the_venues_book_from_events_alone() -> None:
    """Every change to a price level reaches subscribers as a MarketDepthUpdated: in auctions,
    continuous trading, amends, cancels, VCM and the end-of-day purge alike; and md_seq runs
    without a hole for every instrument (the view raises SequenceGap otherwise)."""
    ctx, view, trades, checked = _drive(30_000)
    assert checked > 500 and trades
    for code in CODES:
        assert view.depth(code, 10_000) == ctx.depth(code, 10_000)
        assert view.view(code).md_seq == ctx.instruments[code].md_seq


def test_missing_event_is_detected_and_changes_nothing() -> None:
    view = MarketDataView()
    a = MarketDepthUpdated(
        instrument="02525", md_seq=1, bid_price=10_000, bid_quantity=200, ask_price=0, ask_quantity=0, bids=[(10_000, 200, 1)], asks=[]
    )
    c = MarketDepthUpdated(
        instrument="02525", md_seq=3, bid_price=0, bid_quantity=0, ask_price=0, ask_quantity=0, bids=[(10_000, 0, 0)], asks=[]
    )
    view.apply(a, 0)
    with pytest.raises(SequenceGap, match="02525: expected md_seq 2, got 3 .1 event.s. missing.") as gap:
        view.apply(c, 0)
    assert (gap.value.expected, gap.value.got) == (2, 3)
    assert view.depth("02525") == {"bids": [(10_000, 200, 1)], "asks": []} and view.view("02525").md_seq == 1
    view.resume("02525", 2, [(10_000, 200, 1)], [])  # a snapshot taken at md_seq 2
    view.apply(c, 0)
    assert view.depth("02525") == {"bids": [], "asks": []}


def test_bars_add_up_to_the_trades_in_each_hong_kong_interval() -> None:
    _, view, trades, _ = _drive(12_000, seed=5, check_every=10_000)
    for interval in (60, 300):
        expected: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
        for at_ns, trade in trades:
            expected[(trade.instrument, bar_start(at_ns, interval))].append((trade.price, trade.quantity))
        for code in CODES:
            bars = view.bars(code, interval)
            assert [b.start_ns for b in bars] == sorted(s for c, s in expected if c == code)
            for bar in bars:
                fills = expected[(code, bar.start_ns)]
                prices = [p for p, _ in fills]
                assert (bar.open, bar.high, bar.low, bar.close) == (prices[0], max(prices), min(prices), prices[-1])
                assert bar.volume == sum(q for _, q in fills) and bar.trades == len(fills)
                assert bar.turnover_minor == sum(consideration_minor(p, q) for p, q in fills)


def test_bar_boundaries_follow_the_exchange_clock() -> None:
    d = date(2025, 11, 24)
    last_of_minute = hk_ns(d, time(9, 30, 59, 999_999))
    assert bar_start(last_of_minute, 60) == hk_ns(d, time(9, 30))
    assert bar_start(hk_ns(d, time(9, 31)), 60) == hk_ns(d, time(9, 31))
    assert bar_start(hk_ns(d, time(11, 4, 30)), 300) == hk_ns(d, time(11, 0))
    assert bar_start(hk_ns(d, time(15, 59)), 86_400) == hk_ns(d, time(0, 0))  # a day bar starts at HK midnight
    with pytest.raises(ValueError, match="must divide a day"):
        bar_start(0, 7)


def test_view_is_an_engine_subscriber_over_replay_too() -> None:
    """The same fold over a replayed journal gives the same view (a pure function of events)."""
    ctx = TradingContext()
    engine = Engine([ctx])
    live = MarketDataView()
    engine.subscribe(live)
    for t, command in command_stream(3, 3_000, ctx.orders):
        engine.submit(command, t)
    replayed = Engine([TradingContext()], engine.journal)
    again = MarketDataView()
    replayed.subscribe(again)
    replayed.recover()
    for code in CODES:
        assert again.depth(code, 1_000) == live.depth(code, 1_000)
        assert again.bars(code, 60) == live.bars(code, 60)
