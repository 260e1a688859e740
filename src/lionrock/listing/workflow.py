"""The listing workflow as tables of ``(state, trigger) -> state``, the mainland working-day
calendar, and the timetable from filing to listing.

Two tracks run side by side: the Hong Kong application (`TRANSITIONS`) and the CSRC filing
(`CSRC_TRANSITIONS`). A move that is not in its table raises `IllegalTransition`; the context turns
that into a coded rejection. Guards that depend on the other track (the CSRC filing notice before
the hearing) and on dates (the six-month validity) are checked by the context, not by the table.

CSRC deadlines are counted in mainland working days. The proxy is the XSHG (Shanghai Stock
Exchange) trading calendar of `exchange-calendars` (shipped as data: `lionrock.kernel.calendars`),
whose holidays are recorded only up to its ``bound_max`` (end 2026 in version 4.13); after that
the XHKG calendar is used, and the timetable says which calendar each date came from. Trading
days omit the Saturdays the mainland works in holiday swaps (调休), so the proxy can be one day
long around those holidays.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

from lionrock.kernel import calendars, xhkg
from lionrock.kernel.errors import IllegalTransition
from lionrock.listing.commands import IssuerProfile
from lionrock.listing.eligibility import ROUTE_CHAPTER, add_months, csrc_filing_required
from lionrock.rules import listing as rules
from lionrock.rules import offering as offering_rules


class State(StrEnum):
    PROFILE_SUBMITTED = "profile_submitted"
    TECH_ENGAGED = "tech_engaged"
    APPLICATION_FILED = "application_filed"
    VETTING = "vetting"
    HEARING_PASSED = "hearing_passed"
    LAUNCHED = "launched"
    BOOKBUILDING = "bookbuilding"
    PRICED = "priced"
    ALLOTTED = "allotted"
    LISTED = "listed"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


class Trigger(StrEnum):
    ENGAGE_TECH = "engage_tech"
    FILE_APPLICATION = "file_application"
    VETTING_ROUND = "vetting_round"
    PASS_HEARING = "pass_hearing"
    LAUNCH = "launch"
    OPEN_BOOK = "open_book"
    FIX_PRICE = "fix_price"
    ALLOT = "allot"
    LIST = "list"
    LAPSE = "lapse"
    WITHDRAW = "withdraw"


S, T = State, Trigger
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (S.PROFILE_SUBMITTED, T.ENGAGE_TECH): S.TECH_ENGAGED,
    (S.PROFILE_SUBMITTED, T.FILE_APPLICATION): S.APPLICATION_FILED,
    (S.TECH_ENGAGED, T.FILE_APPLICATION): S.APPLICATION_FILED,
    (S.APPLICATION_FILED, T.VETTING_ROUND): S.VETTING,
    (S.VETTING, T.VETTING_ROUND): S.VETTING,
    (S.VETTING, T.PASS_HEARING): S.HEARING_PASSED,
    (S.HEARING_PASSED, T.LAUNCH): S.LAUNCHED,
    (S.LAUNCHED, T.OPEN_BOOK): S.BOOKBUILDING,
    (S.BOOKBUILDING, T.FIX_PRICE): S.PRICED,
    (S.PRICED, T.ALLOT): S.ALLOTTED,
    (S.ALLOTTED, T.LIST): S.LISTED,
    # the application lapses six months after filing unless the offering has launched
    (S.APPLICATION_FILED, T.LAPSE): S.LAPSED,
    (S.VETTING, T.LAPSE): S.LAPSED,
    (S.HEARING_PASSED, T.LAPSE): S.LAPSED,
    # refiling (a new Form A1) after a lapse or a withdrawal
    (S.LAPSED, T.FILE_APPLICATION): S.APPLICATION_FILED,
    (S.WITHDRAWN, T.FILE_APPLICATION): S.APPLICATION_FILED,
    # withdrawal, including an offering that is not priced (it lapses at noon on price day)
    (S.TECH_ENGAGED, T.WITHDRAW): S.WITHDRAWN,
    (S.APPLICATION_FILED, T.WITHDRAW): S.WITHDRAWN,
    (S.VETTING, T.WITHDRAW): S.WITHDRAWN,
    (S.HEARING_PASSED, T.WITHDRAW): S.WITHDRAWN,
    (S.LAUNCHED, T.WITHDRAW): S.WITHDRAWN,
    (S.BOOKBUILDING, T.WITHDRAW): S.WITHDRAWN,
}
"""Every legal move of the Hong Kong application; anything else is `IllegalTransition`."""

LAPSABLE: frozenset[State] = frozenset(s for (s, t) in TRANSITIONS if t is T.LAPSE)
ADVANCE_TRIGGERS: frozenset[Trigger] = frozenset(
    {T.VETTING_ROUND, T.PASS_HEARING, T.LAUNCH, T.OPEN_BOOK, T.FIX_PRICE, T.ALLOT, T.LIST, T.WITHDRAW}
)
"""Triggers the `AdvanceListing` command may carry (the others have their own commands)."""
STEP_ORDER: tuple[State, ...] = (
    S.PROFILE_SUBMITTED,
    S.TECH_ENGAGED,
    S.APPLICATION_FILED,
    S.VETTING,
    S.HEARING_PASSED,
    S.LAUNCHED,
    S.BOOKBUILDING,
    S.PRICED,
    S.ALLOTTED,
    S.LISTED,
)


class CsrcState(StrEnum):
    NOT_REQUIRED = "not_required"
    DUE = "due"
    FILED = "filed"
    COMPLETED = "completed"


class CsrcTrigger(StrEnum):
    FILE = "file_csrc"
    COMPLETE = "complete_csrc"


CSRC_TRANSITIONS: dict[tuple[CsrcState, CsrcTrigger], CsrcState] = {
    (CsrcState.DUE, CsrcTrigger.FILE): CsrcState.FILED,
    (CsrcState.FILED, CsrcTrigger.COMPLETE): CsrcState.COMPLETED,
}


def next_state(state: State, trigger: Trigger) -> State:
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransition(state.value, trigger.value, sorted(t.value for (s, t) in TRANSITIONS if s is state)) from None


def next_csrc_state(state: CsrcState, trigger: CsrcTrigger) -> CsrcState:
    try:
        return CSRC_TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransition(state.value, trigger.value, sorted(t.value for (s, t) in CSRC_TRANSITIONS if s is state)) from None


def needs_csrc_before(trigger: Trigger, on: date) -> bool:
    """Whether ``trigger`` (or any later step) needs the CSRC filing notice first."""
    c = rules.CSRC_FILING.in_force(on)
    gate = Trigger(c.complete_before)
    order = [T.PASS_HEARING, T.LAUNCH, T.OPEN_BOOK, T.FIX_PRICE, T.ALLOT, T.LIST]
    return trigger in order and order.index(trigger) >= order.index(gate)


# -- mainland working days --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _MainlandCalendar:
    days: list[date]
    xshg_end: date


@lru_cache(maxsize=1)
def _mainland() -> _MainlandCalendar:
    xshg = calendars.xshg()
    bound = min(xshg.end, xhkg.CALENDAR_END)
    days = [d for d in xshg.days() if d <= bound]
    days.extend(d for d in xhkg.business_days(bound, xhkg.CALENDAR_END) if d > bound)
    return _MainlandCalendar(days, bound)


def mainland_calendar_basis(d: date) -> str:
    if d <= _mainland().xshg_end:
        return "mainland working days (XSHG calendar proxy)"
    return f"XHKG business days (proxy: XSHG holidays recorded only to {_mainland().xshg_end})"


def add_mainland_working_days(d: date, n: int) -> date:
    """The n-th mainland working day after ``d`` (n >= 1), by the proxy calendar."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    days = _mainland().days
    i = bisect.bisect_right(days, d) + n - 1
    if i >= len(days):
        raise ValueError(f"{d} + {n} working days leaves the calendar window")
    return days[i]


