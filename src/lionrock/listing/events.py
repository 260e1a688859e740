"""Events of the listing context (facts, past tense). Dates are Hong Kong calendar dates."""

from __future__ import annotations

from datetime import date

from lionrock.kernel.messages import Event


class IssuerProfileSubmitted(Event, frozen=True):
    issuer_id: str
    name: str
    sub_sector: str
    assessed_on: date
    expected_market_cap_hkd: int
    routes_open: list[str]
    replaced: bool = False


class TechChannelEngaged(Event, frozen=True):
    issuer_id: str
    on: date


class ListingApplicationFiled(Event, frozen=True):
    issuer_id: str
    route: str
    filed_on: date
    expires_on: date
    """The application lapses on this date unless the issuer has launched its offering."""
    csrc_required: bool
    csrc_deadline: date | None
    """Last mainland working day for the CSRC filing (None if not required or already done)."""
    confidential: bool
    via_tech: bool
    attempt: int


class CsrcFilingSubmitted(Event, frozen=True):
    issuer_id: str
    filed_on: date
    deadline: date
    late: bool
    expected_completion: date


class CsrcFilingCompleted(Event, frozen=True):
    issuer_id: str
    completed_on: date


class ListingAdvanced(Event, frozen=True):
    issuer_id: str
    trigger: str
    from_state: str
    to_state: str
    on: date
    vetting_round: int = 0


class ListingApplicationLapsed(Event, frozen=True):
    issuer_id: str
    filed_on: date
    lapsed_on: date


class IssuerListed(Event, frozen=True):
    issuer_id: str
    name: str
    route: str
    listed_on: date
    stock_name_markers: list[str]
    expected_market_cap_hkd: int
    board_lot: int


__all__ = [
    "CsrcFilingCompleted",
    "CsrcFilingSubmitted",
    "IssuerListed",
    "IssuerProfileSubmitted",
    "ListingAdvanced",
    "ListingApplicationFiled",
    "ListingApplicationLapsed",
    "TechChannelEngaged",
]
