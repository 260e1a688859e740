"""Offering files (docs/offering.md): one msgspec schema for the TOML file, its tables as JSON and
the REST body (``POST /v1/offerings``), read into an `OfferingSpec`.

`OfferingDefinitionIn` is the file, table for table (``[offering]``, ``[[cornerstones]]``,
``[[lockups]]``, ``[[placee_consents]]``, ``[preferential]``, ``[pricing]``, ``[placing]``,
``[public]``): field types with their bounds, patterns and lengths, prices, rates and amounts
decoded by the kernel's parsers (`lionrock.files.schema`), unknown keys refused. The REST API
documents its request body with the JSON schema of the same Struct. What a schema cannot say
(sums, orderings, the rules in force on the prospectus date) is `validate_offering`'s work.

Every error is a `Reject` naming the field as a dotted path (``public.pool_a_curve[1]``) and what
was expected, so the CLI, the REST API and the engine report the same thing.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from lionrock.files.schema import (
    AmountText,
    CurvePoint,
    Identifier,
    InstrumentCode,
    LongText,
    MultipleShare,
    OptionalIdentifier,
    OptionalInstrumentCode,
    OptionalText,
    PriceRange,
    PriceText,
    Quantity,
    RateText,
    Text,
    decode_json,
    decode_toml_data,
    field_error,
)
from lionrock.files.schema import parse_rate as parse_rate_text
from lionrock.kernel.errors import Reject
from lionrock.kernel.ids import ORDER_ID_MAX
from lionrock.kernel.money import Currency, Rate
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import (
    ClawbackWaiverSpec,
    CornerstoneSpec,
    DiscretionaryReallocationSpec,
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
    MAX_PREFERENTIAL_TRANCHES,
)

DOCS = "docs/offering.md"
SCHEMA_RULE = "offering file schema (docs/offering.md)"
MAX_WAIVER_STEPS = 100
MAX_TIER_WEIGHTS = 100

Curve = Annotated[
    list[CurvePoint],
    msgspec.Meta(max_length=MAX_CURVE_POINTS, description='A basis curve: [[lots applied, "weight"], ...], strictly increasing sizes.'),
]
TaperEighths = Annotated[int, msgspec.Meta(ge=1, le=8)]


# Each table is a frozen Struct that refuses an unknown key (forbid_unknown_fields).
class WaiverIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[offering.waiver]``: an explicit public-tranche schedule granted by waiver."""

    reference: Text
    initial: RateText
    steps: Annotated[list[MultipleShare], msgspec.Meta(max_length=MAX_WAIVER_STEPS)] = []


class ReallocationIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[offering.reallocation]``: a reallocation from the international offering to the public
    offer at the coordinators' discretion, outside any clawback: ``public_share`` of the shares
    initially offered (``rounding`` ``down`` or ``up`` to a lot) or ``shares`` reallocated, within
    the allocation cap in force (15% of the shares initially offered from 4 Aug 2025)."""

    reference: Text
    public_share: RateText | None = None
    shares: Annotated[int, msgspec.Meta(ge=0, le=MAX_QUANTITY)] = 0
    rounding: Literal["down", "up"] = "down"


class OfferingTableIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The ``[offering]`` table. Prices are decimal strings, shares of the offer percentages
    (``"10%"``), amounts strings like ``"HKD 60,000,000"``. Give ``price_range`` or, for a
    maximum-offer-price-only offer, ``maximum_offer_price``."""

    id: Identifier
    issuer_id: Identifier
    issuer_name: Text
    instrument: InstrumentCode
    currency: Currency = Currency.HKD
    rmb_counter: OptionalInstrumentCode | None = None
    chapter: Literal["main", "18C", "18A"] = "main"
    pre_commercial: bool = False
    shares_offered: Quantity
    board_lot: Annotated[int, msgspec.Meta(ge=1, le=10**7)]
    price_range: PriceRange | None = None
    maximum_offer_price: PriceText | None = None
    prospectus_date: date
    public_offer_open: date
    price_fixing_date: date
    mechanism: Annotated[str, msgspec.Meta(max_length=8)] = ""
    public_share: RateText | None = None
    waiver: WaiverIn | None = None
    reallocation: ReallocationIn | None = None
    downward_flexibility: bool = False
    offer_size_adjustment: RateText | None = None
    offer_size_adjustment_public_share: RateText | None = None
    over_allotment: RateText | None = None
    underwriter_account: Identifier | None = None
    stabilising_manager_account: Identifier | None = None
    stock_lender_account: OptionalIdentifier | None = None
    shares_outstanding_after: Annotated[int, msgspec.Meta(ge=0, le=MAX_QUANTITY)] = 0
    cornerstone_cutback: Literal["none", "pro_rata"] = "none"
    independent_price_setting_waiver: LongText = ""
    underwriting_commission: RateText | None = None
    listing_expenses: AmountText | None = None


class CornerstoneIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    investor: Identifier
    name: Text
    account: Identifier
    participant: OptionalIdentifier | None = None
    origin: Literal["international", "mainland", "hong_kong"] = "international"
    amount: AmountText
    fx_rate: RateText | None = None
    """Offer-currency units per unit of the amount's currency."""
    lockup_months: Annotated[int, msgspec.Meta(ge=0, le=1200)] = 0
    independent: bool = True
    existing_shareholder: bool = False


class LockupIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    holder: Text
    kind: Literal["controlling_shareholder", "key_person", "pre_ipo_investor", "pathfinder_sii"]
    shares: Quantity
    ends: date
    public: bool = False
    rule: OptionalText = ""


class PlaceeConsentIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    investor: Text
    relationship: Text
    consent: Text


class PreferentialIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    kind: Literal["assured_entitlement", "employee"] = "assured_entitlement"
    reference: Text
    reserved_shares: Quantity
    excess_taper_eighths: TaperEighths = 8
    excess_curve: Curve = []
    source: Literal["international", "public"] | None = None
    """Where the reserved shares come from and their shortfall goes back to (default international)."""


class PricingIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    kind: Literal["coverage", "max_proceeds", "fixed"] = "coverage"
    coverage_times: RateText | None = None
    fixed_price: PriceText | None = None
    upsize_at_coverage: RateText | None = None


class PlacingIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    tier_weights: Annotated[list[RateText], msgspec.Meta(min_length=1, max_length=MAX_TIER_WEIGHTS)] | None = None
    early_bonus: RateText | None = None
    early_before_seq: Annotated[int, msgspec.Meta(ge=0, le=ORDER_ID_MAX)] = 0
    price_setting_bonus: RateText | None = None
    max_share_per_placee: RateText | None = None
    over_allocate: bool = True
    reallocate_undersubscribed_placing: bool = True
    over_allocate_shares: Annotated[int, msgspec.Meta(ge=0, le=MAX_QUANTITY)] | None = None


class PublicIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pool_a_taper_eighths: TaperEighths = 6
    pool_b_taper_eighths: TaperEighths = 8
    pool_a_curve: Curve = []
    pool_b_curve: Curve = []


class OfferingDefinitionIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """An offering definition: the offering file's tables (docs/offering.md), as TOML or JSON,
    validated against the rules in force by `lionrock.offering.definition.validate_offering`."""

    offering: OfferingTableIn
    cornerstones: Annotated[list[CornerstoneIn], msgspec.Meta(max_length=MAX_CORNERSTONES)] = []
    lockups: Annotated[list[LockupIn], msgspec.Meta(max_length=MAX_LOCKUPS)] = []
    placee_consents: Annotated[list[PlaceeConsentIn], msgspec.Meta(max_length=MAX_CONSENTS)] = []
    preferential: PreferentialIn | None = None
    preferential_tranches: Annotated[list[PreferentialIn], msgspec.Meta(min_length=1, max_length=MAX_PREFERENTIAL_TRANCHES)] | None = None
    """``[[preferential_tranches]]``: two or more tranches (Dtech 1377), in place of ``[preferential]``."""
    pricing: PricingIn = PricingIn()
    placing: PlacingIn = PlacingIn()
    public: PublicIn = PublicIn()


TABLES: dict[str, type[msgspec.Struct]] = {
    "file": OfferingDefinitionIn,
    "offering": OfferingTableIn,
    "offering.waiver": WaiverIn,
    "offering.reallocation": ReallocationIn,
    "cornerstones": CornerstoneIn,
    "lockups": LockupIn,
    "placee_consents": PlaceeConsentIn,
    "preferential": PreferentialIn,
    "preferential_tranches": PreferentialIn,
    "pricing": PricingIn,
    "placing": PlacingIn,
    "public": PublicIn,
}
"""The Struct of each table of the offering file."""
OFFERING_FILE_KEYS: dict[str, tuple[str, ...]] = {table: struct.__struct_fields__ for table, struct in TABLES.items()}
"""Every key of every table of the offering file (docs/offering.md), read off the schema."""


def _bad(field: str, message: str) -> Reject:
    return Reject(OfferingCode.INVALID_FIELD, field, message, SCHEMA_RULE)


def _schema_error(exc: msgspec.ValidationError) -> Reject:
    field, message = field_error(exc, OfferingDefinitionIn, DOCS, root_field="file")
    return _bad(field, message)


