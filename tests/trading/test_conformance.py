"""Conformance: each test cites the HKEX rule it checks (docs/rules.md section 7)."""

from __future__ import annotations

from datetime import date

import pytest
from _venue_kit import DAY, HALF_DAY, Venue, at

from lionrock.rules.trading import SPREAD_TABLE
from lionrock.trading._auction import equilibrium
from lionrock.trading._grid import Grid
from lionrock.trading.book import AT_AUCTION_BUY_PRICE
from lionrock.trading.commands import AmendOrder, CancelOrder, PlaceOrder
from lionrock.trading.events import (
    AuctionCompleted,
    ClosingPriceSet,
    OrderAmended,
    OrderCancelled,
    OrderRetryAcknowledged,
    TradeExecuted,
    VolatilityCoolingOffEnded,
    VolatilityCoolingOffStarted,
)


def continuous(nominal: int = 10_000, lot: int = 100, **kw: object) -> Venue:
    v = Venue()
    v.list(nominal=nominal, lot=lot, **kw)
    v.start()
    v.to_continuous()
    return v


# -- spread table ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "before", "after"),
    [(15_000, 20, 10), (30_000, 50, 20), (5_000, 10, 10), (200, 1, 1), (300, 5, 5), (150_000, 100, 100), (9_995_000, 5_000, 5_000)],
)
def test_spread_table_bands_before_and_after_4_aug_2025_match_rules(price: int, before: int, after: int) -> None:
    """Spread table, Rules of the Exchange Second Schedule; phase 1 reduction from 4 Aug 2025."""
    assert Grid(SPREAD_TABLE.in_force(date(2025, 8, 1))).spread_at(price) == before
    assert Grid(SPREAD_TABLE.in_force(date(2025, 8, 4))).spread_at(price) == after


def test_spread_grid_steps_across_band_boundary() -> None:
    grid = Grid(SPREAD_TABLE.in_force(DAY))
    assert grid.step(19_990, 2) == 20_020  # 19.99 -> 20.00 (0.01) -> 20.02 (0.02)
    assert grid.step(20_020, -2) == 19_990
    assert grid.spreads_between(19_990, 20_020) == 2


def test_order_off_grid_rejected_naming_valid_neighbours() -> None:
    """Prices must be on the spread table (Second Schedule); the reject names the neighbours."""
    v = continuous(nominal=25_000)
    outcome = v.order("B", 25_010, 100)
    assert outcome.rejection.reason == "PRICE_NOT_ON_SPREAD_GRID"
    assert "25.00" in outcome.rejection.message and "25.02" in outcome.rejection.message


# -- board lots ----------------------------------------------------------------------------------
def test_odd_lot_rejected_from_main_book_with_nearest_lots() -> None:
    """Odd lots do not trade in the main order book (docs/rules.md section 7, board lots)."""
    v = continuous(lot=500)
    outcome = v.order("B", 10_000, 750)
    assert outcome.rejection.reason == "ODD_LOT"
    assert "500 or 1000" in outcome.rejection.message


# -- order types ---------------------------------------------------------------------------------
def test_limit_order_priced_through_best_ask_rejected() -> None:
    """A limit order matches only at its price; a buy may not be priced above the best ask."""
    v = continuous()
    v.order("S", 10_000, 100, participant="P2")
    assert v.order("B", 10_010, 100).rejection.reason == "PRICE_THROUGH_BEST"
    fills = v.events(v.order("B", 10_000, 200), TradeExecuted)
    assert [(f.price, f.quantity) for f in fills] == [(10_000, 100)]
    assert v.ctx.depth("02525")["bids"] == [(10_000, 100, 1)]


def test_enhanced_limit_matches_up_to_ten_queues_and_rests_remainder() -> None:
    """Enhanced limit: up to 10 price queues, at most 9 spreads through; remainder stored."""
    v = continuous()
    for i in range(10):
        v.order("S", 10_000 + 10 * i, 100, participant="P2")
    assert v.order("B", 10_100, 100, "ENHANCED_LIMIT").rejection.reason == "PRICE_BEYOND_QUEUE_LIMIT"
    fills = v.events(v.order("B", 10_090, 1_200, "ENHANCED_LIMIT"), TradeExecuted)
    assert len(fills) == 10 and sum(f.quantity for f in fills) == 1_000
    assert v.ctx.depth("02525")["bids"] == [(10_090, 200, 1)]


def test_special_limit_remainder_cancelled_not_stored() -> None:
    """Special limit: matches up to 10 queues; any remainder is cancelled."""
    v = continuous()
    v.order("S", 10_000, 100, participant="P2")
    outcome = v.order("B", 10_500, 300, "SPECIAL_LIMIT")
    assert sum(f.quantity for f in v.events(outcome, TradeExecuted)) == 100
    (cancel,) = v.events(outcome, OrderCancelled)
    assert cancel.reason == "SPECIAL_LIMIT_REMAINDER" and cancel.remaining == 200
    assert v.ctx.depth("02525") == {"bids": [], "asks": []}


