"""The report's derived figures, computed apart from the charts so tests can check the numbers.

Each function reads the run's read model (`RunData`) and returns plain values: the pipeline
funnel, re-pricing per share against the last private round, the benchmark the returns are
measured against, the lock-up calendar, and the axis helpers that keep a HK$345bn deal from
flattening a HK$0.8bn one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from lionrock.analytics.model import OfferingRow, RunData

FUNNEL_STAGES = ("assessed", "eligible", "filed", "priced", "listed")


def funnel_counts(data: RunData) -> list[tuple[str, int]]:
    """Issuers at each stage, every count taken over the same issuers the summary counts (an
    issuer with no open route is assessed and stops there; it never files)."""
    issuers = list(data.issuers.values())
    priced = {o.issuer_id for o in data.offerings.values() if o.offer_price}
    listed = {o.issuer_id for o in data.offerings.values() if o.listed_on} | {r.issuer_id for r in issuers if r.listed_on}
    counts = (
        len(issuers),
        sum(1 for r in issuers if r.eligible),
        sum(1 for r in issuers if r.filed_on),
        sum(1 for r in issuers if r.issuer_id in priced),
        sum(1 for r in issuers if r.issuer_id in listed),
    )
    return list(zip(FUNNEL_STAGES, counts, strict=True))


@dataclass(frozen=True)
class Repricing:
    """An IPO against the issuer's last private round. ``per_share`` is the change in the value
    of one existing share: pre-money IPO valuation / last round's post-money - 1, exact as long
    as no shares were issued between the round and the IPO. ``post_ipo_cap`` is the older,
    overstated comparison (it includes the new money), kept for the reader who wants it."""

    last_round_post_money_minor: int
    pre_money_minor: int
    market_cap_minor: int
    per_share: Fraction
    post_ipo_cap: Fraction


def repricing(data: RunData, offering: OfferingRow) -> Repricing | None:
    issuer = data.issuers.get(offering.issuer_id)
    if issuer is None or not issuer.last_round_post_money_minor or not offering.pre_money_minor:
        return None
    base = issuer.last_round_post_money_minor
    return Repricing(
        base,
        offering.pre_money_minor,
        offering.market_cap_minor,
        Fraction(offering.pre_money_minor, base) - 1,
        Fraction(offering.market_cap_minor, base) - 1,
    )


def _hkd_closes(data: RunData) -> dict[str, dict[str, int]]:
    """Offering instrument -> day -> close, for the HKD counters of the simulated listings."""
    out = {}
    for o in data.offerings.values():
        tape = data.tapes.get(o.instrument)
        if tape is not None and tape.currency == "HKD":
            out[o.instrument] = {b.day: b.close for b in tape.bars}
    return out


def peer_index(data: RunData, exclude: str = "") -> dict[str, float]:
    """An equal-weighted, chain-linked index of the simulated listings' HKD counters, 100 on the
    first trading day: each day's move is the mean of the day-on-day close returns of the stocks
    that closed on both days (a stock joins the day after its first close, so its first-day pop
    is not in the index). ``exclude`` leaves one stock out, so a stock is measured against its
    peers, not against itself.

    The simulator has no market index to use: the Hang Seng Composite constituents it sets up
    carry market caps (for southbound scope) but are not traded."""
    closes = {k: v for k, v in _hkd_closes(data).items() if k != exclude}
    days = sorted({d for series in closes.values() for d in series})
    level, out, previous = 100.0, {}, ""
    for day in days:
        if previous:
            moves = [series[day] / series[previous] - 1 for series in closes.values() if day in series and previous in series]
            if moves:
                level *= 1 + sum(moves) / len(moves)
        out[day] = level
        previous = day
    return out


@dataclass(frozen=True)
class BenchmarkedReturn:
    name: str
    instrument: str
    first_day: float
    """Close of the first day against the offer price, %."""
    later: float | None
    """Close of day ``horizon`` against the offer price, %."""
    benchmark: float | None
    """The peer index over the same span (from the last close before listing to day ``horizon``), %."""

    @property
    def excess(self) -> float | None:
        return None if self.later is None or self.benchmark is None else self.later - self.benchmark


def benchmarked_returns(data: RunData, horizon: int) -> list[BenchmarkedReturn]:
    out = []
    for o in data.offerings.values():
        tape = data.tapes.get(o.instrument)
        if not tape or not tape.bars or not o.offer_price:
            continue
        first = (tape.bars[0].close / o.offer_price - 1) * 100
        later = (tape.bars[horizon - 1].close / o.offer_price - 1) * 100 if len(tape.bars) >= horizon else None
        bench = None
        if later is not None:
            index = peer_index(data, exclude=o.instrument)
            before = [d for d in index if d < tape.bars[0].day]
            end = tape.bars[horizon - 1].day
            if end in index:
                start_level = index[before[-1]] if before else 100.0
                bench = (index[end] / start_level - 1) * 100
        out.append(BenchmarkedReturn(o.name, o.instrument, first, later, bench))
    return out


@dataclass(frozen=True)
class LockupExpiry:
    ends_on: str
    name: str
    instrument: str
    investors: int
    shares: int
    share_of_issue: Fraction
    value_minor: int
    """At the last simulated close (HKD cents), or at the offer price if the stock never traded."""


def lockup_calendar(data: RunData) -> list[LockupExpiry]:
    """Cornerstone lock-up expiries by date and stock (the shares that may be sold from then)."""
    rows = []
    for o in data.offerings.values():
        by_day: dict[str, list[int]] = {}
        for ends_on, _investor, shares in o.lockups:
            by_day.setdefault(ends_on, []).append(shares)
        tape = data.tapes.get(o.instrument)
        price = tape.bars[-1].close if tape and tape.bars else o.offer_price
        for ends_on, lots in by_day.items():
            shares = sum(lots)
            share = Fraction(shares, o.shares_in_issue) if o.shares_in_issue else Fraction(0)
            rows.append(LockupExpiry(ends_on, o.name, o.instrument, len(lots), shares, share, shares * price // 10))
    return sorted(rows, key=lambda r: (r.ends_on, r.name))


def log_ticks(low: float, high: float, suffix: str = "×") -> tuple[list[float], list[str]]:
    """Ticks 1, 2, 5 per decade between ``low`` and ``high`` with labels that say their value
    (``0.5×``, ``1×``, ``20×``), instead of plotly's bare mantissas (``5, 2, 10, 5``)."""
    low, high = max(low, 1e-6), max(high, low)
    ticks: list[float] = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if low / 2.5 <= value <= high * 2.5:
                ticks.append(value)
    return ticks, [f"{v:,.{max(0, -math.floor(math.log10(v)))}f}{suffix}" for v in ticks]


MONEY_UNITS = ((10**11, 10**11, "bn"), (10**8, 10**8, "m"), (10**5, 10**5, "thousand"), (0, 100, ""))
"""(smallest amount in cents, divisor, suffix): HK$bn from HK$1bn up, HK$m from HK$1m, ..."""


def money_unit(largest_minor: int) -> tuple[int, str]:
    """The divisor and unit word for an axis whose largest amount is ``largest_minor`` cents, so
    ticks read 0-500 in "HK$m" rather than "µ HK$bn"."""
    for smallest, divisor, suffix in MONEY_UNITS:
        if abs(largest_minor) >= smallest:
            return divisor, suffix
    raise AssertionError("Invariant: the last unit has no lower bound")


__all__ = [
    "FUNNEL_STAGES",
    "MONEY_UNITS",
    "BenchmarkedReturn",
    "LockupExpiry",
    "Repricing",
    "benchmarked_returns",
    "funnel_counts",
    "lockup_calendar",
    "log_ticks",
    "money_unit",
    "peer_index",
    "repricing",
]
