"""Events of the connect context (imports only the kernel and trading's commands).

Trading observes `SouthboundOrderAdmitted` (the cross-context contract); the quota events let a
projection show each link's daily quota balance.
"""

from __future__ import annotations

from datetime import date

from lionrock.kernel.messages import Event
from lionrock.trading.commands import PlaceOrder


class SouthboundOrderAdmitted(Event, frozen=True):
    link: str
    order: PlaceOrder
    quota_used: int
    """Quota reserved by this order (CNY minor units; 0 for a sell)."""
    quota_balance: int
    """The link's daily quota balance after this order (CNY minor units)."""


class SouthboundQuotaReturned(Event, frozen=True):
    link: str
    day: date
    amount: int
    balance: int
    reason: str
    """CANCELLED, REJECTED, AMENDED, BETTER_PRICE or SELL_TRADE."""
    order_id: int


class SouthboundQuotaExhausted(Event, frozen=True):
    link: str
    day: date
    balance: int
    rest_of_day: bool
    """True in continuous trading (no more buy orders today); False in the opening auction."""


class SouthboundEligibilityChanged(Event, frozen=True):
    instrument: str
    link: str
    status: str
    """ELIGIBLE, SELL_ONLY or INELIGIBLE."""
    previous: str
    day: date
    reasons: list[str]


class FastEntryEvaluated(Event, frozen=True):
    instrument: str
    rank: int
    qualifies: bool
    effective_from: date | None
    rule: str


class SouthboundInvestorRegistered(Event, frozen=True):
    account: str
    investor_type: str
    assets_cny: int


class ConnectDataUpdated(Event, frozen=True):
    """Index constituents, market caps, A+H status or a profile changed (``what`` says which)."""

    what: str
    instruments: list[str]


CONNECT_EVENTS: tuple[type[Event], ...] = (
    SouthboundOrderAdmitted,
    SouthboundQuotaReturned,
    SouthboundQuotaExhausted,
    SouthboundEligibilityChanged,
    FastEntryEvaluated,
    SouthboundInvestorRegistered,
    ConnectDataUpdated,
)

__all__ = [
    "CONNECT_EVENTS",
    "ConnectDataUpdated",
    "FastEntryEvaluated",
    "SouthboundEligibilityChanged",
    "SouthboundInvestorRegistered",
    "SouthboundOrderAdmitted",
    "SouthboundQuotaExhausted",
    "SouthboundQuotaReturned",
]
