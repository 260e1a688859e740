"""Quantities (shares, lots, counts) from outside: whole numbers with one bound.

`parse_quantity` is the one gate for a quantity read from text (FIX ``38=``, files) or taken from
a decoded number (JSON): digits only, never a fraction, an exponent, a sign or ``true``; at most
`MAX_QUANTITY`. The bound is a ceiling for arithmetic safety (quantity × price in ticks stays
inside 64 bits); business limits (board lots, the shares on offer, an order's maximum size) are
the contexts' coded rejections.
"""

from __future__ import annotations

import re

MAX_QUANTITY = 10**12
"""One trillion: above the issued shares of any listed company (the largest have about 4 × 10**11);
× `MAX_PRICE_TICKS` (10**7) the consideration is at most 10**18 cents, inside 64 bits."""
_DIGITS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")  # ASCII only: \d also matches "٣"


def parse_quantity(value: str | int, field: str = "quantity", *, minimum: int = 1, maximum: int = MAX_QUANTITY) -> int:
    """``"1,000"`` or ``1000`` → ``1000``, within ``minimum``-``maximum``; otherwise a `ValueError`
    naming ``field``, the rule and what was expected."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{field}: expected a whole number, got {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 24 or _DIGITS.fullmatch(text) is None:
            raise ValueError(
                f"{field}: expected a whole number of digits like 1000 (no sign, point, exponent or spaces), got {value[:30]!r}"
            )
        value = int(text.replace(",", ""))
    if not minimum <= value <= maximum:
        raise ValueError(f"{field}: {value} is outside {minimum:,}-{maximum:,}")
    return value


__all__ = ["MAX_QUANTITY", "parse_quantity"]
