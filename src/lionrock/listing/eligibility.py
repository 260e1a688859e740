"""Eligibility engine: every listing test, with its figures, threshold and rule, on a given date.

`assess(profile, on)` runs each test of the Main Board financial rules (8.05(1), (2), (3), 8.09(2),
the initial public float), Chapter 18C (commercialised and pre-commercial), Chapter 18A, the
Chapter 8A WVR conditions and the CSRC negative list against the rulebook in force on ``on``, and
groups them into routes. A route is open when all its tests pass; for a closed route the summary
lists what would have to change. Only financial years that ended before ``on`` count.

Ratios are exact `fractions.Fraction`; amounts are integer HKD cents. Each test carries its
figures twice: as text for people (``actual``, ``threshold``: ``"HK$6.5bn"``) and, where it
compares one number with one threshold, as numbers for machines (`Figures`: cents, years, counts,
exact ratios), so a screen can sort and filter without parsing ``"HK$6.5bn"``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import msgspec

from lionrock.kernel.money import Rate
from lionrock.listing.commands import FinancialYear, IssuerProfile
from lionrock.rules import listing as rules

ROUTES: dict[str, str] = {
    "main_board_profit": "Main Board 8.05(1) profit test",
    "main_board_mcap_revenue_cash_flow": "Main Board 8.05(2) market cap / revenue / cash flow test",
    "main_board_mcap_revenue": "Main Board 8.05(3) market cap / revenue test",
    "18c_commercial": "Chapter 18C Specialist Technology, Commercial Company",
    "18c_pre_commercial": "Chapter 18C Specialist Technology, Pre-Commercial Company",
    "18a": "Chapter 18A Biotech Company",
}
ROUTE_CHAPTER = {
    "main_board_profit": "8",
    "main_board_mcap_revenue_cash_flow": "8",
    "main_board_mcap_revenue": "8",
    "18c_commercial": "18C",
    "18c_pre_commercial": "18C",
    "18a": "18A",
}


class Figures(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The numbers a test compares. ``unit`` is ``"HKD cents"`` (integer minor units),
    ``"financial years"``, ``"count"`` or ``"ratio"``; a ratio is exact, ``"numerator/denominator"``,
    with a ``*_decimal`` string beside it (6 places, for people and spreadsheets). ``shortfall`` is
    how far the actual is on the wrong side of the threshold (None when the test passes)."""

    unit: str
    comparison: str
    """``">="`` or ``"<"``: the test passes when ``actual comparison threshold``."""
    actual: int | str
    threshold: int | str
    shortfall: int | str | None = None
    actual_decimal: str | None = None
    threshold_decimal: str | None = None
    shortfall_decimal: str | None = None


def _ratio_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _ratio_decimal(value: Fraction) -> str:
    return f"{(Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal('0.000001'))}"


def ratio_figures(actual: Fraction, minimum: Fraction) -> Figures:
    """`Figures` of an ``actual >= minimum`` test between exact ratios."""
    short = minimum - actual if actual < minimum else None
    return Figures(
        unit="ratio",
        comparison=">=",
        actual=_ratio_text(actual),
        threshold=_ratio_text(minimum),
        shortfall=_ratio_text(short) if short is not None else None,
        actual_decimal=_ratio_decimal(actual),
        threshold_decimal=_ratio_decimal(minimum),
        shortfall_decimal=_ratio_decimal(short) if short is not None else None,
    )


def integer_figures(unit: str, actual: int, minimum: int) -> Figures:
    """`Figures` of an ``actual >= minimum`` test between integers (cents, years, counts)."""
    return Figures(unit=unit, comparison=">=", actual=actual, threshold=minimum, shortfall=minimum - actual if actual < minimum else None)


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """One test: ``passed`` is None for information that does not decide a route."""

    id: str
    name: str
    passed: bool | None
    actual: str
    threshold: str
    rule: str
    reason: str
    shortfall: str = ""
    """What would have to change, e.g. ``revenue HK$220m short of HK$250m by HK$30m``."""
    figures: Figures | None = None
    """The same comparison as numbers; None where a test has several limbs or is not numeric."""


class RouteResult(msgspec.Struct, frozen=True, kw_only=True):
    route: str
    title: str
    open: bool
    tests: list[str]
    changes_needed: list[str]


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    issuer_id: str
    name: str
    on: date
    tests: list[CheckResult]
    routes: list[RouteResult]
    open_routes: list[str]
    notes: list[str]

    def test(self, test_id: str) -> CheckResult:
        for t in self.tests:
            if t.id == test_id:
                return t
        raise KeyError(test_id)

    def route(self, route: str) -> RouteResult:
        for r in self.routes:
            if r.route == route:
                return r
        raise KeyError(route)


