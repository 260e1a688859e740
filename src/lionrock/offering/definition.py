"""The offering definition: parse a TOML file into an `OfferingSpec`, validate it against the rules
in force on its prospectus date, and resolve the regime (`ResolvedOffering`).

Every error is a `Reject` naming the field (``offering.price_range``) and what was expected, so the
CLI and the engine report the same thing.
"""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lionrock.kernel.errors import Reject, invariant, require
from lionrock.kernel.money import Currency, Rate, Rounding, round_div, to_minor
from lionrock.kernel.price import TICKS_PER_MINOR, format_price, parse_price
from lionrock.kernel.xhkg import add_business_days, is_business_day
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import (
    ClawbackWaiverSpec,
    CornerstoneSpec,
    LockupSpec,
    OfferingSpec,
    PlaceeConsentSpec,
    PlacingPolicySpec,
    PreferentialOfferingSpec,
    PricingPolicySpec,
    PublicPolicySpec,
)
from lionrock.offering.events import FiniTimetableDates
from lionrock.rules import offering as rules

CHAPTERS = ("main", "18C", "18A")
ORIGINS = ("international", "mainland", "hong_kong")
PRICING_KINDS = ("coverage", "max_proceeds", "fixed")
CUTBACKS = ("none", "pro_rata")
PREFERENTIAL_KINDS = ("assured_entitlement", "employee")
LOCKUP_KINDS = ("controlling_shareholder", "key_person", "pre_ipo_investor", "pathfinder_sii")
MAX_CORNERSTONES = 200
MAX_LOCKUPS = 1_000
MAX_CONSENTS = 10_000


@dataclass(frozen=True, slots=True)
class ResolvedOffering:
    """An offering with the rules in force on its prospectus date resolved."""

    spec: OfferingSpec
    ladder: rules.ClawbackLadder
    initial_share: rules.Rate
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
    reason = (f"at {format_price(price)} the cornerstones' amounts buy {total:,} shares, more than the {room:,} left by the initial "
              f"public tranche of {ro.initial_public_shares:,}, the bookbuilding minimum of {ro.bookbuilding_min_shares:,}"
              + (f" and the preferential offering of {ro.preferential_reserved_shares:,}" if ro.preferential_reserved_shares else "")
              + f": each cut back pro rata to whole lots, {sum(cut):,} in total (cornerstone_cutback = pro_rata, as the prospectus reserves)")
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
# TOML -> OfferingSpec
# ------------------------------------------------------------------------------------------------
def load_offering(path: str | Path) -> OfferingSpec:
    """Read and parse an offering TOML file (see docs/offering.md for the format)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _bad("file", f"not valid TOML: {exc}") from exc
    return parse_offering(data)


OFFERING_FILE_KEYS: dict[str, tuple[str, ...]] = {
    "file": ("offering", "cornerstones", "lockups", "placee_consents", "preferential", "pricing", "placing", "public"),
    "offering": ("id", "issuer_id", "issuer_name", "instrument", "currency", "rmb_counter", "chapter", "pre_commercial", "shares_offered",
                 "board_lot", "price_range", "maximum_offer_price", "prospectus_date", "public_offer_open", "price_fixing_date", "mechanism",
                 "public_share", "waiver", "downward_flexibility", "offer_size_adjustment", "offer_size_adjustment_public_share",
                 "over_allotment", "underwriter_account", "stabilising_manager_account", "stock_lender_account", "shares_outstanding_after",
                 "cornerstone_cutback", "independent_price_setting_waiver", "underwriting_commission", "listing_expenses"),
    "offering.waiver": ("reference", "initial", "steps"),
    "cornerstones": ("investor", "name", "account", "participant", "origin", "amount", "fx_rate", "lockup_months", "independent",
                     "existing_shareholder"),
    "lockups": ("holder", "kind", "shares", "ends", "public", "rule"),
    "placee_consents": ("investor", "relationship", "consent"),
    "preferential": ("kind", "reference", "reserved_shares", "excess_taper_eighths", "excess_curve"),
    "pricing": ("kind", "coverage_times", "fixed_price", "upsize_at_coverage"),
    "placing": ("tier_weights", "early_bonus", "early_before_seq", "price_setting_bonus", "max_share_per_placee", "over_allocate",
                "reallocate_undersubscribed_placing"),
    "public": ("pool_a_taper_eighths", "pool_b_taper_eighths", "pool_a_curve", "pool_b_curve"),
}
"""Every key of every table of the offering file (docs/offering.md): the one list the file parser
reads by (it cannot read a key not listed here) and the REST model is checked against
(tests/gateways/rest/test_offering_models.py), so the two cannot drift."""


class _Fields:
    """Typed access to one TOML table; errors name ``section.key`` and the expected form."""

    def __init__(self, data: Any, section: str) -> None:
        if not isinstance(data, dict):
            raise _bad(section, f"expected a table, got {type(data).__name__}")
        self.data, self.section = data, section
        self.used: set[str] = set()
        self.keys = OFFERING_FILE_KEYS[section.split("[", 1)[0]]

    def _get(self, key: str, default: Any) -> Any:
        invariant(key in self.keys, f"the parser reads {self.section}.{key}, which OFFERING_FILE_KEYS does not list")
        self.used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                raise _bad(self.f(key), "is required")
            return default
        return self.data[key]

    def f(self, key: str) -> str:
        return f"{self.section}.{key}"

    def str(self, key: str, default: Any = None) -> Any:
        v = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(v, str) or (default is None and not v.strip()):
            raise _bad(self.f(key), f"expected a non-empty string, got {v!r}")
        return v.strip()

    def int(self, key: str, default: Any = None) -> int:
        v = self._get(key, _REQUIRED if default is None else default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(self.f(key), f"expected a whole number, got {v!r}")
        return v

    def bool(self, key: str, default: bool) -> bool:
        v = self._get(key, default)
        if not isinstance(v, bool):
            raise _bad(self.f(key), f"expected true or false, got {v!r}")
        return v

    def date(self, key: str) -> date:
        v = self._get(key, _REQUIRED)
        if not isinstance(v, date):
            raise _bad(self.f(key), f"expected a TOML date like 2025-11-20, got {v!r}")
        return v

    def rate(self, key: str, default: Rate | None = None) -> Rate:
        v = self._get(key, _REQUIRED if default is None else default)
        return v if isinstance(v, Rate) else parse_rate(v, self.f(key))

    def price(self, v: Any, key: str) -> int:
        try:
            return parse_price(str(v))
        except ValueError as exc:
            raise _bad(self.f(key), f"expected a price like \"12.50\": {exc}") from exc

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise _bad(self.f(unknown[0]), "unknown key (check the spelling against docs/offering.md)")


_REQUIRED = object()


def parse_rate(v: Any, field: str) -> Rate:
    """``"12.5%"``, ``"0.125"``, ``3`` (a multiple) -> exact `Rate`."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise _bad(field, f"expected a percentage string like \"15%\" or a number as a string, got {v!r}")
    try:
        return Rate.parse(str(v))
    except ValueError as exc:
        raise _bad(field, f"expected a percentage like \"15%\" or a decimal like \"0.15\": {exc}") from exc


