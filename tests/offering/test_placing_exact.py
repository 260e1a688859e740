"""The placing's weighted fill in exact arithmetic (issue 15): `weighted_fill` solves its fill
factor with integers and fractions (`fill_factor`). Property-tested against the floating-point
solver it replaced (kept here as the reference): the same lots per investor on random books,
wherever the float answer did not hang on rounding noise (a target within noise of a whole number,
or two remainders within noise of each other: there the float answer was arbitrary and the exact
one follows the documented rule)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.offering.allocation import fill_factor, weighted_demand, weighted_fill

NOISE = 1e-9
TIERS = [Fraction(1), Fraction(7, 10), Fraction(4, 10), Fraction(1, 3)]
BONUSES = [Fraction(0), Fraction(1, 10), Fraction(1, 5), Fraction(1, 3)]


def _float_weights(tiers: list[int], early: list[bool], priced: list[bool], early_bonus: Fraction, price_bonus: Fraction) -> np.ndarray:
    """`_placing_weights` before issue 15, the same operations in the same order."""
    tier_values = [t.numerator / t.denominator for t in TIERS]
    weights = np.asarray(tier_values, dtype=np.float64)[np.asarray(tiers)]
    if early_bonus:
        weights = weights * np.where(np.asarray(early), 1.0 + early_bonus.numerator / early_bonus.denominator, 1.0)
    if price_bonus:
        weights = weights * np.where(np.asarray(priced), 1.0 + price_bonus.numerator / price_bonus.denominator, 1.0)
    return weights


def _float_targets(dw: np.ndarray, caps: np.ndarray, total_lots: int, floors: np.ndarray | None) -> np.ndarray:
    """`_weighted_fill`'s bisection before issue 15: the targets before rounding."""
    capf = caps.astype(np.float64)
    flo = None if floors is None else floors.astype(np.float64)
    live = dw > 0
    lo, hi = 0.0, float(np.max(capf[live] / dw[live])) if live.any() else 0.0

    def target(c: float) -> np.ndarray:
        t = c * dw if flo is None else np.maximum(flo, c * dw)
        return np.minimum(capf, t)

    for _ in range(200):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if math.fsum(target(mid).tolist()) <= total_lots:
            lo = mid
        else:
            hi = mid
    return target(lo)


def _float_fill(tgt: np.ndarray, caps: np.ndarray, total_lots: int, tie_order: tuple[np.ndarray, ...]) -> np.ndarray:
    lots = np.floor(tgt).astype(np.int64)
    left = total_lots - int(lots.sum())
    order = np.lexsort((*tie_order, -(tgt - lots)))
    while left > 0:
        take = order[lots[order] < caps[order]][:left]
        lots[take] += 1
        left -= len(take)
    return lots


def _noisy(fractions: list[float]) -> bool:
    """Whether rounding noise could decide the lots: a fractional part within `NOISE` of a whole
    number (but not whole), or two distinct ones within `NOISE` of each other."""
    if any(0 < f < NOISE or f > 1 - NOISE for f in fractions):
        return True
    distinct = sorted(set(fractions))
    return any(b - a < NOISE for a, b in zip(distinct, distinct[1:], strict=False))


def _exact_targets(dw: list[int], caps: np.ndarray, floors: np.ndarray | None, c: Fraction) -> list[Fraction]:
    lows = [0] * len(dw) if floors is None else floors.tolist()
    return [min(Fraction(cap), max(Fraction(low), c * w)) for w, cap, low in zip(dw, caps.tolist(), lows, strict=True)]


BOOKS = st.integers(min_value=1, max_value=25).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(min_value=1, max_value=5_000), min_size=n, max_size=n),
        st.lists(st.integers(min_value=0, max_value=len(TIERS) - 1), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=400, deadline=None)