# -- formatting -----------------------------------------------------------------------------
def fmt_hkd(minor: int) -> str:
    """HK$ in a short human form: ``HK$220m``, ``HK$4.5bn``, ``HK$35,000``."""
    sign = "-" if minor < 0 else ""
    major = Decimal(abs(minor)) / 100
    for unit, scale in (("bn", 10**9), ("m", 10**6)):
        if major >= scale:
            value = major / scale
            if value == value.quantize(Decimal("0.001")):  # short form only when exact
                return f"{sign}HK${value.normalize():f}{unit}"
            break
    return f"{sign}HK${major.quantize(Decimal('0.01')):,f}".replace(".00", "")


def fmt_pct(value: Fraction) -> str:
    return f"{fmt_points(value)}%"


def fmt_points(value: Fraction) -> str:
    """A ratio as percentage points without the sign: ``Fraction(3, 20)`` -> ``15``."""
    d = (Decimal(value.numerator) * 100 / Decimal(value.denominator)).quantize(Decimal("0.01")).normalize()
    return f"{d:f}"


def frac(rate: Rate | rules.Fraction) -> Fraction:
    return Fraction(rate.numerator, rate.denominator)


def _at_least(tid: str, name: str, what: str, actual: int, minimum: int, rule: str) -> CheckResult:
    ok = actual >= minimum
    return CheckResult(
        id=tid,
        name=name,
        passed=ok,
        actual=fmt_hkd(actual),
        threshold=f">= {fmt_hkd(minimum)}",
        rule=rule,
        reason=f"{what} {fmt_hkd(actual)} {'meets' if ok else 'is below'} {fmt_hkd(minimum)}",
        shortfall="" if ok else f"{what} {fmt_hkd(actual)} short of {fmt_hkd(minimum)} by {fmt_hkd(minimum - actual)}",
        figures=integer_figures("HKD cents", actual, minimum),
    )


def _years_at_least(tid: str, name: str, what: str, actual: int, minimum: int, rule: str) -> CheckResult:
    ok = actual >= minimum
    return CheckResult(
        id=tid,
        name=name,
        passed=ok,
        actual=f"{actual} FY",
        threshold=f">= {minimum} FY",
        rule=rule,
        reason=f"{what}: {actual} financial year(s) {'meets' if ok else 'is short of'} {minimum}",
        shortfall="" if ok else f"{what} {actual} FY short of {minimum} FY by {minimum - actual}",
        figures=integer_figures("financial years", actual, minimum),
    )


def _ratio_at_least(tid: str, name: str, what: str, actual: Fraction, minimum: Fraction, rule: str) -> CheckResult:
    ok = actual >= minimum
    return CheckResult(
        id=tid,
        name=name,
        passed=ok,
        actual=fmt_pct(actual),
        threshold=f">= {fmt_pct(minimum)}",
        rule=rule,
        reason=f"{what} {fmt_pct(actual)} {'meets' if ok else 'is below'} {fmt_pct(minimum)}",
        shortfall="" if ok else f"{what} {fmt_pct(actual)} short of {fmt_pct(minimum)} by {fmt_points(minimum - actual)} percentage points",
        figures=ratio_figures(actual, minimum),
    )


def _not_in_force(tid: str, name: str, what: str, on: date, rule: str) -> CheckResult:
    return CheckResult(
        id=tid,
        name=name,
        passed=False,
        actual=str(on),
        threshold="rule in force",
        rule=rule,
        reason=f"{what} is not in force on {on}",
        shortfall=f"{what} not available on {on}",
    )


# -- the tests ------------------------------------------------------------------------------
def audited_years(profile: IssuerProfile, on: date) -> list[FinancialYear]:
    """Financial years that ended before ``on`` (oldest first)."""
    return [fy for fy in profile.financial_years if fy.year_end < on]


