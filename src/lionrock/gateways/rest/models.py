"""Request and response bodies of the REST API: msgspec Structs, one schema per input.

Each body is a Struct whose fields carry their bounds (`msgspec.Meta`); the same value types as
the input files' (`lionrock.files.schema`: identifiers through the kernel's `parse_identifier`),
so a REST body, a FIX message and a file agree on what an account, an id or a quantity is. The
Struct decodes the body (`decode_body`: strict, so ``true`` is not 1 and ``"5"`` is not 5; an
unknown field refused, as a misspelt ``clOrdId`` must not be dropped) and gives the OpenAPI
document its schema (`http.struct_body`). Bounds come from the kernel (`MAX_QUANTITY`,
`ORDER_ID_MAX`). Prices stay text here: the kernel's `parse_price` reads them when the command
is built, naming the field and its rule (`orders.price_ticks`).

Path and query parameters stay FastAPI's (`Path`, `Query`), bounded the same way.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, cast

import msgspec
from fastapi import Path, Query

from lionrock.files.schema import (
    Identifier,
    InstrumentCode,
    OptionalIdentifier,
    PatternText,
    dec_hook,
    field_error,
    json_schema_components,
)
from lionrock.kernel.errors import ServiceError
from lionrock.kernel.ids import (
    IDENTIFIER_CHARACTERS,
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    ORDER_ID_MAX,
)
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering.definition import MAX_PREFERENTIAL_TRANCHES

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


# -- value types ------------------------------------------------------------------------------------
Quantity = Annotated[int, msgspec.Meta(gt=0, le=MAX_QUANTITY, description="A whole number of shares, 1 to MAX_QUANTITY.")]
"""A whole number of shares, 1 to `MAX_QUANTITY`; ``true`` and ``"100"`` are refused."""
Shares = Annotated[int, msgspec.Meta(ge=0, le=MAX_QUANTITY)]
PriceText = Annotated[
    str,
    msgspec.Meta(
        max_length=40,
        examples=["12.34"],
        description="A plain decimal (no exponent, NaN or Infinity), at most 9,999.999 (lionrock.kernel.price).",
    ),
]
"""A price as text; parsed by the kernel's `parse_price` when the command is built (400 if bad)."""


class ParticipantCode(Identifier):
    """A participant code: an identifier of at most 32 characters."""

    __slots__ = ()
    max_length = 32


class OrderTypeName(PatternText):
    """An order type's name (``LIMIT``, ``AT_AUCTION``): capitals and ``_``; the engine knows which exist (422 otherwise)."""

    __slots__ = ()
    pattern: ClassVar[str] = "[A-Z_]+"
    min_length = 1
    max_length = 32


