"""The exchange calendars Lion Rock counts days by, as data in the package.

`calendar_data` holds, for XHKG (Hong Kong: business days and sessions) and XSHG (Shanghai: the
proxy for mainland working days), the weekdays each exchange is closed and, for XHKG, the half
days, over a fixed window. It is generated from `exchange-calendars` (its version is in the module)
by ``python -m lionrock.files.calendars``, and ``tests/kernel/test_calendars.py`` checks it day by
day against the installed `exchange-calendars`. Loading it costs milliseconds; building the same
from `exchange-calendars` imports pandas and cost 0.6 s of every command that checks a date (a
cold ``lionrock allocate`` spent more on that than on the allocation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from lionrock.kernel import calendar_data

XHKG_OPEN, XHKG_CLOSE, XHKG_HALF_DAY_CLOSE = time(9, 30), time(16, 0), time(12, 0)
XHKG_BREAK = (time(12, 0), time(13, 0))
"""XHKG's continuous session in Hong Kong time (Rules of the Exchange, trading hours); a half day
(Christmas Eve, New Year's Eve, Lunar New Year's Eve) closes at noon with no lunch break."""


@dataclass(frozen=True, slots=True)
class ExchangeDays:
    """An exchange's business days over ``[start, end]``: the weekdays less ``closed``."""

    start: date
    end: date
    closed: frozenset[date]
    half_days: frozenset[date]

    def days(self) -> list[date]:
        out, d = [], self.start
        while d <= self.end:
            if d.weekday() < 5 and d not in self.closed:
                out.append(d)
            d += timedelta(days=1)
        return out


def _days(window: tuple[str, str], closed: Sequence[str], half_days: Sequence[str] = ()) -> ExchangeDays:
    start, end = (date.fromisoformat(d) for d in window)
    return ExchangeDays(start, end, frozenset(map(date.fromisoformat, closed)), frozenset(map(date.fromisoformat, half_days)))


def xhkg() -> ExchangeDays:
    return _days(calendar_data.XHKG_WINDOW, calendar_data.XHKG_CLOSED_WEEKDAYS, calendar_data.XHKG_HALF_DAYS)


def xshg() -> ExchangeDays:
    """XSHG's days up to the last year `exchange-calendars` records its holidays for."""
    return _days(calendar_data.XSHG_WINDOW, calendar_data.XSHG_CLOSED_WEEKDAYS)
