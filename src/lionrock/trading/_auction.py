"""Auction price selection (pure): the HKEX indicative equilibrium price (IEP) rules.

Rules of the Exchange on the IEP (as quoted by broker pages; docs/rules.md section 7):
1. only if the highest at-auction-limit bid is at or above the lowest at-auction-limit ask; the
   IEP is one of the limit prices between them (inclusive) at which the matched volume is largest;
2. among those, the one with the lowest order imbalance (surplus);
3. among those, the highest if every one has a buy surplus, the lowest if every one has a sell
   surplus, otherwise the one nearest the reference price (previous close for the pre-opening
   session, the reference price for the closing auction); two equally near: the higher (Lion
   Rock's choice, grade I).
At-auction orders have no price and count on their side at every candidate price.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import NamedTuple

from lionrock.trading.book import AT_AUCTION_BUY_PRICE, AT_AUCTION_SELL_PRICE


class Equilibrium(NamedTuple):
    price: int
    quantity: int
    surplus: int
    surplus_side: str


def volumes_at(bids: list[tuple[int, int, int]], asks: list[tuple[int, int, int]], price: int) -> tuple[int, int]:
    """Bid volume willing to buy at ``price`` and ask volume willing to sell there."""
    buy = sum(q for p, q, _ in bids if p >= price)
    sell = sum(q for p, q, _ in asks if p <= price)
    return buy, sell


def equilibrium(bids: list[tuple[int, int, int]], asks: list[tuple[int, int, int]], reference: int) -> Equilibrium | None:
    """The IEP of books given as levels ``(price, quantity, orders)`` best first (bids descending,
    asks ascending, at-auction orders at their sentinel prices)."""
    bid_limits = [p for p, _, _ in bids if p != AT_AUCTION_BUY_PRICE]
    ask_limits = [p for p, _, _ in asks if p != AT_AUCTION_SELL_PRICE]
    if not bid_limits or not ask_limits:
        return None
    highest_bid, lowest_ask = bid_limits[0], ask_limits[0]
    if highest_bid < lowest_ask:
        return None
    candidates = sorted({p for p in bid_limits + ask_limits if lowest_ask <= p <= highest_bid})
    # cumulative volumes: asks ascending (prefix), bids ascending (suffix)
    ask_prices = [p for p, _, _ in asks]
    ask_cum: list[int] = []
    total = 0
    for _, q, _ in asks:
        total += q
        ask_cum.append(total)
    bid_prices = [p for p, _, _ in reversed(bids)]
    bid_quantities = [q for _, q, _ in reversed(bids)]
    bid_suffix = [0] * (len(bid_quantities) + 1)
    for i in range(len(bid_quantities) - 1, -1, -1):
        bid_suffix[i] = bid_suffix[i + 1] + bid_quantities[i]
    rows: list[tuple[int, int, int]] = []  # (price, buy, sell)
    for p in candidates:
        j = bisect_right(ask_prices, p)
        sell = ask_cum[j - 1] if j else 0
        buy = bid_suffix[bisect_left(bid_prices, p)]
        rows.append((p, buy, sell))
    best_volume = max(min(b, s) for _, b, s in rows)
    rows = [r for r in rows if min(r[1], r[2]) == best_volume]
    least = min(abs(b - s) for _, b, s in rows)
    rows = [r for r in rows if abs(r[1] - r[2]) == least]
    if len(rows) == 1:
        chosen = rows[0]
    elif all(b > s for _, b, s in rows):
        chosen = rows[-1]
    elif all(b < s for _, b, s in rows):
        chosen = rows[0]
    else:
        chosen = min(rows, key=lambda r: (abs(r[0] - reference), -r[0]))
    p, b, s = chosen
    return Equilibrium(p, min(b, s), abs(b - s), "B" if b > s else "S" if s > b else "")


__all__ = ["Equilibrium", "equilibrium", "volumes_at"]
