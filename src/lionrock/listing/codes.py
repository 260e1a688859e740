"""Reject codes of the listing context (4000-4999; stable, never reused)."""

from __future__ import annotations

from enum import IntEnum

from lionrock.kernel.errors import reject_codes


@reject_codes("listing")
class ListingCode(IntEnum):
    PROFILE_INVALID = 4001
    UNKNOWN_ISSUER = 4002
    PROFILE_LOCKED = 4003
    UNKNOWN_ROUTE = 4004
    ROUTE_NOT_OPEN = 4005
    ILLEGAL_TRANSITION = 4006
    UNKNOWN_TRIGGER = 4007
    CSRC_NOT_REQUIRED = 4008
    CSRC_NOT_COMPLETED = 4009
    TECH_NOT_AVAILABLE = 4010
    CONFIDENTIAL_NOT_ALLOWED = 4011
    APPLICATION_LAPSED = 4012
    LIMIT_EXCEEDED = 4013


__all__ = ["ListingCode"]
