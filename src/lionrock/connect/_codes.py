"""Reject codes of the connect context (6000-6999; never reused)."""

from __future__ import annotations

from enum import IntEnum

from lionrock.kernel.errors import reject_codes


@reject_codes("connect")
class ConnectCode(IntEnum):
    UNKNOWN_LINK = 6001
    NOT_ELIGIBLE = 6002
    SELL_ONLY = 6003
    QUOTA_EXHAUSTED = 6004
    INVESTOR_NOT_REGISTERED = 6005
    INVESTOR_BELOW_THRESHOLD = 6006
    BAD_INVESTOR_TYPE = 6007
    BAD_INDEX = 6008
    BAD_VALUE = 6009
    NO_EXCHANGE_RATE = 6010
    PRICE_REQUIRED = 6011
    NOT_A_BUSINESS_DAY = 6012
    LIMIT_EXCEEDED = 6013


__all__ = ["ConnectCode"]