def test_passive_order_more_than_24_spreads_from_best_rejected() -> None:
    """Quotation rules: a bid no more than 24 spreads below the best bid (nominal if none)."""
    v = continuous()
    assert v.order("B", 10_000 - 25 * 10, 100).rejection.reason == "PRICE_TOO_FAR_FROM_BEST"
    assert v.order("B", 10_000 - 24 * 10, 100).accepted


def test_order_nine_times_nominal_rejected() -> None:
    """Orders 9 times or more away from the nominal price are rejected."""
    v = Venue()
    v.list(nominal=1_000)
    v.start()
    v.tick(at(9, 0))
    assert v.order("B", 9_000, 100, "AT_AUCTION_LIMIT").rejection.reason == "PRICE_DEVIATES_FROM_NOMINAL"


# -- sessions ------------------------------------------------------------------------------------
def test_continuous_order_in_pre_opening_rejected_naming_session() -> None:
    """Only at-auction and at-auction limit orders in the pre-opening session."""
    v = Venue()
    v.list()
    v.start()
    v.tick(at(9, 5))
    outcome = v.order("B", 10_000, 100, "LIMIT")
    assert outcome.rejection.reason == "ORDER_TYPE_NOT_IN_SESSION"
    assert "pre-opening session, order input period" in outcome.rejection.message


def test_cancel_in_no_cancellation_period_rejected() -> None:
    """POS no-cancellation period 09:15-09:20: input allowed, no amend or cancel."""
    v = Venue()
    v.list()
    v.start()
    v.tick(at(9, 1))
    oid = v.order("B", 10_000, 100, "AT_AUCTION_LIMIT").events[0].order_id
    v.tick(at(9, 16))
    outcome = v.submit(CancelOrder(instrument="02525", participant="P1", order_id=oid))
    assert outcome.rejection.reason == "CANCEL_NOT_IN_SESSION"


def test_command_after_overdue_timer_requires_tick() -> None:
    v = Venue()
    v.list()
    v.start()
    outcome = v.submit(
        PlaceOrder(
            instrument="02525",
            participant="P1",
            account="C:P1:A",
            client_order_id="x",
            side="B",
            order_type="AT_AUCTION",
            price=0,
            quantity=100,
        ),
        at(9, 1),
    )
    assert outcome.rejection.reason == "TICK_REQUIRED"


def test_half_day_has_closing_auction_at_noon_and_no_afternoon() -> None:
    """Half days: morning session only, closing auction 12:00-12:10."""
    v = Venue()
    v.list()
    started = v.start(HALF_DAY).events[0]
    assert started.half_day
    phases = [w for _, w, i in started.timers if not i]
    assert "CTS_AFTERNOON" not in phases and "LUNCH" not in phases
    cas = [a for a, w, _ in started.timers if w == "CAS_REFERENCE"][0]
    assert cas == at(12, 0, 0, HALF_DAY)


def test_pre_opening_limit_15_percent_of_previous_close() -> None:
    """POS stage 1: orders within +/-15% of the previous close (HKEX, 19 Oct 2020)."""
    v = Venue()
    v.list(nominal=10_000)
    v.start()
    v.tick(at(9, 0))
    assert v.order("B", 11_510, 100, "AT_AUCTION_LIMIT").rejection.reason == "PRICE_OUTSIDE_AUCTION_LIMIT"
    assert v.order("B", 11_500, 100, "AT_AUCTION_LIMIT").accepted
    # the lower edge, and the sell side (the limit applies to both sides alike)
    assert v.order("S", 8_490, 100, "AT_AUCTION_LIMIT", participant="P2").rejection.reason == "PRICE_OUTSIDE_AUCTION_LIMIT"
    assert v.order("S", 11_510, 100, "AT_AUCTION_LIMIT", participant="P2").rejection.reason == "PRICE_OUTSIDE_AUCTION_LIMIT"
    assert v.order("S", 8_500, 100, "AT_AUCTION_LIMIT", participant="P2").accepted


# -- auctions ------------------------------------------------------------------------------------
def test_iep_maximises_volume_then_minimum_surplus_then_nearest_reference() -> None:
    """IEP rules: max volume; then min imbalance; then mixed surplus -> nearest the reference."""
    bids = [(10_100, 100, 1), (10_000, 100, 1)]
    asks = [(10_000, 100, 1), (10_100, 100, 1)]
    # at 10.00: buy 200 sell 100 -> 100 (surplus B 100); at 10.10: buy 100 sell 200 -> 100 (S 100)
    assert equilibrium(bids, asks, reference=10_000).price == 10_000
    assert equilibrium(bids, asks, reference=10_100).price == 10_100
    assert equilibrium([(10_100, 300, 1)], [(10_000, 100, 1), (10_100, 100, 1)], 0).price == 10_100  # buy surplus: highest
    assert equilibrium([(AT_AUCTION_BUY_PRICE, 100, 1)], [(10_000, 100, 1)], 10_000) is None  # no limit bid


