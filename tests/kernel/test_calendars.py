"""The shipped exchange calendars (`lionrock.kernel.calendars`) equal `exchange-calendars` day by
day: every XHKG session's open, close and lunch break, every XSHG business day. When a newer
`exchange-calendars` corrects a holiday inside the window this fails: regenerate the file with
``python -m lionrock.files.calendars`` and review the diff."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import pytest

from lionrock.files.calendars import from_exchange_calendars, render
from lionrock.kernel import calendar_data, calendars, xhkg


@pytest.fixture(scope="module")
def xcals_module():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        import exchange_calendars

    return exchange_calendars


def test_xhkg_sessions_equal_exchange_calendars(xcals_module) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        cal = xcals_module.get_calendar("XHKG", start=xhkg.CALENDAR_START.isoformat(), end=xhkg.CALENDAR_END.isoformat())
    expected = {}
    for label, row in cal.schedule.iterrows():
        bs, be = row["break_start"], row["break_end"]
        has_break = bs == bs and be == be  # NaT != NaT
        expected[label.date()] = (
            row["open"].tz_convert(xhkg.HK_TZ).to_pydatetime(),
            row["close"].tz_convert(xhkg.HK_TZ).to_pydatetime(),
            bs.tz_convert(xhkg.HK_TZ).to_pydatetime() if has_break else None,
            be.tz_convert(xhkg.HK_TZ).to_pydatetime() if has_break else None,
        )
    shipped = xhkg.business_days(xhkg.CALENDAR_START, xhkg.CALENDAR_END)
    assert shipped == sorted(expected)
    for d in shipped:
        s = xhkg.trading_day(d)
        assert (s.open, s.close, s.break_start, s.break_end) == expected[d], d


def test_xshg_days_equal_exchange_calendars(xcals_module) -> None:  # type: ignore[no-untyped-def]
    xshg = calendars.xshg()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        cal = xcals_module.get_calendar("XSHG", start=xshg.start.isoformat(), end=xshg.end.isoformat())
    assert xshg.days() == [ts.date() for ts in cal.sessions]


def test_the_data_is_what_the_generator_writes() -> None:
    """Nothing in `calendar_data` was edited by hand: the generator, run over the module's own
    window, renders the same text (a newer library that records XSHG for more years aside)."""
    start, end = (date.fromisoformat(d) for d in calendar_data.XHKG_WINDOW)
    built = from_exchange_calendars(start, end)
    xshg_end = calendar_data.XSHG_WINDOW[1]
    assert built["XSHG"]["end"] >= xshg_end
    built["XSHG"] = {**built["XSHG"], "end": xshg_end, "closed_weekdays": [d for d in built["XSHG"]["closed_weekdays"] if d <= xshg_end]}
    built["exchange_calendars"] = calendar_data.EXCHANGE_CALENDARS_VERSION
    assert render(built) == Path(calendar_data.__file__).read_text(encoding="utf-8")


def test_known_holidays_and_half_days() -> None:
    """Spot checks against HKEX's published trading calendar: Lunar New Year 2026 (17-19 Feb),
    Christmas Eve 2025 a half day, National Day 2026 (1 Oct) closed in Hong Kong and Shanghai."""
    hk = calendars.xhkg()
    assert {date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 10, 1)} <= hk.closed
    assert date(2025, 12, 24) in hk.half_days
    assert date(2026, 10, 1) in calendars.xshg().closed