@given(
    BOOKS,
    st.sampled_from(BONUSES),
    st.sampled_from(BONUSES),
    st.floats(min_value=0.01, max_value=0.99),
    st.sampled_from([Fraction(1, 10), Fraction(1, 4), Fraction(1)]),
    st.booleans(),
)
def test_placing_weighted_fill_matches_the_float_solver_where_no_noise_decides(
    book: tuple[list[int], list[int], list[bool], list[bool], list[bool]],
    early_bonus: Fraction,
    price_bonus: Fraction,
    share: float,
    cap_share: Fraction,
    with_floors: bool,
) -> None:
    demand_list, tiers, early, priced, independent = book
    demand = np.asarray(demand_list, dtype=np.int64)
    total_lots = max(1, int(demand.sum() * share))
    caps = np.minimum(demand, max(total_lots * cap_share.numerator // cap_share.denominator, 1))
    if int(caps.sum()) < total_lots:
        caps = demand.copy()
    weights = [
        TIERS[t] * (1 + early_bonus if e else 1) * (1 + price_bonus if p else 1) for t, e, p in zip(tiers, early, priced, strict=True)
    ]
    dw = weighted_demand(demand, weights)
    floors = None
    if with_floors:  # an 18C top-up: the independents' share of the tranche first, then the whole with those floors
        need = max(1, total_lots // 5)
        ind_caps = np.where(np.asarray(independent), caps, 0)
        if int(ind_caps.sum()) < need:
            return
        floors = weighted_fill([w if i else 0 for w, i in zip(dw, independent, strict=True)], ind_caps, need, _ties(len(dw)))
        caps = np.maximum(caps, floors)
    n = len(dw)
    tie_order = _ties(n)
    lots = weighted_fill(dw, caps, total_lots, tie_order, floors)

    c = fill_factor(dw, caps.tolist(), [0] * n if floors is None else floors.tolist(), total_lots)
    exact = _exact_targets(dw, caps, floors, c)
    assert sum(exact) == total_lots
    assert int(lots.sum()) == total_lots and bool(np.all(lots <= caps))
    assert floors is None or bool(np.all(lots >= floors))
    assert all(math.floor(t) <= x <= math.ceil(t) for t, x in zip(exact, lots.tolist(), strict=True))

    float_dw = demand.astype(np.float64) * _float_weights(tiers, early, priced, early_bonus, price_bonus)
    tgt = _float_targets(float_dw, caps, total_lots, floors)
    exact_fractions = [float(t - math.floor(t)) for t in exact]
    if _noisy((tgt - np.floor(tgt)).tolist()) or _noisy(exact_fractions):
        return
    assert lots.tolist() == _float_fill(tgt, caps, total_lots, tie_order).tolist()


def _ties(n: int) -> tuple[np.ndarray, ...]:
    """(index, arrival, tier) as `allocate_placing` passes them: arrival reversed, so the index is not the only key."""
    return (np.arange(n), np.arange(n)[::-1].copy(), np.zeros(n, dtype=np.int64))


def test_placing_fill_factor_is_the_least_that_fills_the_tranche() -> None:
    # two investors, weights 1 and 2, caps 10 and 4: c = 2 fills 2 + 4 = 6; 8 lots need c = 4 (4 + capped 4)
    assert fill_factor([1, 2], [10, 4], [0, 0], 6) == 2
    assert fill_factor([1, 2], [10, 4], [0, 0], 8) == 4
    # floors hold until c x dw passes them; the floors alone are 5, so 5 lots need no c at all
    assert fill_factor([1, 1], [10, 10], [5, 0], 5) == 0
    assert fill_factor([1, 1], [10, 10], [5, 0], 7) == 2  # 5 (the floor) + 2
    assert fill_factor([1, 1], [10, 10], [5, 0], 12) == 6  # past the floor: 6 + 6
    # caps that cannot reach the tranche: every investor at its cap
    assert fill_factor([1, 3], [2, 3], [0, 0], 100) == 2


def test_placing_whole_targets_round_to_themselves_and_ties_go_by_the_tie_order() -> None:
    # equal weights, 10 lots over 4 investors: 2.5 each; the two left go by (tier, arrival, index)
    ties = (np.arange(4), np.asarray([3, 2, 1, 0]), np.asarray([2, 1, 1, 1]))
    assert weighted_fill([1, 1, 1, 1], np.full(4, 10), 10, ties).tolist() == [2, 2, 3, 3]
    # exact thirds: 9 lots over weights 1, 2 (c = 3) are 3 and 6, never 2 and 7 from a rounding slip
    assert weighted_fill([1, 2], np.asarray([9, 9]), 9, (np.arange(2),)).tolist() == [3, 6]
