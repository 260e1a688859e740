"""Money as integers of a fixed minor unit, exact rates, and named rounding.

Every amount in the core is an ``int`` count of the currency's minor unit (cents for HKD and USD,
fen for CNY). Rates (fees, levies, duty) are exact fractions. Rounding happens only where a rule
says how, and always through a named `Rounding` mode, so a reader can check it against the rule.
`Decimal` appears only in parsing and printing, at the edges.

Parsing is bounded: `to_minor` and `Rate.parse` read plain decimals only (digits, one point, an
optional leading minus for amounts; never an exponent, NaN or Infinity), exactly (integer
arithmetic, not a 28-digit `Decimal` context that would round ``1.000…0001`` to ``1``), and refuse
values beyond `MAX_AMOUNT_MINOR` or 16 significant digits, so every parsed number fits the
journal's 64-bit integers with room for the sums and products the rules make of it.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import msgspec

from lionrock.kernel.errors import InvariantError

MAX_AMOUNT_MINOR = 10**17
"""The largest amount (in minor units, either sign) a parsed amount may hold: HK$1,000 trillion,
far above any offering or fund, and 92 times below 2**63, so sums of many stay in 64 bits."""
MAX_DECIMAL_TEXT = 40
"""The longest decimal text parsed (after trimming): a bound on work before any arithmetic."""
RATE_MAX_DIGITS = 16
"""Significant digits and decimal places of a rate: numerator below 10**16, denominator at most
10**18 (a percent with 16 decimals), both inside a signed 64-bit integer."""

_PLAIN_DECIMAL = re.compile(r"(-?)([0-9]*)(?:\.([0-9]*))?")  # ASCII digits only: \d matches "٣" too


def plain_decimal_parts(text: str | int | Decimal, what: str, *, separators: str = ",") -> tuple[bool, str, str]:
    """Split a plain decimal into ``(negative, whole digits, fraction digits)`` without arithmetic.

    Accepts digits with one optional point and an optional leading minus; ``separators`` (digit
    group marks such as ``,``) are dropped first. Refuses exponents (``5e1``), NaN, Infinity,
    ``+``, spaces inside and text longer than `MAX_DECIMAL_TEXT`, with a message naming ``what``."""
    if isinstance(text, bool):
        raise ValueError(f"not {what}: {text!r} (expected a decimal like 12.34, not true/false)")
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise ValueError(f"not {what}: {text} (expected a finite decimal like 12.34)")
        text = format(text, "f")
    raw = str(text).strip()
    if len(raw) > MAX_DECIMAL_TEXT:
        raise ValueError(f"not {what}: {raw[:20]!r}... is {len(raw)} characters (at most {MAX_DECIMAL_TEXT})")
    cleaned = raw
    for mark in separators:
        cleaned = cleaned.replace(mark, "")
    match = _PLAIN_DECIMAL.fullmatch(cleaned)
    if match is None or not (match.group(2) or match.group(3)):
        raise ValueError(
            f"not {what}: {raw!r} (expected a plain decimal like 12.34: digits and one point; no exponent, sign, NaN or Infinity)"
        )
    return match.group(1) == "-", match.group(2), match.group(3) or ""


def scaled_integer(text: str | int | Decimal, digits: int, what: str, *, separators: str = ",") -> int:
    """``text`` × 10**``digits`` as an exact integer; `ValueError` if that is not whole (a value
    finer than the unit) or the text is not a plain decimal (see `plain_decimal_parts`)."""
    negative, whole, fraction = plain_decimal_parts(text, what, separators=separators)
    if fraction[digits:].strip("0"):
        unit = "1" if digits == 0 else "0." + "0" * (digits - 1) + "1"
        raise ValueError(f"{what.removeprefix('a ').removeprefix('an ')} {str(text).strip()!r} is finer than {unit}")
    scale: int = 10**digits
    value = int(whole or "0") * scale + int((fraction[:digits]).ljust(digits, "0") or "0")
    return -value if negative else value


class Currency(StrEnum):
    HKD = "HKD"
    CNY = "CNY"
    USD = "USD"

    @property
    def minor_digits(self) -> int:
        return 2

    @property
    def minor_per_major(self) -> int:
        minor: int = 10**self.minor_digits
        return minor

    @property
    def symbol(self) -> str:
        return {"HKD": "HK$", "CNY": "RMB ", "USD": "US$"}[self.value]


class Rounding(StrEnum):
    """How a division to a whole unit is rounded; named after what the rules say."""

    HALF_UP = "half-up"  # to nearest, halves away from zero
    HALF_EVEN = "half-even"
    UP = "up"  # away from zero ("rounded up to the nearest dollar")
    DOWN = "down"  # towards zero (truncate)


def round_div(numerator: int, denominator: int, rounding: Rounding) -> int:
    """``numerator / denominator`` rounded to an integer by ``rounding``, exactly."""
    if denominator <= 0:
        raise InvariantError(f"Invariant: denominator must be positive, got {denominator}")
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if r:
        if rounding is Rounding.UP:
            q += 1
        elif rounding is Rounding.HALF_UP:
            q += 1 if 2 * r >= denominator else 0
        elif rounding is Rounding.HALF_EVEN:
            if 2 * r > denominator or (2 * r == denominator and q % 2 == 1):
                q += 1
    return sign * q


def round_to_unit(amount_minor: int, unit_minor: int, rounding: Rounding) -> int:
    """Round an amount in minor units to a multiple of ``unit_minor`` (100 = whole dollars)."""
    return round_div(amount_minor, unit_minor, rounding) * unit_minor


class Rate(msgspec.Struct, frozen=True):
    """An exact rate ``numerator / denominator``: ``Rate.parse("0.00565%")`` is 565 / 10,000,000."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if self.denominator <= 0 or self.numerator < 0:
            raise ValueError(f"rate must be a non-negative fraction, got {self.numerator}/{self.denominator}")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """A plain decimal, optionally a percentage: ``"0.00565%"``, ``"1.0850"``; at most
        `RATE_MAX_DIGITS` significant digits, never negative, NaN, Infinity or an exponent."""
        s = str(text).strip()
        scale = 1
        if s.endswith("%"):
            s, scale = s[:-1].strip(), 100
        try:
            negative, whole, fraction = plain_decimal_parts(s, "a rate", separators="")
        except ValueError as exc:
            raise ValueError(
                f"not a rate: {text!r} (expected e.g. '0.1%' or '0.001': a plain decimal, no exponent, NaN or Infinity)"
            ) from exc
        if negative and (whole + fraction).strip("0"):
            raise ValueError(f"rate must not be negative: {text!r}")
        # Trailing zeros stay (``"1.0850"`` is 10850/10000, as journals have always recorded it):
        # the representation is part of the journal's bytes and the state hash.
        significant = (whole + fraction).lstrip("0")
        if len(significant) > RATE_MAX_DIGITS:
            raise ValueError(f"rate {text!r} has {len(significant)} significant digits (at most {RATE_MAX_DIGITS})")
        if len(fraction) > RATE_MAX_DIGITS:
            raise ValueError(f"rate {text!r} has {len(fraction)} decimal places (at most {RATE_MAX_DIGITS})")
        return cls(int(whole + fraction or "0"), scale * 10 ** len(fraction))

    def apply(self, amount_minor: int, rounding: Rounding, unit_minor: int = 1) -> int:
        """``amount × rate``, rounded by ``rounding`` to a multiple of ``unit_minor``."""
        return round_div(amount_minor * self.numerator, self.denominator * unit_minor, rounding) * unit_minor

    def __str__(self) -> str:
        pct = Decimal(self.numerator) * 100 / Decimal(self.denominator)
        return f"{pct.normalize():f}%"


