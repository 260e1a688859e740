"""Reject codes of the clearing context (5000-5999; never reused)."""

from __future__ import annotations

from enum import IntEnum

from lionrock.kernel.errors import reject_codes


@reject_codes("clearing")
class ClearingCode(IntEnum):
    MALFORMED_ACCOUNT = 5001
    WRONG_ACCOUNT_TYPE = 5002
    UNKNOWN_CURRENCY = 5003
    NON_POSITIVE_AMOUNT = 5004
    INSUFFICIENT_CASH = 5005
    INSUFFICIENT_SECURITIES = 5006
    NO_FX_RATE = 5007
    BAD_FX_RATE = 5008
    COUNTER_CONFLICT = 5009
    NOT_SAME_SECURITY = 5010
    NOT_A_BUSINESS_DAY = 5011
    SETTLEMENT_DAY_IN_FUTURE = 5012
    SETTLEMENT_DAY_BEFORE_LAST_RUN = 5013
    LIMIT_EXCEEDED = 5014
    CONVERSION_TOO_SMALL = 5015


__all__ = ["ClearingCode"]