_CURRENCY_PREFIXES = (("HK$", Currency.HKD), ("US$", Currency.USD), ("RMB", Currency.CNY), ("HKD", Currency.HKD),
                      ("USD", Currency.USD), ("CNY", Currency.CNY))


def _amount_in(v: Any, field: str, currency: Currency) -> tuple[int, Currency]:
    """``"HKD 60,000,000"``, ``"US$25,000,000"`` or ``"60000000"`` (the offer currency) -> (minor
    units, the currency it is stated in)."""
    text, stated = str(v).strip(), currency
    for prefix, prefix_currency in _CURRENCY_PREFIXES:
        if text.upper().startswith(prefix):
            text, stated = text[len(prefix):].strip(), prefix_currency
            break
    try:
        Decimal(text.replace(",", "").replace("_", ""))
        return to_minor(text, stated), stated
    except (InvalidOperation, ValueError) as exc:
        raise _bad(field, f"expected an amount like \"HKD 300,000,000\" or \"USD 25,000,000\": {exc}") from exc


def _amount(v: Any, field: str, currency: Currency) -> int:
    """An amount that must be in the offer currency."""
    minor, stated = _amount_in(v, field, currency)
    if stated != currency:
        raise _bad(field, f"expected an amount in the offer currency {currency.value}, got {stated.value}")
    return minor


def _price_range(o: _Fields) -> tuple[int, int]:
    """``price_range = [low, high]``, or ``maximum_offer_price = "31.00"`` alone for an offer with a
    maximum price only (low 0)."""
    if "maximum_offer_price" in o.data:
        if "price_range" in o.data:
            raise _bad(o.f("maximum_offer_price"), "give either price_range or maximum_offer_price, not both")
        return 0, o.price(o._get("maximum_offer_price", _REQUIRED), "maximum_offer_price")
    price_range = o._get("price_range", _REQUIRED)
    if not (isinstance(price_range, list) and len(price_range) == 2):
        raise _bad(o.f("price_range"), f"expected [low, high] as two price strings, got {price_range!r}")
    return o.price(price_range[0], "price_range"), o.price(price_range[1], "price_range")


