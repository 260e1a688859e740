"""Request and response models of the REST API (pydantic; they make the OpenAPI schema).

Every request body refuses unknown fields (a misspelt ``clOrdId`` must not be silently dropped),
every integer is strict (``true`` is not 1, ``"5"`` is not 5), and every identifier goes through
the kernel's `parse_identifier` (one charset and length for client order ids, IOI ids, applicant
keys, usernames, instrument codes, offering, issuer and account ids). Bounds come from the kernel
(`MAX_QUANTITY`, `ORDER_ID_MAX`), so the REST edge and the FIX and file edges agree.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from lionrock.kernel.ids import (
    IDENTIFIER_CHARACTERS,
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    ORDER_ID_MAX,
    parse_identifier,
)
from lionrock.kernel.quantity import MAX_QUANTITY


def _identifier_check(max_length: int, allow_empty: bool) -> AfterValidator:
    return AfterValidator(lambda v: parse_identifier(v, "identifier", max_length=max_length, allow_empty=allow_empty))


def _identifier_schema(max_length: int) -> dict[str, Any]:
    return {"pattern": IDENTIFIER_PATTERN, "maxLength": max_length, "description": f"An identifier: {IDENTIFIER_CHARACTERS}; 1-{max_length} characters."}


Identifier = Annotated[str, Field(json_schema_extra=_identifier_schema(IDENTIFIER_MAX_LENGTH)), _identifier_check(IDENTIFIER_MAX_LENGTH, False)]
"""A required identifier (`lionrock.kernel.ids.parse_identifier`)."""
OptionalIdentifier = Annotated[str, Field(json_schema_extra=_identifier_schema(IDENTIFIER_MAX_LENGTH)), _identifier_check(IDENTIFIER_MAX_LENGTH, True)]
"""An identifier or the empty string (the field's default meaning)."""
InstrumentCode = Annotated[str, Field(json_schema_extra=_identifier_schema(16)), _identifier_check(16, False)]
"""An instrument code (``"02525"``): an identifier of at most 16 characters."""
Quantity = Annotated[StrictInt, Field(gt=0, le=MAX_QUANTITY)]
"""A whole number of shares, 1 to `MAX_QUANTITY`; ``true`` and ``"100"`` are refused."""
Label = Annotated[str, Field(max_length=IDENTIFIER_MAX_LENGTH, json_schema_extra=_identifier_schema(IDENTIFIER_MAX_LENGTH)), _identifier_check(IDENTIFIER_MAX_LENGTH, True)]
"""A free label (an API key's): the identifier charset, empty allowed."""


# -- path and query parameters: every integer bounded, every id in the identifier charset ----------
IdentifierPath = Annotated[str, Path(min_length=1, max_length=IDENTIFIER_MAX_LENGTH, pattern=IDENTIFIER_PATTERN, description=f"An identifier: {IDENTIFIER_CHARACTERS}.")]
InstrumentPath = Annotated[str, Path(min_length=1, max_length=16, pattern=IDENTIFIER_PATTERN, description="An instrument code, e.g. 02525.")]
OrderIdPath = Annotated[int, Path(ge=1, le=ORDER_ID_MAX, description="The venue's order id (1 to 2**63-1).")]
AfterSeq = Annotated[int, Query(ge=0, le=ORDER_ID_MAX, description="Only events after this sequence number (0 to 2**63-1).")]
Levels = Annotated[int, Query(ge=1, le=50, description="Price levels per side, 1-50.")]
TradesLimit = Annotated[int, Query(ge=1, le=2000, description="Newest trades, 1-2000.")]
RowsLimit = Annotated[int, Query(ge=1, le=5000, description="Rows, 1-5000.")]
SeedQuery = Annotated[int, Query(ge=0, le=ORDER_ID_MAX, description="The ballot seed to preview with (0 to 2**63-1): the allocation then uses the same one.")]
IdentifierQuery = Annotated[str | None, Query(min_length=1, max_length=IDENTIFIER_MAX_LENGTH, pattern=IDENTIFIER_PATTERN)]
ShortTextQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    """The one error body of every answer that is not a success (also FIX rejects carry it)."""

    code: int = Field(description="Stable numeric code (docs/reject-codes.md).", examples=[2003])
    reason: str = Field(examples=["PRICE_NOT_ON_TICK"])
    field: str = Field(description="The field at fault (dotted path), or empty.", examples=["price"])
    message: str
    rule: str = Field(description="The rule cited.", examples=["Trading Rules, spread table"])
    details: list[dict[str, Any]] | None = Field(default=None, description="Every schema error, for a malformed request (400).")


class ErrorOut(BaseModel):
    error: ErrorDetail


class LoginIn(RequestModel):
    username: str = Field(min_length=1, max_length=IDENTIFIER_MAX_LENGTH)
    password: str = Field(min_length=1, max_length=256)


class ApiKeyOut(BaseModel):
    key: str = Field(description="Shown once; only its argon2 hash is stored.")
    key_id: str
    label: str


class NewUserIn(RequestModel):
    username: Identifier
    password: str = Field(min_length=8, max_length=256)
    role: Literal["issuer", "sponsor", "investor", "broker", "operator", "regulator"]
    participant: OptionalIdentifier = ""
    accounts: list[Identifier] = Field(default=[], max_length=1000)
    offerings: list[Identifier] = Field(default=[], max_length=1000)
    issuers: list[Identifier] = Field(default=[], max_length=1000)


PriceText = Annotated[str, Field(max_length=40, examples=["12.34"], description="A plain decimal (no exponent, NaN or Infinity), at most 9,999.999 (lionrock.kernel.price).")]
"""A price as text; parsed by the kernel's `parse_price` when the command is built (400 if bad)."""


class NewOrderIn(RequestModel):
    """A new order. ``price`` is a decimal string (``"12.34"``) or omitted for market/auction orders."""

    instrument: InstrumentCode = Field(examples=["02525"])
    side: Literal["B", "S"]
    quantity: Quantity
    order_type: str = Field(default="LIMIT", min_length=1, max_length=32, pattern=r"^[A-Z_]+$", examples=["LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT", "AT_AUCTION", "AT_AUCTION_LIMIT"])
    price: PriceText | None = None
    client_order_id: Identifier
    account: Identifier | None = Field(default=None, description="Defaults to the caller's first account.")
    short_sell: StrictBool = Field(default=False, description="A (covered) short sale: a sell in a Designated Security, under the tick rule.")


class AmendOrderIn(RequestModel):
    price: PriceText | None = None
    quantity: Quantity | None = None


class OutcomeOut(BaseModel):
    seq: int
    at_ns: int
    events: list[dict[str, Any]]


# -- offerings --------------------------------------------------------------------------------------
# One model per table of the offering file, field for field (offering.definition.OFFERING_FILE_KEYS;
# tests/gateways/rest/test_offering_models.py holds them equal). The file parser validates the
# values, so a JSON definition and an uploaded file are refused for the same reasons.
RateText = Annotated[str, Field(max_length=40, examples=["15%"])] | Annotated[StrictInt, Field(ge=0, le=10**9)]
"""A share (``"15%"``, ``"0.15"``) or a multiple (``3``, ``"33.5"``), parsed exactly by `offering.definition.parse_rate`."""
ShortText = Annotated[str, Field(min_length=1, max_length=256)]
CurvePoints = list[tuple[Annotated[StrictInt, Field(gt=0, le=MAX_QUANTITY)], RateText]]
"""A basis curve: ``[[lots applied, "weight"], ...]`` with strictly increasing sizes (docs/offering.md, "Pools and bands")."""


class WaiverIn(RequestModel):
    reference: ShortText
    initial: RateText
    steps: list[tuple[RateText, RateText]] = Field(default=[], max_length=100, description="``[[multiple, share], ...]``, e.g. ``[[15, \"30%\"]]``")


class OfferingTableIn(RequestModel):
    """The ``[offering]`` table of an offering file (docs/offering.md), as JSON. Prices are decimal
    strings, shares of the offer percentages (``"10%"``), amounts strings like ``"HKD 60,000,000"``.
    Give ``price_range`` or, for a maximum-offer-price-only offer, ``maximum_offer_price``."""

    id: Identifier = Field(examples=["DEEPCORE-2025"])
    issuer_id: Identifier
    issuer_name: ShortText
    instrument: InstrumentCode = Field(examples=["09901"])
    currency: str = Field(default="HKD", min_length=1, max_length=8)
    rmb_counter: InstrumentCode | None = None
    chapter: Literal["main", "18C", "18A"] = "main"
    pre_commercial: StrictBool | None = None
    shares_offered: Quantity
    board_lot: Annotated[StrictInt, Field(gt=0, le=10**7)]
    price_range: tuple[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=40)]] | None = Field(default=None, examples=[["40.00", "48.00"]])
    maximum_offer_price: Annotated[str, Field(max_length=40)] | None = Field(default=None, examples=["31.00"], description="Instead of price_range: a maximum offer price only.")
    prospectus_date: date
    public_offer_open: date
    price_fixing_date: date
    mechanism: str | None = Field(default=None, max_length=8, examples=["A", "B"])
    public_share: RateText | None = Field(default=None, examples=["10%"])
    waiver: WaiverIn | None = None
    downward_flexibility: StrictBool | None = None
    offer_size_adjustment: RateText | None = Field(default=None, examples=["15%"])
    offer_size_adjustment_public_share: RateText | None = Field(default=None, examples=["0%"])
    over_allotment: RateText | None = Field(default=None, examples=["15%"])
    underwriter_account: Identifier | None = None
    stabilising_manager_account: Identifier | None = None
    stock_lender_account: Identifier | None = None
    shares_outstanding_after: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)] | None = None
    cornerstone_cutback: Literal["none", "pro_rata"] | None = None
    independent_price_setting_waiver: Annotated[str, Field(max_length=1000)] | None = None
    underwriting_commission: RateText | None = Field(default=None, examples=["2.5%"])
    listing_expenses: str | None = Field(default=None, max_length=64, examples=["HKD 60,000,000"])


