"""The hand-written offering file parser as it was before the msgspec schema (lionrock.files.offerings
at bf85d6c), kept for one commit as the reference the schema is compared with.

The core validates the spec against the rules in force (`lionrock.offering.definition.validate_offering`);
this module only reads: every error is a `Reject` naming the field (``offering.price_range``) and
what was expected, so the CLI, the REST API and the engine report the same thing.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lionrock.kernel.errors import Reject, invariant
from lionrock.kernel.money import Currency, Rate, to_minor
from lionrock.kernel.price import parse_price
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
from lionrock.offering.definition import (
    MAX_CONSENTS,
    MAX_CORNERSTONES,
    MAX_CURVE_POINTS,
    MAX_LOCKUPS,
)


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


__all__ = [
    "OFFERING_FILE_KEYS",
    "load_offering",
    "parse_offering",
    "parse_rate",
]