class Money(msgspec.Struct, frozen=True, order=True):
    """An amount at the edges: a currency and an integer count of its minor unit."""

    currency: Currency
    minor: int

    @classmethod
    def parse(cls, text: str, currency: Currency | None = None) -> Money:
        """Parse ``"HK$5,000,000"``, ``"HKD 12.50"``, ``"12.5"`` (with ``currency``)."""
        s = text.strip().replace(",", "").replace("_", "")
        found = currency
        for cur in Currency:
            for prefix in (cur.symbol.strip(), cur.value):
                if s.upper().startswith(prefix.upper()):
                    s, found = s[len(prefix) :].strip(), cur
                    break
        if found is None:
            raise ValueError(f"no currency in {text!r}: write e.g. 'HKD 12.50' or 'HK$12.50'")
        return cls(found, to_minor(s, found))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.minor + other.minor)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.minor - other.minor)

    def _same(self, other: Money) -> None:
        if other.currency is not self.currency:
            raise InvariantError(f"Invariant: cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        return f"{self.currency.value} {format_minor(self.minor, self.currency)}"


def to_minor(text: str | int | Decimal, currency: Currency = Currency.HKD) -> int:
    """A decimal amount of major units to minor units; refuses sub-minor precision, exponents, NaN,
    Infinity and amounts beyond `MAX_AMOUNT_MINOR` (``,`` and ``_`` may group digits)."""
    try:
        minor = scaled_integer(text, currency.minor_digits, "an amount", separators=",_")
    except ValueError as exc:
        if "finer than" in str(exc):
            raise ValueError(f"{text!r} has more than {currency.minor_digits} decimal places for {currency.value}") from exc
        raise
    if abs(minor) > MAX_AMOUNT_MINOR:
        raise ValueError(
            f"amount {text!r} is beyond the largest amount accepted, {format_minor(MAX_AMOUNT_MINOR, currency)} {currency.value}"
        )
    return minor


def format_minor(minor: int, currency: Currency = Currency.HKD, grouping: bool = True) -> str:
    d = (Decimal(minor) / currency.minor_per_major).quantize(Decimal(1).scaleb(-currency.minor_digits), ROUND_HALF_UP)
    return f"{d:,}" if grouping else f"{d}"


__all__ = [
    "MAX_AMOUNT_MINOR",
    "MAX_DECIMAL_TEXT",
    "RATE_MAX_DIGITS",
    "Currency",
    "Money",
    "Rate",
    "Rounding",
    "format_minor",
    "plain_decimal_parts",
    "round_div",
    "round_to_unit",
    "scaled_integer",
    "to_minor",
]