class HexDigest(PatternText):
    """A SHA-256 in lowercase hex, or empty (not given)."""

    __slots__ = ()
    pattern: ClassVar[str] = "[0-9a-f]*"
    max_length = 64


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not ignored.

    A field typed with one of the files' text types (`Identifier`, `PatternText`) holds a plain
    `str` (`files.schema.CheckedText`), and so does its default (a ``cast`` for mypy)."""


# -- bodies -----------------------------------------------------------------------------------------
class LoginIn(RequestBody):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=IDENTIFIER_MAX_LENGTH)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class NewUserIn(RequestBody):
    username: Identifier
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
    role: Literal["issuer", "sponsor", "investor", "broker", "operator", "regulator"]
    participant: OptionalIdentifier = cast(OptionalIdentifier, "")
    accounts: Annotated[list[Identifier], msgspec.Meta(max_length=1000)] = []
    offerings: Annotated[list[Identifier], msgspec.Meta(max_length=1000)] = []
    issuers: Annotated[list[Identifier], msgspec.Meta(max_length=1000)] = []


class NewOrderIn(RequestBody, kw_only=True):
    """A new order. ``price`` is a decimal string (``"12.34"``) or omitted for market/auction orders."""

    instrument: Annotated[InstrumentCode, msgspec.Meta(examples=["02525"])]
    side: Literal["B", "S"]
    quantity: Quantity
    order_type: Annotated[
        OrderTypeName, msgspec.Meta(examples=["LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT", "AT_AUCTION", "AT_AUCTION_LIMIT"])
    ] = cast(OrderTypeName, "LIMIT")
    price: PriceText | None = None
    client_order_id: Identifier
    account: Annotated[Identifier | None, msgspec.Meta(description="Defaults to the caller's first account.")] = None
    short_sell: Annotated[
        bool, msgspec.Meta(description="A (covered) short sale: a sell in a Designated Security, under the tick rule.")
    ] = False


class AmendOrderIn(RequestBody):
    price: PriceText | None = None
    quantity: Quantity | None = None


class IoiStepIn(RequestBody, kw_only=True):
    limit_price: (
        Annotated[
            str,
            msgspec.Meta(max_length=40, description="Decimal price; omitted or empty: at any price (a strike step).", examples=["46.00"]),
        ]
        | None
    ) = None
    shares: Quantity


class IoiIn(RequestBody, kw_only=True):
    """An institutional indication of interest (the bookrunner records it for its investor)."""

    ioi_id: Identifier
    investor: Annotated[Identifier, msgspec.Meta(description="Identity key of the institution.")]
    account: Identifier
    participant: OptionalIdentifier = cast(OptionalIdentifier, "")
    investor_type: Identifier = cast(Identifier, "long_only")
    origin: Literal["international", "mainland", "hong_kong"] = "international"
    tier: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    independent: bool = True
    steps: Annotated[list[IoiStepIn], msgspec.Meta(min_length=1, max_length=50)]


class ApplicationIn(RequestBody):
    applicant: Annotated[
        Identifier, msgspec.Meta(description="Investor identity key (FINI): two applications with one key are multiple applications.")
    ]
    account: Identifier
    participant: ParticipantCode
    shares: Shares


class ApplicationBatchIn(RequestBody):
    """Public (Hong Kong Public Offering) applications, one object per application."""

    applications: Annotated[list[ApplicationIn], msgspec.Meta(min_length=1, max_length=200_000)]


class PreferentialApplicationIn(ApplicationIn):
    entitlement: Annotated[
        Shares,
        msgspec.Meta(
            description="Shares the applicant is assured (its holding in the parent times the entitlement ratio); "
            "0 for an employee offering."
        ),
    ]


class PreferentialBatchIn(RequestBody):
    """Applications under the offering's preferential offering (docs/offering.md, "Preferential offering")."""

    applications: Annotated[list[PreferentialApplicationIn], msgspec.Meta(min_length=1, max_length=200_000)]
    tranche: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0,
                le=MAX_PREFERENTIAL_TRANCHES - 1,
                description="With several preferential tranches (preferential_tranches): the index of the one applied for; "
                "omitted: the first (or only) one.",
            ),
        ]
        | None
    ) = None


class FixPriceIn(RequestBody):
    price: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=40, description="The agreed price; omitted: the offering's pricing policy decides.", examples=["46.00"]
            ),
        ]
        | None
    ) = None
    upsize_shares: Annotated[
        int,
        msgspec.Meta(ge=-1, le=MAX_QUANTITY, description="-1: the policy decides; otherwise the offer size adjustment shares exercised."),
    ] = -1


class AllocateIn(RequestBody):
    seed: Annotated[int, msgspec.Meta(ge=0, le=ORDER_ID_MAX, description="The ballot seed, published with the results.")]
    applications_digest: Annotated[
        HexDigest, msgspec.Meta(description="SHA-256 of the application book from the close; checked if given.")
    ] = cast(HexDigest, "")


class ClockIn(RequestBody):
    to: Annotated[
        str,
        msgspec.Meta(max_length=40, description="The Hong Kong time to move the market clock to, ISO 8601 (e.g. 2025-11-26T09:30)"),
    ]


