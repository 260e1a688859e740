"""Conformance: every eligibility threshold at, just below and just above, citing the rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import msgspec
import pytest

from lionrock.kernel.money import Rate
from lionrock.listing import assess
from lionrock.listing.commands import BiotechFacts, IssuerProfile, WeightedVoting
from testkit.listing import BN, ON, M, profile, with_latest_year, with_offering, years

CENT = 1
Build = Callable[[int], IssuerProfile]


def _mcap(value: int) -> IssuerProfile:
    return with_offering(profile(), expected_market_cap=value, planned_offering_size=min(value, 100 * M))


def _revenue(value: int) -> IssuerProfile:
    return with_latest_year(profile(), revenue=value, specialist_technology_revenue=value)


def _prior_profit(value: int) -> IssuerProfile:
    p = profile()
    fys = list(p.financial_years)
    fys[0] = msgspec.structs.replace(fys[0], profit_attributable=value // 2)
    fys[1] = msgspec.structs.replace(fys[1], profit_attributable=value - value // 2)
    return msgspec.structs.replace(p, financial_years=fys)


def _cash_flow(value: int) -> IssuerProfile:
    p = profile()
    fys = [msgspec.structs.replace(fy, operating_cash_flow=0) for fy in p.financial_years]
    fys[-1] = msgspec.structs.replace(fys[-1], operating_cash_flow=value)
    return msgspec.structs.replace(p, financial_years=fys)


# (test id, builder, threshold in cents, rule cited)
MONEY_THRESHOLDS: list[tuple[str, Build, int, str]] = [
    ("mb.min_market_cap", _mcap, 500 * M, "Rule 8.09(2): market cap at listing >= HK$500m"),
    (
        "mb.8051.latest_profit",
        lambda v: with_latest_year(profile(), profit_attributable=v),
        35 * M,
        "Rule 8.05(1)(a) from 1 Jan 2022: latest-FY profit >= HK$35m",
    ),
    ("mb.8051.prior_profit", _prior_profit, 45 * M, "Rule 8.05(1)(a) from 1 Jan 2022: two preceding FYs >= HK$45m"),
    ("mb.8052.market_cap", _mcap, 2 * BN, "Rule 8.05(2): market cap >= HK$2bn"),
    ("mb.8052.revenue", _revenue, 500 * M, "Rule 8.05(2): revenue >= HK$500m"),
    ("mb.8052.cash_flow", _cash_flow, 100 * M, "Rule 8.05(2): operating cash flow >= HK$100m over 3 FYs"),
    ("mb.8053.market_cap", _mcap, 4 * BN, "Rule 8.05(3): market cap >= HK$4bn"),
    ("mb.8053.revenue", _revenue, 500 * M, "Rule 8.05(3): revenue >= HK$500m"),
    ("18c.commercial_revenue", _revenue, 250 * M, "Rule 18C.03(4): specialist technology revenue >= HK$250m"),
    ("18c.market_cap_commercial", _mcap, 4 * BN, "Rule 18C.03(3), temporary: HK$4bn (1 Sep 2024 - 31 Aug 2027)"),
    ("18c.market_cap_pre_commercial", _mcap, 8 * BN, "Rule 18C.03(3), temporary: HK$8bn (1 Sep 2024 - 31 Aug 2027)"),
]


@pytest.mark.parametrize(("test_id", "build", "threshold", "rule"), MONEY_THRESHOLDS, ids=[t[0] for t in MONEY_THRESHOLDS])
@pytest.mark.parametrize(("delta", "expected"), [(-CENT, False), (0, True), (CENT, True)], ids=["below", "at", "above"])
def test_money_threshold_at_below_above_decides(test_id: str, build: Build, threshold: int, rule: str, delta: int, expected: bool) -> None:
    """Each monetary threshold passes at the figure and one cent above, fails one cent below."""
    result = assess(build(threshold + delta), ON).test(test_id)
    assert result.passed is expected, (rule, result)
    if not expected:
        assert "short of" in result.shortfall and "by HK$0.01" in result.shortfall


def _rd(ratio_pct: int, years_meeting: int = 3) -> IssuerProfile:
    """R&D at ``ratio_pct`` of opex in ``years_meeting`` of the 3 years (the rest at 1%)."""
    fys = []
    for i, end in enumerate((2023, 2024, 2025)):
        pct = ratio_pct if i >= 3 - years_meeting else 1
        fys.append(years(ends=(end, end, end))[0])
        fys[-1] = msgspec.structs.replace(fys[-1], rd_expense=pct * 10 * M, total_operating_expenses=1000 * M)
    return msgspec.structs.replace(profile(), financial_years=fys)


@pytest.mark.parametrize(("pct", "expected"), [(14, False), (15, True), (16, True)])
def test_18c_rd_ratio_commercial_at_15pct_passes(pct: int, expected: bool) -> None:
    """Rule 18C.03(2): Commercial Company R&D >= 15% of total operating expenses."""
    assert assess(_rd(pct), ON).test("18c.rd_ratio_commercial").passed is expected


def test_18c_rd_ratio_two_of_three_years_with_aggregate_passes() -> None:
    """Rule 18C.03(2): the ratio must hold in at least 2 of the 3 FYs and in aggregate."""
    p = _rd(30, years_meeting=2)  # 1%, 30%, 30% -> aggregate 20.33% >= 15%
    assert assess(p, ON).test("18c.rd_ratio_commercial").passed is True
    one_year = _rd(40, years_meeting=1)  # 1%, 1%, 40% -> aggregate 14% and 1 of 3
    result = assess(one_year, ON).test("18c.rd_ratio_commercial")
    assert result.passed is False and "met in 1 of 3" in result.shortfall


@pytest.mark.parametrize(
    ("revenue_m", "pct", "expected"),
    [
        (149, 49, False),
        (149, 50, True),  # below HK$150m: 50%
        (150, 29, False),
        (150, 30, True),  # HK$150m-250m: 30%
    ],
)
def test_18c_rd_ratio_pre_commercial_tier_by_revenue(revenue_m: int, pct: int, expected: bool) -> None:
    """Rule 18C.03(2): Pre-Commercial R&D >= 30% (revenue HK$150m-250m) or >= 50% (below HK$150m)."""
    p = with_latest_year(_rd(pct), revenue=revenue_m * M, specialist_technology_revenue=revenue_m * M)
    assert assess(p, ON).test("18c.rd_ratio_pre_commercial").passed is expected


def _sii(mcap: int, stake: Rate) -> IssuerProfile:
    p = with_offering(profile(), expected_market_cap=mcap, planned_offering_size=1)
    rnd = p.funding_rounds[0]
    inv = [msgspec.structs.replace(rnd.investors[0], stake=stake), msgspec.structs.replace(rnd.investors[1], stake=Rate(0, 1))]
    return msgspec.structs.replace(p, funding_rounds=[msgspec.structs.replace(rnd, investors=inv)])


@pytest.mark.parametrize(
    ("mcap", "commercial_pct", "pre_pct"),
    [
        (15 * BN - 1, 20, 25),
        (15 * BN, 15, 20),
        (30 * BN - 1, 15, 20),
        (30 * BN, 10, 15),
    ],
)
def test_18c_sii_minimum_by_market_cap_tier(mcap: int, commercial_pct: int, pre_pct: int) -> None:
    """Guide ch. 2.5 / Rule 18C.03(5): SII holding 20/25% below HK$15bn, 15/20% to HK$30bn, 10/15% above."""
    # the offering of one cent dilutes by a hair, so a stake exactly at the minimum falls short
    tiny = Rate(1, 10**9)
    for test_id, pct in (("18c.sii_commercial", commercial_pct), ("18c.sii_pre_commercial", pre_pct)):
        assert assess(_sii(mcap, Rate(pct * 10**7, 10**9)), ON).test(test_id).passed is False
        assert assess(_sii(mcap, Rate(pct * 10**7 + 1, 10**9)), ON).test(test_id).passed is True
        assert assess(_sii(mcap, Rate(pct * 10**7 - tiny.numerator, 10**9)), ON).test(test_id).passed is False


def test_18c_pathfinders_twelve_months_boundary() -> None:
    """Guide ch. 2.5: at least two Pathfinder SIIs invested at least 12 months before the application."""
    p = profile()
    at = msgspec.structs.replace(p, funding_rounds=[msgspec.structs.replace(p.funding_rounds[0], on=date(2025, 3, 2))])
    late = msgspec.structs.replace(p, funding_rounds=[msgspec.structs.replace(p.funding_rounds[0], on=date(2025, 3, 3))])
    assert assess(at, ON).test("18c.pathfinders").passed is True
    result = assess(late, ON).test("18c.pathfinders")
    assert result.passed is False and "short of 2 by 2" in result.shortfall


@pytest.mark.parametrize(
    ("mcap", "float_pct", "expected_needed"),
    [
        (6 * BN, 25, "25%"),
        (10 * BN, 15, "15%"),
        (30 * BN, 15, "15%"),
        (45 * BN, 10, "10%"),
    ],
)
def test_public_float_tiers_from_4_aug_2025(mcap: int, float_pct: int, expected_needed: str) -> None:
    """Rule 8.08(1) from 4 Aug 2025: 25% to HK$6bn; max(15%, HK$1.5bn) to HK$30bn; max(10%, HK$4.5bn) above."""
    p = with_offering(profile(), expected_market_cap=mcap, planned_public_float=Rate(float_pct, 100))
    result = assess(p, ON).test("mb.public_float")
    assert result.threshold == f">= {expected_needed}" and result.passed is True
    below = with_offering(p, planned_public_float=Rate(float_pct * 100 - 1, 10_000))
    assert assess(below, ON).test("mb.public_float").passed is False


def test_public_float_value_floor_binds_just_above_6bn() -> None:
    """Rule 8.08(1) from 4 Aug 2025: at HK$6.5bn the HK$1.5bn value floor (23.08%) beats 15%."""
    p = with_offering(profile(), expected_market_cap=6_500 * M, planned_public_float=Rate(23, 100))
    result = assess(p, ON).test("mb.public_float")
    assert result.passed is False and result.threshold == ">= 23.08%"


def _wvr(**kw: object) -> IssuerProfile:
    base: dict[str, object] = dict(
        votes_per_wvr_share=10, beneficiaries_are_directors=True, beneficiaries_economic_interest=Rate(10, 100), innovative_company=True
    )
    base.update(kw)
    return with_offering(profile(wvr=WeightedVoting(**base)), expected_market_cap=40 * BN)  # type: ignore[arg-type]


def test_8a_market_cap_limbs() -> None:
    """Rule 8A.06: market cap >= HK$40bn, or >= HK$10bn with revenue >= HK$1bn."""
    assert assess(_wvr(), ON).test("8a.market_cap").passed is True
    low = with_offering(_wvr(), expected_market_cap=40 * BN - 1)
    assert assess(low, ON).test("8a.market_cap").passed is False
    with_revenue = with_latest_year(with_offering(_wvr(), expected_market_cap=10 * BN), revenue=1 * BN)
    assert assess(with_revenue, ON).test("8a.market_cap").passed is True
    short_revenue = with_latest_year(with_revenue, revenue=1 * BN - 1)
    result = assess(short_revenue, ON).test("8a.market_cap")
    assert result.passed is False and "revenue HK$999,999,999.99 short of HK$1bn by HK$0.01" in result.shortfall


@pytest.mark.parametrize(("votes", "expected"), [(9, True), (10, True), (11, False)])
def test_8a_votes_per_share_at_most_ten(votes: int, expected: bool) -> None:
    """Rule 8A.10: a WVR share carries at most ten votes."""
    assert assess(_wvr(votes_per_wvr_share=votes), ON).test("8a.votes").passed is expected


@pytest.mark.parametrize(("interest", "expected"), [(Rate(999, 10_000), False), (Rate(10, 100), True), (Rate(1001, 10_000), True)])
def test_8a_economic_interest_at_least_ten_percent(interest: Rate, expected: bool) -> None:
    """Rule 8A.12: WVR beneficiaries hold at least 10% of the economic interest."""
    assert assess(_wvr(beneficiaries_economic_interest=interest), ON).test("8a.economic_interest").passed is expected


def test_8a_failure_closes_every_route() -> None:
    """Chapter 8A applies on top of the financial route: a failing WVR test closes all routes."""
    result = assess(_wvr(votes_per_wvr_share=20), ON)
    assert result.open_routes == []


@pytest.mark.parametrize(
    ("mcap", "coverage", "expected"),
    [
        (1_500 * M, Rate(125, 100), True),
        (1_500 * M - 1, Rate(125, 100), False),
        (1_500 * M, Rate(12499, 10_000), False),
    ],
)
def test_18a_market_cap_and_working_capital(mcap: int, coverage: Rate, expected: bool) -> None:
    """Chapter 18A: market cap >= HK$1.5bn; working capital >= 125% of 12 months' costs."""
    bio = BiotechFacts(core_product_beyond_concept=True, same_business_years=2, working_capital_coverage=coverage)
    p = with_offering(profile(biotech=bio), expected_market_cap=mcap, planned_offering_size=1)
    assert (assess(p, ON).route("18a").open) is expected


def test_profit_shortfall_message_names_figures() -> None:
    """The summary says what would have to change, with the figures and the gap."""
    p = _revenue(220 * M)
    route = assess(p, ON).route("18c_commercial")
    assert not route.open
    assert "specialist technology revenue in the latest FY HK$220m short of HK$250m by HK$30m" in route.changes_needed
