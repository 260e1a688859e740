"""Request and response models of the REST API (pydantic; they make the OpenAPI schema).

Every request body refuses unknown fields (a misspelt ``clOrdId`` must not be silently dropped),
every integer is strict (``true`` is not 1, ``"5"`` is not 5), and every identifier goes through
the kernel's `parse_identifier` (one charset and length for client order ids, IOI ids, applicant
keys, usernames, instrument codes, offering, issuer and account ids). Bounds come from the kernel
(`MAX_QUANTITY`, `ORDER_ID_MAX`), so the REST edge and the FIX and file edges agree.
"""

from __future__ import annotations

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
    return {
        "pattern": IDENTIFIER_PATTERN,
        "maxLength": max_length,
        "description": f"An identifier: {IDENTIFIER_CHARACTERS}; 1-{max_length} characters.",
    }


Identifier = Annotated[
    str, Field(json_schema_extra=_identifier_schema(IDENTIFIER_MAX_LENGTH)), _identifier_check(IDENTIFIER_MAX_LENGTH, False)
]
"""A required identifier (`lionrock.kernel.ids.parse_identifier`)."""
OptionalIdentifier = Annotated[
    str, Field(json_schema_extra=_identifier_schema(IDENTIFIER_MAX_LENGTH)), _identifier_check(IDENTIFIER_MAX_LENGTH, True)
]
"""An identifier or the empty string (the field's default meaning)."""
InstrumentCode = Annotated[str, Field(json_schema_extra=_identifier_schema(16)), _identifier_check(16, False)]
"""An instrument code (``"02525"``): an identifier of at most 16 characters."""
Quantity = Annotated[StrictInt, Field(gt=0, le=MAX_QUANTITY)]
"""A whole number of shares, 1 to `MAX_QUANTITY`; ``true`` and ``"100"`` are refused."""
Label = Annotated[
    str,
    Field(max_length=IDENTIFIER_MAX_LENGTH, json_schema_extra=_identifier_schema(IDENTIFIER_MAX_LENGTH)),
    _identifier_check(IDENTIFIER_MAX_LENGTH, True),
]
"""A free label (an API key's): the identifier charset, empty allowed."""


# -- path and query parameters: every integer bounded, every id in the identifier charset ----------
IdentifierPath = Annotated[
    str,
    Path(
        min_length=1, max_length=IDENTIFIER_MAX_LENGTH, pattern=IDENTIFIER_PATTERN, description=f"An identifier: {IDENTIFIER_CHARACTERS}."
    ),
]
InstrumentPath = Annotated[
    str, Path(min_length=1, max_length=16, pattern=IDENTIFIER_PATTERN, description="An instrument code, e.g. 02525.")
]
OrderIdPath = Annotated[int, Path(ge=1, le=ORDER_ID_MAX, description="The venue's order id (1 to 2**63-1).")]
AfterSeq = Annotated[int, Query(ge=0, le=ORDER_ID_MAX, description="Only events after this sequence number (0 to 2**63-1).")]
Levels = Annotated[int, Query(ge=1, le=50, description="Price levels per side, 1-50.")]
TradesLimit = Annotated[int, Query(ge=1, le=2000, description="Newest trades, 1-2000.")]
RowsLimit = Annotated[int, Query(ge=1, le=5000, description="Rows, 1-5000.")]
SeedQuery = Annotated[
    int, Query(ge=0, le=ORDER_ID_MAX, description="The ballot seed to preview with (0 to 2**63-1): the allocation then uses the same one.")
]
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


PriceText = Annotated[
    str,
    Field(
        max_length=40,
        examples=["12.34"],
        description="A plain decimal (no exponent, NaN or Infinity), at most 9,999.999 (lionrock.kernel.price).",
    ),
]
"""A price as text; parsed by the kernel's `parse_price` when the command is built (400 if bad)."""


class NewOrderIn(RequestModel):
    """A new order. ``price`` is a decimal string (``"12.34"``) or omitted for market/auction orders."""

    instrument: InstrumentCode = Field(examples=["02525"])
    side: Literal["B", "S"]
    quantity: Quantity
    order_type: str = Field(
        default="LIMIT",
        min_length=1,
        max_length=32,
        pattern=r"^[A-Z_]+$",
        examples=["LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT", "AT_AUCTION", "AT_AUCTION_LIMIT"],
    )
    price: PriceText | None = None
    client_order_id: Identifier
    account: Identifier | None = Field(default=None, description="Defaults to the caller's first account.")
    short_sell: StrictBool = Field(
        default=False, description="A (covered) short sale: a sell in a Designated Security, under the tick rule."
    )


class AmendOrderIn(RequestModel):
    price: PriceText | None = None
    quantity: Quantity | None = None


class OutcomeOut(BaseModel):
    seq: int
    at_ns: int
    events: list[dict[str, Any]]


# -- offerings --------------------------------------------------------------------------------------
# The offering definition (POST /v1/offerings) is not a pydantic model: the route decodes its body
# with the offering file's own msgspec schema (lionrock.files.offerings.OfferingDefinitionIn), which
# also gives the OpenAPI document its request schema (http.struct_body).


class IoiStepIn(RequestModel):
    limit_price: str | None = Field(
        default=None, max_length=40, description="Decimal price; omitted or empty: at any price (a strike step).", examples=["46.00"]
    )
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
        description="Shares the applicant is assured (its holding in the parent times the entitlement ratio); 0 for an employee offering."
    )


class PreferentialBatchIn(RequestModel):
    """Applications under the offering's preferential offering (docs/offering.md, "Preferential offering")."""

    applications: list[PreferentialApplicationIn] = Field(min_length=1, max_length=200_000)


class FixPriceIn(RequestModel):
    price: str | None = Field(
        default=None, max_length=40, description="The agreed price; omitted: the offering's pricing policy decides.", examples=["46.00"]
    )
    upsize_shares: Annotated[StrictInt, Field(ge=-1, le=MAX_QUANTITY)] = Field(
        default=-1, description="-1: the policy decides; otherwise the offer size adjustment shares exercised."
    )


class AllocateIn(RequestModel):
    seed: Annotated[StrictInt, Field(ge=0, le=ORDER_ID_MAX)] = Field(description="The ballot seed, published with the results.")
    applications_digest: str = Field(
        default="", max_length=64, pattern=r"^[0-9a-f]*$", description="SHA-256 of the application book from the close; checked if given."
    )


__all__ = [
    "AfterSeq",
    "AllocateIn",
    "AmendOrderIn",
    "ApiKeyOut",
    "ApplicationBatchIn",
    "ApplicationIn",
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
    "LoginIn",
    "NewOrderIn",
    "NewUserIn",
    "OptionalIdentifier",
    "OrderIdPath",
    "OutcomeOut",
    "PreferentialApplicationIn",
    "PreferentialBatchIn",
    "PriceText",
    "Quantity",
    "RequestModel",
    "RowsLimit",
    "SeedQuery",
    "ShortTextQuery",
    "TradesLimit",
]
