"""The shared kernel: the account grammar, money and prices as integers, exchange time, rejections, messages.

The parsers here (`parse_price`, `parse_quantity`, `parse_identifier`, `money.to_minor`,
`Rate.parse`) are the one place per kind where input from outside becomes a value: every edge
(REST, FIX, files) calls them, so a bound is set once and holds everywhere.

Everything here is pure and deterministic; every bounded context depends on it and on nothing else
in Lion Rock but `lionrock.rules`.
"""

from lionrock.kernel.account import Account, AccountKind
from lionrock.kernel.errors import InvariantError, Reject, Rejection, invariant, require
from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.money import Currency, Money, Rate, Rounding, round_div
from lionrock.kernel.price import MAX_PRICE_TICKS, PRICE_SCALE, format_price, parse_price
from lionrock.kernel.quantity import MAX_QUANTITY, parse_quantity

__all__ = [
    "MAX_PRICE_TICKS",
    "MAX_QUANTITY",
    "PRICE_SCALE",
    "Account",
    "AccountKind",
    "Command",
    "Currency",
    "Event",
    "InvariantError",
    "Money",
    "Rate",
    "Reject",
    "Rejection",
    "Rounding",
    "Stamp",
    "format_price",
    "invariant",
    "parse_identifier",
    "parse_price",
    "parse_quantity",
    "require",
    "round_div",
]
