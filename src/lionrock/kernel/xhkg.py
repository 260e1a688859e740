"""Exchange time: Asia/Hong_Kong clock and XHKG business days.

The days come from `lionrock.kernel.calendars` (data generated from `exchange-calendars` over a
fixed window, checked against it by the tests), so that the answer for a date never depends on the
day the program runs (exchange-calendars' default window moves with the wall clock) or on the
installed library. Lookups are bisections over plain `datetime.date` lists: no pandas.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from lionrock.kernel import calendars

HK_TZ = ZoneInfo("Asia/Hong_Kong")
CALENDAR_START = date(2015, 1, 1)
CALENDAR_END = date(2030, 12, 31)
NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One XHKG session in Hong Kong local time. A half day has no lunch break."""

    day: date
    open: datetime  # continuous trading starts (09:30)
    close: datetime  # continuous trading ends (16:00, or 12:00 on a half day)
    break_start: datetime | None  # 12:00
    break_end: datetime | None  # 13:00

    @property
    def half_day(self) -> bool:
        return self.break_start is None


@dataclass(frozen=True, slots=True)
class _Calendar:
    days: list[date]
    open_days: frozenset[date]
    half_days: frozenset[date]


@lru_cache(maxsize=1)
def _calendar() -> _Calendar:
    xhkg = calendars.xhkg()
    if (xhkg.start, xhkg.end) != (CALENDAR_START, CALENDAR_END):
        raise ValueError(f"calendar_data covers {xhkg.start}..{xhkg.end}, not {CALENDAR_START}..{CALENDAR_END}")
    days = xhkg.days()
    return _Calendar(days, frozenset(days), xhkg.half_days)


@lru_cache(maxsize=4096)
def _session(d: date) -> TradingDay:
    def at(t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=HK_TZ)

    if d in _calendar().half_days:
        return TradingDay(d, at(calendars.XHKG_OPEN), at(calendars.XHKG_HALF_DAY_CLOSE), None, None)
    return TradingDay(d, at(calendars.XHKG_OPEN), at(calendars.XHKG_CLOSE), at(calendars.XHKG_BREAK[0]), at(calendars.XHKG_BREAK[1]))


def _check_range(d: date) -> None:
    if not CALENDAR_START <= d <= CALENDAR_END:
        raise ValueError(f"date {d} outside the XHKG calendar window {CALENDAR_START}..{CALENDAR_END}")


def is_business_day(d: date) -> bool:
    _check_range(d)
    return d in _calendar().open_days


def trading_day(d: date) -> TradingDay:
    """The session on ``d``; raises ``ValueError`` naming the date if XHKG is closed."""
    _check_range(d)
    if d not in _calendar().open_days:
        raise ValueError(f"{d} is not an XHKG business day")
    return _session(d)


def add_business_days(d: date, n: int) -> date:
    """T+n: the n-th business day after ``d`` (before it for negative n).

    ``n == 0`` gives ``d`` itself if it is a business day, else the next one.
    """
    _check_range(d)
    days = _calendar().days
    if n >= 0:
        i = bisect.bisect_left(days, d)
        if n > 0 and i < len(days) and days[i] == d:
            i += 1
        i += max(n - 1, 0) if n > 0 else 0
    else:
        i = bisect.bisect_left(days, d) + n
    if not 0 <= i < len(days):
        raise ValueError(f"{d} {n:+d} business days leaves the calendar window")
    return days[i]


def business_days_between(start: date, end: date) -> int:
    """Number of business days in ``(start, end]``: how many T+1 steps lead from start to end."""
    days = _calendar().days
    return bisect.bisect_right(days, end) - bisect.bisect_right(days, start)


def business_days(start: date, end: date) -> list[date]:
    """Business days in ``[start, end]``."""
    days = _calendar().days
    return days[bisect.bisect_left(days, start) : bisect.bisect_right(days, end)]


def to_ns(moment: datetime) -> int:
    """A timezone-aware datetime to UTC epoch nanoseconds (the engine's time unit)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: give a timezone (Asia/Hong_Kong)")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


def hk_time(at_ns: int) -> datetime:
    """UTC epoch nanoseconds to a Hong Kong local datetime (microsecond precision)."""
    return datetime(1970, 1, 1, tzinfo=UTC).astimezone(HK_TZ) + timedelta(microseconds=at_ns // 1000)


def hk_ns(d: date, t: time) -> int:
    """Epoch nanoseconds of local time ``t`` on ``d`` in Hong Kong."""
    return to_ns(datetime.combine(d, t, tzinfo=HK_TZ))


def hk_date(at_ns: int) -> date:
    return hk_time(at_ns).date()


class HkDay:
    """`hk_date` of engine times that mostly fall on the day asked last (every trade of a day):
    the day's bounds are kept, so a time inside them costs two comparisons instead of a datetime.
    ``day(at_ns)`` is the date, ``iso(at_ns)`` its ISO text; both equal `hk_date`'s for any time
    (the bounds are kept only once `hk_date` of both ends is the day itself, and it is monotone)."""

    __slots__ = ("_date", "_end", "_iso", "_start")

    def __init__(self) -> None:
        self._start = self._end = 0
        self._date = date(1970, 1, 1)
        self._iso = ""

    def _move(self, at_ns: int) -> None:
        """Keep ``at_ns``'s date, and its day's bounds when `hk_date` agrees with them at both
        ends (else none: the next time asked is worked out again)."""
        d = hk_date(at_ns)
        start, end = hk_ns(d, time(0)), hk_ns(d + timedelta(days=1), time(0))
        self._date, self._iso = d, d.isoformat()
        kept = start <= at_ns < end and hk_date(start) == d and hk_date(end - 1) == d
        self._start, self._end = (start, end) if kept else (0, 0)

    def day(self, at_ns: int) -> date:
        if not self._start <= at_ns < self._end:
            self._move(at_ns)
        return self._date

    def iso(self, at_ns: int) -> str:
        if not self._start <= at_ns < self._end:
            self._move(at_ns)
        return self._iso


__all__ = [
    "HK_TZ",
    "HkDay",
    "TradingDay",
    "add_business_days",
    "business_days",
    "business_days_between",
    "hk_date",
    "hk_ns",
    "hk_time",
    "is_business_day",
    "to_ns",
    "trading_day",
]