# ------------------------------------------------------------------------------------------------
# decoding: TOML, TOML data, JSON -> OfferingDefinitionIn -> OfferingSpec
# ------------------------------------------------------------------------------------------------
def load_offering(path: str | Path) -> OfferingSpec:
    """Read and parse an offering TOML file (see docs/offering.md for the format)."""
    return loads_offering(Path(path).read_text(encoding="utf-8"))


def loads_offering(text: str) -> OfferingSpec:
    """An offering file's TOML text -> `OfferingSpec`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad("file", f"not valid TOML: {exc}") from exc
    return parse_offering(data)


def parse_offering(data: object) -> OfferingSpec:
    """The tables `tomllib` gives for an offering file -> `OfferingSpec`."""
    try:
        definition = decode_toml_data(data, OfferingDefinitionIn)
    except msgspec.ValidationError as exc:
        raise _schema_error(exc) from exc
    return offering_spec(definition)


def decode_offering_json(body: bytes | str) -> OfferingSpec:
    """The offering file's tables as a JSON document (the REST body) -> `OfferingSpec`."""
    try:
        definition = decode_json(body, OfferingDefinitionIn)
    except msgspec.ValidationError as exc:
        raise _schema_error(exc) from exc
    except msgspec.DecodeError as exc:
        raise _bad("body", f"not valid JSON: {exc}") from exc
    return offering_spec(definition)


def _rate(value: RateText | None, default: Rate) -> Rate:
    return default if value is None else value.rate


def _price_range(o: OfferingTableIn) -> tuple[int, int]:
    """``price_range = [low, high]``, or ``maximum_offer_price = "31.00"`` alone for an offer with a
    maximum price only (low 0)."""
    if o.maximum_offer_price is not None:
        if o.price_range is not None:
            raise _bad("offering.maximum_offer_price", "give either price_range or maximum_offer_price, not both")
        return 0, int(o.maximum_offer_price)
    if o.price_range is None:
        raise _bad("offering.price_range", "is required (or maximum_offer_price for a maximum offer price only)")
    return int(o.price_range[0]), int(o.price_range[1])


def _waiver(w: WaiverIn | None) -> ClawbackWaiverSpec | None:
    if w is None:
        return None
    return ClawbackWaiverSpec(reference=w.reference.strip(), initial=w.initial.rate, steps=[(m, s) for m, s in w.steps])


def _reallocation(r: ReallocationIn | None) -> DiscretionaryReallocationSpec | msgspec.UnsetType:
    if r is None:
        return msgspec.UNSET
    return DiscretionaryReallocationSpec(
        reference=r.reference.strip(), public_share=_rate(r.public_share, Rate(0, 1)), shares=r.shares, rounding=r.rounding
    )


def offering_spec(d: OfferingDefinitionIn) -> OfferingSpec:
    """The decoded file -> `OfferingSpec` (defaults filled in, amounts in the offer currency)."""
    o, currency = d.offering, d.offering.currency
    low, high = _price_range(o)
    listing_expenses = 0
    if o.listing_expenses is not None:
        listing_expenses, stated = o.listing_expenses.in_currency(currency)
        if stated != currency:
            raise _bad("offering.listing_expenses", f"expected an amount in the offer currency {currency.value}, got {stated.value}")
    return OfferingSpec(
        offering_id=str(o.id),
        issuer_id=str(o.issuer_id),
        issuer_name=o.issuer_name.strip(),
        instrument=str(o.instrument),
        currency=currency.value,
        rmb_counter=str(o.rmb_counter or ""),
        chapter=o.chapter,
        pre_commercial=o.pre_commercial,
        shares_offered=o.shares_offered,
        board_lot=o.board_lot,
        price_low=low,
        price_high=high,
        prospectus_date=o.prospectus_date,
        public_offer_open=o.public_offer_open,
        price_fixing_date=o.price_fixing_date,
        mechanism=o.mechanism.strip(),
        public_share=None if o.public_share is None else o.public_share.rate,
        waiver=_waiver(o.waiver),
        reallocation=_reallocation(o.reallocation),
        downward_flexibility=o.downward_flexibility,
        offer_size_adjustment=_rate(o.offer_size_adjustment, Rate(0, 1)),
        offer_size_adjustment_public_share=_rate(o.offer_size_adjustment_public_share, Rate(0, 1)),
        over_allotment=_rate(o.over_allotment, Rate(0, 1)),
        underwriter_account=str(o.underwriter_account or "P:UNDERWRITERS"),
        stabilising_manager_account=str(o.stabilising_manager_account or "P:STABILISING_MANAGER"),
        stock_lender_account=str(o.stock_lender_account or ""),
        shares_outstanding_after=o.shares_outstanding_after,
        cornerstone_cutback=o.cornerstone_cutback,
        independent_price_setting_waiver=o.independent_price_setting_waiver.strip(),
        underwriting_commission=_rate(o.underwriting_commission, Rate(25, 1000)),
        listing_expenses_minor=listing_expenses,
        cornerstones=[_cornerstone(c, currency) for c in d.cornerstones],
        lockups=[
            LockupSpec(holder=x.holder.strip(), kind=x.kind, shares=x.shares, ends=x.ends, public=x.public, rule=x.rule.strip())
            for x in d.lockups
        ],
        placee_consents=[
            PlaceeConsentSpec(investor=y.investor.strip(), relationship=y.relationship.strip(), consent=y.consent.strip())
            for y in d.placee_consents
        ],
        preferential=_preferential(d.preferential),
        preferential_tranches=msgspec.UNSET
        if d.preferential_tranches is None
        else [x for x in map(_preferential, d.preferential_tranches) if x is not None],
        pricing=_pricing(d.pricing),
        placing=_placing(d.placing),
        public=_public(d.public),
    )