def _main_board(profile: IssuerProfile, on: date, years: list[FinancialYear]) -> list[CheckResult]:
    mcap = profile.offering.expected_market_cap
    minimum = rules.MAIN_BOARD_MINIMUM_MARKET_CAP.in_force(on)
    p1 = rules.MAIN_BOARD_PROFIT_TEST.in_force(on)
    p2 = rules.MAIN_BOARD_MCAP_REVENUE_CASH_FLOW_TEST.in_force(on)
    p3 = rules.MAIN_BOARD_MCAP_REVENUE_TEST.in_force(on)
    cont = profile.continuity
    latest = years[-1] if years else None
    out = [
        _at_least("mb.min_market_cap", "Minimum market cap at listing", "expected market cap", mcap, minimum.market_cap_min, minimum.rule),
        _years_at_least(
            "mb.trading_record",
            "Trading record",
            "audited trading record",
            len(years),
            p1.trading_record_years,
            "Listing Rules 8.05(1)(a), 8.05(2)(a)",
        ),
        _years_at_least(
            "mb.management_continuity",
            "Management continuity",
            "management continuity",
            cont.management_years,
            p1.management_continuity_years,
            "Listing Rules 8.05(1)(b)",
        ),
        _years_at_least(
            "mb.ownership_continuity",
            "Ownership continuity and control",
            "ownership continuity",
            cont.ownership_control_years,
            p1.ownership_continuity_years,
            "Listing Rules 8.05(1)(c)",
        ),
        _at_least(
            "mb.8051.latest_profit",
            "8.05(1) profit, latest FY",
            "profit attributable in the latest FY",
            latest.profit_attributable if latest else 0,
            p1.latest_year_min,
            p1.rule,
        ),
        _at_least(
            "mb.8051.prior_profit",
            "8.05(1) profit, two preceding FYs",
            "aggregate profit of the two preceding FYs",
            sum(fy.profit_attributable for fy in years[-3:-1]) if len(years) >= 3 else 0,
            p1.two_prior_years_aggregate_min,
            p1.rule,
        ),
        _at_least("mb.8052.market_cap", "8.05(2) market cap", "expected market cap", mcap, p2.market_cap_min, p2.rule),
        _at_least(
            "mb.8052.revenue",
            "8.05(2) revenue, latest FY",
            "revenue in the latest FY",
            latest.revenue if latest else 0,
            p2.revenue_min,
            p2.rule,
        ),
        _at_least(
            "mb.8052.cash_flow",
            "8.05(2) operating cash flow, 3 FYs",
            "aggregate operating cash flow of the last 3 FYs",
            sum(fy.operating_cash_flow for fy in years[-p2.cash_flow_years :]) if len(years) >= p2.cash_flow_years else 0,
            p2.operating_cash_flow_aggregate_min,
            p2.rule,
        ),
        _at_least("mb.8053.market_cap", "8.05(3) market cap", "expected market cap", mcap, p3.market_cap_min, p3.rule),
        _at_least(
            "mb.8053.revenue",
            "8.05(3) revenue, latest FY",
            "revenue in the latest FY",
            latest.revenue if latest else 0,
            p3.revenue_min,
            p3.rule,
        ),
        _record_8053(len(years), cont.management_years, cont.management_experience_years, p3),
        _public_float(profile, on),
    ]
    return out


def _record_8053(n_years: int, mgmt_years: int, experience: int, p3: rules.MarketCapRevenueTest) -> CheckResult:
    full = n_years >= p3.trading_record_years and mgmt_years >= p3.management_continuity_years
    short = (
        n_years >= 1
        and experience >= p3.short_record_management_experience_years
        and mgmt_years >= p3.short_record_management_continuity_years
    )
    ok = full or short
    basis = "3-year record with management continuity" if full else "8.05A shorter record" if short else "neither"
    return CheckResult(
        id="mb.8053.record",
        name="8.05(3) record / 8.05A",
        passed=ok,
        actual=f"{n_years} FY, management {mgmt_years} FY, experience {experience} y",
        threshold=f">= {p3.trading_record_years} FY with management continuity, or 8.05A: management experience "
        f">= {p3.short_record_management_experience_years} y and continuity >= {p3.short_record_management_continuity_years} FY",
        rule=p3.rule,
        reason=f"record basis: {basis}",
        shortfall=""
        if ok
        else f"trading record {n_years} FY and management experience {experience} y: need "
        f"{p3.trading_record_years} FY, or {p3.short_record_management_experience_years} y experience (8.05A)",
    )


def required_public_float(market_cap: int, on: date) -> tuple[Fraction, str]:
    """The minimum initial public float for a market cap on a date, and the rule."""
    regime = rules.INITIAL_PUBLIC_FLOAT.in_force(on)
    for tier in regime.tiers:
        if tier.market_cap_max is None or market_cap <= tier.market_cap_max:
            needed = max(frac(tier.fraction), Fraction(tier.value_min, market_cap))
            return needed, regime.rule
    raise AssertionError("Invariant: the last float tier has no upper bound")


def _public_float(profile: IssuerProfile, on: date) -> CheckResult:
    mcap = profile.offering.expected_market_cap
    needed, rule = required_public_float(mcap, on)
    planned = profile.offering.planned_public_float
    if planned is None:
        return CheckResult(
            id="mb.public_float",
            name="Initial public float",
            passed=None,
            actual="not planned yet",
            threshold=f">= {fmt_pct(needed)}",
            rule=rule,
            reason=f"at {fmt_hkd(mcap)} the float must be at least {fmt_pct(needed)}",
        )
    return _ratio_at_least("mb.public_float", "Initial public float", "planned public float", frac(planned), needed, rule)


