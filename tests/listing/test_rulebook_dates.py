"""Date dependence: the same issuer assessed before and after a rule change."""

from __future__ import annotations

from datetime import date

import msgspec

from lionrock.listing import assess
from lionrock.rules import listing as rules
from testkit.listing import BN, M, profile, with_latest_year, with_offering, years


def _old_years_profile(latest_profit: int, prior_each: int) -> object:
    fys = [msgspec.structs.replace(fy, profit_attributable=prior_each) for fy in years(ends=(2018, 2019, 2020))]
    fys[-1] = msgspec.structs.replace(fys[-1], profit_attributable=latest_profit)
    return msgspec.structs.replace(profile(), financial_years=fys)


def test_profit_test_raised_on_1_jan_2022_closes_route() -> None:
    """Rule 8.05(1)(a): HK$20m/HK$30m until 31 Dec 2021, HK$35m/HK$45m from 1 Jan 2022."""
    p = _old_years_profile(latest_profit=25 * M, prior_each=20 * M)
    before = assess(p, date(2021, 12, 31))  # type: ignore[arg-type]
    after = assess(p, date(2022, 1, 1))  # type: ignore[arg-type]
    assert before.test("mb.8051.latest_profit").passed is True
    assert before.test("mb.8051.latest_profit").threshold == ">= HK$20m"
    assert after.test("mb.8051.latest_profit").passed is False
    assert "short of HK$35m by HK$10m" in after.test("mb.8051.latest_profit").shortfall
    assert "main_board_profit" in before.open_routes and "main_board_profit" not in after.open_routes


def test_18c_temporary_reduction_window() -> None:
    """Rule 18C.03(3): HK$6bn/HK$10bn; HK$4bn/HK$8bn from 1 Sep 2024 to 31 Aug 2027 (Joint Announcement 23 Aug 2024)."""
    p = with_offering(profile(), expected_market_cap=5 * BN)
    assert assess(p, date(2024, 8, 31)).test("18c.market_cap_commercial").passed is False
    assert assess(p, date(2024, 9, 1)).test("18c.market_cap_commercial").passed is True
    assert assess(p, date(2027, 8, 31)).test("18c.market_cap_commercial").passed is True
    late = assess(p, date(2027, 9, 1)).test("18c.market_cap_commercial")
    assert late.passed is False and "short of HK$6bn by HK$1bn" in late.shortfall


def test_18c_not_in_force_before_31_march_2023() -> None:
    """Chapter 18C took effect on 31 Mar 2023."""
    p = msgspec.structs.replace(profile(), financial_years=years(ends=(2019, 2020, 2021)))
    before = assess(p, date(2023, 3, 30))
    assert before.test("18c.in_force").passed is False
    assert not before.route("18c_commercial").open
    assert "18c.in_force" not in [t.id for t in assess(p, date(2023, 3, 31)).tests]


def test_public_float_regime_changes_on_4_aug_2025() -> None:
    """Rule 8.08(1): 25% (15% allowed above HK$10bn) before 4 Aug 2025; tiers from then."""
    p = with_offering(profile(), expected_market_cap=8 * BN)
    assert assess(p, date(2025, 8, 3)).test("mb.public_float").threshold == ">= 25%"
    assert assess(p, date(2025, 8, 4)).test("mb.public_float").threshold == ">= 18.75%"  # HK$1.5bn / HK$8bn


def test_minimum_market_cap_raised_on_15_feb_2018() -> None:
    """Rule 8.09(2): HK$200m before 15 Feb 2018, HK$500m from then."""
    p = with_offering(
        msgspec.structs.replace(profile(), financial_years=years(ends=(2014, 2015, 2016))),
        expected_market_cap=300 * M,
        planned_offering_size=50 * M,
    )
    assert assess(p, date(2018, 2, 14)).test("mb.min_market_cap").passed is True
    assert assess(p, date(2018, 2, 15)).test("mb.min_market_cap").passed is False


def test_only_years_ended_before_the_date_count() -> None:
    """A financial year that has not ended on the assessment date is not part of the record."""
    p = profile()
    result = assess(p, date(2025, 12, 31))
    assert result.test("mb.trading_record").passed is False
    assert assess(p, date(2026, 1, 1)).test("mb.trading_record").passed is True


def test_every_schedule_cites_a_source_and_grade() -> None:
    for sched in (
        rules.MAIN_BOARD_PROFIT_TEST,
        rules.CHAPTER_18C,
        rules.CSRC_FILING,
        rules.TECH_CHANNEL,
        rules.APPLICATION_VALIDITY,
        rules.INITIAL_PUBLIC_FLOAT,
        rules.CHAPTER_8A,
        rules.CHAPTER_18A,
    ):
        for prov in sched.provisions:
            assert prov.source and prov.grade in {"P", "S", "T", "I"}


def test_revenue_shortfall_is_reported_in_hk_dollars() -> None:
    p = with_latest_year(profile(), revenue=456_840_000_00)
    assert (
        "revenue in the latest FY HK$456.84m short of HK$500m by HK$43.16m"
        in assess(p, date(2026, 3, 2)).route("main_board_mcap_revenue").changes_needed
    )