def parse_offering(data: dict[str, Any]) -> OfferingSpec:
    top = _Fields(data, "file")
    o = _Fields(top._get("offering", _REQUIRED), "offering")
    currency_text = o.str("currency", "HKD")
    try:
        currency = Currency(currency_text)
    except ValueError:
        raise _bad(o.f("currency"), f"expected one of {[c.value for c in Currency]}, got {currency_text!r}") from None
    low, high = _price_range(o)
    waiver = None
    if "waiver" in o.data:
        w = _Fields(o._get("waiver", _REQUIRED), "offering.waiver")
        steps_raw = w._get("steps", [])
        if not isinstance(steps_raw, list):
            raise _bad(w.f("steps"), "expected a list of [multiple, \"share%\"] pairs")
        steps: list[tuple[Rate, Rate]] = []
        for i, step in enumerate(steps_raw):
            if not (isinstance(step, list) and len(step) == 2):
                raise _bad(f"{w.f('steps')}[{i}]", f"expected [multiple, \"share%\"] like [15, \"30%\"] or [\"33.5\", \"15%\"], got {step!r}")
            field = f"{w.f('steps')}[{i}]"
            multiple = parse_rate(step[0], field)
            if str(step[0]).strip().endswith("%"):
                raise _bad(field, f"the multiple is a number of times like 15 or \"33.5\", not a percentage: {step[0]!r}")
            steps.append((multiple, parse_rate(step[1], field)))
        waiver = ClawbackWaiverSpec(reference=w.str("reference"), initial=w.rate("initial"), steps=steps)
        w.done()
    public_share = o.rate("public_share") if "public_share" in o.data else None
    spec_kwargs: dict[str, Any] = dict(
        offering_id=o.str("id"),
        issuer_id=o.str("issuer_id"),
        issuer_name=o.str("issuer_name"),
        instrument=o.str("instrument"),
        currency=currency.value,
        rmb_counter=o.str("rmb_counter", ""),
        chapter=o.str("chapter", "main"),
        pre_commercial=o.bool("pre_commercial", False),
        shares_offered=o.int("shares_offered"),
        board_lot=o.int("board_lot"),
        price_low=low,
        price_high=high,
        prospectus_date=o.date("prospectus_date"),
        public_offer_open=o.date("public_offer_open"),
        price_fixing_date=o.date("price_fixing_date"),
        mechanism=o.str("mechanism", ""),
        public_share=public_share,
        waiver=waiver,
        downward_flexibility=o.bool("downward_flexibility", False),
        offer_size_adjustment=o.rate("offer_size_adjustment", Rate(0, 1)),
        offer_size_adjustment_public_share=o.rate("offer_size_adjustment_public_share", Rate(0, 1)),
        over_allotment=o.rate("over_allotment", Rate(0, 1)),
        underwriter_account=o.str("underwriter_account", "P:UNDERWRITERS"),
        stabilising_manager_account=o.str("stabilising_manager_account", "P:STABILISING_MANAGER"),
        stock_lender_account=o.str("stock_lender_account", ""),
        shares_outstanding_after=o.int("shares_outstanding_after", 0),
        cornerstone_cutback=o.str("cornerstone_cutback", "none"),
        independent_price_setting_waiver=o.str("independent_price_setting_waiver", ""),
        underwriting_commission=o.rate("underwriting_commission", Rate(25, 1000)),
        listing_expenses_minor=_amount(o._get("listing_expenses", "0"), o.f("listing_expenses"), currency),
    )
    o.used.add("waiver")
    o.done()
    spec_kwargs["cornerstones"] = [_cornerstone(c, i, currency) for i, c in enumerate(_list(top, "cornerstones", MAX_CORNERSTONES))]
    spec_kwargs["lockups"] = [_lockup(x, i) for i, x in enumerate(_list(top, "lockups", MAX_LOCKUPS))]
    spec_kwargs["placee_consents"] = [_consent(x, i) for i, x in enumerate(_list(top, "placee_consents", MAX_CONSENTS))]
    if "preferential" in top.data:
        spec_kwargs["preferential"] = _preferential(top._get("preferential", _REQUIRED))
    spec_kwargs["pricing"] = _pricing(top._get("pricing", {}))
    spec_kwargs["placing"] = _placing(top._get("placing", {}))
    spec_kwargs["public"] = _public(top._get("public", {}))
    top.done()
    return OfferingSpec(**spec_kwargs)


def _list(top: _Fields, key: str, limit: int) -> list[Any]:
    raw = top._get(key, [])
    if not isinstance(raw, list) or len(raw) > limit:
        raise _bad(top.f(key).removeprefix("file."), f"expected at most {limit:,} [[{key}]] tables")
    return raw


