"""Conformance: HKEX's order limits (rules.trading.ORDER_LIMITS).

- "For all trading sessions, the maximum order size for automatch stocks is 3,000 board lots. The
  maximum number of orders in each price queue is 40,000" (HKEX, Securities Market > Trading
  Mechanism).
- Stage-2 auction price limits are one-sided per side (HKEX POS enhancement, 19 Oct 2020, as broker
  pages restate it): in the no-cancellation and random periods a buy may not be above the higher
  of the lowest ask and the highest bid recorded at the end of order input, a sell not below the
  lower of the two; an order that could not move the auction price is accepted.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _venue_kit import DAY, Venue, at

from lionrock.rules.trading import ORDER_LIMITS


def continuous() -> Venue:
    v = Venue()
    v.list(lot=100)
    v.start()
    v.to_continuous()
    return v


@pytest.mark.parametrize("fast_path", [True, False])
def test_order_of_3000_board_lots_accepted_3001_refused(fast_path: bool) -> None:
    v = continuous()
    v.ctx.fast_path = v.ctx.fast_path and fast_path
    assert v.order("B", 9_990, 3_000 * 100).accepted
    refused = v.order("B", 9_990, 3_001 * 100).rejection
    assert refused.reason == "ORDER_SIZE_EXCEEDED" and refused.field == "quantity"
    assert "3,000 board lots" in refused.message and "maximum order size" in refused.rule


def test_order_size_limit_applies_in_the_pre_opening_session_and_to_amends() -> None:
    v = Venue()
    v.list(lot=100)
    v.start()
    v.tick(at(9, 0))
    assert v.order("B", 10_000, 3_001 * 100, "AT_AUCTION_LIMIT").rejection.reason == "ORDER_SIZE_EXCEEDED"
    order_id = v.order("B", 10_000, 100, "AT_AUCTION_LIMIT").events[0].order_id
    from lionrock.trading.commands import AmendOrder

    assert (
        v.submit(AmendOrder(instrument="02525", participant="P1", order_id=order_id, quantity=3_001 * 100)).rejection.reason
        == "ORDER_SIZE_EXCEEDED"
    )


@pytest.mark.parametrize("fast_path", [True, False])
def test_price_queue_full_refuses_the_next_order_at_that_price(fast_path: bool) -> None:
    """40,000 in force; the queue limit is lowered here to 3 so the test stays small (the rule's
    number is checked against the rulebook below)."""
    assert ORDER_LIMITS.in_force(DAY).max_orders_per_price_queue == 40_000
    assert ORDER_LIMITS.in_force(DAY).max_board_lots == 3_000
    v = continuous()
    v.ctx.fast_path = v.ctx.fast_path and fast_path
    v.ctx.order_limits = replace(v.ctx.order_limits, max_orders_per_price_queue=3)
    for _ in range(3):
        assert v.order("B", 9_990, 100).accepted
    refused = v.order("B", 9_990, 100).rejection
    assert refused.reason == "PRICE_QUEUE_FULL" and "bid queue at 9.99 of 02525" in refused.message
    assert v.order("B", 9_980, 100).accepted  # another queue
    assert v.order("S", 9_990, 100, participant="P2").accepted  # a sell that fills against the full queue


def stage2() -> Venue:
    """POS with a bid at 10.00 and an ask at 10.20 at the end of order input, now in the
    no-cancellation period."""
    v = Venue()
    v.list(nominal=10_000, lot=100)
    v.start()
    v.tick(at(9, 0))
    v.order("B", 10_000, 100, "AT_AUCTION_LIMIT")
    v.order("S", 10_200, 100, "AT_AUCTION_LIMIT", participant="P2")
    v.tick(at(9, 15))
    return v


def test_stage2_buy_below_the_highest_bid_accepted_above_the_higher_refused() -> None:
    v = stage2()
    assert v.order("B", 9_000, 100, "AT_AUCTION_LIMIT").accepted  # could not move the price: stage 1 only
    assert v.order("B", 10_200, 100, "AT_AUCTION_LIMIT").accepted  # the higher of the two
    refused = v.order("B", 10_210, 100, "AT_AUCTION_LIMIT").rejection
    assert refused.reason == "PRICE_OUTSIDE_AUCTION_LIMIT" and "buy orders" in refused.message
    assert v.order("B", 8_490, 100, "AT_AUCTION_LIMIT").rejection.reason == "PRICE_OUTSIDE_AUCTION_LIMIT"  # stage 1 still holds


def test_stage2_sell_above_the_lowest_ask_accepted_below_the_lower_refused() -> None:
    v = stage2()
    assert v.order("S", 11_000, 100, "AT_AUCTION_LIMIT", participant="P2").accepted
    assert v.order("S", 10_000, 100, "AT_AUCTION_LIMIT", participant="P2").accepted  # the lower of the two
    refused = v.order("S", 9_990, 100, "AT_AUCTION_LIMIT", participant="P2").rejection
    assert refused.reason == "PRICE_OUTSIDE_AUCTION_LIMIT" and "sell orders" in refused.message
