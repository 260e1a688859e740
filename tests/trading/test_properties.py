"""Hypothesis properties of the venue in continuous trading (DESIGN.md testing invariants)."""

from __future__ import annotations

from _venue_kit import Venue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionrock.trading import ReferenceBook
from lionrock.trading.book import FastBook
from lionrock.trading.commands import AmendOrder, CancelOrder
from lionrock.trading.events import OrderAccepted, OrderAmended, OrderCancelled, TradeExecuted

ops = st.lists(
    st.tuples(
        st.sampled_from(("place", "place", "place", "cancel", "amend")),
        st.sampled_from("BS"),
        st.sampled_from(("LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT")),
        st.integers(-8, 8),
        st.integers(1, 5),
        st.integers(0, 40),
    ),
    max_size=120,
)


def drive(book, script):
    v = Venue(book)
    v.list(nominal=10_000, lot=100)
    v.start()
    v.to_continuous()
    accepted: dict[int, OrderAccepted] = {}
    original: dict[int, int] = {}
    filled: dict[int, int] = {}
    gone: dict[int, int] = {}
    trades: list[TradeExecuted] = []
    for action, side, otype, offset, lots, pick in script:
        if action == "place":
            out = v.order(side, 10_000 + 10 * offset, 100 * lots, otype, participant="P1")
        else:
            ids = sorted(accepted)
            if not ids:
                continue
            oid = ids[pick % len(ids)]
            if action == "cancel":
                out = v.submit(CancelOrder(instrument="02525", participant="P1", order_id=oid))
            else:
                out = v.submit(AmendOrder(instrument="02525", participant="P1", order_id=oid, quantity=100 * lots))
        for e in out.events:
            if isinstance(e, OrderAccepted):
                accepted[e.order_id] = e
                original[e.order_id] = e.quantity
            elif isinstance(e, OrderAmended):
                original[e.order_id] = filled.get(e.order_id, 0) + e.quantity
            elif isinstance(e, TradeExecuted):
                trades.append(e)
                filled[e.buy_order_id] = filled.get(e.buy_order_id, 0) + e.quantity
                filled[e.sell_order_id] = filled.get(e.sell_order_id, 0) + e.quantity
            elif isinstance(e, OrderCancelled):
                gone[e.order_id] = e.remaining
        book_ = v.ctx.instruments["02525"].book
        bid, ask = book_.best_bid(), book_.best_ask()
        assert not (bid and ask and bid >= ask), f"crossed at rest: {bid} >= {ask}"
    return v, accepted, original, filled, gone, trades


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_book_never_crossed_and_trades_within_both_limits(script) -> None:
    v, accepted, _, _, _, trades = drive(FastBook, script)
    for t in trades:
        buy, sell = accepted[t.buy_order_id], accepted[t.sell_order_id]
        assert sell.price <= t.price <= buy.price


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_filled_plus_remaining_equals_original(script) -> None:
    v, accepted, original, filled, gone, _ = drive(FastBook, script)
    resting = {oid: left for oid, _, _, left in v.ctx.instruments["02525"].book.orders()}
    for oid in accepted:
        remaining = resting.get(oid, gone.get(oid, 0))
        assert filled.get(oid, 0) + remaining == original[oid]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_price_time_priority_respected(script) -> None:
    """Fills of one incoming order take better prices first and, at one price, earlier orders
    first; resting queues are in time order (no amends here: an amend may move an order back)."""
    script = [s for s in script if s[0] != "amend"]
    v, _, _, _, _, trades = drive(ReferenceBook, script)
    by_aggressor: dict[int, list[TradeExecuted]] = {}
    for t in trades:
        by_aggressor.setdefault(t.buy_order_id if t.aggressor == "B" else t.sell_order_id, []).append(t)
    for fills in by_aggressor.values():
        sell_side = fills[0].aggressor == "S"
        keys = [(-f.price if sell_side else f.price, f.buy_order_id if sell_side else f.sell_order_id) for f in fills]
        assert keys == sorted(keys)
    queues: dict[tuple[str, int], list[int]] = {}
    for oid, side, price, _ in v.ctx.instruments["02525"].book.orders():
        queues.setdefault((side, price), []).append(oid)
    assert all(q == sorted(q) for q in queues.values())


@settings(max_examples=40, deadline=None)
@given(ops)
def test_fast_and_reference_end_in_same_state(script) -> None:
    a = drive(FastBook, script)[0]
    b = drive(ReferenceBook, script)[0]
    assert a.engine.state_hash() == b.engine.state_hash()
