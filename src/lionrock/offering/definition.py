"""The offering definition: validate an `OfferingSpec` against the rules in force on its
prospectus date and resolve the regime (`ResolvedOffering`). Pure: the offering file (TOML, or the
same tables as JSON) is read into an `OfferingSpec` at the edge, `lionrock.files.offerings`.

Every error is a `Reject` naming the field (``offering.price_range``) and what was expected, so the
CLI and the engine report the same thing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from lionrock.kernel.errors import Reject, invariant, require
from lionrock.kernel.money import Currency, Rate, Rounding, round_div
from lionrock.kernel.price import TICKS_PER_MINOR, format_price
from lionrock.kernel.xhkg import add_business_days, is_business_day
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import (
    ClawbackWaiverSpec,
    CornerstoneSpec,
    DiscretionaryReallocationSpec,
    OfferingSpec,
    PreferentialOfferingSpec,
)
from lionrock.offering.events import FiniTimetableDates
from lionrock.rules import offering as rules

CHAPTERS = ("main", "18C", "18A")
ORIGINS = ("international", "mainland", "hong_kong")
PRICING_KINDS = ("coverage", "max_proceeds", "fixed")
CUTBACKS = ("none", "pro_rata")
PREFERENTIAL_KINDS = ("assured_entitlement", "employee")
PREFERENTIAL_SOURCES = ("international", "public")
MAX_PREFERENTIAL_TRANCHES = 8
LOCKUP_KINDS = ("controlling_shareholder", "key_person", "pre_ipo_investor", "pathfinder_sii")
MAX_CORNERSTONES = 200
MAX_LOCKUPS = 1_000
MAX_CONSENTS = 10_000
MAX_CURVE_POINTS = 1_000


@dataclass(frozen=True, slots=True)
class ResolvedPreferential:
    """One preferential tranche, checked: where its reserved shares come from and go back to."""

    spec: PreferentialOfferingSpec
    index: int
    """Its place in `OfferingSpec.preferential_list` (what `PreferentialBatch.tranche` names)."""
    source: str
    """``international`` or ``public``."""
    reserved_shares: int


@dataclass(frozen=True, slots=True)
class ResolvedOffering:
    """An offering with the rules in force on its prospectus date resolved."""

    spec: OfferingSpec
    ladder: rules.ClawbackLadder
    initial_share: Rate
    regime: str
    regime_rule: str
    regime_reasons: tuple[str, ...]
    """Why this mechanism applies: prospectus date, chapter, election or waiver (`pick_regime`)."""
    bookbuilding_min: Rate
    bookbuilding_rule: str
    reallocation_cap_shares: int
    """The most the public tranche may hold after a discretionary reallocation from the placing."""
    reallocation_rule: str
    pools: rules.PoolRules
    charges: rules.ApplicationCharges
    pricing_rules: rules.PricingRules
    options: rules.OptionRules
    chapter_18c: rules.Chapter18COfferingRules | None
    price_floor: int
    initial_public_shares: int
    bookbuilding_min_shares: int
    """The bookbuilding minimum in shares (rounded up), 0 where none applies."""
    preferential_reserved_shares: int
    """Shares reserved for a preferential offering out of the international offering (0: none)."""
    cornerstone_room_shares: int
    """The most cornerstones may take: shares offered less the initial public tranche, the
    bookbuilding minimum and the preferential reservation (`cornerstone_allotment` cuts back to it)."""
    max_application_shares: int
    max_upsize_shares: int
    max_over_allotment_shares: int
    timetable: FiniTimetableDates
    reallocation_target_shares: int = 0
    """The public offer a discretionary reallocation (``spec.reallocation``) raises it to, at most
    (the valid demand may stop it short); 0: none stated."""
    reallocation_target_reason: str = ""
    """How the target was set and the allocation cap it is within, with the rule."""
    preferential_tranches: tuple[ResolvedPreferential, ...] = ()
    """Every preferential tranche (``preferential_reserved_shares`` sums those out of the
    international offering)."""
    public_reserved_shares: int = 0
    """Reserved shares out of the public offer (Dtech 1377: 126,300 of 1,263,200): part of
    ``initial_public_shares``, not of the public offer's subscription base."""

    @property
    def public_subscription_shares(self) -> int:
        """The public offer initially available to the public, excluding reserved shares: the
        subscription level's denominator, the clawback's and the largest application's base."""
        return self.initial_public_shares - self.public_reserved_shares

    @property
    def lot(self) -> int:
        return self.spec.board_lot

    @property
    def maximum_price_only(self) -> bool:
        """A "maximum offer price only" offer: no bottom of the range (``price_low`` 0)."""
        return self.spec.price_low == 0