def _chapter_18c(profile: IssuerProfile, on: date, years: list[FinancialYear]) -> list[CheckResult]:
    try:
        c = rules.CHAPTER_18C.in_force(on)
    except LookupError:
        return [_not_in_force("18c.in_force", "Chapter 18C in force", "Chapter 18C", on, "Listing Rules Chapter 18C")]
    mcap = profile.offering.expected_market_cap
    latest_st = years[-1].specialist_technology_revenue if years else 0
    sectors = {s for _, group in c.acceptable_sectors for s in group}
    industries = {industry for industry, _ in c.acceptable_sectors}
    sector_ok = profile.sector in sectors and (not profile.industry or profile.industry in industries)
    commercial = latest_st >= c.commercial_revenue_min
    out = [
        CheckResult(
            id="18c.sector",
            name="Acceptable specialist technology sector",
            passed=sector_ok,
            actual=f"{profile.industry or '-'} / {profile.sector or '-'}",
            threshold="an acceptable sector (GL115-23)",
            rule="Listing Rules 18C.01; Guide ch. 2.5",
            reason=f"sector {profile.sector!r} {'is' if sector_ok else 'is not'} an acceptable sector",
            shortfall=""
            if sector_ok
            else f"sector {profile.sector or '(none)'} is not on the acceptable list: a pre-IPO enquiry is needed",
        ),
        _at_least(
            "18c.commercial_revenue",
            "Commercialisation revenue threshold",
            "specialist technology revenue in the latest FY",
            latest_st,
            c.commercial_revenue_min,
            "Listing Rules 18C.03(4)",
        ),
        CheckResult(
            id="18c.pre_commercial_status",
            name="Pre-Commercial status",
            passed=not commercial,
            actual=fmt_hkd(latest_st),
            threshold=f"< {fmt_hkd(c.commercial_revenue_min)}",
            rule="Listing Rules 18C.01, 18C.03(4)",
            reason="revenue below the commercialisation threshold"
            if not commercial
            else "meets the commercialisation threshold: a Commercial Company",
            shortfall="" if not commercial else "qualifies as a Commercial Company instead (use the commercial route)",
            figures=Figures(
                unit="HKD cents",
                comparison="<",
                actual=latest_st,
                threshold=c.commercial_revenue_min,
                shortfall=latest_st - c.commercial_revenue_min + 1 if commercial else None,
            ),
        ),
        _at_least(
            "18c.market_cap_commercial",
            "18C market cap, Commercial",
            "expected market cap",
            mcap,
            c.market_cap_min_commercial,
            c.market_cap_rule,
        ),
        _at_least(
            "18c.market_cap_pre_commercial",
            "18C market cap, Pre-Commercial",
            "expected market cap",
            mcap,
            c.market_cap_min_pre_commercial,
            c.market_cap_rule,
        ),
        _years_at_least(
            "18c.rd_years",
            "R&D track record",
            "years of R&D",
            len([fy for fy in years[-c.rd_years :] if fy.rd_expense > 0]),
            c.rd_years,
            "Listing Rules 18C.03(1), 18C.04",
        ),
        _rd_ratio("18c.rd_ratio_commercial", "R&D ratio, Commercial", years, c.rd_ratio_commercial, c),
        _rd_ratio(
            "18c.rd_ratio_pre_commercial",
            "R&D ratio, Pre-Commercial",
            years,
            c.rd_ratio_pre_commercial_mid if latest_st >= c.pre_commercial_mid_revenue_min else c.rd_ratio_pre_commercial_low,
            c,
        ),
        _sii("18c.sii_commercial", "SII holding, Commercial", profile, c, commercial_route=True),
        _sii("18c.sii_pre_commercial", "SII holding, Pre-Commercial", profile, c, commercial_route=False),
        _pathfinders(profile, on, c),
    ]
    return out


def _rd_ratio(tid: str, name: str, years: list[FinancialYear], minimum: Fraction | rules.Fraction, c: rules.Chapter18C) -> CheckResult:
    need = frac(minimum) if isinstance(minimum, rules.Fraction) else minimum
    window = years[-c.rd_years :]
    if len(window) < c.rd_years:
        return CheckResult(
            id=tid,
            name=name,
            passed=False,
            actual=f"{len(window)} FY",
            threshold=f"{c.rd_years} FY",
            rule="Listing Rules 18C.03(2)",
            reason="too few financial years to test the R&D ratio",
            shortfall=f"R&D ratio needs {c.rd_years} FY, have {len(window)}",
        )
    ratios = [Fraction(fy.rd_expense, fy.total_operating_expenses) if fy.total_operating_expenses else Fraction(0) for fy in window]
    total_opex = sum(fy.total_operating_expenses for fy in window)
    aggregate = Fraction(sum(fy.rd_expense for fy in window), total_opex) if total_opex else Fraction(0)
    meeting = sum(1 for r in ratios if r >= need)
    ok = meeting >= c.rd_years_meeting_ratio and aggregate >= need
    shortfall = ""
    if not ok:
        parts = []
        if aggregate < need:
            parts.append(
                f"aggregate R&D {fmt_pct(aggregate)} of operating expenses short of {fmt_pct(need)} "
                f"by {fmt_points(need - aggregate)} percentage points"
            )
        if meeting < c.rd_years_meeting_ratio:
            parts.append(f"R&D ratio met in {meeting} of {c.rd_years} FY, need {c.rd_years_meeting_ratio}")
        shortfall = "; ".join(parts)
    return CheckResult(
        id=tid,
        name=name,
        passed=ok,
        actual=f"yearly {', '.join(fmt_pct(r) for r in ratios)}; aggregate {fmt_pct(aggregate)}",
        threshold=f">= {fmt_pct(need)} in {c.rd_years_meeting_ratio} of {c.rd_years} FY and in aggregate",
        rule="Listing Rules 18C.03(2)",
        reason=f"R&D ratio met in {meeting} of {len(window)} years; aggregate {fmt_pct(aggregate)}",
        shortfall=shortfall,
        figures=ratio_figures(aggregate, need),
    )