class CornerstoneIn(RequestModel):
    investor: Identifier
    name: ShortText
    account: Identifier
    participant: OptionalIdentifier | None = None
    origin: Literal["international", "mainland", "hong_kong"] | None = None
    amount: str = Field(max_length=64, examples=["HKD 800,000,000", "US$25,000,000"])
    fx_rate: RateText | None = Field(default=None, examples=["7.8432"], description="Offer-currency units per unit of the amount's currency.")
    lockup_months: Annotated[StrictInt, Field(ge=0, le=1200)] | None = None
    independent: StrictBool | None = None
    existing_shareholder: StrictBool | None = None


class LockupIn(RequestModel):
    holder: ShortText
    kind: Literal["controlling_shareholder", "key_person", "pre_ipo_investor", "pathfinder_sii"]
    shares: Quantity
    ends: date
    public: StrictBool | None = None
    rule: Annotated[str, Field(max_length=256)] | None = None


class PlaceeConsentIn(RequestModel):
    investor: ShortText
    relationship: ShortText
    consent: ShortText


class PreferentialIn(RequestModel):
    kind: Literal["assured_entitlement", "employee"] | None = None
    reference: ShortText
    reserved_shares: Quantity
    excess_taper_eighths: Annotated[StrictInt, Field(ge=1, le=8)] | None = None
    excess_curve: CurvePoints | None = Field(default=None, max_length=1000)


