"""One schema per input: the value types of the input files' msgspec Structs, and their errors.

An input (an offering file, an issuer profile) is one tree of msgspec Structs whose fields carry
their bounds, patterns and lengths (`msgspec.Meta`). The same Struct decodes the TOML file
(``tomllib`` then `msgspec.convert`), its tables as JSON (`msgspec.json.decode`) and the REST
body, and gives the REST API its JSON schema (`json_schema_components`), so the three cannot
drift. What the Struct cannot say (sums, orderings, rules in force on a date) stays with the
checks of the context (`lionrock.offering.definition.validate_offering`).

The value types below are decoded through the kernel's parsers (`parse_price`, `Rate.parse`,
`to_minor`, `parse_identifier`), so a price in a file and a price in an order are one grammar.
Every error names the field as a dotted path (``public.pool_a_curve[1]``) and what was expected
(`field_error`).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from lionrock.kernel.ids import (
    IDENTIFIER_CHARACTERS,
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    parse_identifier,
)
from lionrock.kernel.money import Currency, Rate, to_minor
from lionrock.kernel.price import MAX_PRICE_TICKS, format_price, parse_price
from lionrock.kernel.quantity import MAX_QUANTITY

INSTRUMENT_CODE_MAX_LENGTH = 16
TEXT_MAX_LENGTH = 256
DECIMAL_TEXT_MAX_LENGTH = 40


class CheckedText(type):
    """The type of the text value types below: a field typed ``Identifier`` is checked as one
    when decoded (`dec_hook`), and holds the plain `str` that passed, since msgspec encodes no
    subclass of `str` (the value goes on into commands and the journal). msgspec checks what a
    ``dec_hook`` returns with `isinstance`, so any `str` is an instance: the check is the
    decoder's, not `isinstance`'s."""

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, str)


class Identifier(str, metaclass=CheckedText):
    """An identifier in the kernel's charset (`parse_identifier`), 1-64 characters, never stripped."""

    __slots__ = ()
    max_length = IDENTIFIER_MAX_LENGTH
    allow_empty = False


class OptionalIdentifier(Identifier):
    """An identifier, or the empty string (the field's default meaning)."""

    __slots__ = ()
    allow_empty = True


class InstrumentCode(Identifier):
    """An instrument code (``"02525"``): an identifier of at most 16 characters."""

    __slots__ = ()
    max_length = INSTRUMENT_CODE_MAX_LENGTH


class OptionalInstrumentCode(InstrumentCode):
    """An instrument code, or the empty string (none)."""

    __slots__ = ()
    allow_empty = True


class PatternText(str, metaclass=CheckedText):
    """Text that matches a subclass's ``pattern`` in full, ``min_length`` to ``max_length``
    characters. In full: JSON Schema's ``^...$`` as msgspec checks it (Python's `re.search`)
    would let a final newline through."""

    __slots__ = ()
    pattern: ClassVar[str] = ""
    min_length = 0
    max_length = TEXT_MAX_LENGTH


class PriceText(int):
    """A price given as a decimal string (``"12.50"``), held as integer ticks (`parse_price`)."""

    __slots__ = ()


class PriceRange(tuple[int, int]):
    """``[low, high]``: two price strings, held as ticks."""

    __slots__ = ()


class RateText:
    """An exact rate given as a percentage (``"15%"``), a decimal (``"0.15"``) or a multiple
    (``3``, ``"33.5"``): `Rate.parse`, the representation kept (``"15%"`` is 15/100)."""

    __slots__ = ("rate",)

    def __init__(self, rate: Rate) -> None:
        self.rate = rate


class AmountText:
    """``"HKD 60,000,000"``, ``"US$25,000,000"`` or ``"60000000"``: minor units and the currency
    stated (None: the offer currency's). Every currency here has two minor digits."""

    __slots__ = ("currency", "minor")

    def __init__(self, minor: int, currency: Currency | None) -> None:
        self.minor, self.currency = minor, currency

    def in_currency(self, offer_currency: Currency) -> tuple[int, Currency]:
        return self.minor, self.currency or offer_currency