def _cornerstone(data: Any, i: int, currency: Currency) -> CornerstoneSpec:
    c = _Fields(data, f"cornerstones[{i}]")
    amount, stated = _amount_in(c._get("amount", _REQUIRED), c.f("amount"), currency)
    spec = CornerstoneSpec(
        investor=c.str("investor"),
        name=c.str("name"),
        account=c.str("account"),
        participant=c.str("participant", ""),
        origin=c.str("origin", "international"),
        amount_minor=amount,
        amount_currency="" if stated == currency else stated.value,
        fx_rate=c.rate("fx_rate", Rate(0, 1)),
        lockup_months=c.int("lockup_months", 0),
        independent=c.bool("independent", True),
        existing_shareholder=c.bool("existing_shareholder", False),
    )
    c.done()
    return spec


def _lockup(data: Any, i: int) -> LockupSpec:
    f = _Fields(data, f"lockups[{i}]")
    spec = LockupSpec(holder=f.str("holder"), kind=f.str("kind"), shares=f.int("shares"), ends=f.date("ends"),
                      public=f.bool("public", False), rule=f.str("rule", ""))
    f.done()
    return spec


def _consent(data: Any, i: int) -> PlaceeConsentSpec:
    f = _Fields(data, f"placee_consents[{i}]")
    spec = PlaceeConsentSpec(investor=f.str("investor"), relationship=f.str("relationship"), consent=f.str("consent"))
    f.done()
    return spec


def _preferential(data: Any) -> PreferentialOfferingSpec:
    f = _Fields(data, "preferential")
    spec = PreferentialOfferingSpec(kind=f.str("kind", "assured_entitlement"), reference=f.str("reference"),
                                    reserved_shares=f.int("reserved_shares"), excess_taper_eighths=f.int("excess_taper_eighths", 8),
                                    excess_curve=_curve(f, "excess_curve"))
    f.done()
    return spec


def _pricing(data: Any) -> PricingPolicySpec:
    p = _Fields(data, "pricing")
    fixed = p._get("fixed_price", None)
    spec = PricingPolicySpec(
        kind=p.str("kind", "coverage"),
        coverage_times=p.rate("coverage_times", Rate(3, 1)),
        fixed_price=p.price(fixed, "fixed_price") if fixed is not None else 0,
        upsize_at_coverage=p.rate("upsize_at_coverage", Rate(0, 1)),
    )
    p.done()
    return spec


def _placing(data: Any) -> PlacingPolicySpec:
    p = _Fields(data, "placing")
    default = PlacingPolicySpec()
    weights = p._get("tier_weights", None)
    spec = PlacingPolicySpec(
        tier_weights=[parse_rate(w, f"placing.tier_weights[{i}]") for i, w in enumerate(weights)]
        if isinstance(weights, list) else default.tier_weights,
        early_bonus=p.rate("early_bonus", default.early_bonus),
        early_before_seq=p.int("early_before_seq", 0),
        price_setting_bonus=p.rate("price_setting_bonus", default.price_setting_bonus),
        max_share_per_placee=p.rate("max_share_per_placee", default.max_share_per_placee),
        over_allocate=p.bool("over_allocate", True),
        reallocate_undersubscribed_placing=p.bool("reallocate_undersubscribed_placing", True),
    )
    if weights is not None and not isinstance(weights, list):
        raise _bad("placing.tier_weights", "expected a list of weights like [\"1\", \"0.7\"]")
    p.done()
    return spec


MAX_CURVE_POINTS = 1_000


def _curve(p: _Fields, key: str) -> list[tuple[int, Rate]]:
    raw = p._get(key, [])
    if not isinstance(raw, list) or len(raw) > MAX_CURVE_POINTS:
        raise _bad(p.f(key), f"expected a list of at most {MAX_CURVE_POINTS} [lots, \"weight\"] points")
    points: list[tuple[int, Rate]] = []
    for i, point in enumerate(raw):
        field = f"{p.f(key)}[{i}]"
        if not (isinstance(point, list) and len(point) == 2 and isinstance(point[0], int) and not isinstance(point[0], bool)):
            raise _bad(field, f"expected [lots, \"weight\"] like [1, \"0.0281\"], got {point!r}")
        points.append((point[0], parse_rate(point[1], field)))
    return points


