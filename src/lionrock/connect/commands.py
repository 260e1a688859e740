"""Commands of the connect context (imports only the kernel and trading's commands).

`PlaceSouthboundOrder` is the southbound gateway of the cross-context contract: connect checks the
link, the security's eligibility, the investor and the daily quota, then emits
`SouthboundOrderAdmitted` which trading handles as a `PlaceOrder` on channel ``"SB-<link>"``.
"""

from __future__ import annotations

from datetime import date
from typing import get_args

from lionrock.kernel.messages import Command
from lionrock.trading.commands import PlaceOrder


class PlaceSouthboundOrder(Command, frozen=True):
    link: str
    """``"SH"`` (Shanghai-Hong Kong Stock Connect) or ``"SZ"`` (Shenzhen-Hong Kong)."""
    order: PlaceOrder


class SetIndexConstituents(Command, frozen=True):
    """Replace the constituents of one Hang Seng Composite size index (``"HSLI"`` LargeCap,
    ``"HSMI"`` MidCap, ``"HSSI"`` SmallCap), as after a semi-annual review."""

    index: str
    instruments: list[str]


class SetMarketCaps(Command, frozen=True):
    """Market capitalisation (12-month average, HKD minor units) per instrument."""

    market_caps: list[tuple[str, int]]


class SetAhStatus(Command, frozen=True):
    """``a_share_exchange`` ``"SSE"`` / ``"SZSE"`` for the H shares of an A+H company (``""``: none);
    ``risk_alert`` when the A shares are under risk alert."""

    instrument: str
    a_share_exchange: str
    risk_alert: bool = False


class SetConnectProfile(Command, frozen=True):
    """Facts eligibility depends on besides the index: trading currency, listing date (a new A+H
    listing waits for its stabilisation period), foreign company, secondary listing."""

    instrument: str
    currency: str = "HKD"
    listing_date: date | None = None
    foreign_company: bool = False
    secondary_listing: bool = False


class EvaluateFastEntry(Command, frozen=True):
    """A new listing's day-1 market cap (HKD minor) ranked against HSCI constituents: in the top
    ranks it joins after the close of its N-th trading day (Hang Seng fast entry)."""

    instrument: str
    listing_date: date
    market_cap: int


class ReviewSouthboundEligibility(Command, frozen=True):
    """Re-evaluate every known security on the stamp's date (run daily: time-based entries such as
    the end of an A+H stabilisation period or a fast entry take effect here)."""


class RegisterSouthboundInvestor(Command, frozen=True):
    """A mainland investor account allowed to trade southbound: ``investor_type`` ``"INDIVIDUAL"``
    (needs assets of at least the rule's threshold, CNY minor units) or ``"INSTITUTION"``."""

    account: str
    investor_type: str
    assets_cny: int = 0


ConnectCommand = (
    PlaceSouthboundOrder
    | SetIndexConstituents
    | SetMarketCaps
    | SetAhStatus
    | SetConnectProfile
    | EvaluateFastEntry
    | ReviewSouthboundEligibility
    | RegisterSouthboundInvestor
)
"""The closed union of connect's commands (`ConnectContext.execute` matches it exhaustively)."""

CONNECT_COMMANDS: tuple[type[Command], ...] = get_args(ConnectCommand)
"""The same commands as a tuple of classes (the context's ``command_types``)."""

__all__ = [
    "CONNECT_COMMANDS",
    "ConnectCommand",
    "EvaluateFastEntry",
    "PlaceSouthboundOrder",
    "RegisterSouthboundInvestor",
    "ReviewSouthboundEligibility",
    "SetAhStatus",
    "SetConnectProfile",
    "SetIndexConstituents",
    "SetMarketCaps",
]
