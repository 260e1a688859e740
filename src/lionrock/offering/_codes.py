"""Reject codes of the offering context (3000s; never reused)."""

from __future__ import annotations

from enum import IntEnum

from lionrock.kernel.errors import reject_codes


@reject_codes("offering")
class OfferingCode(IntEnum):
    INVALID_FIELD = 3001
    """The offering definition has a missing or malformed field."""
    OUTSIDE_RULES = 3002
    """The definition breaks a rule in force on the prospectus date (the rule is cited)."""
    UNKNOWN_OFFERING = 3003
    DUPLICATE_OFFERING = 3004
    WRONG_STAGE = 3005
    """The command does not fit the offering's stage (e.g. pricing before the public offer closed)."""
    INVALID_IOI = 3006
    DUPLICATE_IOI = 3007
    UNKNOWN_IOI = 3008
    INVALID_APPLICATIONS = 3009
    PRICE_OUTSIDE_RANGE = 3010
    PRICING_DEADLINE_PASSED = 3011
    UPSIZE_TOO_LARGE = 3012
    BOOK_DIGEST_MISMATCH = 3013
    TOO_EARLY = 3014
    """A lifecycle step before its date in the offering's timetable: closing the public offer
    before the application lists close (12:00 on T-1), pricing before the price determination
    date T, settlement before the listing date (T+2)."""
    INVALID_STABILISATION = 3015
    LIMIT_EXCEEDED = 3016
    INDEPENDENT_PRICE_SETTERS_SHORT = 3017
    """Chapter 18C: at no price in the range can independent price-setting investors take Rule
    18C.08's minimum, and no waiver of the rule was declared."""


__all__ = ["OfferingCode"]