class ScaledAmountText:
    """An amount of an issuer profile: ``"HK$1,250,000,000"``, ``"RMB 380m"``, ``"US$1.2bn"``,
    ``"HK$-38m"`` or a plain number; minor units and the currency stated (None: the profile's)."""

    __slots__ = ("currency", "minor")

    def __init__(self, minor: int, currency: Currency | None) -> None:
        self.minor, self.currency = minor, currency


class CurvePoint(tuple[int, Rate]):
    """``[lots, "weight"]``: a point of a basis curve."""

    __slots__ = ()


class MultipleShare(tuple[Rate, Rate]):
    """``[multiple, "share%"]``: a step of a clawback schedule (``[15, "30%"]``, ``["33.5", "15%"]``)."""

    __slots__ = ()


Text = Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_MAX_LENGTH)]
"""Free text that must not be empty (a name, a reference)."""
OptionalText = Annotated[str, msgspec.Meta(max_length=TEXT_MAX_LENGTH)]
LongText = Annotated[str, msgspec.Meta(max_length=1000)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY, description="A whole number of shares.")]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_QUANTITY)]

_CURRENCY_PREFIXES = (
    ("HK$", Currency.HKD),
    ("US$", Currency.USD),
    ("RMB", Currency.CNY),
    ("HKD", Currency.HKD),
    ("USD", Currency.USD),
    ("CNY", Currency.CNY),
)
_RATE_EXAMPLE = 'a percentage like "15%" or a decimal like "0.15"'


def parse_rate(value: object) -> Rate:
    """``"12.5%"``, ``"0.125"``, ``3`` (a multiple) -> exact `Rate`; `ValueError` saying what was expected."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'expected a percentage string like "15%" or a number as a string, got {value!r}')
    try:
        return Rate.parse(str(value))
    except ValueError as exc:
        raise ValueError(f"expected {_RATE_EXAMPLE}: {exc}") from exc


def _price(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'expected a price like "12.50", got {value!r}')
    try:
        return parse_price(str(value))
    except ValueError as exc:
        raise ValueError(f'expected a price like "12.50": {exc}') from exc


def _amount(value: object) -> AmountText:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'expected an amount like "HKD 300,000,000" or "USD 25,000,000", got {value!r}')
    text, stated = str(value).strip(), None
    for prefix, prefix_currency in _CURRENCY_PREFIXES:
        if text.upper().startswith(prefix):
            text, stated = text[len(prefix) :].strip(), prefix_currency
            break
    try:
        return AmountText(to_minor(text, stated or Currency.HKD), stated)
    except ValueError as exc:
        raise ValueError(f'expected an amount like "HKD 300,000,000" or "USD 25,000,000": {exc}') from exc


_SCALED_AMOUNT = re.compile(r"^\s*(?P<prefix>[^\d\-.]*?)\s*(?P<number>-?[\d,_]*\.?\d+)\s*(?P<suffix>k|m|mn|bn|b)?\s*$", re.I)
_SUFFIX = {"k": 10**3, "m": 10**6, "mn": 10**6, "b": 10**9, "bn": 10**9}
_PREFIX = {
    "hk$": Currency.HKD,
    "hkd": Currency.HKD,
    "rmb": Currency.CNY,
    "cny": Currency.CNY,
    "¥": Currency.CNY,
    "us$": Currency.USD,
    "usd": Currency.USD,
}


def parse_scaled_amount(value: object) -> ScaledAmountText:
    """``"HK$1.5bn"`` / ``"RMB 380,000,000"`` / ``1500000`` -> minor units and the currency stated."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"expected an amount such as 'HK$1,500,000' or 'RMB 380m', got {value!r}")
    m = _SCALED_AMOUNT.match(str(value))
    if m is None:
        raise ValueError(f"not an amount: {value!r} (write e.g. 'HK$1,500,000' or 'US$1.2bn')")
    prefix = m["prefix"].strip().lower()
    currency = _PREFIX.get(prefix) if prefix else None
    if prefix and currency is None:
        raise ValueError(f"unknown currency {m['prefix'].strip()!r} in {value!r} (use HK$, RMB or US$)")
    try:
        number = Decimal(m["number"].replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if m["suffix"]:
        number *= _SUFFIX[m["suffix"].lower()]
    return ScaledAmountText(to_minor(number, currency or Currency.HKD), currency)  # every currency has two minor digits


def _pair(value: object, example: str) -> list[Any]:
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f"expected {example}, got {value!r}")
    return value


