"""Regulated short selling (Rules of the Exchange, Schedule 11; docs/rules.md section 7; HKEX
"Regulated Short Selling" page): short sales only in Designated Securities, flagged, and under the
tick rule not below the POS reference price in the pre-opening session, the best current ask in
continuous trading, or the CAS reference price in the closing auction session."""

from __future__ import annotations

import pytest
from _venue_kit import Venue, at

from lionrock.trading import TradingContext
from lionrock.trading.book import ReferenceBook
from lionrock.trading.commands import AmendOrder, DesignateShortSelling
from lionrock.trading.events import OrderAccepted, ShortSellingDesignationChanged, TradeExecuted
from lionrock.trading.marketdata import MarketDataView

BOOKS = pytest.mark.parametrize("book", ["fast", "reference"])


def _venue(book: str, *, designated: bool = True) -> Venue:
    v = Venue() if book == "fast" else Venue(ReferenceBook)
    v.list(nominal=10_000, short_sell_designated=designated)
    v.start()
    return v


def _continuous(book: str, **kw: bool) -> Venue:
    v = _venue(book, **kw)
    v.to_continuous()
    return v


@BOOKS
def test_short_sale_only_in_a_designated_security(book: str) -> None:
    """Schedule 11: short sales may be made only in Designated Securities."""
    v = _continuous(book, designated=False)
    r = v.order("S", 10_000, 100, short=True).rejection
    assert (r.reason, r.field) == ("SHORT_SELL_NOT_DESIGNATED", "short_sell")
    assert "Schedule 11" in r.rule and "02525" in r.message
    assert v.order("S", 10_000, 100).accepted  # the same order as an ordinary sale
    # the quarterly revision adds the stock to the list
    changed = v.submit(DesignateShortSelling(instrument="02525", designated=True))
    assert v.events(changed, ShortSellingDesignationChanged)[0].designated
    assert v.order("S", 10_000, 100, short=True).accepted
    v.submit(DesignateShortSelling(instrument="02525", designated=False))
    assert v.order("S", 10_000, 100, short=True).rejection.reason == "SHORT_SELL_NOT_DESIGNATED"
    assert v.submit(DesignateShortSelling(instrument="09999", designated=True)).rejection.reason == "UNKNOWN_INSTRUMENT"


@BOOKS
def test_a_short_sale_is_a_sell(book: str) -> None:
    v = _continuous(book)
    r = v.order("B", 10_000, 100, short=True).rejection
    assert (r.reason, r.field) == ("SHORT_SELL_NOT_A_SELL", "short_sell")


@BOOKS
def test_tick_rule_in_continuous_trading_not_below_the_best_current_ask(book: str) -> None:
    """CTS: a short sale may not be priced below the best current ask."""
    v = _continuous(book)
    v.order("B", 9_950, 300, participant="P2")
    v.order("S", 10_050, 100, participant="P3")
    r = v.order("S", 10_040, 100, short=True).rejection
    assert (r.reason, r.field) == ("SHORT_SELL_TICK_RULE", "price")
    assert "best current ask 10.05, got 10.04" in r.message
    # the same price as an ordinary sale is fine, and even one that hits the bid
    assert v.order("S", 9_950, 100, "ENHANCED_LIMIT").accepted
    assert v.order("S", 9_950, 100, "ENHANCED_LIMIT", short=True).rejection.reason == "SHORT_SELL_TICK_RULE"
    at_ask = v.order("S", 10_050, 100, short=True)
    assert at_ask.accepted and v.events(at_ask, OrderAccepted)[0].short_sell
    assert v.ctx.depth("02525")["asks"][0] == (10_050, 200, 2)
    assert v.order("S", 10_100, 100, short=True).accepted  # above the ask
    # with no ask in the book there is no current ask to hold to
    w = _continuous(book)
    w.order("B", 9_950, 100, participant="P2")
    sold = w.order("S", 9_950, 100, "ENHANCED_LIMIT", short=True)
    assert sold.accepted and [t.quantity for t in w.events(sold, TradeExecuted)] == [100]


