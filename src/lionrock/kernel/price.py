"""Prices as integer ticks of 0.001 of the currency (the finest step of the HKEX spread table).

``12.34`` is ``12_340`` ticks. A trade's consideration is ``price_ticks × quantity`` in thousandths
of the currency; `consideration_minor` turns it into minor units (cents) with a named rounding.

`parse_price` is the one gate for prices from outside (REST, FIX, offering and IOI files). It
reads plain decimals only and bounds them by `MAX_PRICE_TICKS`, so a hostile ``1e400`` or
``99999999999999999999999999.00`` is a clear `ValueError` at the edge and never an integer the
journal (64-bit MessagePack) cannot hold.
"""

from __future__ import annotations

from decimal import Decimal

from lionrock.kernel.money import Rounding, round_div, scaled_integer

PRICE_SCALE = 1000
"""Ticks per unit of currency."""
TICKS_PER_MINOR = PRICE_SCALE // 100
"""Ticks per cent: a consideration in ticks × shares divides by this to give cents."""
MAX_PRICE_TICKS = 9_999_999
"""The largest price any price field may hold: 9,999.999, just above the top of the HKEX spread
table (9,995). With `MAX_QUANTITY` (10**12 shares) a consideration is at most 10**19 ticks × shares,
10**18 cents: inside a signed 64-bit integer, so no parsed order can overflow the journal, a
snapshot or a ledger posting. The spread table itself is an effective-dated trading rule whose
breach is a coded, journaled rejection (``PRICE_OUTSIDE_SPREAD_TABLE``); the parser's margin above
it leaves that rule to speak for the prices just beyond 9,995."""


def parse_price(text: str | int | Decimal) -> int:
    """``"12.34"`` → ``12340``: a plain positive decimal (``,`` may group digits) with at most three
    significant decimal places, at most `MAX_PRICE_TICKS`; anything else is a `ValueError` that
    says what a price must be (never an exponent, NaN, Infinity, sign or underscore)."""
    ticks = scaled_integer(text, 3, "a price")
    if ticks <= 0:
        raise ValueError(f"price {str(text).strip()!r} must be positive")
    if ticks > MAX_PRICE_TICKS:
        raise ValueError(f"price {str(text).strip()!r} is above the largest price accepted, {format_price(MAX_PRICE_TICKS)}")
    return ticks


def format_price(ticks: int) -> str:
    """``12340`` → ``"12.34"`` (at least two decimals, three when needed)."""
    whole, frac = divmod(ticks, PRICE_SCALE)
    text = f"{whole}.{frac:03d}"
    return text[:-1] if text.endswith("0") else text


def consideration_minor(price_ticks: int, quantity: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """Value of ``quantity`` shares at ``price_ticks`` in minor units (cents)."""
    return round_div(price_ticks * quantity, TICKS_PER_MINOR, rounding)


__all__ = ["MAX_PRICE_TICKS", "PRICE_SCALE", "TICKS_PER_MINOR", "consideration_minor", "format_price", "parse_price"]