def _cornerstone(c: CornerstoneIn, currency: Currency) -> CornerstoneSpec:
    amount, stated = c.amount.in_currency(currency)
    return CornerstoneSpec(
        investor=str(c.investor),
        name=c.name.strip(),
        account=str(c.account),
        participant=str(c.participant or ""),
        origin=c.origin,
        amount_minor=amount,
        amount_currency="" if stated == currency else stated.value,
        fx_rate=_rate(c.fx_rate, Rate(0, 1)),
        lockup_months=c.lockup_months,
        independent=c.independent,
        existing_shareholder=c.existing_shareholder,
    )


def _preferential(p: PreferentialIn | None) -> PreferentialOfferingSpec | None:
    if p is None:
        return None
    return PreferentialOfferingSpec(
        kind=p.kind,
        reference=p.reference.strip(),
        reserved_shares=p.reserved_shares,
        excess_taper_eighths=p.excess_taper_eighths,
        excess_curve=_curve(p.excess_curve),
        source=msgspec.UNSET if p.source is None else p.source,
    )


def _pricing(p: PricingIn) -> PricingPolicySpec:
    return PricingPolicySpec(
        kind=p.kind,
        coverage_times=_rate(p.coverage_times, Rate(3, 1)),
        fixed_price=0 if p.fixed_price is None else int(p.fixed_price),
        upsize_at_coverage=_rate(p.upsize_at_coverage, Rate(0, 1)),
    )


def _placing(p: PlacingIn) -> PlacingPolicySpec:
    default = PlacingPolicySpec()
    return PlacingPolicySpec(
        tier_weights=default.tier_weights if p.tier_weights is None else [w.rate for w in p.tier_weights],
        early_bonus=_rate(p.early_bonus, default.early_bonus),
        early_before_seq=p.early_before_seq,
        price_setting_bonus=_rate(p.price_setting_bonus, default.price_setting_bonus),
        max_share_per_placee=_rate(p.max_share_per_placee, default.max_share_per_placee),
        over_allocate=p.over_allocate,
        reallocate_undersubscribed_placing=p.reallocate_undersubscribed_placing,
        over_allocate_shares=msgspec.UNSET if p.over_allocate_shares is None else p.over_allocate_shares,
    )


def _curve(points: list[CurvePoint]) -> list[tuple[int, Rate]]:
    return [(lots, weight) for lots, weight in points]


def _public(p: PublicIn) -> PublicPolicySpec:
    return PublicPolicySpec(
        pool_a_taper_eighths=p.pool_a_taper_eighths,
        pool_b_taper_eighths=p.pool_b_taper_eighths,
        pool_a_curve=_curve(p.pool_a_curve),
        pool_b_curve=_curve(p.pool_b_curve),
    )


def parse_rate(value: object, field: str) -> Rate:
    """A rate given outside a file (a CLI option): ``"12.5%"``, ``"0.125"``, ``3``; `Reject` naming ``field``."""
    try:
        return parse_rate_text(value)
    except ValueError as exc:
        raise _bad(field, str(exc)) from exc


__all__ = [
    "OFFERING_FILE_KEYS",
    "SCHEMA_RULE",
    "TABLES",
    "CornerstoneIn",
    "LockupIn",
    "OfferingDefinitionIn",
    "OfferingTableIn",
    "PlaceeConsentIn",
    "PlacingIn",
    "PreferentialIn",
    "PricingIn",
    "PublicIn",
    "ReallocationIn",
    "WaiverIn",
    "decode_offering_json",
    "load_offering",
    "loads_offering",
    "offering_spec",
    "parse_offering",
    "parse_rate",
]
