"""The pool basis in exact arithmetic (issue 15): `pool_basis` solves its fill level with integers
and fractions. Property-tested against the floating-point solver it replaced (kept here as the
reference): the same guaranteed lots and ballot winners, band for band, on random pools, wherever
the float solver's answer did not hang on rounding noise (two bands' remainders equal, or an
expected allotment a whole number: there the float answer was arbitrary and the exact one follows
the documented rule, tested on its own below)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.offering.allocation import TAPER_SCALE_BITS, fill_level, pool_basis, taper_weight


def _float_taper(lots: float, eighths: int) -> float:
    s1 = math.sqrt(lots)
    s2 = math.sqrt(s1)
    s3 = math.sqrt(s2)
    w = lots if eighths == 8 else 1.0
    if eighths < 8:
        if eighths & 4:
            w *= s1
        if eighths & 2:
            w *= s2
        if eighths & 1:
            w *= s3
    return w


def _float_curve(lots: float, points: list[tuple[float, float]]) -> float:
    first_lots, first_w = points[0]
    if lots <= first_lots:
        return first_w * lots / first_lots
    for (a0, w0), (a1, w1) in zip(points, points[1:], strict=False):
        if lots <= a1:
            return w0 + (w1 - w0) * (lots - a0) / (a1 - a0)
    last_lots, last_w = points[-1]
    return last_w * lots / last_lots


NOISE = 1e-9


def _float_basis(lots: np.ndarray, pool_lots: int, taper: int, curve: list[tuple[float, float]]) -> tuple[list[int], list[int]] | None:
    """The solver before issue 15: bisection on a float fill level, then the same rounding; None
    where its answer hangs on rounding noise (remainders within `NOISE` of each other, or of a
    whole number)."""
    counts_by_size = np.bincount(lots)
    sizes = np.flatnonzero(counts_by_size)
    counts = counts_by_size[sizes]
    a = [float(s) for s in sizes.tolist()]
    n = [float(c) for c in counts.tolist()]
    w = [_float_curve(x, curve) if curve else _float_taper(x, taper) for x in a]

    def used(c: float) -> float:
        return math.fsum(nk * min(ak, c * wk) for ak, nk, wk in zip(a, n, w, strict=True))

    lo, hi = 0.0, max(ak / wk for ak, wk in zip(a, w, strict=True))
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if used(mid) <= pool_lots:
            lo = mid
        else:
            hi = mid
    expected = [min(ak, lo * wk) for ak, wk in zip(a, w, strict=True)]
    guaranteed = [math.floor(e) for e in expected]
    extra = [nk * (e - math.floor(e)) for nk, e in zip(n, expected, strict=True)]
    winners = [math.floor(x) for x in extra]
    remainder = [x - math.floor(x) for x in extra]
    near = sorted(remainder)
    if any(b - a < NOISE for a, b in zip(near, near[1:], strict=False)) or any(
        min(r, 1 - r) < NOISE for r in remainder + [e - math.floor(e) for e in expected]
    ):
        return None
    left = pool_lots - sum(g * int(c) for g, c in zip(guaranteed, counts.tolist(), strict=True)) - sum(winners)
    order = sorted(range(len(a)), key=lambda k: (-remainder[k], a[k]))
    while left > 0:
        for k in order:
            if left == 0:
                break
            if winners[k] < counts[k] and guaranteed[k] + 1 <= sizes[k]:
                winners[k] += 1
                left -= 1
            if winners[k] == counts[k] and guaranteed[k] < sizes[k]:
                guaranteed[k] += 1
                winners[k] = 0
    return guaranteed, winners


pools = st.lists(st.integers(1, 400), min_size=2, max_size=300).flatmap(
    lambda sizes: st.tuples(st.just(np.asarray(sizes, dtype=np.int64)), st.integers(1, max(1, sum(sizes) - 1)))
)


@settings(max_examples=300, deadline=None)
@given(pool=pools, taper=st.integers(0, 8))
def test_exact_basis_equals_the_float_solver_on_tapers(pool: tuple[np.ndarray, int], taper: int) -> None:
    lots, pool_lots = pool
    basis = pool_basis(lots, pool_lots, taper)
    assert int((basis.guaranteed * basis.counts).sum() + basis.winners.sum()) == pool_lots
    reference = _float_basis(lots, pool_lots, taper, [])
    if reference is not None:
        assert (basis.guaranteed.tolist(), basis.winners.tolist()) == reference


curves = st.lists(st.tuples(st.integers(1, 500), st.fractions(Fraction(1, 1000), Fraction(50))), min_size=1, max_size=5).map(
    lambda pts: sorted({a: w for a, w in pts}.items())
)


@settings(max_examples=300, deadline=None)
@given(pool=pools, curve=curves)
def test_exact_basis_equals_the_float_solver_on_curves(pool: tuple[np.ndarray, int], curve: list[tuple[int, Fraction]]) -> None:
    lots, pool_lots = pool
    basis = pool_basis(lots, pool_lots, 8, curve)
    assert int((basis.guaranteed * basis.counts).sum() + basis.winners.sum()) == pool_lots
    reference = _float_basis(lots, pool_lots, 8, [(float(a), float(w)) for a, w in curve])
    if reference is not None:
        assert (basis.guaranteed.tolist(), basis.winners.tolist()) == reference


def test_an_exact_tie_goes_to_the_smaller_applications() -> None:
    """Nine applications of 1, 3 and 4 lots (2, 5 and 2 of them) share 3 lots flat (taper 0): each
    expects 1/3 lot, every band's remainder is exactly 2/3, so the two lots left after one winner in
    the 3-lot band go to the smaller bands first (the rule in `pool_basis`). The float solver it
    replaced answered [1, 1, 1] here, by rounding noise."""
    basis = pool_basis(np.asarray([1, 1, 3, 3, 3, 3, 3, 4, 4]), 3, 0)
    assert (basis.guaranteed.tolist(), basis.winners.tolist()) == ([0, 0, 0], [1, 2, 0])


@given(lots=st.integers(1, 10**7), eighths=st.integers(0, 8))
def test_taper_weight_is_the_floor_of_the_scaled_root(lots: int, eighths: int) -> None:
    w = taper_weight(lots, eighths)
    scaled = lots**eighths << (8 * TAPER_SCALE_BITS)
    assert w**8 <= scaled < (w + 1) ** 8


@given(pool=pools, taper=st.integers(0, 8))
def test_fill_level_uses_the_pool_exactly(pool: tuple[np.ndarray, int], taper: int) -> None:
    lots, pool_lots = pool
    sizes = sorted(set(lots.tolist()))
    counts = [int((lots == s).sum()) for s in sizes]
    weights = [taper_weight(s, taper) for s in sizes]
    c = fill_level(sizes, counts, weights, pool_lots)
    assert sum(n * min(Fraction(a), c * w) for a, n, w in zip(sizes, counts, weights, strict=True)) == pool_lots
