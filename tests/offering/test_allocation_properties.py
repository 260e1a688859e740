"""Invariants of the allocation (hypothesis): exact totals, caps, whole lots, seeded ballot."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from offering_builders import at_price, batch, book, cornerstone, ioi_book, resolved

from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering.allocation import POOL_A, POOL_B, allocate, ballot, pool_basis

LOT = 100


@st.composite
def scenarios(draw):  # type: ignore[no-untyped-def]
    lots_offered = draw(st.integers(200, 20_000))
    mechanism = draw(st.sampled_from(["A", "B", "PN18", "18C"]))
    kw = {"shares_offered": lots_offered * LOT, "over_allotment": Rate(draw(st.integers(0, 15)), 100)}
    if mechanism == "PN18":
        kw.update(prospectus_date=resolved().spec.prospectus_date.replace(year=2024, month=6, day=3), mechanism="", public_share=None)
    elif mechanism == "18C":
        kw.update(chapter="18C", mechanism="", public_share=None)
    elif mechanism == "A":
        kw.update(mechanism="A", public_share=None)
    else:
        kw.update(public_share=Rate(draw(st.integers(10, 60)), 100))
    if draw(st.booleans()):
        kw["cornerstones"] = [cornerstone("CS1", amount_minor=lots_offered * LOT * 1000 * draw(st.integers(0, 15)) // 100 + 100_000)]
    try:
        ro = resolved(**kw)
    except Reject:
        assume(False)
    max_lots = ro.max_application_shares // LOT
    sizes = draw(st.lists(st.integers(1, max_lots + 2), min_size=1, max_size=300))
    shares = [s * LOT for s in sizes]
    if draw(st.booleans()):
        shares.append(150)  # not whole lots
    applicants = [f"A{i}" for i in range(len(shares))]
    if len(applicants) > 3 and draw(st.booleans()):
        applicants[1] = applicants[0]  # a multiple application
    placing_demand = draw(st.integers(0, 5 * lots_offered)) * LOT
    price = draw(st.integers(ro.price_floor, ro.spec.price_high))
    return ro, book(batch(shares, applicants=applicants)), ioi_book(ro, placing_demand, investors=draw(st.integers(1, 40))), price


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**32))
def test_allocation_conserves_shares_caps_and_lots(scenario, seed) -> None:  # type: ignore[no-untyped-def]
    ro, apps, iois, price = scenario
    r = allocate(ro, at_price(price), iois, apps, seed)
    s = r.summary
    # shares allotted == shares offered (+ over-allocated, to be covered by the option or buy-back)
    assert (
        s.cornerstone_shares + int(r.app_allotted.sum()) + int(r.placee_shares.sum()) + s.underwriter_shares
        == s.offer_shares + s.over_allocated_shares
    )
    assert s.over_allocated_shares <= ro.spec.over_allotment.numerator * s.offer_shares // ro.spec.over_allotment.denominator
    # nobody gets more than applied for; rejected applications get nothing
    assert np.all(r.app_allotted <= np.where(r.app_status == 0, apps.shares, 0))
    assert np.all(r.placee_shares <= iois.demand_at(price))
    # whole board lots only
    assert np.all(r.app_allotted % LOT == 0) and np.all(r.placee_shares % LOT == 0)
    assert all(c.shares % LOT == 0 for c in r.cornerstones)
    # pools: each pool's allotments equal its size; sizes follow the split rule
    assert int(r.app_allotted[r.app_pool == POOL_A].sum()) == s.pool_a_shares
    assert int(r.app_allotted[r.app_pool == POOL_B].sum()) == s.pool_b_shares
    assert s.pool_a_shares + s.pool_b_shares == s.final_public_shares
    if s.pool_a_demand_shares >= s.final_public_shares and s.pool_b_demand_shares >= s.final_public_shares:
        assert abs(s.pool_a_shares - s.pool_b_shares) <= LOT
    # same seed, same allotment
    again = allocate(ro, at_price(price), iois, apps, seed)
    assert again.summary.allotment_digest == s.allotment_digest


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=20, max_size=400), st.integers(1, 2_000), st.integers(0, 2**32), st.integers(1, 8))
def test_ballot_different_seed_same_totals(sizes, pool_lots, seed, taper) -> None:  # type: ignore[no-untyped-def]
    lots = np.asarray(sizes, dtype=np.int64)
    basis = pool_basis(lots, pool_lots, taper)
    a = ballot(lots, basis, np.random.Generator(np.random.PCG64(seed)))
    b = ballot(lots, basis, np.random.Generator(np.random.PCG64(seed + 1)))
    assert int(a.sum()) == int(b.sum()) == min(pool_lots, int(lots.sum()))
    for size in np.unique(lots):  # per band the totals are the basis, whatever the draw
        assert int(a[lots == size].sum()) == int(b[lots == size].sum())
    assert np.all(a <= lots) and np.all(b <= lots)
    # larger applications expect at least as many lots, and (with a taper) no larger a share,
    # up to the one ballot winner per band that rounding to whole lots can move
    g, w, n, sz = basis.guaranteed, basis.winners, basis.counts, basis.sizes
    share = (g * n + w) / (n * sz)
    expected = g + w / n
    assert np.all(np.diff(expected) >= -(1 / n[1:] + 1 / n[:-1]) - 1e-9)
    if taper < 8:
        assert np.all(np.diff(share) <= 1 / n[1:] + 1 / n[:-1] + 1e-9)


def test_ballot_different_seed_different_draw() -> None:
    lots = np.ones(10_000, dtype=np.int64)
    basis = pool_basis(lots, 1_000, 6)
    a = ballot(lots, basis, np.random.Generator(np.random.PCG64(1)))
    b = ballot(lots, basis, np.random.Generator(np.random.PCG64(2)))
    assert a.sum() == b.sum() == 1_000 and not np.array_equal(a, b)


def test_same_seed_same_draw_across_runs() -> None:
    ro = resolved()
    apps = book(batch([100 * (1 + i % 7) for i in range(5_000)]))
    iois = ioi_book(ro, 5_000_000)
    r1 = allocate(ro, at_price(10_000), iois, apps, 99)
    r2 = allocate(ro, at_price(10_000), iois, apps, 99)
    r3 = allocate(ro, at_price(10_000), iois, apps, 100)
    assert np.array_equal(r1.app_allotted, r2.app_allotted)
    assert not np.array_equal(r1.app_allotted, r3.app_allotted)
    assert r1.app_allotted.sum() == r3.app_allotted.sum()
    assert [b.ballot_winners for b in r1.summary.bands] == [b.ballot_winners for b in r3.summary.bands]