def sii_holding_at_listing(profile: IssuerProfile) -> Fraction:
    """Aggregate SII stake diluted by the new shares (offering treated as wholly primary)."""
    pre = sum((frac(inv.stake) for rnd in profile.funding_rounds for inv in rnd.investors if inv.sophisticated_independent), Fraction(0))
    off = profile.offering
    return pre * Fraction(off.expected_market_cap - off.planned_offering_size, off.expected_market_cap)


def _sii(tid: str, name: str, profile: IssuerProfile, c: rules.Chapter18C, *, commercial_route: bool) -> CheckResult:
    mcap = profile.offering.expected_market_cap
    tier = next(t for t in c.sii_tiers if t.market_cap_below is None or mcap < t.market_cap_below)
    need = frac(tier.commercial if commercial_route else tier.pre_commercial)
    result = _ratio_at_least(
        tid, name, "SII holding at listing", sii_holding_at_listing(profile), need, "Listing Rules 18C.03(5); Guide ch. 2.5 (SII table [T])"
    )
    return result


def _months_before(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    m += 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("Invariant: a month has at least 28 days")


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later (clamped to the month's last day)."""
    return _months_before(d, -months)


def _pathfinders(profile: IssuerProfile, on: date, c: rules.Chapter18C) -> CheckResult:
    cutoff = _months_before(on, c.pathfinder_min_months_before_application)
    names = sorted(
        {inv.name for rnd in profile.funding_rounds if rnd.on <= cutoff for inv in rnd.investors if inv.sophisticated_independent}
    )
    n, need = len(names), c.pathfinder_min_count
    ok = n >= need
    return CheckResult(
        id="18c.pathfinders",
        name="Pathfinder SIIs",
        passed=ok,
        actual=f"{n} ({', '.join(names) or 'none'})",
        threshold=f">= {need} SIIs invested by {cutoff}",
        rule="Listing Rules 18C.03(5); Guide ch. 2.5",
        reason=(
            f"{n} sophisticated independent investor(s) invested at least {c.pathfinder_min_months_before_application} months before {on}"
        ),
        shortfall="" if ok else f"pathfinder SIIs {n} short of {need} by {need - n} (invested by {cutoff})",
        figures=integer_figures("count", n, need),
    )


def _chapter_18a(profile: IssuerProfile, on: date) -> list[CheckResult]:
    try:
        a = rules.CHAPTER_18A.in_force(on)
    except LookupError:
        return [_not_in_force("18a.in_force", "Chapter 18A in force", "Chapter 18A", on, "Listing Rules Chapter 18A")]
    bio = profile.biotech
    if bio is None:
        return [
            CheckResult(
                id="18a.biotech",
                name="Biotech company",
                passed=False,
                actual="not a biotech company",
                threshold="a Biotech Company with a Core Product",
                rule="Listing Rules 18A.01",
                reason="the profile has no [biotech] section",
                shortfall="not a biotech company (no Core Product)",
            )
        ]
    return [
        CheckResult(
            id="18a.biotech",
            name="Core Product beyond concept stage",
            passed=bio.core_product_beyond_concept,
            actual=str(bio.core_product_beyond_concept).lower(),
            threshold="true",
            rule="Listing Rules 18A.03(1)",
            reason="Core Product beyond the concept stage"
            if bio.core_product_beyond_concept
            else "no Core Product beyond the concept stage",
            shortfall="" if bio.core_product_beyond_concept else "Core Product must be beyond the concept stage",
        ),
        _at_least(
            "18a.market_cap", "18A market cap", "expected market cap", profile.offering.expected_market_cap, a.market_cap_min, a.rule
        ),
        _years_at_least(
            "18a.same_business",
            "Same business and management",
            "years in the same business",
            bio.same_business_years,
            a.same_business_years,
            a.rule,
        ),
        _ratio_at_least(
            "18a.working_capital",
            "Working capital coverage",
            "working capital cover of 12 months' costs",
            frac(bio.working_capital_coverage),
            frac(a.working_capital_coverage_min),
            "Listing Rules 18A.03(4)",
        ),
    ]


def _chapter_8a(profile: IssuerProfile, on: date, years: list[FinancialYear]) -> list[CheckResult]:
    wvr = profile.wvr
    if wvr is None:
        return []
    try:
        w = rules.CHAPTER_8A.in_force(on)
    except LookupError:
        return [_not_in_force("8a.in_force", "Chapter 8A in force", "WVR (Chapter 8A)", on, "Listing Rules Chapter 8A")]
    mcap = profile.offering.expected_market_cap
    revenue = years[-1].revenue if years else 0
    limb_a = mcap >= w.market_cap_alone_min
    limb_b = mcap >= w.market_cap_with_revenue_min and revenue >= w.revenue_min
    ok = limb_a or limb_b
    shortfall = ""
    if not ok:
        parts = [f"market cap {fmt_hkd(mcap)} short of {fmt_hkd(w.market_cap_alone_min)} by {fmt_hkd(w.market_cap_alone_min - mcap)}"]
        alt = []
        if mcap < w.market_cap_with_revenue_min:
            alt.append(f"market cap short of {fmt_hkd(w.market_cap_with_revenue_min)} by {fmt_hkd(w.market_cap_with_revenue_min - mcap)}")
        if revenue < w.revenue_min:
            alt.append(f"revenue {fmt_hkd(revenue)} short of {fmt_hkd(w.revenue_min)} by {fmt_hkd(w.revenue_min - revenue)}")
        shortfall = f"{parts[0]}; or {' and '.join(alt)}"
    econ = frac(wvr.beneficiaries_economic_interest)
    return [
        CheckResult(
            id="8a.market_cap",
            name="WVR market cap / revenue",
            passed=ok,
            actual=f"{fmt_hkd(mcap)}; revenue {fmt_hkd(revenue)}",
            threshold=(
                f">= {fmt_hkd(w.market_cap_alone_min)}, "
                f"or >= {fmt_hkd(w.market_cap_with_revenue_min)} with revenue >= {fmt_hkd(w.revenue_min)}"
            ),
            rule="Listing Rules 8A.06",
            reason="meets 8A.06" if ok else "meets neither limb of 8A.06",
            shortfall=shortfall,
        ),
        CheckResult(
            id="8a.votes",
            name="Votes per WVR share",
            passed=wvr.votes_per_wvr_share <= w.max_votes_per_share,
            actual=str(wvr.votes_per_wvr_share),
            threshold=f"<= {w.max_votes_per_share}",
            rule="Listing Rules 8A.10",
            reason=f"{wvr.votes_per_wvr_share} votes per WVR share",
            shortfall=""
            if wvr.votes_per_wvr_share <= w.max_votes_per_share
            else (
                f"votes per WVR share {wvr.votes_per_wvr_share} above {w.max_votes_per_share} "
                f"by {wvr.votes_per_wvr_share - w.max_votes_per_share}"
            ),
        ),
        CheckResult(
            id="8a.directors",
            name="WVR beneficiaries are directors",
            passed=wvr.beneficiaries_are_directors,
            actual=str(wvr.beneficiaries_are_directors).lower(),
            threshold="true",
            rule="Listing Rules 8A.11",
            reason="beneficiaries are directors" if wvr.beneficiaries_are_directors else "a beneficiary is not a director",
            shortfall="" if wvr.beneficiaries_are_directors else "every WVR beneficiary must be a director at listing",
        ),
        _ratio_at_least(
            "8a.economic_interest",
            "WVR beneficiaries' economic interest",
            "beneficiaries' economic interest",
            econ,
            frac(w.beneficiaries_economic_interest_min),
            "Listing Rules 8A.12",
        ),
        CheckResult(
            id="8a.innovative",
            name="Innovative company",
            passed=wvr.innovative_company,
            actual=str(wvr.innovative_company).lower(),
            threshold="true",
            rule="Listing Rules 8A.04",
            reason="an innovative company" if wvr.innovative_company else "not shown to be innovative",
            shortfall="" if wvr.innovative_company else "must be an innovative company to list with WVR",
        ),
    ]


def csrc_filing_required(profile: IssuerProfile, on: date) -> tuple[bool, str]:
    """Whether the CSRC Trial Measures apply (direct listing, or the Art. 15 indirect test)."""
    try:
        c = rules.CSRC_FILING.in_force(on)
    except LookupError:
        return False, "the CSRC Trial Measures were not in force"
    if profile.structure == "direct":
        return True, "direct overseas listing of a PRC joint-stock company (Art. 2)"
    m = profile.mainland
    above = frac(c.indirect_domestic_share_above)
    shares = {
        "revenue": frac(m.domestic_revenue_share),
        "total profit": frac(m.domestic_profit_share),
        "total assets": frac(m.domestic_total_assets_share),
        "net assets": frac(m.domestic_net_assets_share),
    }
    limb1 = [k for k, v in shares.items() if v > above]
    limb2 = m.main_business_in_mainland or m.senior_managers_mainland
    if limb1 and limb2:
        return (
            True,
            f"indirect listing (Art. 15): domestic share of {', '.join(limb1)} above {fmt_pct(above)} and mainland business or management",
        )
    return False, "not a domestic company under Art. 15 (neither > 50% domestic figures with mainland business/management)"


def _mainland(profile: IssuerProfile, on: date) -> list[CheckResult]:
    required, why = csrc_filing_required(profile, on)
    out = [
        CheckResult(
            id="csrc.filing",
            name="CSRC filing",
            passed=None,
            actual="required" if required else "not required",
            threshold="file within the deadline after the HK application",
            rule="CSRC Trial Measures Art. 2, 15, 16",
            reason=why,
        )
    ]
    if required:
        bad = profile.mainland.prohibited_circumstances
        out.append(
            CheckResult(
                id="csrc.negative_list",
                name="CSRC prohibited circumstances",
                passed=not bad,
                actual=", ".join(bad) or "none",
                threshold="none",
                rule="CSRC Trial Measures Art. 8",
                reason="no prohibited circumstance" if not bad else f"prohibited: {', '.join(bad)}",
                shortfall="" if not bad else f"CSRC Art. 8 bars an overseas listing while {', '.join(bad)} applies",
            )
        )
        if profile.structure == "vie":
            note = " in a foreign-investment-restricted sector (added scrutiny)" if profile.mainland.foreign_investment_restricted else ""
            out.append(
                CheckResult(
                    id="csrc.vie",
                    name="VIE structure",
                    passed=None,
                    actual="VIE",
                    threshold="filing accepted if compliant",
                    rule="CSRC Q&A 17 Feb 2023",
                    reason=f"VIE structures may list after filing{note}",
                )
            )
    try:
        d = rules.DATA_REVIEW.in_force(on)
    except LookupError:
        return out
    users = profile.mainland.personal_information_users
    over = users > d.personal_information_users_threshold
    out.append(
        CheckResult(
            id="data.cyber_review",
            name="Cybersecurity review",
            passed=None,
            actual=f"{users:,} users" + ("; CIIO" if profile.mainland.critical_information_infrastructure_operator else ""),
            threshold=f"> {d.personal_information_users_threshold:,} users listing abroad",
            rule=d.rule,
            reason=(
                "over the threshold, but a Hong Kong listing is not 'abroad': no mandatory filing; Art. 16 review possible"
                if over and not d.mandatory_for_hong_kong
                else "no mandatory review"
            ),
        )
    )
    return out


# -- routes ---------------------------------------------------------------------------------
_ROUTE_TESTS: dict[str, tuple[str, ...]] = {
    "main_board_profit": (
        "mb.min_market_cap",
        "mb.trading_record",
        "mb.management_continuity",
        "mb.ownership_continuity",
        "mb.8051.latest_profit",
        "mb.8051.prior_profit",
    ),
    "main_board_mcap_revenue_cash_flow": (
        "mb.min_market_cap",
        "mb.trading_record",
        "mb.management_continuity",
        "mb.ownership_continuity",
        "mb.8052.market_cap",
        "mb.8052.revenue",
        "mb.8052.cash_flow",
    ),
    "main_board_mcap_revenue": ("mb.min_market_cap", "mb.ownership_continuity", "mb.8053.market_cap", "mb.8053.revenue", "mb.8053.record"),
    "18c_commercial": (
        "18c.in_force",
        "mb.min_market_cap",
        "mb.management_continuity",
        "mb.ownership_continuity",
        "18c.sector",
        "18c.commercial_revenue",
        "18c.market_cap_commercial",
        "18c.rd_years",
        "18c.rd_ratio_commercial",
        "18c.sii_commercial",
        "18c.pathfinders",
    ),
    "18c_pre_commercial": (
        "18c.in_force",
        "mb.min_market_cap",
        "mb.management_continuity",
        "mb.ownership_continuity",
        "18c.sector",
        "18c.pre_commercial_status",
        "18c.market_cap_pre_commercial",
        "18c.rd_years",
        "18c.rd_ratio_pre_commercial",
        "18c.sii_pre_commercial",
        "18c.pathfinders",
    ),
    "18a": ("18a.in_force", "mb.min_market_cap", "18a.biotech", "18a.market_cap", "18a.same_business", "18a.working_capital"),
}
_EVERY_ROUTE = (
    "mb.public_float",
    "8a.in_force",
    "8a.market_cap",
    "8a.votes",
    "8a.directors",
    "8a.economic_interest",
    "8a.innovative",
    "csrc.negative_list",
)


def assess(profile: IssuerProfile, on: date) -> Assessment:
    """Every test and route for ``profile`` under the rules in force on ``on``."""
    years = audited_years(profile, on)
    tests = [
        *_main_board(profile, on, years),
        *_chapter_18c(profile, on, years),
        *_chapter_18a(profile, on),
        *_chapter_8a(profile, on, years),
        *_mainland(profile, on),
    ]
    by_id = {t.id: t for t in tests}
    routes = []
    for route, ids in _ROUTE_TESTS.items():
        present = [i for i in (*ids, *_EVERY_ROUTE) if i in by_id]
        decisive = [by_id[i] for i in present if by_id[i].passed is not None]
        failed = [t for t in decisive if not t.passed]
        routes.append(
            RouteResult(
                route=route, title=ROUTES[route], open=not failed, tests=present, changes_needed=[t.shortfall or t.reason for t in failed]
            )
        )
    notes = _notes(profile, on, years)
    return Assessment(
        issuer_id=profile.issuer_id,
        name=profile.name,
        on=on,
        tests=tests,
        routes=routes,
        open_routes=[r.route for r in routes if r.open],
        notes=notes,
    )


def _notes(profile: IssuerProfile, on: date, years: list[FinancialYear]) -> list[str]:
    notes = []
    if not years:
        notes.append(f"no financial year ended before {on}: every financial test fails")
    elif len(years) < len(profile.financial_years):
        notes.append(f"{len(profile.financial_years) - len(years)} financial year(s) end on or after {on} and are not counted")
    needed, rule = required_public_float(profile.offering.expected_market_cap, on)
    notes.append(f"minimum initial public float at {fmt_hkd(profile.offering.expected_market_cap)}: {fmt_pct(needed)} ({rule})")
    try:
        c = rules.CHAPTER_18C.in_force(on)
        if c.temporary:
            notes.append("18C market-cap thresholds are the temporary reduction (1 Sep 2024 to 31 Aug 2027)")
    except LookupError:
        pass
    tech = rules.TECH_CHANNEL.in_force(on)
    if tech.available:
        notes.append(f"TECH channel available to {'/'.join(tech.eligible_chapters)} applicants (confidential filing permitted)")
    return notes


def relative_gap(test: CheckResult) -> Fraction:
    """How far a failed test is from its threshold, as a share of the threshold (``HK$220m``
    against ``HK$250m`` is 3/25); 1 for a test without numbers (a yes/no condition)."""
    f = test.figures
    if f is None or f.shortfall is None:
        return Fraction(1)
    short, threshold = (
        (Fraction(f.shortfall), Fraction(f.threshold)) if f.unit == "ratio" else (Fraction(int(f.shortfall)), Fraction(int(f.threshold)))
    )
    return min(abs(short / threshold), Fraction(1)) if threshold else Fraction(1)


def closest_route(assessment: Assessment) -> RouteResult | None:
    """For an issuer with no open route, the closed route nearest to opening: the fewest failing
    tests, then the smallest sum of their relative gaps (`relative_gap`), then `ROUTES` order.
    Its failing tests are the binding shortfall a screen shows. None when a route is open."""
    if assessment.open_routes:
        return None
    by_id = {t.id: t for t in assessment.tests}

    def distance(route: RouteResult) -> tuple[int, Fraction]:
        failed = [by_id[i] for i in route.tests if by_id[i].passed is False]
        return len(failed), sum((relative_gap(t) for t in failed), Fraction(0))

    return min(assessment.routes, key=distance, default=None)


def stock_name_markers(profile: IssuerProfile, route: str, on: date) -> list[str]:
    """Markers appended to the stock short name: W (WVR), P (18C pre-commercial), B (18A)."""
    try:
        m = rules.STOCK_NAME_MARKERS.in_force(on)
    except LookupError:
        return []
    out = []
    if profile.wvr is not None:
        out.append(m.wvr)
    if route == "18c_pre_commercial":
        out.append(m.pre_commercial)
    if route == "18a":
        out.append(m.biotech)
    return out


__all__ = [
    "ROUTES",
    "ROUTE_CHAPTER",
    "Assessment",
    "RouteResult",
    "CheckResult",
    "Figures",
    "add_months",
    "assess",
    "audited_years",
    "closest_route",
    "csrc_filing_required",
    "fmt_hkd",
    "fmt_pct",
    "integer_figures",
    "ratio_figures",
    "relative_gap",
    "required_public_float",
    "sii_holding_at_listing",
    "stock_name_markers",
]