class PricingIn(RequestModel):
    kind: Literal["coverage", "max_proceeds", "fixed"] | None = None
    coverage_times: RateText | None = None
    fixed_price: Annotated[str, Field(max_length=40)] | None = None
    upsize_at_coverage: RateText | None = None


class PlacingIn(RequestModel):
    tier_weights: list[RateText] | None = Field(default=None, min_length=1, max_length=100)
    early_bonus: RateText | None = None
    early_before_seq: Annotated[StrictInt, Field(ge=0, le=ORDER_ID_MAX)] | None = None
    price_setting_bonus: RateText | None = None
    max_share_per_placee: RateText | None = None
    over_allocate: StrictBool | None = None
    reallocate_undersubscribed_placing: StrictBool | None = None


class PublicIn(RequestModel):
    pool_a_taper_eighths: Annotated[StrictInt, Field(ge=1, le=8)] | None = None
    pool_b_taper_eighths: Annotated[StrictInt, Field(ge=1, le=8)] | None = None
    pool_a_curve: CurvePoints | None = Field(default=None, max_length=1000)
    pool_b_curve: CurvePoints | None = Field(default=None, max_length=1000)


def _as_lists(value: Any) -> Any:
    """Tuples (pydantic's pairs) as lists, the shape `tomllib` gives the file parser."""
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    return value


