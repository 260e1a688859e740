"""XHKG business days and sessions from exchange-calendars (DESIGN.md: trading days from XHKG)."""

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lionrock.kernel.xhkg import (
    HkDay,
    add_business_days,
    business_days,
    business_days_between,
    hk_date,
    hk_ns,
    hk_time,
    is_business_day,
    trading_day,
)


def test_t_plus_2_skips_the_weekend() -> None:
    """FINI: price fixed on T (Friday 21 Nov 2025), trading on T+2 (Tuesday 25 Nov)."""
    assert add_business_days(date(2025, 11, 21), 2) == date(2025, 11, 25)


def test_add_business_days_skips_holidays() -> None:
    # Lunar New Year 2026: 17-19 Feb are public holidays in Hong Kong.
    assert not is_business_day(date(2026, 2, 17))
    assert add_business_days(date(2026, 2, 16), 1) == date(2026, 2, 20)
    assert add_business_days(date(2026, 2, 20), -1) == date(2026, 2, 16)


def test_add_zero_rolls_forward_from_a_holiday() -> None:
    assert add_business_days(date(2025, 11, 22), 0) == date(2025, 11, 24)
    assert add_business_days(date(2025, 11, 24), 0) == date(2025, 11, 24)


def test_business_days_between_counts_steps() -> None:
    assert business_days_between(date(2025, 11, 21), date(2025, 11, 25)) == 2
    assert len(business_days(date(2025, 11, 17), date(2025, 11, 23))) == 5


def test_half_day_has_no_lunch_break() -> None:
    eve = trading_day(date(2025, 12, 24))
    assert eve.half_day and eve.close.time() == time(12, 0)
    full = trading_day(date(2025, 12, 23))
    assert not full.half_day
    assert (full.open.time(), full.break_start and full.break_start.time(), full.close.time()) == (
        time(9, 30),
        time(12, 0),
        time(16, 0),
    )


def test_closed_day_is_named() -> None:
    with pytest.raises(ValueError, match="2025-12-25 is not an XHKG business day"):
        trading_day(date(2025, 12, 25))


def test_outside_window_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the XHKG calendar window"):
        add_business_days(date(2040, 1, 1), 1)


def test_hk_time_round_trip() -> None:
    ns = hk_ns(date(2025, 11, 24), time(9, 15, 30))
    assert hk_time(ns).time() == time(9, 15, 30)
    assert hk_date(ns) == date(2025, 11, 24)


_DAY_NS = 86_400 * 10**9
_MIDNIGHT_HK = hk_ns(date(2025, 11, 24), time(0))


@given(
    st.lists(
        st.one_of(
            st.integers(-3 * _DAY_NS, 3 * _DAY_NS),  # anywhere within three days
            st.integers(-3, 3).map(lambda d: d * _DAY_NS),  # exactly a Hong Kong midnight
            st.integers(-3, 3).map(lambda d: d * _DAY_NS - 1),  # the last nanosecond before one
        ),
        min_size=1,
        max_size=40,
    )
)
def test_hk_day_equals_hk_date_in_any_order(offsets: list[int]) -> None:
    """`HkDay` keeps the last day's bounds to skip the datetime work; whatever order the times
    come in (the same day, the next, back again, across midnight), it answers as `hk_date` does."""
    day = HkDay()
    for offset in offsets:
        at = _MIDNIGHT_HK + offset
        assert day.day(at) == hk_date(at)
        assert day.iso(at) == hk_date(at).isoformat()