def _curve_point(value: object) -> CurvePoint:
    lots, weight = _pair(value, '[lots, "weight"] like [1, "0.0281"]')
    if isinstance(lots, bool) or not isinstance(lots, int):
        raise ValueError(f'expected [lots, "weight"] like [1, "0.0281"], got {value!r}')
    return CurvePoint((lots, parse_rate(weight)))


def _multiple_share(value: object) -> MultipleShare:
    multiple, share = _pair(value, '[multiple, "share%"] like [15, "30%"] or ["33.5", "15%"]')
    if str(multiple).strip().endswith("%"):
        raise ValueError(f'the multiple is a number of times like 15 or "33.5", not a percentage: {multiple!r}')
    return MultipleShare((parse_rate(multiple), parse_rate(share)))


def _identifier(kind: type[Identifier], value: object) -> str:
    try:
        return parse_identifier(value, "identifier", max_length=kind.max_length, allow_empty=kind.allow_empty)
    except ValueError as exc:
        raise ValueError(str(exc).removeprefix("identifier: ")) from exc


def _pattern_text(kind: type[PatternText], pattern: re.Pattern[str], value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    if not kind.min_length <= len(value) <= kind.max_length:
        raise ValueError(f"expected {kind.min_length}-{kind.max_length} characters, got {len(value)}")
    if pattern.fullmatch(value) is None:
        raise ValueError(f"expected text of the form ^{kind.pattern}$, got {value!r}")
    return value


def _price_range(value: object) -> PriceRange:
    low, high = _pair(value, "[low, high] as two price strings")
    return PriceRange((_price(low), _price(high)))


_DECODERS: dict[type, Callable[[object], Any]] = {
    PriceText: lambda v: PriceText(_price(v)),
    PriceRange: _price_range,
    RateText: lambda v: RateText(parse_rate(v)),
    AmountText: _amount,
    ScaledAmountText: parse_scaled_amount,
    CurvePoint: _curve_point,
    MultipleShare: _multiple_share,
}


def dec_hook(kind: type, value: object) -> Any:
    """msgspec's hook for the value types above; a `ValueError` becomes a `msgspec.ValidationError` at the field's path."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = _text_decoder(kind)  # a REST order's identifiers come here: one lookup, not two issubclass
    return decoder(value)


def _text_decoder(kind: type) -> Callable[[object], Any]:
    if isinstance(kind, type) and issubclass(kind, Identifier):
        identifier: type[Identifier] = kind
        return lambda value: _identifier(identifier, value)
    if isinstance(kind, type) and issubclass(kind, PatternText):
        text, pattern = kind, re.compile(kind.pattern)
        return lambda value: _pattern_text(text, pattern, value)
    raise NotImplementedError(f"no decoder for {kind!r}")


_RATE_SCHEMA = {
    "anyOf": [{"type": "string", "maxLength": DECIMAL_TEXT_MAX_LENGTH}, {"type": "integer", "minimum": 0, "maximum": 10**9}],
    "description": 'An exact rate: a percentage ("15%"), a decimal ("0.15") or a multiple (3, "33.5").',
    "examples": ["15%"],
}
_PRICE_SCHEMA = {
    "type": "string",
    "maxLength": DECIMAL_TEXT_MAX_LENGTH,
    "examples": ["12.50"],
    "description": f"A plain decimal price (no exponent, NaN or Infinity), above 0 and at most {format_price(MAX_PRICE_TICKS)}.",
}


def _identifier_schema(max_length: int, allow_empty: bool) -> dict[str, Any]:
    pattern = IDENTIFIER_PATTERN.replace("+$", "*$") if allow_empty else IDENTIFIER_PATTERN
    return {
        "type": "string",
        "pattern": pattern,
        "maxLength": max_length,
        "description": f"An identifier: {IDENTIFIER_CHARACTERS}; {0 if allow_empty else 1}-{max_length} characters.",
    }


def _pair_schema(first: dict[str, Any], second: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "prefixItems": [first, second], "minItems": 2, "maxItems": 2, "description": description}


def schema_hook(kind: type) -> dict[str, Any]:
    """The JSON schema of each value type (msgspec's ``schema_hook``)."""
    if isinstance(kind, type) and issubclass(kind, Identifier):
        return _identifier_schema(kind.max_length, kind.allow_empty)
    if isinstance(kind, type) and issubclass(kind, PatternText):
        return {"type": "string", "pattern": f"^{kind.pattern}$", "minLength": kind.min_length, "maxLength": kind.max_length}
    schemas: dict[type, dict[str, Any]] = {
        PriceText: _PRICE_SCHEMA,
        PriceRange: {**_pair_schema(_PRICE_SCHEMA, _PRICE_SCHEMA, "[low, high]: two price strings"), "examples": [["40.00", "48.00"]]},
        RateText: _RATE_SCHEMA,
        AmountText: {
            "anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer", "minimum": 0}],
            "examples": ["HKD 60,000,000", "US$25,000,000"],
            "description": "An amount, optionally prefixed by its currency (HKD, HK$, USD, US$, CNY, RMB).",
        },
        ScaledAmountText: {
            "anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}],
            "examples": ["HK$1,250,000,000", "RMB 380m"],
            "description": "An amount: a currency (HK$, HKD, RMB, CNY, ¥, US$, USD; none: the profile's), a number, "
            "optionally k, m/mn or bn/b.",
        },
        CurvePoint: _pair_schema({"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY}, _RATE_SCHEMA, '[lots applied, "weight"]'),
        MultipleShare: _pair_schema(_RATE_SCHEMA, _RATE_SCHEMA, '[multiple, "share%"], e.g. [15, "30%"]'),
    }
    if kind not in schemas:
        raise NotImplementedError(f"no schema for {kind!r}")
    return schemas[kind]


def json_schema_components(
    structs: Iterable[type], ref_template: str = "#/components/schemas/{name}"
) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    """The JSON schema of ``structs`` (references, and the components they use), as OpenAPI wants them."""
    return msgspec.json.schema_components(list(structs), schema_hook=schema_hook, ref_template=ref_template)


# ------------------------------------------------------------------------------------------------
# errors: msgspec's message -> (dotted field path, what was expected)
# ------------------------------------------------------------------------------------------------
_AT = re.compile(r"(?s)(.*) - at `\$(.*)`")
_AT_KEY = re.compile(r"(?s)(.*) - at `key` in `\$(.*)`")
_TYPE_WORDS = {
    "int": "a whole number",
    "str": "a string",
    "bool": "true or false",
    "object": "a table",
    "array": "a list",
    "float": "a number",
    "date": 'a TOML date like 2025-11-20 (in JSON the string "2025-11-20")',
    "datetime": "a date and time",
    "null": "nothing",
}
_BOUND = re.compile(r"Expected `(int)` (>=|<=|>|<) (-?\d+)")
_OPERATORS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _type_words(match: re.Match[str]) -> str:
    names = [n for n in match.group(1).split(" | ") if n != "null"] or ["null"]
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def _unwrap(hint: Any) -> Any:
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(args) != 1:
                return hint
            hint = args[0]
        else:
            return hint


def _type_at(root: type, path: str) -> Any:
    """The annotation of the field at ``path`` (``.offering.chapter``, ``.cornerstones[0].origin``) under ``root``."""
    hint: Any = root
    for name, index in _PART.findall(path):
        hint = _unwrap(hint)
        if name:
            if not (isinstance(hint, type) and issubclass(hint, msgspec.Struct)):
                return None
            hint = typing.get_type_hints(hint, include_extras=True).get(name)
        elif index:
            args = typing.get_args(hint)
            hint = args[0] if args else None
    return _unwrap(hint)


def _choices(hint: Any) -> str | None:
    """The values a Literal or an enum allows, as text (``main, 18C, 18A``), or None."""
    if typing.get_origin(hint) is Literal:
        return ", ".join(str(a) for a in typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return ", ".join(str(m.value) for m in hint)
    return None


def dotted(path: str, key: str = "") -> str:
    """``.cornerstones[0]`` and ``amount`` -> ``cornerstones[0].amount``."""
    full = f"{path}.{key}" if key else path
    return full.removeprefix(".")


def field_error(exc: msgspec.ValidationError, root: type, docs: str, root_field: str = "<root>") -> tuple[str, str]:
    """The dotted field path and the message of a decoding error of ``root`` (``docs``: where the
    format is written down, for an unknown key; ``root_field``: the name of the whole input)."""
    field, message = _field_error(str(exc), root, docs)
    return field or root_field, message


def _field_error(message: str, root: type, docs: str) -> tuple[str, str]:
    path = ""
    if key := _AT_KEY.fullmatch(message):
        return _key_error(key.group(1), key.group(2), root)
    at = _AT.fullmatch(message)
    if at is not None:
        message, path = at.group(1), at.group(2)
    if message.startswith("Invalid RFC3339 encoded"):
        return dotted(path), "expected a date like 2025-11-20 (RFC 3339), got one that is not a date"
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return dotted(path, unknown.group(1)), f"unknown key (check the spelling against {docs})"
    if missing := re.fullmatch(r"Object missing required field `(.+)`", message):
        return dotted(path, missing.group(1)), "is required"
    if invalid := re.fullmatch(r"Invalid enum value (.+)", message):
        choices = _choices(_type_at(root, path))
        if choices is not None:
            return dotted(path), f"expected one of {choices}, got {invalid.group(1)}"
    if bound := _BOUND.fullmatch(message):
        kind, op, limit = bound.groups()
        return dotted(path), f"expected {_TYPE_WORDS.get(kind, kind)}; must be {_OPERATORS[op]} {int(limit):,}"
    got = re.fullmatch(r"Expected `[^`]+`, got `([^`]+)`", message)
    if got is not None and (choices := _choices(_type_at(root, path))) is not None:
        return dotted(path), f"expected one of {choices}, got {_type_words(got)}"
    if message.startswith("Expected "):
        message = "expected " + re.sub(r"`([^`]+)`", _type_words, message.removeprefix("Expected "))
    return dotted(path), message


def _key_error(message: str, path: str, root: type) -> tuple[str, str]:
    """A bad key of a table (``fx.GBP``): msgspec names the table, the message names the key."""
    if invalid := re.fullmatch(r"Invalid enum value '(.*)'", message):
        key_type = next(iter(typing.get_args(_type_at(root, path))), None)
        keys = _choices(key_type)
        if keys is not None:
            return dotted(path, invalid.group(1)), f"expected a key among {keys}"
    return dotted(path), f"a key: {message[:1].lower()}{message[1:]}"


def decode_toml_data(data: object, root: type[Any]) -> Any:
    """``data`` as `tomllib` gives it, converted to ``root`` (dates stay TOML dates: a string is not one)."""
    return msgspec.convert(data, root, dec_hook=dec_hook, builtin_types=(date,))


def decode_json(body: bytes | str, root: type[Any]) -> Any:
    """A JSON document decoded to ``root`` (dates as ISO strings); `msgspec.DecodeError` if not JSON."""
    return msgspec.json.decode(body, type=root, dec_hook=dec_hook)


__all__ = [
    "DECIMAL_TEXT_MAX_LENGTH",
    "INSTRUMENT_CODE_MAX_LENGTH",
    "TEXT_MAX_LENGTH",
    "AmountText",
    "CheckedText",
    "Count",
    "CurvePoint",
    "Identifier",
    "InstrumentCode",
    "LongText",
    "MultipleShare",
    "OptionalIdentifier",
    "OptionalInstrumentCode",
    "OptionalText",
    "PatternText",
    "PriceRange",
    "PriceText",
    "Quantity",
    "RateText",
    "ScaledAmountText",
    "Text",
    "dec_hook",
    "decode_json",
    "decode_toml_data",
    "dotted",
    "field_error",
    "json_schema_components",
    "parse_rate",
    "parse_scaled_amount",
    "schema_hook",
]