def _public(data: Any) -> PublicPolicySpec:
    p = _Fields(data, "public")
    spec = PublicPolicySpec(
        pool_a_taper_eighths=p.int("pool_a_taper_eighths", 6),
        pool_b_taper_eighths=p.int("pool_b_taper_eighths", 8),
        pool_a_curve=_curve(p, "pool_a_curve"),
        pool_b_curve=_curve(p, "pool_b_curve"),
    )
    p.done()
    return spec


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
            raise _bad("offering.chapter", f"Chapter 18C took effect on 31 Mar 2023; prospectus dated {d}",
                       OfferingCode.OUTSIDE_RULES, "Listing Rules Chapter 18C") from None
        regime, mechanism = provision.value, "18C"
        require(not spec.mechanism or spec.mechanism == "18C", OfferingCode.OUTSIDE_RULES, "offering.mechanism",
                f"Chapter 18C offerings follow Rule 18C.09; Mechanisms A and B are not open to them, got {spec.mechanism!r}",
                regime.mechanisms["18C"].rule)
        reasons.append(f"Chapter 18C offering: Rule 18C.09's ladder applies whatever the prospectus date; Mechanisms A/B are not "
                       f"open to 18C issuers [{provision.source}; grade {provision.grade}]")
    else:
        provision = rules.PUBLIC_TRANCHE_MAIN_BOARD.provision(d)
        regime = provision.value
        mechanism = spec.mechanism or regime.default_mechanism
        if mechanism not in regime.mechanisms:
            raise _bad("offering.mechanism", f"on {d} the mechanisms are {sorted(regime.mechanisms)}, got {mechanism!r}",
                       OfferingCode.OUTSIDE_RULES, "Listing Rules PN18 para 4.2")
        if len(regime.mechanisms) == 1:
            reasons.append(f"prospectus dated {d}: the provision in force from {provision.effective_from} has one mandatory ladder, "
                           f"{mechanism} [{provision.source}; grade {provision.grade}]")
        else:
            how = f"elected {mechanism!r} in the offering file" if spec.mechanism else f"no election in the offering file: the rulebook's default {mechanism!r}"
            reasons.append(f"prospectus dated {d}, on or after {provision.effective_from}: the issuer elects one of "
                           f"{sorted(regime.mechanisms)}; {how} [{provision.source}; grade {provision.grade}]")
    ladder = regime.mechanisms[mechanism]
    reasons.append(f"{ladder.name}: {_mechanism_text(ladder)} of the shares initially offered ({ladder.rule})")
    initial = spec.public_share if spec.public_share is not None else ladder.initial_min
    label, rule = ladder.name, ladder.rule
    if spec.waiver is not None:
        ladder = _waiver_ladder(spec.waiver)
        initial, label, rule = spec.waiver.initial, f"waiver: {spec.waiver.reference}", spec.waiver.reference
        reasons.append(f"a waiver replaces it ({spec.waiver.reference}): {_mechanism_text(ladder)}")
    else:
        require(_le(ladder.initial_min, initial) and _le(initial, ladder.initial_max), OfferingCode.OUTSIDE_RULES,
                "offering.public_share", f"{ladder.name} allows an initial public share from {ladder.initial_min} to "
                f"{ladder.initial_max}, got {initial}", ladder.rule)
        if ladder.fixed:
            label = f"{ladder.name} (fixed {initial})"
    bb = regime.bookbuilding_placing_min
    reasons.append(f"bookbuilding placing minimum {bb} of the shares initially offered: {regime.bookbuilding_rule}" if bb.numerator
                   else f"no bookbuilding placing minimum: {regime.bookbuilding_rule}")
    return RegimeChoice(regime, ladder, mechanism, initial, label, rule, tuple(reasons))