def test_opening_auction_at_auction_first_and_unmatched_cancelled() -> None:
    """At-auction orders have priority and are cancelled when unmatched; at-auction limit
    orders carry into continuous trading as limit orders."""
    v = Venue()
    v.list()
    v.start()
    v.tick(at(9, 0))
    v.order("S", 10_000, 200, "AT_AUCTION_LIMIT", participant="P2")
    al = v.order("B", 10_000, 100, "AT_AUCTION_LIMIT").events[0].order_id
    ao = v.order("B", 0, 200, "AT_AUCTION").events[0].order_id
    v.order("B", 9_900, 100, "AT_AUCTION_LIMIT")
    events = v.tick(at(9, 30)).events
    trades = [e for e in events if isinstance(e, TradeExecuted)]
    assert [(t.buy_order_id, t.quantity, t.price) for t in trades] == [(ao, 200, 10_000)]
    assert al in [o[0] for o in v.ctx.instruments["02525"].book.orders()]
    done = [e for e in events if isinstance(e, AuctionCompleted)][0]
    assert (done.session, done.price, done.quantity) == ("POS", 10_000, 200)


def test_closing_auction_limits_and_final_price_is_closing_price() -> None:
    """CAS: +/-5% of the reference price; the closing price is the CAS final price."""
    v = continuous()
    v.order("S", 10_000, 100, participant="P2")
    v.order("B", 10_000, 100)
    v.tick(at(16, 1))
    assert v.order("B", 10_510, 100, "AT_AUCTION_LIMIT").rejection.reason == "PRICE_OUTSIDE_AUCTION_LIMIT"
    assert v.order("S", 9_490, 100, "AT_AUCTION_LIMIT", participant="P2").rejection.reason == "PRICE_OUTSIDE_AUCTION_LIMIT"
    assert v.order("B", 10_500, 100, "AT_AUCTION_LIMIT", participant="P3").accepted  # exactly +5%
    assert v.order("S", 9_500, 100, "AT_AUCTION_LIMIT", participant="P4").accepted  # exactly -5%
    v.order("B", 10_200, 300, "AT_AUCTION_LIMIT")
    v.order("S", 10_100, 300, "AT_AUCTION_LIMIT", participant="P2")
    events = v.tick(at(16, 10)).events
    close = [e for e in events if isinstance(e, ClosingPriceSet)][0]
    # 10.10 and 10.20 both match the most volume with no surplus; the tie goes to the price
    # nearest the reference price (10.00, the last trade)
    assert close.method == "CAS_FINAL" and close.price == 10_100


# -- amend, cancel, retries ----------------------------------------------------------------------
def test_amend_quantity_down_keeps_priority_price_change_loses_it() -> None:
    v = continuous()
    first = v.order("B", 9_990, 300).events[0].order_id
    second = v.order("B", 9_990, 100).events[0].order_id
    kept = v.submit(AmendOrder(instrument="02525", participant="P1", order_id=first, quantity=200))
    assert v.events(kept, OrderAmended)[0].priority_kept
    assert [o[0] for o in v.ctx.instruments["02525"].book.orders()] == [first, second]
    up = v.submit(AmendOrder(instrument="02525", participant="P1", order_id=first, quantity=400))
    assert not v.events(up, OrderAmended)[0].priority_kept
    assert [o[0] for o in v.ctx.instruments["02525"].book.orders()] == [second, first]


def test_exact_retry_answers_existing_order_conflicting_retry_names_field() -> None:
    v = continuous()
    first = v.order("B", 9_990, 100, coid="abc")
    retry = v.order("B", 9_990, 100, coid="abc")
    assert v.events(retry, OrderRetryAcknowledged)[0].order_id == first.events[0].order_id
    conflict = v.order("B", 9_980, 100, coid="abc")
    assert conflict.rejection.reason == "DUPLICATE_CLIENT_ORDER_ID" and conflict.rejection.field == "price"


# -- volatility control --------------------------------------------------------------------------
def test_vcm_trade_beyond_band_starts_cooling_off_and_it_ends_after_5_minutes() -> None:
    """VCM: a trade beyond +/-10% (LargeCap) of the price 5 minutes earlier starts a 5-minute
    cooling-off; trading continues inside the band; not in the first 15 minutes."""
    v = continuous(nominal=10_000, vcm_class="LARGE")
    v.now = at(10, 0)
    v.order("S", 10_000, 100, participant="P2")
    v.order("B", 10_000, 100)  # reference trade at 10.00
    v.now = at(10, 6)
    for price in (10_240, 10_480, 10_720, 10_960):  # each within 24 spreads of the nominal price
        v.order("S", price, 100, participant="P2")
        assert v.events(v.order("B", price, 100), TradeExecuted)  # inside the +/-10% band
    v.order("S", 11_200, 100, participant="P2")
    outcome = v.order("B", 11_200, 100, "SPECIAL_LIMIT")
    started = v.events(outcome, VolatilityCoolingOffStarted)
    assert started and started[0].upper_price == 11_000 and started[0].trigger_price == 11_200
    assert not v.events(outcome, TradeExecuted)
    assert v.order("B", 11_200, 100, "SPECIAL_LIMIT").rejection.reason == "PRICE_OUTSIDE_VCM_BAND"
    ended = v.tick(at(10, 11, 1))
    assert v.events(ended, VolatilityCoolingOffEnded)[0].reason == "ELAPSED"