# ------------------------------------------------------------------------------------------------
# arithmetic helpers shared by the package
# ------------------------------------------------------------------------------------------------
def share_of(rate: Rate, shares: int, lot: int) -> int:
    """``rate x shares`` rounded down to whole board lots (the options: offer size adjustment and
    over-allotment, e.g. Mech-Mind 9615: 15% x 23,140,590 = 3,471,088.5 -> 3,471,060 in lots of 30)."""
    return (shares * rate.numerator // rate.denominator) // lot * lot


def _max_over_allotment_shares(spec: OfferingSpec) -> int:
    """The most the over-allotment option can cover: its share of the offer with the offer size
    adjustment exercised in full, rounded down to a lot."""
    n, lot = spec.shares_offered, spec.board_lot
    return share_of(spec.over_allotment, n + share_of(spec.offer_size_adjustment, n, lot), lot)


def public_share_of(rate: Rate, shares: int, lot: int) -> int:
    """``rate x shares`` rounded UP to whole board lots, at most ``shares``: the public tranche,
    initial and after clawback. Every allotment announcement found rounds this way (MiniMax 0100:
    5% x 25,389,220 = 1,269,461 -> 1,269,480 in lots of 20; Mech-Mind 9615: 20% x 23,140,590 =
    4,628,118 -> 4,628,130 in lots of 30); none rounds down (docs/offering.md, "Rules as practised")."""
    exact = -(-shares * rate.numerator // rate.denominator)
    return min(-(-exact // lot) * lot, shares // lot * lot)


def cornerstone_shares(amount_minor: int, price: int, lot: int) -> int:
    """Shares a fixed investment buys at ``price`` ticks, rounded down to board lots."""
    return (amount_minor * TICKS_PER_MINOR // price) // lot * lot


def cornerstone_amount_minor(c: CornerstoneSpec, offer_currency: str) -> int:
    """The cornerstone's amount in minor units of the offer currency: an amount stated in another
    currency is converted at the prospectus's stated rate, rounded down to the minor unit (Longsys
    9976: "US$151.13 million (or approximately HK$1,185.32 million, calculated based on the exchange
    rate as disclosed in this prospectus)"; every currency here has two minor digits)."""
    if not c.amount_currency or c.amount_currency == offer_currency:
        return c.amount_minor
    return c.amount_minor * c.fx_rate.numerator // c.fx_rate.denominator


@dataclass(frozen=True, slots=True)
class CornerstoneTake:
    """Cornerstone shares at one price: each investor's shares after any cutback, and why."""

    shares: tuple[int, ...]
    """In the order of ``spec.cornerstones``."""
    before_cutback: int
    reasons: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.shares)


def cornerstone_allotment(ro: ResolvedOffering, price: int) -> CornerstoneTake:
    """Each cornerstone's shares at the final ``price``: its amount (converted to the offer
    currency) divided by the price, rounded down to board lots (prospectus wording: "such number of
    Offer Shares (rounded down to the nearest whole board lot) that may be purchased for an
    aggregate amount of ..."). With ``cornerstone_cutback = "pro_rata"``, when the total exceeds
    the room (`ResolvedOffering.cornerstone_room_shares`) every cornerstone is reduced in
    proportion, rounded down to lots: shares left by the rounding stay in the placing."""
    spec, lot = ro.spec, ro.lot
    wanted = [cornerstone_shares(cornerstone_amount_minor(c, spec.currency), price, lot) for c in spec.cornerstones]
    total, room = sum(wanted), ro.cornerstone_room_shares
    if total <= room:
        return CornerstoneTake(tuple(wanted), total, ())
    invariant(spec.cornerstone_cutback == "pro_rata", f"cornerstones take {total} > room {room} without a cutback rule")
    cut = tuple(w * room // total // lot * lot for w in wanted)
    reason = (
        f"at {format_price(price)} the cornerstones' amounts buy {total:,} shares, more than the {room:,} left by the initial "
        f"public tranche of {ro.initial_public_shares:,}, the bookbuilding minimum of {ro.bookbuilding_min_shares:,}"
        + (f" and the preferential offering of {ro.preferential_reserved_shares:,}" if ro.preferential_reserved_shares else "")
        + f": each cut back pro rata to whole lots, {sum(cut):,} in total (cornerstone_cutback = pro_rata, as the prospectus reserves)"
    )
    return CornerstoneTake(cut, total, (reason,))


def lockup_last_day(listing: date, months: int) -> date:
    """The last day of a lock-up of ``months`` from the listing date, as announcements state it:
    Knowledge Atlas 2513 listed 8 Jan 2026, cornerstones locked up "to 7 Jul 2026"; Ridge Outdoor
    2720 listed 10 Feb 2026, twelve months "to 9 Feb 2027"; Transwarp 6727 21 Sep 2026 -> 20 Mar 2027."""
    return add_months(listing, months) - timedelta(days=1)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _bad(field: str, message: str, code: OfferingCode = OfferingCode.INVALID_FIELD, rule: str = "") -> Reject:
    return Reject(code, field, message, rule)


# ------------------------------------------------------------------------------------------------
# validation and regime resolution
# ------------------------------------------------------------------------------------------------
def _le(a: Rate, b: Rate) -> bool:
    return a.numerator * b.denominator <= b.numerator * a.denominator


@dataclass(frozen=True, slots=True)
class RegimeChoice:
    """Which public-tranche mechanism applies to an offering, and why (`pick_regime`)."""

    regime: rules.PublicTrancheRegime
    ladder: rules.ClawbackLadder
    mechanism: str
    """``PN18``, ``A``, ``B``, ``18C`` (the rulebook's key), whatever a waiver replaces."""
    initial_share: Rate
    label: str
    """What the announcement calls it: ``Mechanism B (fixed 10%)``, ``Chapter 18C``, ``waiver: ...``."""
    rule: str
    reasons: tuple[str, ...]


def _mechanism_text(ladder: rules.ClawbackLadder) -> str:
    if ladder.fixed:
        return f"a fixed share of {ladder.initial_min} to {ladder.initial_max}, no clawback"
    steps = ", ".join(f"{s.public_share} at {rules.multiple_text(s.min_multiple)}x" for s in ladder.steps)
    return f"initial {ladder.initial_min}; {steps}"


def pick_regime(spec: OfferingSpec) -> RegimeChoice:
    """The public-tranche mechanism for ``spec``: by chapter, then by the **prospectus date** (the
    2025 reform applies to listing documents published on or after 4 Aug 2025), then by the
    issuer's election or a waiver. Raises `Reject` if the chapter or mechanism is not available on
    that date. Every step of the choice is in ``reasons``."""
    d = spec.prospectus_date
    reasons: list[str] = []
    if spec.chapter == "18C":
        try:
            provision = rules.PUBLIC_TRANCHE_18C.provision(d)
        except LookupError:
            raise _bad(
                "offering.chapter",
                f"Chapter 18C took effect on 31 Mar 2023; prospectus dated {d}",
                OfferingCode.OUTSIDE_RULES,
                "Listing Rules Chapter 18C",
            ) from None
        regime, mechanism = provision.value, "18C"
        require(
            not spec.mechanism or spec.mechanism == "18C",
            OfferingCode.OUTSIDE_RULES,
            "offering.mechanism",
            f"Chapter 18C offerings follow Rule 18C.09; Mechanisms A and B are not open to them, got {spec.mechanism!r}",
            regime.mechanisms["18C"].rule,
        )
        reasons.append(
            f"Chapter 18C offering: Rule 18C.09's ladder applies whatever the prospectus date; Mechanisms A/B are not "
            f"open to 18C issuers [{provision.source}; grade {provision.grade}]"
        )
    else:
        provision = rules.PUBLIC_TRANCHE_MAIN_BOARD.provision(d)
        regime = provision.value
        mechanism = spec.mechanism or regime.default_mechanism
        if mechanism not in regime.mechanisms:
            raise _bad(
                "offering.mechanism",
                f"on {d} the mechanisms are {', '.join(sorted(regime.mechanisms))}, got {mechanism!r}",
                OfferingCode.OUTSIDE_RULES,
                "Listing Rules PN18 para 4.2",
            )
        if len(regime.mechanisms) == 1:
            reasons.append(
                f"prospectus dated {d}: the provision in force from {provision.effective_from} has one mandatory ladder, "
                f"{mechanism} [{provision.source}; grade {provision.grade}]"
            )
        else:
            how = (
                f"elected {mechanism!r} in the offering file"
                if spec.mechanism
                else f"no election in the offering file: the rulebook's default {mechanism!r}"
            )
            reasons.append(
                f"prospectus dated {d}, on or after {provision.effective_from}: the issuer elects one of "
                f"{', '.join(sorted(regime.mechanisms))}; {how} [{provision.source}; grade {provision.grade}]"
            )
    ladder = regime.mechanisms[mechanism]
    reasons.append(f"{ladder.name}: {_mechanism_text(ladder)} of the shares initially offered ({ladder.rule})")
    initial = spec.public_share if spec.public_share is not None else ladder.initial_min
    label, rule = ladder.name, ladder.rule
    if spec.waiver is not None:
        ladder = _waiver_ladder(spec.waiver)
        initial, label, rule = spec.waiver.initial, f"waiver: {spec.waiver.reference}", spec.waiver.reference
        reasons.append(f"a waiver replaces it ({spec.waiver.reference}): {_mechanism_text(ladder)}")
    else:
        require(
            _le(ladder.initial_min, initial) and _le(initial, ladder.initial_max),
            OfferingCode.OUTSIDE_RULES,
            "offering.public_share",
            f"{ladder.name} allows an initial public share from {ladder.initial_min} to {ladder.initial_max}, got {initial}",
            ladder.rule,
        )
        if ladder.fixed:
            label = f"{ladder.name} (fixed {initial})"
    bb = regime.bookbuilding_placing_min
    reasons.append(
        f"bookbuilding placing minimum {bb} of the shares initially offered: {regime.bookbuilding_rule}"
        if bb.numerator
        else f"no bookbuilding placing minimum: {regime.bookbuilding_rule}"
    )
    return RegimeChoice(regime, ladder, mechanism, initial, label, rule, tuple(reasons))


def validate_offering(spec: OfferingSpec) -> ResolvedOffering:
    """Check ``spec`` against the rules in force on its prospectus date; raise `Reject` if not."""
    _check_basics(spec)
    choice = pick_regime(spec)
    regime, ladder, initial = choice.regime, choice.ladder, choice.initial_share
    pricing_rules = rules.PRICING.in_force(spec.prospectus_date)
    floor = _price_floor(spec, pricing_rules)
    options = rules.OPTIONS.in_force(spec.prospectus_date)
    for field, value, cap in (
        ("offer_size_adjustment", spec.offer_size_adjustment, options.offer_size_adjustment_max),
        ("over_allotment", spec.over_allotment, options.over_allotment_max),
    ):
        require(
            _le(value, cap),
            OfferingCode.OUTSIDE_RULES,
            f"offering.{field}",
            f"at most {cap} of the offer shares, got {value}",
            options.rule,
        )
    lot, n = spec.board_lot, spec.shares_offered
    initial_public = public_share_of(initial, n, lot)
    require(
        initial_public > 0,
        OfferingCode.OUTSIDE_RULES,
        "offering.public_share",
        f"initial public tranche {initial} of {n:,} shares is less than one board lot",
    )
    pools = rules.POOLS.in_force(spec.prospectus_date)
    timetable = _timetable(spec, options)
    bookbuilding_min = -(-n * regime.bookbuilding_placing_min.numerator // regime.bookbuilding_placing_min.denominator)
    tranches = _check_preferential(spec, initial_public, bookbuilding_min)
    public_reserved = sum(x.reserved_shares for x in tranches if x.source == "public")
    reserved = sum(x.reserved_shares for x in tranches if x.source == "international")
    max_application = share_of(pools.max_application_share_of_initial_public, initial_public - public_reserved, lot)
    room = _cornerstone_room(n - initial_public, bookbuilding_min, tranches)
    _check_cornerstones(spec, regime, floor, options, room)
    _check_disclosures(spec)
    target, target_reason = _reallocation_target(spec, regime, initial_public)
    # One allocation cap for every reallocation outside the clawback, from an undersubscribed placing
    # too (Shougang LanzaTech 2553, Jun 2026: 10% -> 15% with the placing 0.95x, "the allocation cap
    # pursuant to paragraph 9 of Chapter 4.14 of the Guide for New Listing Applicants has not been
    # exceeded" [P]): where the regime has the 2025 cap, the tighter of it and the older multiple.
    reallocation_cap, reallocation_rule = initial_public * regime.reallocation_max_public_multiple, regime.reallocation_rule
    cap_share = regime.discretionary_reallocation_max_share
    if cap_share.numerator and share_of(cap_share, n, lot) < reallocation_cap:
        reallocation_cap, reallocation_rule = share_of(cap_share, n, lot), regime.discretionary_reallocation_rule
    return ResolvedOffering(
        spec=spec,
        ladder=ladder,
        initial_share=initial,
        regime=choice.label,
        regime_rule=choice.rule,
        regime_reasons=choice.reasons,
        bookbuilding_min=regime.bookbuilding_placing_min,
        bookbuilding_rule=regime.bookbuilding_rule,
        reallocation_cap_shares=reallocation_cap,
        reallocation_rule=reallocation_rule,
        pools=pools,
        charges=rules.APPLICATION_CHARGES.in_force(spec.prospectus_date),
        pricing_rules=pricing_rules,
        options=options,
        chapter_18c=rules.CHAPTER_18C_OFFERING.in_force(spec.prospectus_date) if spec.chapter == "18C" else None,
        price_floor=floor,
        initial_public_shares=initial_public,
        bookbuilding_min_shares=bookbuilding_min,
        preferential_reserved_shares=reserved,
        cornerstone_room_shares=max(room, 0),
        max_application_shares=max(max_application, lot),
        max_upsize_shares=share_of(spec.offer_size_adjustment, n, lot),
        max_over_allotment_shares=_max_over_allotment_shares(spec),
        timetable=timetable,
        reallocation_target_shares=target,
        reallocation_target_reason=target_reason,
        preferential_tranches=tranches,
        public_reserved_shares=public_reserved,
    )


def _reallocation_target(spec: OfferingSpec, regime: rules.PublicTrancheRegime, initial_public: int) -> tuple[int, str]:
    """The public offer a discretionary reallocation targets and why, checked against the
    allocation cap in force: the regime's share of the shares initially offered (15% from 4 Aug
    2025), else double the initial public tranche (GL91-18)."""
    r = spec.reallocation
    if not isinstance(r, DiscretionaryReallocationSpec):
        return 0, ""
    lot, n, f = spec.board_lot, spec.shares_offered, "offering.reallocation"
    require(bool(r.reference.strip()), OfferingCode.INVALID_FIELD, f"{f}.reference", "must not be empty")
    require(r.rounding in ("down", "up"), OfferingCode.INVALID_FIELD, f"{f}.rounding", f"expected down or up, got {r.rounding!r}")
    require(
        (r.public_share.numerator > 0) != (r.shares > 0) and r.shares >= 0 and r.shares % lot == 0,
        OfferingCode.INVALID_FIELD,
        f"{f}.public_share",
        f"give public_share (a share of the shares offered) or shares (whole board lots of {lot}), not both",
    )
    if r.shares:
        target, how = initial_public + r.shares, f"{r.shares:,} shares reallocated"
    else:
        target = share_of(r.public_share, n, lot) if r.rounding == "down" else public_share_of(r.public_share, n, lot)
        how = f"{r.public_share} of the {n:,} shares initially offered, rounded {r.rounding} to a board lot"
    cap = regime.discretionary_reallocation_max_share
    if cap.numerator:
        within, cap_text, rule = (
            target * cap.denominator <= n * cap.numerator,
            f"{cap} of the shares initially offered",
            (regime.discretionary_reallocation_rule),
        )
    else:
        multiple = regime.reallocation_max_public_multiple
        within, cap_text, rule = (
            target <= initial_public * multiple,
            f"{multiple} times the initial public tranche",
            regime.reallocation_rule,
        )
    require(
        initial_public < target <= n,
        OfferingCode.INVALID_FIELD,
        f"{f}.public_share",
        f"a reallocation to the public offer must raise it above the initial {initial_public:,} shares; {how} gives {target:,}",
    )
    require(
        within,
        OfferingCode.OUTSIDE_RULES,
        f"{f}.public_share",
        f"{how} gives {target:,} shares, above the allocation cap of {cap_text}",
        rule,
    )
    return target, f"{how}: {target:,} shares, within the allocation cap of {cap_text} ({rule})"


def _check_basics(spec: OfferingSpec) -> None:
    for field in ("offering_id", "issuer_id", "issuer_name", "instrument"):
        require(getattr(spec, field).strip(), OfferingCode.INVALID_FIELD, f"offering.{field}", "must not be empty")
    require(
        spec.currency in {c.value for c in Currency},
        OfferingCode.INVALID_FIELD,
        "offering.currency",
        f"expected HKD, CNY or USD, got {spec.currency!r}",
    )
    require(
        spec.chapter in CHAPTERS,
        OfferingCode.INVALID_FIELD,
        "offering.chapter",
        f"expected one of {', '.join(CHAPTERS)}, got {spec.chapter!r}",
    )
    require(spec.board_lot > 0, OfferingCode.INVALID_FIELD, "offering.board_lot", f"expected a positive whole number, got {spec.board_lot}")
    require(
        spec.shares_offered > 0 and spec.shares_offered % spec.board_lot == 0,
        OfferingCode.INVALID_FIELD,
        "offering.shares_offered",
        f"expected a positive multiple of the board lot {spec.board_lot}, got {spec.shares_offered}",
    )
    require(
        0 <= spec.price_low <= spec.price_high and spec.price_high > 0,
        OfferingCode.INVALID_FIELD,
        "offering.price_range",
        "expected 0 < low <= high (or low 0 for a maximum offer price only), "
        f"got {format_price(spec.price_low)} to {format_price(spec.price_high)}",
    )
    require(
        spec.cornerstone_cutback in CUTBACKS,
        OfferingCode.INVALID_FIELD,
        "offering.cornerstone_cutback",
        f"expected one of {', '.join(CUTBACKS)}, got {spec.cornerstone_cutback!r}",
    )
    require(
        not spec.independent_price_setting_waiver or spec.chapter == "18C",
        OfferingCode.INVALID_FIELD,
        "offering.independent_price_setting_waiver",
        "a waiver of Rule 18C.08 applies to Chapter 18C offerings only",
    )
    require(
        spec.prospectus_date <= spec.public_offer_open < spec.price_fixing_date,
        OfferingCode.INVALID_FIELD,
        "offering.price_fixing_date",
        "expected prospectus_date <= public_offer_open < price_fixing_date",
    )
    try:
        ok = is_business_day(spec.price_fixing_date) and is_business_day(spec.public_offer_open)
    except ValueError as exc:
        raise _bad("offering.price_fixing_date", str(exc)) from exc
    require(
        ok, OfferingCode.INVALID_FIELD, "offering.price_fixing_date", "public_offer_open and price_fixing_date must be XHKG business days"
    )
    require(
        spec.pricing.kind in PRICING_KINDS,
        OfferingCode.INVALID_FIELD,
        "pricing.kind",
        f"expected one of {', '.join(PRICING_KINDS)}, got {spec.pricing.kind!r}",
    )
    require(spec.pricing.coverage_times.numerator > 0, OfferingCode.INVALID_FIELD, "pricing.coverage_times", "expected a positive multiple")
    require(
        spec.placing.tier_weights and all(w.numerator > 0 for w in spec.placing.tier_weights),
        OfferingCode.INVALID_FIELD,
        "placing.tier_weights",
        "expected at least one positive weight",
    )
    require(
        0 < spec.placing.max_share_per_placee.numerator <= spec.placing.max_share_per_placee.denominator,
        OfferingCode.INVALID_FIELD,
        "placing.max_share_per_placee",
        f"expected a share in (0%, 100%], got {spec.placing.max_share_per_placee}",
    )
    for field in ("pool_a_taper_eighths", "pool_b_taper_eighths"):
        v = getattr(spec.public, field)
        require(1 <= v <= 8, OfferingCode.INVALID_FIELD, f"public.{field}", f"expected a whole number 1..8, got {v}")
    for field in ("pool_a_curve", "pool_b_curve"):
        _check_curve(getattr(spec.public, field), f"public.{field}")
    chosen = spec.placing.over_allocate_shares
    if isinstance(chosen, int):
        lot, most = spec.board_lot, _max_over_allotment_shares(spec)
        require(
            0 <= chosen <= most and chosen % lot == 0,
            OfferingCode.INVALID_FIELD,
            "placing.over_allocate_shares",
            f"whole board lots of {lot:,}, at most the over-allotment option ({most:,} shares), got {chosen:,}",
        )
    osa_public = spec.offer_size_adjustment_public_share
    require(
        osa_public.numerator <= osa_public.denominator,
        OfferingCode.INVALID_FIELD,
        "offering.offer_size_adjustment_public_share",
        f"expected a share in [0%, 100%], got {osa_public}",
    )
    require(
        spec.shares_outstanding_after == 0 or spec.shares_outstanding_after >= spec.shares_offered,
        OfferingCode.INVALID_FIELD,
        "offering.shares_outstanding_after",
        "expected 0 (unknown) or at least shares_offered",
    )


def _check_curve(points: list[tuple[int, Rate]], field: str) -> None:
    require(len(points) <= MAX_CURVE_POINTS, OfferingCode.LIMIT_EXCEEDED, field, f"at most {MAX_CURVE_POINTS} points, got {len(points)}")
    sizes = [lots for lots, _ in points]
    require(
        all(lots > 0 for lots in sizes) and sizes == sorted(set(sizes)),
        OfferingCode.INVALID_FIELD,
        field,
        "expected strictly increasing positive application sizes in lots",
    )
    require(all(w.numerator > 0 for _, w in points), OfferingCode.INVALID_FIELD, field, "expected positive weights")


def _waiver_ladder(w: ClawbackWaiverSpec) -> rules.ClawbackLadder:
    one = Rate(1, 1)
    require(
        0 < w.initial.numerator and _le(w.initial, one),
        OfferingCode.INVALID_FIELD,
        "offering.waiver.initial",
        f"expected a share in (0%, 100%], got {w.initial}",
    )
    previous_multiple, previous_share = Rate(0, 1), w.initial
    for i, (multiple, share) in enumerate(w.steps):
        require(
            rules.rate_gt(multiple, previous_multiple) and _le(previous_share, share) and _le(share, one),
            OfferingCode.INVALID_FIELD,
            f"offering.waiver.steps[{i}]",
            "expected increasing multiples with non-decreasing shares up to 100%",
        )
        previous_multiple, previous_share = multiple, share
    return rules.ClawbackLadder(
        name=f"waiver: {w.reference}",
        initial_min=w.initial,
        initial_max=w.initial,
        steps=tuple(rules.ClawbackStep(m, s) for m, s in w.steps),
        fixed=not w.steps,
        rule=w.reference,
    )


def _price_floor(spec: OfferingSpec, pr: rules.PricingRules) -> int:
    if spec.price_low == 0:
        require(
            not spec.downward_flexibility,
            OfferingCode.INVALID_FIELD,
            "offering.downward_flexibility",
            "a maximum-offer-price-only offer has no range to price below",
            pr.rule,
        )
        return 1  # one tick: any positive price up to the maximum
    if not spec.downward_flexibility:
        return spec.price_low
    cap = pr.range_top_over_bottom_max
    require(
        spec.price_high * cap.denominator <= spec.price_low * (cap.denominator + cap.numerator),
        OfferingCode.OUTSIDE_RULES,
        "offering.price_range",
        f"the downward flexibility needs the top of the range at most {cap} above the bottom; "
        f"{format_price(spec.price_high)} is more than that above {format_price(spec.price_low)}",
        pr.rule,
    )
    down = pr.downward_flexibility_max
    return round_div(spec.price_low * (down.denominator - down.numerator), down.denominator, Rounding.UP)


def _timetable(spec: OfferingSpec, options: rules.OptionRules) -> FiniTimetableDates:
    fini = rules.FINI.in_force(spec.prospectus_date)
    t = spec.price_fixing_date
    close = add_business_days(t, -fini.public_offer_close_days_before_pricing)
    require(
        spec.public_offer_open <= close,
        OfferingCode.INVALID_FIELD,
        "offering.public_offer_open",
        f"the public offer must open by {close} (T-{fini.public_offer_close_days_before_pricing}) for pricing on {t}",
        fini.rule,
    )
    listing = add_business_days(t, fini.listing_days_after_pricing)
    return FiniTimetableDates(
        public_offer_open=spec.public_offer_open,
        public_offer_close=close,
        price_fixing=t,
        results=add_business_days(t, fini.results_days_after_pricing),
        listing=listing,
        stabilisation_end=close + timedelta(days=options.stabilisation_days_after_application_close),
        cornerstone_lockup_end=lockup_last_day(listing, options.cornerstone_lockup_months),
    )


def _check_cornerstones(spec: OfferingSpec, regime: rules.PublicTrancheRegime, floor: int, options: rules.OptionRules, room: int) -> None:
    seen: set[str] = set()
    total = 0
    for i, c in enumerate(spec.cornerstones):
        f = f"cornerstones[{i}]"
        require(c.investor not in seen, OfferingCode.INVALID_FIELD, f"{f}.investor", f"{c.investor!r} appears twice")
        seen.add(c.investor)
        require(c.amount_minor > 0, OfferingCode.INVALID_FIELD, f"{f}.amount", "expected a positive amount")
        require(c.origin in ORIGINS, OfferingCode.INVALID_FIELD, f"{f}.origin", f"expected one of {', '.join(ORIGINS)}, got {c.origin!r}")
        _check_fx(c, spec.currency, f)
        require(
            c.lockup_months == 0 or c.lockup_months >= options.cornerstone_lockup_months,
            OfferingCode.OUTSIDE_RULES,
            f"{f}.lockup_months",
            f"cornerstone shares are locked up at least {options.cornerstone_lockup_months} months, got {c.lockup_months}",
            options.rule,
        )
        total += cornerstone_shares(cornerstone_amount_minor(c, spec.currency), floor, spec.board_lot)
    rule = regime.bookbuilding_rule if regime.bookbuilding_placing_min.numerator else "shares offered"
    if not spec.cornerstones:
        return
    if spec.cornerstone_cutback == "pro_rata":
        require(
            room >= spec.board_lot,
            OfferingCode.OUTSIDE_RULES,
            "cornerstones",
            "no room for cornerstones: the public tranche, the bookbuilding minimum and the preferential offering take every share",
            rule,
        )
        return
    require(
        spec.price_low > 0,
        OfferingCode.OUTSIDE_RULES,
        "offering.cornerstone_cutback",
        "a maximum-offer-price-only offer has no lowest price at which to fit fixed cornerstone amounts: state the prospectus's "
        'cutback (cornerstone_cutback = "pro_rata")',
        rule,
    )
    require(
        total <= room,
        OfferingCode.OUTSIDE_RULES,
        "cornerstones",
        f"at the lowest possible price {format_price(floor)} cornerstones take {total:,} shares; with the initial public tranche, "
        f"the bookbuilding minimum and any preferential offering at most {max(room, 0):,} are available (or state the "
        f'prospectus\'s cutback: cornerstone_cutback = "pro_rata")',
        rule,
    )


def _check_fx(c: CornerstoneSpec, currency: str, f: str) -> None:
    if not c.amount_currency or c.amount_currency == currency:
        require(
            c.fx_rate.numerator == 0 or c.fx_rate == Rate(1, 1),
            OfferingCode.INVALID_FIELD,
            f"{f}.fx_rate",
            f"the amount is in the offer currency {currency}; no exchange rate applies",
        )
        return
    require(
        c.amount_currency in {x.value for x in Currency},
        OfferingCode.INVALID_FIELD,
        f"{f}.amount",
        f"expected HKD, CNY or USD, got {c.amount_currency!r}",
    )
    require(
        c.fx_rate.numerator > 0,
        OfferingCode.INVALID_FIELD,
        f"{f}.fx_rate",
        f'the amount is in {c.amount_currency}: give the prospectus\'s rate in {currency} per {c.amount_currency}, e.g. "7.8432"',
    )


def _cornerstone_room(international: int, bookbuilding_min: int, tranches: tuple[ResolvedPreferential, ...]) -> int:
    """The most cornerstones may take out of the ``international`` shares initially offered: what
    the reserved shares placed there leave, and what leaves the bookbuilding minimum to other
    placees, where employee reserved shares count toward it (`rules.RESERVED_IN_BOOKBUILDING_RULE`)
    and an assured entitlement's do not."""
    placed = [x for x in tranches if x.source == "international"]
    outside = sum(x.reserved_shares for x in placed if x.spec.kind != "employee")
    return min(international - bookbuilding_min - outside, international - sum(x.reserved_shares for x in placed))


def _check_preferential(spec: OfferingSpec, initial_public: int, bookbuilding_min: int) -> tuple[ResolvedPreferential, ...]:
    """Every preferential tranche, checked: each out of the public offer or the international
    offering, in whole lots, within what that tranche leaves; employee tranches together within
    Rule 10.01's 10% of the shares offered."""
    tranches = spec.preferential_list
    if isinstance(spec.preferential_tranches, list):
        require(
            spec.preferential is None and 1 <= len(spec.preferential_tranches),
            OfferingCode.INVALID_FIELD,
            "preferential_tranches",
            "give preferential (one tranche) or preferential_tranches (one or more), not both and not an empty list",
        )
        require(
            len(spec.preferential_tranches) <= MAX_PREFERENTIAL_TRANCHES,
            OfferingCode.LIMIT_EXCEEDED,
            "preferential_tranches",
            f"at most {MAX_PREFERENTIAL_TRANCHES} preferential tranches, got {len(spec.preferential_tranches)}",
        )
    many = isinstance(spec.preferential_tranches, list)
    out = tuple(_check_tranche(spec, p, k, f"preferential_tranches[{k}]" if many else "preferential") for k, p in enumerate(tranches))
    together = "preferential_tranches" if many else "preferential.reserved_shares"  # the field the totals come from
    n, lot = spec.shares_offered, spec.board_lot
    public = sum(x.reserved_shares for x in out if x.source == "public")
    require(
        public <= initial_public - lot,
        OfferingCode.OUTSIDE_RULES,
        together,
        f"reserved shares out of the public offer take {public:,} of its {initial_public:,} shares: at least a board lot "
        "must stay with the public",
        rules.RESERVED_OUT_OF_PUBLIC_RULE,
    )
    international = n - initial_public
    placed = sum(x.reserved_shares for x in out if x.source == "international")
    outside = sum(x.reserved_shares for x in out if x.source == "international" and x.spec.kind != "employee")
    require(
        placed <= international and outside <= international - bookbuilding_min,
        OfferingCode.OUTSIDE_RULES,
        together,
        f"reserved shares out of the international offering take {placed:,} of its {international:,} shares, "
        f"{outside:,} of them outside the bookbuilding minimum of {bookbuilding_min:,}: at most "
        f"{max(international - bookbuilding_min, 0):,} may be outside it",
        "Practice Note 15 para 3(f) (reserved shares come out of the international offering); " + rules.RESERVED_IN_BOOKBUILDING_RULE,
    )
    employee = sum(x.reserved_shares for x in out if x.spec.kind == "employee")
    cap = rules.EMPLOYEE_PREFERENTIAL_MAX_SHARE
    require(
        employee * cap.denominator <= n * cap.numerator,
        OfferingCode.OUTSIDE_RULES,
        together,
        f"employee reserved shares total {employee:,}, above {cap} of the {n:,} shares offered",
        rules.EMPLOYEE_PREFERENTIAL_RULE,
    )
    return out


def _check_tranche(spec: OfferingSpec, p: PreferentialOfferingSpec, index: int, f: str) -> ResolvedPreferential:
    require(p.kind in PREFERENTIAL_KINDS, OfferingCode.INVALID_FIELD, f"{f}.kind", f"expected one of {PREFERENTIAL_KINDS}, got {p.kind!r}")
    require(bool(p.reference.strip()), OfferingCode.INVALID_FIELD, f"{f}.reference", "must not be empty")
    source = p.source if isinstance(p.source, str) else "international"
    require(
        source in PREFERENTIAL_SOURCES,
        OfferingCode.INVALID_FIELD,
        f"{f}.source",
        f"expected one of {PREFERENTIAL_SOURCES}, got {source!r}",
    )
    require(  # OUTSIDE_RULES, as before tranches could be several: a stable code for the same input
        0 < p.reserved_shares and p.reserved_shares % spec.board_lot == 0,
        OfferingCode.OUTSIDE_RULES,
        f"{f}.reserved_shares",
        f"expected whole board lots of {spec.board_lot}, got {p.reserved_shares:,}",
    )
    require(
        1 <= p.excess_taper_eighths <= 8,
        OfferingCode.INVALID_FIELD,
        f"{f}.excess_taper_eighths",
        f"expected a whole number 1..8, got {p.excess_taper_eighths}",
    )
    _check_curve(p.excess_curve, f"{f}.excess_curve")
    return ResolvedPreferential(p, index, source, p.reserved_shares)


def _check_disclosures(spec: OfferingSpec) -> None:
    require(
        len(spec.lockups) <= MAX_LOCKUPS and len(spec.placee_consents) <= MAX_CONSENTS and len(spec.cornerstones) <= MAX_CORNERSTONES,
        OfferingCode.LIMIT_EXCEEDED,
        "offering",
        f"at most {MAX_CORNERSTONES} cornerstones, {MAX_LOCKUPS} lock-ups, {MAX_CONSENTS} consents",
    )
    for i, x in enumerate(spec.lockups):
        require(
            bool(x.holder.strip()) and x.kind in LOCKUP_KINDS and x.shares > 0,
            OfferingCode.INVALID_FIELD,
            f"lockups[{i}]",
            f"expected a holder, a kind in {LOCKUP_KINDS} and positive shares, got {x.holder!r}, {x.kind!r}, {x.shares}",
        )
    for i, y in enumerate(spec.placee_consents):
        require(
            bool(y.investor.strip() and y.relationship.strip() and y.consent.strip()),
            OfferingCode.INVALID_FIELD,
            f"placee_consents[{i}]",
            "expected investor, relationship and consent",
        )


__all__ = [
    "CHAPTERS",
    "CUTBACKS",
    "LOCKUP_KINDS",
    "MAX_CONSENTS",
    "MAX_CORNERSTONES",
    "MAX_CURVE_POINTS",
    "MAX_LOCKUPS",
    "MAX_PREFERENTIAL_TRANCHES",
    "ORIGINS",
    "PREFERENTIAL_KINDS",
    "PREFERENTIAL_SOURCES",
    "PRICING_KINDS",
    "CornerstoneTake",
    "RegimeChoice",
    "ResolvedOffering",
    "ResolvedPreferential",
    "add_months",
    "cornerstone_allotment",
    "cornerstone_amount_minor",
    "cornerstone_shares",
    "lockup_last_day",
    "pick_regime",
    "public_share_of",
    "share_of",
    "validate_offering",
]
