"""Invariants of the eligibility engine over generated figures."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.listing import assess
from testkit.listing import BN, M, profile, with_latest_year, with_offering

money = st.integers(min_value=-2_000 * M, max_value=5 * BN)
days = st.dates(min_value=date(2016, 1, 1), max_value=date(2030, 6, 30))


@settings(max_examples=60, deadline=None)
@given(revenue=st.integers(0, 3 * BN), profit=money, mcap=st.integers(100 * M, 80 * BN), on=days)
def test_route_open_iff_every_decisive_test_passes(revenue: int, profit: int, mcap: int, on: date) -> None:
    p = with_offering(
        with_latest_year(profile(), revenue=revenue, specialist_technology_revenue=revenue, profit_attributable=profit),
        expected_market_cap=mcap,
        planned_offering_size=mcap // 10,
    )
    result = assess(p, on)
    by_id = {t.id: t for t in result.tests}
    for route in result.routes:
        decisive = [by_id[i] for i in route.tests if by_id[i].passed is not None]
        assert route.open == all(t.passed for t in decisive)
        assert route.open == (not route.changes_needed)
    assert result.open_routes == [r.route for r in result.routes if r.open]


@settings(max_examples=60, deadline=None)
@given(revenue=st.integers(0, 3 * BN), extra=st.integers(0, 2 * BN), on=days)
def test_more_revenue_never_closes_a_main_board_route(revenue: int, extra: int, on: date) -> None:
    low = with_latest_year(profile(), revenue=revenue)
    high = with_latest_year(profile(), revenue=revenue + extra)
    opened_low = {r for r in assess(low, on).open_routes if r.startswith("main_board")}
    opened_high = {r for r in assess(high, on).open_routes if r.startswith("main_board")}
    assert opened_low <= opened_high
