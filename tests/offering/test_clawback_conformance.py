"""Conformance: the public tranche under each regime at and around every clawback threshold.

Offering: 1,000,000 shares in lots of 100; ample placing demand so no discretionary reallocation.
"""

from __future__ import annotations

import pytest
from offering_builders import PRE_2025, apps_for_demand, at_price, book, ioi_book, pn18, resolved

from lionrock.kernel.money import Rate
from lionrock.offering.allocation import allocate
from lionrock.offering.commands import ClawbackWaiverSpec

N = 1_000_000


def _final_public(ro, demand: int) -> int:
    apps = book(apps_for_demand(demand, ro.max_application_shares, ro.lot))
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, 10 * N), apps, seed=1)
    assert result.summary.public_demand_shares == demand
    return result.summary.final_public_shares


def _just_below(multiple: int, initial: int) -> int:
    return multiple * initial - 100


@pytest.mark.parametrize(
    ("demand_times", "below", "expected_pct"),
    [
        (1, False, 10),
        (15, True, 10),
        (15, False, 30),
        (50, True, 30),
        (50, False, 40),
        (100, True, 40),
        (100, False, 50),
        (400, False, 50),
    ],
)
def test_pn18_clawback_at_thresholds_matches_ladder(demand_times: int, below: bool, expected_pct: int) -> None:
    """Listing Rules PN18 para 4.2 (pre-4 Aug 2025): initial 10%; 30% at 15x, 40% at 50x, 50% at 100x."""
    ro = resolved(prospectus_date=PRE_2025, mechanism="", public_share=None)
    initial = ro.initial_public_shares
    assert initial == N // 10 and ro.regime == "PN18"
    demand = _just_below(demand_times, initial) if below else demand_times * initial
    assert _final_public(ro, demand) == expected_pct * N // 100


@pytest.mark.parametrize(
    ("demand_times", "below", "expected_pct"),
    [
        (2, False, 5),
        (15, True, 5),
        (15, False, 15),
        (50, True, 15),
        (50, False, 25),
        (100, True, 25),
        (100, False, 35),
        (1000, False, 35),
    ],
)
def test_mechanism_a_clawback_at_thresholds_matches_ladder(demand_times: int, below: bool, expected_pct: int) -> None:
    """PN18 para 4.2 as amended 4 Aug 2025, Mechanism A: 5% -> 15% / 25% / 35% at 15x / 50x / 100x
    (thresholds secondary-sourced; recorded in rules.offering)."""
    ro = resolved(mechanism="A", public_share=None)
    initial = ro.initial_public_shares
    assert initial == N * 5 // 100
    demand = _just_below(demand_times, initial) if below else demand_times * initial
    assert _final_public(ro, demand) == expected_pct * N // 100


@pytest.mark.parametrize("demand_times", [1, 15, 50, 100, 1000])
def test_mechanism_b_fixed_tranche_never_claws_back(demand_times: int) -> None:
    """PN18 para 4.2 as amended 4 Aug 2025, Mechanism B: a fixed share of 10%-60%, no clawback."""
    ro = resolved(mechanism="B", public_share=Rate(25, 100))
    assert _final_public(ro, demand_times * ro.initial_public_shares) == 250_000


@pytest.mark.parametrize(
    ("demand_times", "below", "expected_pct"),
    [
        (3, False, 5),
        (10, True, 5),
        (10, False, 10),
        (50, True, 10),
        (50, False, 20),
        (500, False, 20),
    ],
)
def test_chapter_18c_clawback_at_thresholds_matches_18c09(demand_times: int, below: bool, expected_pct: int) -> None:
    """Listing Rules 18C.09: initial 5%; 10% at 10x-<50x; 20% at >= 50x (also after 4 Aug 2025)."""
    ro = resolved(chapter="18C", mechanism="", public_share=None)
    initial = ro.initial_public_shares
    assert initial == N * 5 // 100 and ro.regime == "Chapter 18C"
    demand = _just_below(demand_times, initial) if below else demand_times * initial
    assert _final_public(ro, demand) == expected_pct * N // 100