class OfferingDefinitionIn(RequestModel):
    """An offering definition as JSON: the offering file's tables (``[offering]``, ``[[cornerstones]]``,
    ``[[lockups]]``, ``[[placee_consents]]``, ``[preferential]``, ``[pricing]``, ``[placing]``,
    ``[public]``), validated by `lionrock.offering.definition`."""

    offering: OfferingTableIn
    cornerstones: list[CornerstoneIn] = Field(default=[], max_length=200)
    lockups: list[LockupIn] = Field(default=[], max_length=1_000)
    placee_consents: list[PlaceeConsentIn] = Field(default=[], max_length=10_000)
    preferential: PreferentialIn | None = None
    pricing: PricingIn | None = None
    placing: PlacingIn | None = None
    public: PublicIn | None = None

    def as_toml_data(self) -> dict[str, Any]:
        """The same dictionary `tomllib` would give for the equivalent offering file."""
        data: dict[str, Any] = _as_lists(self.model_dump(exclude_none=True, exclude_defaults=True))
        data["offering"] = _as_lists(self.offering.model_dump(exclude_none=True))
        return data


class IoiStepIn(RequestModel):
    limit_price: str | None = Field(default=None, max_length=40, description="Decimal price; omitted or empty: at any price (a strike step).", examples=["46.00"])
    shares: Quantity


class IoiIn(RequestModel):
    """An institutional indication of interest (the bookrunner records it for its investor)."""

    ioi_id: Identifier
    investor: Identifier = Field(description="Identity key of the institution.")
    account: Identifier
    participant: OptionalIdentifier = ""
    investor_type: Identifier = "long_only"
    origin: Literal["international", "mainland", "hong_kong"] = "international"
    tier: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    independent: StrictBool = True
    steps: list[IoiStepIn] = Field(min_length=1, max_length=50)


class ApplicationIn(RequestModel):
    applicant: Identifier = Field(description="Investor identity key (FINI): two applications with one key are multiple applications.")
    account: Identifier
    participant: Annotated[str, Field(json_schema_extra=_identifier_schema(32)), _identifier_check(32, False)]
    shares: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)]


class ApplicationBatchIn(RequestModel):
    """Public (Hong Kong Public Offering) applications, one object per application."""

    applications: list[ApplicationIn] = Field(min_length=1, max_length=200_000)


class PreferentialApplicationIn(ApplicationIn):
    entitlement: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)] = Field(
        description="Shares the applicant is assured (its holding in the parent times the entitlement ratio); 0 for an employee offering.")


class PreferentialBatchIn(RequestModel):
    """Applications under the offering's preferential offering (docs/offering.md, "Preferential offering")."""

    applications: list[PreferentialApplicationIn] = Field(min_length=1, max_length=200_000)


class FixPriceIn(RequestModel):
    price: str | None = Field(default=None, max_length=40, description="The agreed price; omitted: the offering's pricing policy decides.", examples=["46.00"])
    upsize_shares: Annotated[StrictInt, Field(ge=-1, le=MAX_QUANTITY)] = Field(default=-1, description="-1: the policy decides; otherwise the offer size adjustment shares exercised.")


class AllocateIn(RequestModel):
    seed: Annotated[StrictInt, Field(ge=0, le=ORDER_ID_MAX)] = Field(description="The ballot seed, published with the results.")
    applications_digest: str = Field(default="", max_length=64, pattern=r"^[0-9a-f]*$", description="SHA-256 of the application book from the close; checked if given.")


__all__ = [
    "AfterSeq",
    "AllocateIn",
    "AmendOrderIn",
    "ApiKeyOut",
    "ApplicationBatchIn",
    "ApplicationIn",
    "CornerstoneIn",
    "CurvePoints",
    "ErrorDetail",
    "ErrorOut",
    "FixPriceIn",
    "Identifier",
    "IdentifierPath",
    "IdentifierQuery",
    "InstrumentCode",
    "InstrumentPath",
    "IoiIn",
    "IoiStepIn",
    "Label",
    "Levels",
    "LockupIn",
    "LoginIn",
    "NewOrderIn",
    "NewUserIn",
    "OfferingDefinitionIn",
    "OfferingTableIn",
    "OptionalIdentifier",
    "OrderIdPath",
    "OutcomeOut",
    "PlaceeConsentIn",
    "PlacingIn",
    "PreferentialApplicationIn",
    "PreferentialBatchIn",
    "PreferentialIn",
    "PriceText",
    "PricingIn",
    "PublicIn",
    "Quantity",
    "RateText",
    "RequestModel",
    "RowsLimit",
    "SeedQuery",
    "ShortText",
    "ShortTextQuery",
    "TradesLimit",
    "WaiverIn",
]