# -- responses (documented; the routes answer with `http.json_response`) -----------------------------
class ErrorDetail(msgspec.Struct, kw_only=True):
    """The one error body of every answer that is not a success (also FIX rejects carry it)."""

    code: Annotated[int, msgspec.Meta(description="Stable numeric code (docs/reject-codes.md).", examples=[2003])]
    reason: Annotated[str, msgspec.Meta(examples=["PRICE_NOT_ON_TICK"])]
    field: Annotated[str, msgspec.Meta(description="The field at fault (dotted path), or empty.", examples=["price"])]
    message: str
    rule: Annotated[str, msgspec.Meta(description="The rule cited.", examples=["Trading Rules, spread table"])]
    details: Annotated[
        list[dict[str, Any]] | None, msgspec.Meta(description="The schema errors of a malformed request (400), where known.")
    ] = None


class ErrorOut(msgspec.Struct, kw_only=True):
    error: ErrorDetail


class ApiKeyOut(msgspec.Struct, kw_only=True):
    key: Annotated[str, msgspec.Meta(description="Shown once; only its argon2 hash is stored.")]
    key_id: str
    label: str


class OutcomeOut(msgspec.Struct, kw_only=True):
    seq: int
    at_ns: int
    events: list[dict[str, Any]]


# -- decoding ---------------------------------------------------------------------------------------
SCHEMA_RULE = "request schema (OpenAPI /docs)"
"""The rule a body that breaks its schema cites."""
_INDEX = re.compile(r"\[(\d+)\]")


_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}


def decoder[T](struct: type[T]) -> msgspec.json.Decoder[T]:
    """The JSON decoder of ``struct`` (one per Struct, made once)."""
    found = _DECODERS.get(struct)
    if found is None:
        found = _DECODERS[struct] = msgspec.json.Decoder(struct, dec_hook=dec_hook)
    return found


class BodyError(ServiceError, ValueError):
    """A body that is not JSON or breaks its Struct: the field (dotted, list items as ``.0`` as
    the API has always named them) and what was expected."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def decode_body[T](raw: bytes, struct: type[T]) -> T:
    """``raw`` decoded to ``struct``; `BodyError` naming the field otherwise."""
    try:
        return decoder(struct).decode(raw)
    except msgspec.ValidationError as exc:
        field, message = field_error(exc, struct, "the OpenAPI document, /docs", root_field="body")
        raise BodyError(_INDEX.sub(r".\1", field), message) from exc
    except msgspec.DecodeError as exc:
        raise BodyError("body", f"not valid JSON: {exc}") from exc


def body_schema(struct: type) -> dict[str, Any]:
    """``struct``'s JSON schema standing alone (its Structs under ``$defs``), for a page that checks a form the same way."""
    (_,), components = json_schema_components([struct], ref_template="#/$defs/{name}")
    return {**components[struct.__name__], "$defs": components}


__all__ = [
    "SCHEMA_RULE",
    "AfterSeq",
    "AllocateIn",
    "AmendOrderIn",
    "ApiKeyOut",
    "ApplicationBatchIn",
    "ApplicationIn",
    "BodyError",
    "ClockIn",
    "ErrorDetail",
    "ErrorOut",
    "FixPriceIn",
    "HexDigest",
    "IdentifierPath",
    "IdentifierQuery",
    "InstrumentPath",
    "IoiIn",
    "IoiStepIn",
    "Levels",
    "LoginIn",
    "NewOrderIn",
    "NewUserIn",
    "OrderIdPath",
    "OrderTypeName",
    "OutcomeOut",
    "ParticipantCode",
    "PreferentialApplicationIn",
    "PreferentialBatchIn",
    "PriceText",
    "Quantity",
    "RequestBody",
    "RowsLimit",
    "SeedQuery",
    "Shares",
    "ShortTextQuery",
    "TradesLimit",
    "body_schema",
    "decode_body",
    "decoder",
]