def test_waiver_schedule_replaces_ladder() -> None:
    """A PN18 waiver given in the offering file (e.g. HKEx-LD60-2: 10% -> 15% -> 17.5% -> 20%)."""
    waiver = ClawbackWaiverSpec(
        reference="HKEx-LD60-2 waiver", initial=Rate(10, 100), steps=[(15, Rate(15, 100)), (50, Rate(175, 1000)), (100, Rate(20, 100))]
    )
    ro = resolved(prospectus_date=PRE_2025, mechanism="", public_share=None, waiver=waiver)
    initial = ro.initial_public_shares
    assert _final_public(ro, 14 * initial) == 100_000
    assert _final_public(ro, 15 * initial) == 150_000
    assert _final_public(ro, 50 * initial) == 175_000
    assert _final_public(ro, 100 * initial) == 200_000


def test_undersubscribed_public_offer_moves_shares_to_placing() -> None:
    """An undersubscribed public tranche: unsubscribed shares are reallocated to the placing."""
    ro = resolved(mechanism="B", public_share=Rate(10, 100))
    apps = book(apps_for_demand(40_000, ro.max_application_shares, ro.lot))
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, 10 * N), apps, seed=1)
    s = result.summary
    assert s.final_public_shares == 40_000 and s.placing_shares - s.over_allocated_shares == N - 40_000


@pytest.mark.parametrize(
    ("regime", "cap"),
    [
        # before 4 Aug 2025: double the initial tranche (HKEX GL91-18, as prospectuses word it)
        ("PN18", 2 * 100_000),
        # from 4 Aug 2025: the allocation cap, 15% of the shares initially offered, below double the
        # initial 10% (ALLOCATION_CAP_2025_RULE; Shougang LanzaTech 2553 reallocated from an
        # undersubscribed placing to exactly 15%, "the allocation cap ... has not been exceeded")
        ("B", 150_000),
    ],
)
def test_undersubscribed_placing_reallocates_to_public_up_to_the_allocation_cap(regime: str, cap: int) -> None:
    """Placing undersubscribed: the coordinators may reallocate to the public offer, but only up to
    the allocation cap; the rest goes to the underwriters."""
    ro = pn18() if regime == "PN18" else resolved(mechanism="B", public_share=Rate(10, 100))
    assert ro.initial_public_shares == 100_000 and ro.reallocation_cap_shares == cap
    apps = book(apps_for_demand(1_400_000, ro.max_application_shares, ro.lot))  # 14x: below PN18's first step
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, 500_000), apps, seed=1)
    s = result.summary
    assert s.placing_shares == 500_000 and s.final_public_shares == cap
    assert s.underwriter_shares == N - 500_000 - cap
    assert s.final_public_shares + s.placing_shares + s.underwriter_shares == N


def test_reallocation_within_the_cap_fills_public_demand() -> None:
    """A placing shortfall smaller than the room under the GL91-18 cap moves in full."""
    ro = resolved(mechanism="B", public_share=Rate(10, 100))
    apps = book(apps_for_demand(2_000_000, ro.max_application_shares, ro.lot))
    placing_avail = N - ro.initial_public_shares
    shortfall = ro.initial_public_shares // 2
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, placing_avail - shortfall), apps, seed=1)
    s = result.summary
    assert s.final_public_shares == ro.initial_public_shares + shortfall and s.underwriter_shares == 0


def test_unsold_shares_go_to_underwriters() -> None:
    ro = resolved(mechanism="B", public_share=Rate(10, 100))
    apps = book(apps_for_demand(50_000, ro.max_application_shares, ro.lot))
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, 300_000), apps, seed=1)
    s = result.summary
    assert s.underwriter_shares == N - 50_000 - 300_000
    assert s.final_public_shares + s.placing_shares + s.underwriter_shares == N
