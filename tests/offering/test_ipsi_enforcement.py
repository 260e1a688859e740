"""Rule 18C.08: the placing policy enforces the independent price-setting investor minimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from offering_builders import apps_for_demand, at_price, book, cornerstone, resolved

from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering._codes import OfferingCode
from lionrock.offering.allocation import allocate
from lionrock.offering.books import ioi_book_from_iois
from lionrock.offering.commands import Ioi, IoiStep
from lionrock.rules.offering import CHAPTER_18C_OFFERING

N = 1_000_000
LOT = 100
SEED = 20251128


def _iois(independent_each: int, independents: int = 5, others: int = 10, other_each: int = 400_000) -> list[Ioi]:
    """Tier-1 non-independent investors with large demand, tier-3 independents (low policy weight)."""
    out = [
        Ioi(
            ioi_id=f"N{i}",
            investor=f"NONIND{i}",
            account=f"C:SYND:N{i}",
            participant="P9",
            tier=1,
            independent=False,
            steps=[IoiStep(0, other_each)],
        )
        for i in range(others)
    ]
    out += [
        Ioi(
            ioi_id=f"I{i}",
            investor=f"IND{i}",
            account=f"C:SYND:I{i}",
            participant="P9",
            tier=3,
            independent=True,
            steps=[IoiStep(0, independent_each)],
        )
        for i in range(independents)
    ]
    return out


def _allocate_18c(independent_each: int, **kw):  # type: ignore[no-untyped-def]
    ro = resolved(chapter="18C", mechanism="", public_share=None, shares_offered=N, **kw)
    iois = ioi_book_from_iois(_iois(independent_each))
    apps = book(apps_for_demand(ro.initial_public_shares, ro.max_application_shares, LOT))
    return ro, iois, allocate(ro, at_price(10_000), iois, apps, SEED)


def _required(ro) -> int:  # type: ignore[no-untyped-def]
    r = CHAPTER_18C_OFFERING.in_force(ro.spec.prospectus_date).independent_price_setting_min
    return -(-N * r.numerator // r.denominator)


def test_18c_placing_default_policy_short_of_ipsi_minimum_gives_independents_at_least_half() -> None:
    """Listing Rule 18C.08: at least 50% of the offer shares (excluding the options) go to independent
    price-setting investors. The default weights (tier 3 vs tier 1, 10% cap) would give the
    independents almost nothing; the policy now tops them up to the minimum first."""
    ro, iois, r = _allocate_18c(200_000)
    s = r.summary
    indep = int(r.placee_shares[iois.independent].sum())
    assert s.ipsi_required_shares == _required(ro) == N // 2
    assert indep >= s.ipsi_required_shares and s.ipsi_shares >= s.ipsi_required_shares
    assert s.ipsi_shortfall_shares == 0
    assert np.all(r.placee_shares <= iois.demand_at(10_000)) and np.all(r.placee_shares % LOT == 0)
    assert int(r.placee_shares.sum()) == s.placing_shares
    assert not any("below the" in n for n in s.notes)


def test_18c_placing_counts_independent_cornerstones_towards_ipsi_minimum() -> None:
    """Listing Rule 18C.08: independent cornerstones count ("whether or not as cornerstone investors"),
    so the placing tops independents up only by what the cornerstone leaves."""
    cs = cornerstone("CS1", amount_minor=300_000_000, independent=True)  # HK$3m: 300,000 shares at HK$10
    ro, iois, r = _allocate_18c(200_000, cornerstones=[cs])
    s = r.summary
    assert s.cornerstone_shares == 300_000
    indep = int(r.placee_shares[iois.independent].sum())
    assert 200_000 <= indep < 300_000
    assert s.ipsi_shares >= s.ipsi_required_shares and s.ipsi_shortfall_shares == 0


def test_18c_placing_insufficient_independent_demand_allots_all_and_reports_shortfall() -> None:
    """Listing Rule 18C.08: independent demand at the price (5 x 40,000) cannot reach 50%; all of it
    is allotted and the summary shows the shortfall."""
    ro, iois, r = _allocate_18c(40_000)
    s = r.summary
    assert np.array_equal(r.placee_shares[iois.independent], iois.demand_at(10_000)[iois.independent])
    assert s.ipsi_shares == 200_000
    assert s.ipsi_shortfall_shares == s.ipsi_required_shares - 200_000 == 300_000
    assert any("18C.08" in n and "shortfall" in n for n in s.notes)
    assert int(r.placee_shares.sum()) == s.placing_shares


def test_18c_placing_already_compliant_is_left_to_default_policy() -> None:
    """Listing Rule 18C.08: when the default policy already meets the minimum nothing changes."""
    ro = resolved(chapter="18C", mechanism="", public_share=None, shares_offered=N)
    iois = ioi_book_from_iois(_iois(400_000, independents=10, others=2, other_each=100_000))
    apps = book(apps_for_demand(ro.initial_public_shares, ro.max_application_shares, LOT))
    r = allocate(ro, at_price(10_000), iois, apps, SEED)
    assert r.summary.ipsi_shares >= r.summary.ipsi_required_shares
    assert not any("topped up" in n for n in r.summary.notes)


# digest of this allocation before Rule 18C.08 enforcement was added (main board: must not change)
MAIN_BOARD_DIGEST = "b9b9409e7558dcdcc30366186d314b117d51e9fe4d06e60f80878ef68e4526a2"


def test_main_board_placing_unchanged_by_ipsi_enforcement() -> None:
    """Listing Rule 18C.08 applies to Chapter 18C only: a main board allocation is byte-identical."""
    ro = resolved(shares_offered=N, over_allotment=Rate(15, 100), cornerstones=[cornerstone("CS1", amount_minor=200_000_000)])
    iois = _iois(200_000)
    iois.append(
        Ioi(
            ioi_id="L1",
            investor="LIM1",
            account="C:SYND:L1",
            participant="P9",
            tier=2,
            independent=False,
            steps=[IoiStep(9_800, 150_000), IoiStep(10_000, 50_000)],
        )
    )
    apps = book(apps_for_demand(ro.initial_public_shares * 20, ro.max_application_shares // 3, LOT))
    r = allocate(ro, at_price(9_700), ioi_book_from_iois(iois), apps, SEED)
    assert r.summary.allotment_digest == MAIN_BOARD_DIGEST


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(200, 5_000),
    st.lists(st.tuples(st.integers(1, 3), st.booleans(), st.integers(1, 3_000)), min_size=1, max_size=30),
    st.integers(0, 15),
    st.integers(0, 40),
)
def test_18c_placing_meets_ipsi_minimum_or_allots_all_independent_demand(lots_offered, investors, oa_pct, cs_pct) -> None:  # type: ignore[no-untyped-def]
    """Listing Rule 18C.08 (property): with any mix of investors the independents reach the minimum, or
    get all their demand at the price and the shortfall is reported; the invariants still hold."""
    kw = {"over_allotment": Rate(oa_pct, 100)}
    if cs_pct:
        kw["cornerstones"] = [cornerstone("CS1", amount_minor=lots_offered * LOT * 900 * cs_pct // 100, independent=cs_pct % 2 == 0)]
    try:
        ro = resolved(chapter="18C", mechanism="", public_share=None, shares_offered=lots_offered * LOT, **kw)
    except Reject:
        assume(False)
    ioi_list = [
        Ioi(
            ioi_id=f"I{i}",
            investor=f"INV{i}",
            account=f"C:SYND:INV{i}",
            participant="P9",
            tier=tier,
            independent=ind,
            steps=[IoiStep(0, lots * LOT)],
        )
        for i, (tier, ind, lots) in enumerate(investors)
    ]
    iois = ioi_book_from_iois(ioi_list)
    apps = book(apps_for_demand(ro.initial_public_shares, ro.max_application_shares, LOT))
    r = allocate(ro, at_price(10_000), iois, apps, SEED)
    s = r.summary
    demand = iois.demand_at(10_000)
    assert np.all(r.placee_shares <= demand) and np.all(r.placee_shares % LOT == 0)
    assert int(r.placee_shares.sum()) == s.placing_shares
    assert (
        s.cornerstone_shares + int(r.app_allotted.sum()) + s.placing_shares + s.underwriter_shares
        == s.offer_shares + s.over_allocated_shares
    )
    assert s.ipsi_shortfall_shares == max(s.ipsi_required_shares - s.ipsi_shares, 0)
    if s.ipsi_shortfall_shares:
        indep = iois.independent
        assert (
            np.all(r.placee_shares[indep] == demand[indep])
            or int(r.placee_shares[indep].sum()) >= s.placing_shares - s.over_allocated_shares - LOT + 1
        )
        assert any("shortfall" in n for n in s.notes)


def _steering_book(independent_limit: int, independent_each: int = 120_000, cornerstones=(), waiver: str = ""):  # type: ignore[no-untyped-def]
    """Non-independents cover the tranche several times at the top of the range; the five
    independents only bid at or below ``independent_limit``."""
    ro = resolved(
        chapter="18C",
        mechanism="",
        public_share=None,
        shares_offered=N,
        cornerstones=list(cornerstones),
        independent_price_setting_waiver=waiver,
    )
    out = [
        Ioi(
            ioi_id=f"N{i}",
            investor=f"NONIND{i}",
            account=f"C:SYND:N{i}",
            participant="P9",
            tier=1,
            independent=False,
            steps=[IoiStep(0, 400_000)],
        )
        for i in range(10)
    ]
    out += [
        Ioi(
            ioi_id=f"I{i}",
            investor=f"IND{i}",
            account=f"C:SYND:I{i}",
            participant="P9",
            tier=3,
            independent=True,
            steps=[IoiStep(independent_limit, independent_each)],
        )
        for i in range(5)
    ]
    return ro, ioi_book_from_iois(out)


def test_18c_pricing_lowers_the_price_until_independents_can_take_the_minimum() -> None:
    """Rule 18C.08 at pricing: at HK$10.00 (where the coverage policy would price) the
    independents bid nothing; at HK$9.50 they bid 600,000 >= the 500,000 required, so the price
    is lowered to HK$9.50, with the reason, and the allotment meets the minimum."""
    from lionrock.offering.pricing import ipsi_capacity, set_price

    ro, iois = _steering_book(9_500)
    assert ipsi_capacity(ro, iois, 10_000) == 0 and ipsi_capacity(ro, iois, 9_500) == 600_000
    decision = set_price(ro, iois)
    assert decision.price == 9_500
    assert any("lowered to 9.50" in r and "18C" in r for r in decision.reasons)
    apps = book(apps_for_demand(ro.initial_public_shares, ro.max_application_shares, LOT))
    s = allocate(ro, decision, iois, apps, SEED).summary
    assert s.ipsi_shortfall_shares == 0 and s.ipsi_shares >= s.ipsi_required_shares


def test_18c_pricing_keeps_the_price_when_independents_already_reach_the_minimum() -> None:
    from lionrock.offering.pricing import set_price

    ro, iois = _steering_book(10_000)
    decision = set_price(ro, iois)
    assert decision.price == 10_000
    assert any("at least the 500,000 required" in r for r in decision.reasons)


def test_18c_pricing_independent_cornerstone_counts_and_lower_price_buys_more_of_it() -> None:
    """A fixed-amount independent cornerstone buys more shares at a lower price: with HK$4.5m
    (450,000 shares at 10.00, 500,000 at 9.00) and no independent IOIs, only the floor reaches
    the minimum."""
    from lionrock.offering.pricing import ipsi_capacity, set_price

    cs = cornerstone("CS1", amount_minor=450_000_000, independent=True)
    ro, iois = _steering_book(1, independent_each=100, cornerstones=[cs])  # independents bid (almost) nothing
    assert ipsi_capacity(ro, iois, 10_000) == 450_000 and ipsi_capacity(ro, iois, 9_000) == 500_000
    decision = set_price(ro, iois)
    assert decision.price == 9_000


def test_18c_pricing_given_price_short_of_the_minimum_is_refused_naming_the_price_that_meets_it() -> None:
    """A price set by the command (the issuer's and coordinators' decision) is never moved; if the
    independents cannot take Rule 18C.08's minimum there, pricing is refused (coded, the rule
    cited) and the message names the highest price at which they can."""
    from lionrock.offering.pricing import set_price

    ro, iois = _steering_book(9_500)
    with pytest.raises(Reject) as refused:
        set_price(ro, iois, price=10_000)
    assert refused.value.rejection.code == OfferingCode.INDEPENDENT_PRICE_SETTERS_SHORT and "18C.08" in refused.value.rejection.rule
    assert "can take at most 0 of the 500,000" in refused.value.rejection.message and "reach it at 9.50" in refused.value.rejection.message


def test_18c_pricing_no_price_reaches_the_minimum_is_refused_without_a_waiver() -> None:
    """Item 8: when no candidate price lets the independents reach the minimum, the offer cannot be
    priced: the rejection says so (the range searched) and cites Rule 18C.08."""
    from lionrock.offering.pricing import set_price

    ro, iois = _steering_book(9_500, independent_each=10_000)  # 50,000 at most
    with pytest.raises(Reject) as refused:
        set_price(ro, iois)
    assert refused.value.rejection.code == OfferingCode.INDEPENDENT_PRICE_SETTERS_SHORT
    assert (
        "no price in 9.00..10.00 lets them reach it" in refused.value.rejection.message
        and refused.value.rejection.rule == ro.chapter_18c.rule
    )  # type: ignore[union-attr]


def test_18c_pricing_declared_waiver_lets_the_offer_proceed_and_reports_the_shortfall() -> None:
    """With a waiver of Rule 18C.08 (Transwarp 6727 had one: "(a) the Offer Price of the H Shares
    will be determined with reference to the prevailing market price of the A Shares ..."), the
    policy's price and a given price stand, the reasons name the waiver, and the allotment
    reports the shortfall."""
    from lionrock.offering.pricing import set_price

    waiver = "HKEX waiver of Rule 18C.08 (A+H, price by reference to the A shares)"
    ro, iois = _steering_book(9_500, independent_each=10_000, waiver=waiver)
    decision = set_price(ro, iois)
    assert decision.price == 10_000
    assert any("no price in 9.00..10.00 lets them reach it" in r and waiver in r and "stands" in r for r in decision.reasons)
    given = set_price(ro, iois, price=9_500)
    assert given.price == 9_500 and any(waiver in r for r in given.reasons)
    apps = book(apps_for_demand(ro.initial_public_shares, ro.max_application_shares, LOT))
    s = allocate(ro, decision, iois, apps, SEED).summary
    assert s.ipsi_shortfall_shares == s.ipsi_required_shares - s.ipsi_shares > 0


def test_18c_pricing_steers_before_refusing_when_a_lower_price_meets_the_minimum() -> None:
    """The policy's price is lowered (not refused) when a lower candidate meets the minimum, with
    or without a waiver."""
    from lionrock.offering.pricing import set_price

    ro, iois = _steering_book(9_500, waiver="any waiver")
    assert set_price(ro, iois).price == 9_500


def test_independent_price_setting_waiver_only_for_chapter_18c() -> None:
    with pytest.raises(Reject) as refused:
        resolved(independent_price_setting_waiver="a waiver")
    assert refused.value.rejection.field == "offering.independent_price_setting_waiver"
