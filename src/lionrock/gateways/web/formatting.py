"""Money, shares, prices and percentages as people read them: the dashboard's one formatting helper.

The core keeps integers (minor units, share counts, price ticks, basis points); a page that shows
``HKD 4413061`` or ``-1000000`` makes its reader do the arithmetic, and gets it wrong. Every
template filter and every cell the page's script fills goes through these functions or their
twins in ``static/lionrock.js`` (``LR.money``, ``LR.shares``, ``LR.percent``...), and
tests/gateways/web/test_formatting.py holds both to the same table of cases.

Rules: the currency is always named (``HK$``, ``RMB``, ``US$``), two decimals, thousands grouped,
a minus sign before the symbol (``-HK$10,000.00``); shares grouped (``1,234,500 shares``);
percentages from basis points with at most two decimals and no trailing zeros (``12.5%``);
prices from ticks as the venue quotes them (``HK$9.50``). Exact: `Decimal`, never `float`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from lionrock.kernel.money import Currency
from lionrock.kernel.price import format_price

SECURITY_PREFIX = "SEC:"
"""Clearing ledger assets that are shares of a security (``SEC:02525``); other assets are currencies."""


def money(minor: int | None, currency: str = "HKD") -> str:
    """``4413061`` HKD -> ``HK$44,130.61``; ``-1000000`` -> ``-HK$10,000.00``; None -> empty."""
    if minor is None:
        return ""
    cur = Currency(currency)
    amount = (Decimal(abs(int(minor))) / cur.minor_per_major).quantize(Decimal(1).scaleb(-cur.minor_digits), ROUND_HALF_UP)
    sign = "-" if int(minor) < 0 else ""
    return f"{sign}{cur.symbol}{amount:,}"


def count(n: int | None) -> str:
    """``1234500`` -> ``1,234,500``; None -> empty."""
    return "" if n is None else f"{int(n):,}"


def shares(n: int | None) -> str:
    """``1234500`` -> ``1,234,500 shares`` (``1 share``); None -> empty."""
    if n is None:
        return ""
    return f"{int(n):,} share" + ("" if abs(int(n)) == 1 else "s")


def percent(bp: int | None) -> str:
    """Basis points to a percentage: ``1250`` -> ``12.5%``, ``10000`` -> ``100%``, ``1`` -> ``0.01%``."""
    if bp is None:
        return ""
    value = (Decimal(int(bp)) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP).normalize()
    return f"{value:,f}%"


def ratio_percent(part: int, whole: int) -> str:
    """``part`` as a share of ``whole``, to 0.01% (halves up): ``ratio_percent(1, 8)`` -> ``12.5%``."""
    if whole <= 0:
        return ""
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP).normalize()
    return f"{value:,f}%"


def times(bp: int | None) -> str:
    """A multiple in basis points: ``36542300`` -> ``3,654.23x`` (subscription levels)."""
    if bp is None:
        return ""
    value = (Decimal(int(bp)) / 10_000).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{value:,}x"


def price(ticks: int | None, currency: str = "HKD") -> str:
    """A price in ticks (thousandths) as quoted, with its currency: ``9500`` -> ``HK$9.50``; 0 or None -> empty."""
    if not ticks:
        return ""
    whole, dot, fraction = format_price(int(ticks)).partition(".")
    return f"{Currency(currency).symbol}{int(whole):,}{dot}{fraction}"


def holding(asset: str, amount: int) -> str:
    """A clearing ledger balance: a currency in money (``HK$1,000.00``), a security in shares."""
    if asset.startswith(SECURITY_PREFIX):
        return shares(amount)
    if asset in Currency.__members__:
        return money(amount, asset)
    return count(amount)


def asset_name(asset: str) -> str:
    """``SEC:02525`` -> ``02525 shares``; ``HKD`` -> ``HKD cash``."""
    if asset.startswith(SECURITY_PREFIX):
        return f"{asset[len(SECURITY_PREFIX) :]} shares"
    return f"{asset} cash" if asset in Currency.__members__ else asset


FILTERS = {
    "money": money,
    "count": count,
    "shares": shares,
    "percent": percent,
    "times": times,
    "hkprice": price,
    "holding": holding,
    "asset_name": asset_name,
}
"""The Jinja filters the templates use (``{{ x|money }}``, ``{{ n|shares }}``...)."""

__all__ = ["FILTERS", "SECURITY_PREFIX", "asset_name", "count", "holding", "money", "percent", "price", "ratio_percent", "shares", "times"]