def validate_offering(spec: OfferingSpec) -> ResolvedOffering:
    """Check ``spec`` against the rules in force on its prospectus date; raise `Reject` if not."""
    _check_basics(spec)
    choice = pick_regime(spec)
    regime, ladder, initial = choice.regime, choice.ladder, choice.initial_share
    pricing_rules = rules.PRICING.in_force(spec.prospectus_date)
    floor = _price_floor(spec, pricing_rules)
    options = rules.OPTIONS.in_force(spec.prospectus_date)
    for field, value, cap in (("offer_size_adjustment", spec.offer_size_adjustment, options.offer_size_adjustment_max),
                              ("over_allotment", spec.over_allotment, options.over_allotment_max)):
        require(_le(value, cap), OfferingCode.OUTSIDE_RULES, f"offering.{field}", f"at most {cap} of the offer shares, got {value}", options.rule)
    lot, n = spec.board_lot, spec.shares_offered
    initial_public = public_share_of(initial, n, lot)
    require(initial_public > 0, OfferingCode.OUTSIDE_RULES, "offering.public_share", f"initial public tranche {initial} of {n:,} shares is less than one board lot")
    pools = rules.POOLS.in_force(spec.prospectus_date)
    max_application = share_of(pools.max_application_share_of_initial_public, initial_public, lot)
    timetable = _timetable(spec, options)
    bookbuilding_min = -(-n * regime.bookbuilding_placing_min.numerator // regime.bookbuilding_placing_min.denominator)
    reserved = _check_preferential(spec, n - initial_public - bookbuilding_min)
    room = n - initial_public - bookbuilding_min - reserved
    _check_cornerstones(spec, regime, floor, options, room)
    _check_disclosures(spec)
    return ResolvedOffering(
        spec=spec,
        ladder=ladder,
        initial_share=initial,
        regime=choice.label,
        regime_rule=choice.rule,
        regime_reasons=choice.reasons,
        bookbuilding_min=regime.bookbuilding_placing_min,
        bookbuilding_rule=regime.bookbuilding_rule,
        reallocation_cap_shares=initial_public * regime.reallocation_max_public_multiple,
        reallocation_rule=regime.reallocation_rule,
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
        max_over_allotment_shares=share_of(spec.over_allotment, n + share_of(spec.offer_size_adjustment, n, lot), lot),
        timetable=timetable,
    )


def _check_basics(spec: OfferingSpec) -> None:
    for field in ("offering_id", "issuer_id", "issuer_name", "instrument"):
        require(getattr(spec, field).strip(), OfferingCode.INVALID_FIELD, f"offering.{field}", "must not be empty")
    require(spec.currency in {c.value for c in Currency}, OfferingCode.INVALID_FIELD, "offering.currency", f"expected HKD, CNY or USD, got {spec.currency!r}")
    require(spec.chapter in CHAPTERS, OfferingCode.INVALID_FIELD, "offering.chapter", f"expected one of {CHAPTERS}, got {spec.chapter!r}")
    require(spec.board_lot > 0, OfferingCode.INVALID_FIELD, "offering.board_lot", f"expected a positive whole number, got {spec.board_lot}")
    require(spec.shares_offered > 0 and spec.shares_offered % spec.board_lot == 0, OfferingCode.INVALID_FIELD, "offering.shares_offered",
            f"expected a positive multiple of the board lot {spec.board_lot}, got {spec.shares_offered}")
    require(0 <= spec.price_low <= spec.price_high and spec.price_high > 0, OfferingCode.INVALID_FIELD, "offering.price_range",
            f"expected 0 < low <= high (or low 0 for a maximum offer price only), got {format_price(spec.price_low)} to {format_price(spec.price_high)}")
    require(spec.cornerstone_cutback in CUTBACKS, OfferingCode.INVALID_FIELD, "offering.cornerstone_cutback",
            f"expected one of {CUTBACKS}, got {spec.cornerstone_cutback!r}")
    require(not spec.independent_price_setting_waiver or spec.chapter == "18C", OfferingCode.INVALID_FIELD,
            "offering.independent_price_setting_waiver", "a waiver of Rule 18C.08 applies to Chapter 18C offerings only")
    require(spec.prospectus_date <= spec.public_offer_open < spec.price_fixing_date, OfferingCode.INVALID_FIELD, "offering.price_fixing_date",
            "expected prospectus_date <= public_offer_open < price_fixing_date")
    try:
        ok = is_business_day(spec.price_fixing_date) and is_business_day(spec.public_offer_open)
    except ValueError as exc:
        raise _bad("offering.price_fixing_date", str(exc)) from exc
    require(ok, OfferingCode.INVALID_FIELD, "offering.price_fixing_date", "public_offer_open and price_fixing_date must be XHKG business days")
    require(spec.pricing.kind in PRICING_KINDS, OfferingCode.INVALID_FIELD, "pricing.kind", f"expected one of {PRICING_KINDS}, got {spec.pricing.kind!r}")
    require(spec.pricing.coverage_times.numerator > 0, OfferingCode.INVALID_FIELD, "pricing.coverage_times", "expected a positive multiple")
    require(spec.placing.tier_weights and all(w.numerator > 0 for w in spec.placing.tier_weights), OfferingCode.INVALID_FIELD,
            "placing.tier_weights", "expected at least one positive weight")
    require(0 < spec.placing.max_share_per_placee.numerator <= spec.placing.max_share_per_placee.denominator, OfferingCode.INVALID_FIELD,
            "placing.max_share_per_placee", f"expected a share in (0%, 100%], got {spec.placing.max_share_per_placee}")
    for field in ("pool_a_taper_eighths", "pool_b_taper_eighths"):
        v = getattr(spec.public, field)
        require(1 <= v <= 8, OfferingCode.INVALID_FIELD, f"public.{field}", f"expected a whole number 1..8, got {v}")
    for field in ("pool_a_curve", "pool_b_curve"):
        _check_curve(getattr(spec.public, field), f"public.{field}")
    osa_public = spec.offer_size_adjustment_public_share
    require(osa_public.numerator <= osa_public.denominator, OfferingCode.INVALID_FIELD, "offering.offer_size_adjustment_public_share",
            f"expected a share in [0%, 100%], got {osa_public}")
    require(spec.shares_outstanding_after == 0 or spec.shares_outstanding_after >= spec.shares_offered, OfferingCode.INVALID_FIELD,
            "offering.shares_outstanding_after", "expected 0 (unknown) or at least shares_offered")


def _check_curve(points: list[tuple[int, Rate]], field: str) -> None:
    require(len(points) <= MAX_CURVE_POINTS, OfferingCode.LIMIT_EXCEEDED, field, f"at most {MAX_CURVE_POINTS} points, got {len(points)}")
    sizes = [lots for lots, _ in points]
    require(all(lots > 0 for lots in sizes) and sizes == sorted(set(sizes)), OfferingCode.INVALID_FIELD, field,
            "expected strictly increasing positive application sizes in lots")
    require(all(w.numerator > 0 for _, w in points), OfferingCode.INVALID_FIELD, field, "expected positive weights")


def _waiver_ladder(w: ClawbackWaiverSpec) -> rules.ClawbackLadder:
    one = Rate(1, 1)
    require(0 < w.initial.numerator and _le(w.initial, one), OfferingCode.INVALID_FIELD, "offering.waiver.initial", f"expected a share in (0%, 100%], got {w.initial}")
    previous_multiple, previous_share = Rate(0, 1), w.initial
    for i, (multiple, share) in enumerate(w.steps):
        require(rules.rate_gt(multiple, previous_multiple) and _le(previous_share, share) and _le(share, one), OfferingCode.INVALID_FIELD,
                f"offering.waiver.steps[{i}]", "expected increasing multiples with non-decreasing shares up to 100%")
        previous_multiple, previous_share = multiple, share
    return rules.ClawbackLadder(
        name=f"waiver: {w.reference}", initial_min=w.initial, initial_max=w.initial,
        steps=tuple(rules.ClawbackStep(m, s) for m, s in w.steps), fixed=not w.steps, rule=w.reference,
    )


def _price_floor(spec: OfferingSpec, pr: rules.PricingRules) -> int:
    if spec.price_low == 0:
        require(not spec.downward_flexibility, OfferingCode.INVALID_FIELD, "offering.downward_flexibility",
                "a maximum-offer-price-only offer has no range to price below", pr.rule)
        return 1  # one tick: any positive price up to the maximum
    if not spec.downward_flexibility:
        return spec.price_low
    cap = pr.range_top_over_bottom_max
    require(spec.price_high * cap.denominator <= spec.price_low * (cap.denominator + cap.numerator), OfferingCode.OUTSIDE_RULES,
            "offering.price_range", f"the downward flexibility needs the top of the range at most {cap} above the bottom; "
            f"{format_price(spec.price_high)} is more than that above {format_price(spec.price_low)}", pr.rule)
    down = pr.downward_flexibility_max
    return round_div(spec.price_low * (down.denominator - down.numerator), down.denominator, Rounding.UP)


def _timetable(spec: OfferingSpec, options: rules.OptionRules) -> FiniTimetableDates:
    fini = rules.FINI.in_force(spec.prospectus_date)
    t = spec.price_fixing_date
    close = add_business_days(t, -fini.public_offer_close_days_before_pricing)
    require(spec.public_offer_open <= close, OfferingCode.INVALID_FIELD, "offering.public_offer_open",
            f"the public offer must open by {close} (T-{fini.public_offer_close_days_before_pricing}) for pricing on {t}", fini.rule)
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
        require(c.origin in ORIGINS, OfferingCode.INVALID_FIELD, f"{f}.origin", f"expected one of {ORIGINS}, got {c.origin!r}")
        _check_fx(c, spec.currency, f)
        require(c.lockup_months == 0 or c.lockup_months >= options.cornerstone_lockup_months, OfferingCode.OUTSIDE_RULES,
                f"{f}.lockup_months", f"cornerstone shares are locked up at least {options.cornerstone_lockup_months} months, got {c.lockup_months}",
                options.rule)
        total += cornerstone_shares(cornerstone_amount_minor(c, spec.currency), floor, spec.board_lot)
    rule = regime.bookbuilding_rule if regime.bookbuilding_placing_min.numerator else "shares offered"
    if not spec.cornerstones:
        return
    if spec.cornerstone_cutback == "pro_rata":
        require(room >= spec.board_lot, OfferingCode.OUTSIDE_RULES, "cornerstones",
                "no room for cornerstones: the public tranche, the bookbuilding minimum and the preferential offering take every share", rule)
        return
    require(spec.price_low > 0, OfferingCode.OUTSIDE_RULES, "offering.cornerstone_cutback",
            "a maximum-offer-price-only offer has no lowest price at which to fit fixed cornerstone amounts: state the prospectus's "
            "cutback (cornerstone_cutback = \"pro_rata\")", rule)
    require(total <= room, OfferingCode.OUTSIDE_RULES, "cornerstones",
            f"at the lowest possible price {format_price(floor)} cornerstones take {total:,} shares; with the initial public tranche, "
            f"the bookbuilding minimum and any preferential offering at most {max(room, 0):,} are available (or state the "
            f"prospectus's cutback: cornerstone_cutback = \"pro_rata\")", rule)


def _check_fx(c: CornerstoneSpec, currency: str, f: str) -> None:
    if not c.amount_currency or c.amount_currency == currency:
        require(c.fx_rate.numerator == 0 or c.fx_rate == Rate(1, 1), OfferingCode.INVALID_FIELD, f"{f}.fx_rate",
                f"the amount is in the offer currency {currency}; no exchange rate applies")
        return
    require(c.amount_currency in {x.value for x in Currency}, OfferingCode.INVALID_FIELD, f"{f}.amount",
            f"expected HKD, CNY or USD, got {c.amount_currency!r}")
    require(c.fx_rate.numerator > 0, OfferingCode.INVALID_FIELD, f"{f}.fx_rate",
            f"the amount is in {c.amount_currency}: give the prospectus's rate in {currency} per {c.amount_currency}, e.g. \"7.8432\"")


def _check_preferential(spec: OfferingSpec, available: int) -> int:
    """The preferential offering's reserved shares (0 if none), checked."""
    p = spec.preferential
    if p is None:
        return 0
    require(p.kind in PREFERENTIAL_KINDS, OfferingCode.INVALID_FIELD, "preferential.kind", f"expected one of {PREFERENTIAL_KINDS}, got {p.kind!r}")
    require(bool(p.reference.strip()), OfferingCode.INVALID_FIELD, "preferential.reference", "must not be empty")
    require(0 < p.reserved_shares <= available and p.reserved_shares % spec.board_lot == 0, OfferingCode.OUTSIDE_RULES,
            "preferential.reserved_shares", f"expected whole board lots of {spec.board_lot}, at most the {max(available, 0):,} shares "
            f"left by the initial public tranche and the bookbuilding minimum, got {p.reserved_shares:,}",
            "Practice Note 15 para 3(f) (reserved shares come out of the international offering)")
    require(1 <= p.excess_taper_eighths <= 8, OfferingCode.INVALID_FIELD, "preferential.excess_taper_eighths",
            f"expected a whole number 1..8, got {p.excess_taper_eighths}")
    _check_curve(p.excess_curve, "preferential.excess_curve")
    return p.reserved_shares


def _check_disclosures(spec: OfferingSpec) -> None:
    require(len(spec.lockups) <= MAX_LOCKUPS and len(spec.placee_consents) <= MAX_CONSENTS and len(spec.cornerstones) <= MAX_CORNERSTONES,
            OfferingCode.LIMIT_EXCEEDED, "offering", f"at most {MAX_CORNERSTONES} cornerstones, {MAX_LOCKUPS} lock-ups, {MAX_CONSENTS} consents")
    for i, x in enumerate(spec.lockups):
        require(bool(x.holder.strip()) and x.kind in LOCKUP_KINDS and x.shares > 0, OfferingCode.INVALID_FIELD, f"lockups[{i}]",
                f"expected a holder, a kind in {LOCKUP_KINDS} and positive shares, got {x.holder!r}, {x.kind!r}, {x.shares}")
    for i, y in enumerate(spec.placee_consents):
        require(bool(y.investor.strip() and y.relationship.strip() and y.consent.strip()), OfferingCode.INVALID_FIELD,
                f"placee_consents[{i}]", "expected investor, relationship and consent")


__all__ = [
    "OFFERING_FILE_KEYS",
    "CornerstoneTake",
    "RegimeChoice",
    "ResolvedOffering",
    "add_months",
    "cornerstone_allotment",
    "cornerstone_amount_minor",
    "cornerstone_shares",
    "load_offering",
    "lockup_last_day",
    "parse_offering",
    "parse_rate",
    "pick_regime",
    "public_share_of",
    "share_of",
    "validate_offering",
]
