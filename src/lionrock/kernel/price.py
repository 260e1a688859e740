"""Prices as integer ticks of 0.001 of the currency (the finest step of the HKEX spread table).

``12.34`` is ``12_340`` ticks. A trade's consideration is ``price_ticks × quantity`` in thousandths
of the currency; `consideration_minor` turns it into minor units (cents) with a named rounding.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from lionrock.kernel.money import Rounding, round_div

PRICE_SCALE = 1000
"""Ticks per unit of currency."""
TICKS_PER_MINOR = PRICE_SCALE // 100
"""Ticks per cent: a consideration in ticks × shares divides by this to give cents."""


def parse_price(text: str | int | Decimal) -> int:
    """``"12.34"`` → ``12340``; refuses more than three decimal places and non-positive prices."""
    try:
        d = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"not a price: {text!r} (expected a decimal like 12.34)") from exc
    ticks = d * PRICE_SCALE
    if ticks != ticks.to_integral_value():
        raise ValueError(f"price {text!r} is finer than 0.001")
    if ticks <= 0:
        raise ValueError(f"price {text!r} must be positive")
    return int(ticks)


def format_price(ticks: int) -> str:
    """``12340`` → ``"12.34"`` (at least two decimals, three when needed)."""
    whole, frac = divmod(ticks, PRICE_SCALE)
    text = f"{whole}.{frac:03d}"
    return text[:-1] if text.endswith("0") else text


def consideration_minor(price_ticks: int, quantity: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """Value of ``quantity`` shares at ``price_ticks`` in minor units (cents)."""
    return round_div(price_ticks * quantity, TICKS_PER_MINOR, rounding)


__all__ = ["PRICE_SCALE", "TICKS_PER_MINOR", "consideration_minor", "format_price", "parse_price"]
