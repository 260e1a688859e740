"""Money as integers of a fixed minor unit, exact rates, and named rounding.

Every amount in the core is an ``int`` count of the currency's minor unit (cents for HKD and USD,
fen for CNY). Rates (fees, levies, duty) are exact fractions. Rounding happens only where a rule
says how, and always through a named `Rounding` mode, so a reader can check it against the rule.
`Decimal` appears only in parsing and printing, at the edges.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

import msgspec

from lionrock.kernel.errors import InvariantError


class Currency(StrEnum):
    HKD = "HKD"
    CNY = "CNY"
    USD = "USD"

    @property
    def minor_digits(self) -> int:
        return 2

    @property
    def minor_per_major(self) -> int:
        return 10 ** self.minor_digits

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
        s = text.strip()
        scale = 1
        if s.endswith("%"):
            s, scale = s[:-1].strip(), 100
        try:
            d = Decimal(s)
        except InvalidOperation as exc:
            raise ValueError(f"not a rate: {text!r} (expected e.g. '0.1%' or '0.001')") from exc
        if d < 0:
            raise ValueError(f"rate must not be negative: {text!r}")
        sign, digits, exponent = d.as_tuple()
        assert isinstance(exponent, int)
        numerator = int("".join(map(str, digits)) or "0")
        denominator = scale
        if exponent >= 0:
            numerator *= 10**exponent
        else:
            denominator *= 10 ** (-exponent)
        return cls(numerator, denominator)

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
                    s, found = s[len(prefix):].strip(), cur
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
    """A decimal amount of major units to minor units; refuses sub-minor precision."""
    try:
        d = Decimal(str(text).replace(",", "").replace("_", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    scaled = d * currency.minor_per_major
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {currency.minor_digits} decimal places for {currency.value}")
    return int(scaled)


def format_minor(minor: int, currency: Currency = Currency.HKD, grouping: bool = True) -> str:
    d = (Decimal(minor) / currency.minor_per_major).quantize(Decimal(1).scaleb(-currency.minor_digits), ROUND_HALF_UP)
    return f"{d:,}" if grouping else f"{d}"


__all__ = ["Currency", "Money", "Rate", "Rounding", "format_minor", "round_div", "round_to_unit", "to_minor"]