@BOOKS
def test_tick_rule_in_the_pre_opening_session_not_below_the_pos_reference_price(book: str) -> None:
    """POS: not below the POS reference price (the previous close); at-auction short sales refused."""
    v = _venue(book)
    v.tick(at(9, 0))
    r = v.order("S", 9_990, 100, "AT_AUCTION_LIMIT", short=True).rejection
    assert (r.reason, r.field) == ("SHORT_SELL_TICK_RULE", "price")
    assert "POS reference price 10.00," in r.message
    assert v.order("S", 10_000, 100, "AT_AUCTION_LIMIT", short=True).accepted
    r = v.order("S", 0, 100, "AT_AUCTION", short=True).rejection
    assert (r.reason, r.field) == ("SHORT_SELL_TICK_RULE", "order_type")
    assert v.order("S", 0, 100, "AT_AUCTION").accepted


@BOOKS
def test_tick_rule_in_the_closing_auction_not_below_the_cas_reference_price(book: str) -> None:
    v = _continuous(book)
    v.order("S", 10_100, 100, participant="P2")
    v.order("B", 10_100, 100)
    v.tick(at(16, 1))
    reference = v.ctx.instruments["02525"].reference
    assert reference == 10_100
    r = v.order("S", 10_050, 100, "AT_AUCTION_LIMIT", short=True).rejection
    assert (r.reason, r.field) == ("SHORT_SELL_TICK_RULE", "price") and "CAS reference price 10.10," in r.message
    assert v.order("S", 10_100, 100, "AT_AUCTION_LIMIT", short=True).accepted


@BOOKS
def test_amending_a_short_sale_below_the_ask_is_refused_and_changes_nothing(book: str) -> None:
    v = _continuous(book)
    v.order("B", 9_900, 100, participant="P2")
    v.order("S", 10_050, 100, participant="P3")
    oid = v.order("S", 10_100, 200, short=True).events[0].order_id
    before = v.ctx.canonical_state()
    r = v.submit(AmendOrder(instrument="02525", participant="P1", order_id=oid, quantity=200, price=10_000)).rejection
    assert r.reason == "SHORT_SELL_TICK_RULE"
    assert v.ctx.canonical_state() == before
    assert v.submit(AmendOrder(instrument="02525", participant="P1", order_id=oid, quantity=200, price=10_050)).accepted
    assert v.submit(AmendOrder(instrument="02525", participant="P1", order_id=oid, quantity=100)).accepted  # a reduction


@BOOKS
def test_a_retry_must_repeat_the_short_sale_flag(book: str) -> None:
    """Client order ids are idempotent: a retry that differs in the flag is another order."""
    v = _continuous(book)
    assert v.order("S", 10_100, 100, short=True, coid="x1").accepted
    assert v.order("S", 10_100, 100, short=True, coid="x1").events[0].__class__.__name__ == "OrderRetryAcknowledged"
    r = v.order("S", 10_100, 100, coid="x1").rejection
    assert (r.reason, r.field) == ("DUPLICATE_CLIENT_ORDER_ID", "short_sell")


def test_designation_and_short_sales_survive_snapshot_and_fast_path_falls_back() -> None:
    """The designation is venue state (snapshot and restore keep it); a short sale takes the
    Python path on the compiled venue and gives the same events as the reference book."""
    streams = []
    for book in ("fast", "reference"):
        v = _continuous(book)
        v.order("B", 9_950, 300, participant="P2")
        v.order("S", 10_050, 100, participant="P3")
        outcome = v.order("S", 10_050, 200, short=True)
        streams.append([type(e).__name__ + repr(e) for e in outcome.events])
        data = v.ctx.snapshot()
        fresh = TradingContext(v.ctx.book_factory)
        fresh.restore(data)
        assert fresh.instruments["02525"].short_sell is True
        assert fresh.canonical_state() == v.ctx.canonical_state()
    assert streams[0] == streams[1]


def test_short_selling_turnover_in_the_market_data_view() -> None:
    """The exchange publishes each stock's short-selling turnover: trades whose sell order was a
    short sale, by Hong Kong day."""
    v = _venue("fast")
    view = MarketDataView()
    v.engine.subscribe(view)
    v.to_continuous()
    v.order("S", 10_050, 100, short=True)
    v.order("S", 10_050, 200, participant="P3")
    v.order("S", 10_100, 300, short=True)
    v.order("B", 10_100, 500, "ENHANCED_LIMIT", participant="P2")  # 100 short + 200 + 200 of the 300 short
    day, shares, turnover = view.view("02525").short_selling
    assert (day, shares) == ("2025-11-24", 300)
    assert turnover == 100 * 10_050 // 10 + 200 * 10_100 // 10  # HK cents: price ticks of 0.001
    assert view.short_orders == {v.ctx.next_order_id - 2}  # the 10.10 short sale still has 100 left