# -- timetable -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Milestone:
    name: str
    on: date
    basis: str
    """``rule`` (a deadline the rules fix) or ``indicative`` (market practice)."""
    reference: str
    calendar: str


def _next_business_day(d: date) -> date:
    return xhkg.add_business_days(d, 0)


def timetable(profile: IssuerProfile, route: str, filed_on: date) -> list[Milestone]:
    """Filing to listing: rule deadlines and an indicative path, in XHKG business days."""
    hk = "XHKG business days"
    validity = rules.APPLICATION_VALIDITY.in_force(filed_on)
    ind = rules.INDICATIVE_TIMETABLE.in_force(filed_on)
    out = [Milestone("Listing application (Form A1) filed", filed_on, "rule", "Listing Rules 9.03", "calendar date")]
    tech = rules.TECH_CHANNEL.in_force(filed_on)
    if tech.available and ROUTE_CHAPTER.get(route) in tech.eligible_chapters:
        out.append(Milestone("TECH channel: confidential filing available", filed_on, "rule", tech.rule, "calendar date"))
    required, why = csrc_filing_required(profile, filed_on)
    csrc_done = None
    if required:
        c = rules.CSRC_FILING.in_force(filed_on)
        deadline = add_mainland_working_days(filed_on, c.filing_deadline_working_days)
        out.append(
            Milestone(
                f"CSRC filing due (within {c.filing_deadline_working_days} working days)",
                deadline,
                "rule",
                c.rule,
                mainland_calendar_basis(deadline),
            )
        )
        csrc_done = add_mainland_working_days(deadline, c.review_working_days)
        out.append(
            Milestone(
                f"CSRC filing notice (review {c.review_working_days} working days, unverified)",
                csrc_done,
                "indicative",
                c.rule,
                mainland_calendar_basis(csrc_done),
            )
        )
    day = xhkg.add_business_days(filed_on, ind.first_comments_business_days)
    out.append(Milestone("First vetting comments", day, "indicative", "market practice", hk))
    for r in range(2, ind.expected_vetting_rounds + 1):
        day = xhkg.add_business_days(day, ind.vetting_round_business_days)
        out.append(Milestone(f"Vetting round {r}", day, "indicative", "market practice", hk))
    hearing = xhkg.add_business_days(max(day, csrc_done) if csrc_done else day, 1)
    out.append(
        Milestone(
            "Listing Committee hearing", hearing, "indicative", "after vetting" + (" and the CSRC filing notice" if required else ""), hk
        )
    )
    launch = xhkg.add_business_days(hearing, ind.hearing_to_launch_business_days)
    out.append(Milestone("Launch (prospectus; bookbuilding and public offer open)", launch, "indicative", "market practice", hk))
    price_day = xhkg.add_business_days(launch, ind.launch_to_price_business_days)
    fini = offering_rules.FINI.in_force(price_day)  # the settlement timetable in force when the price is fixed
    close = fini.public_offer_close_days_before_pricing
    out.append(Milestone(f"Public offer closes (noon T-{close})", xhkg.add_business_days(price_day, -close), "rule", fini.rule, hk))
    out.append(Milestone("Price fixing (T)", price_day, "rule", fini.rule, hk))
    out.append(
        Milestone(
            f"Allotment results (T+{fini.results_days_after_pricing})",
            xhkg.add_business_days(price_day, fini.results_days_after_pricing),
            "rule",
            fini.rule,
            hk,
        )
    )
    listing_day = xhkg.add_business_days(price_day, fini.listing_days_after_pricing)
    out.append(Milestone(f"Dealings begin (T+{fini.listing_days_after_pricing})", listing_day, "rule", fini.rule, hk))
    lapse = add_months(filed_on, validity.months)
    out.append(Milestone(f"Application lapses unless launched ({validity.months} months)", lapse, "rule", validity.rule, "calendar date"))
    return sorted(out, key=lambda m: m.on)


__all__ = [
    "ADVANCE_TRIGGERS",
    "CSRC_TRANSITIONS",
    "LAPSABLE",
    "STEP_ORDER",
    "TRANSITIONS",
    "CsrcState",
    "CsrcTrigger",
    "IllegalTransition",
    "Milestone",
    "State",
    "Trigger",
    "add_mainland_working_days",
    "mainland_calendar_basis",
    "needs_csrc_before",
    "next_csrc_state",
    "next_state",
    "timetable",
]
