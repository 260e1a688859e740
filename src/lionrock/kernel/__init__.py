"""The shared kernel: typed ids, money and prices as integers, exchange time, rejections, messages.

Everything here is pure and deterministic; every bounded context depends on it and on nothing else
in Lion Rock but `lionrock.rules`.
"""

from lionrock.kernel.errors import InvariantError, Reject, Rejection, invariant, require
from lionrock.kernel.ids import (
    AccountId,
    ApplicationId,
    InstrumentId,
    InvestorId,
    IssuerId,
    OfferingId,
    OrderId,
    ParticipantId,
)
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.money import Currency, Money, Rate, Rounding, round_div
from lionrock.kernel.price import PRICE_SCALE, format_price, parse_price

__all__ = [
    "PRICE_SCALE",
    "AccountId",
    "ApplicationId",
    "Command",
    "Currency",
    "Event",
    "InstrumentId",
    "InvariantError",
    "InvestorId",
    "IssuerId",
    "Money",
    "OfferingId",
    "OrderId",
    "ParticipantId",
    "Rate",
    "Reject",
    "Rejection",
    "Rounding",
    "Stamp",
    "format_price",
    "invariant",
    "parse_price",
    "require",
    "round_div",
]
