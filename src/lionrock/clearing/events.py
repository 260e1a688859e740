"""Events of the clearing context (imports only `lionrock.kernel`; other contexts may import it).

Every change to a balance is a `Posting` carried by an event's ``postings`` list: ``amount`` of one
``asset`` leaves ``source`` and enters ``destination`` (a balanced double entry by construction).
Assets are a currency code (``"HKD"``, ``"CNY"``, ``"USD"``) or ``"SEC:<security>"``. A projection
(or `lionrock audit`) rebuilds every balance by folding the postings of these events in order.
"""

from __future__ import annotations

from datetime import date

import msgspec

from lionrock.kernel.messages import Event
from lionrock.kernel.money import Rate


class Posting(msgspec.Struct, frozen=True, array_like=True, gc=False):
    source: str
    destination: str
    asset: str
    amount: int


class ClearingAccountOpened(Event, frozen=True):
    account: str
    kind: str
    name: str


class CashDeposited(Event, frozen=True):
    account: str
    currency: str
    amount: int
    source: str
    postings: list[Posting]


class CashWithdrawn(Event, frozen=True):
    account: str
    currency: str
    amount: int
    destination: str
    postings: list[Posting]


class SecuritiesCredited(Event, frozen=True):
    account: str
    security: str
    quantity: int
    source: str
    issued: bool
    """True when the source is an issuer (new shares); False for a transfer between holders."""
    postings: list[Posting]


class FxRatesRecorded(Event, frozen=True):
    day: date
    rates: list[tuple[str, str, Rate]]
    """(base, quote, rate): 1 base = rate quote."""


class CurrencyConverted(Event, frozen=True):
    account: str
    sell_currency: str
    sell_amount: int
    buy_currency: str
    buy_amount: int
    rate: Rate
    rate_day: date
    postings: list[Posting]


class SecurityRegistered(Event, frozen=True):
    security: str
    counters: list[tuple[str, str]]


class CountersTransferred(Event, frozen=True):
    """An inter-counter transfer. Positions are held per security (HKSCC's Single Tranche Multiple
    Counter model from 30 Jun 2025), so no balance moves: the event records the instruction."""

    account: str
    security: str
    from_instrument: str
    to_instrument: str
    quantity: int
    postings: list[Posting] = []


class TradeCleared(Event, frozen=True):
    """HKSCC novated a trade: obligations due on ``settle_date``; each side's charges (HKD)."""

    trade_id: int
    instrument: str
    security: str
    currency: str
    price: int
    quantity: int
    consideration: int
    consideration_hkd: int
    trade_date: date
    settle_date: date
    buyer: str
    seller: str
    buyer_charges: list[tuple[str, int]]
    seller_charges: list[tuple[str, int]]


class TradeClearingDeferred(Event, frozen=True):
    """A non-HKD trade whose charges need an exchange rate no one has recorded yet; it joins the
    netting set at the first settlement run after a rate for its trade date (or earlier) exists."""

    trade_id: int
    instrument: str
    currency: str
    trade_date: date
    reason: str


class SettlementFailed(Event, frozen=True):
    """A net position that could not settle: ``kind`` is SECURITIES (the deliverer lacks shares),
    MONEY (a payer lacks cash) or FX_RATE. It stays open and is retried at every later run."""

    day: date
    account: str
    security: str
    currency: str
    kind: str
    asset: str
    required: int
    available: int
    due_date: date
    days_failed: int


class BuyInRequired(Event, frozen=True):
    """Follow-up of a failed delivery: the short position is due for buy-in by HKSCC."""

    day: date
    account: str
    security: str
    quantity: int
    due_date: date
    rule: str


class SettlementRunCompleted(Event, frozen=True):
    day: date
    positions_settled: int
    positions_open: int
    awaiting_delivery: int
    """Receiving positions that wait because a deliverer failed (not the receiver's failure)."""
    failures: int
    postings: list[Posting]


class IpoFundsHeld(Event, frozen=True):
    """Pre-funding of public applications moved to the offering's FINI hold account. Where an
    applicant's cash falls short, the shortfall is drawn from ``X:FUNDING:<participant>`` (IPO
    financing) and listed in ``financed``."""

    offering_id: str
    currency: str
    hold_account: str
    total: int
    financed: list[tuple[str, int]]
    postings: list[Posting]


class IpoSettled(Event, frozen=True):
    offering_id: str
    security: str
    currency: str
    issuer_account: str
    shares_delivered: int
    gross_proceeds: int
    refunds: int
    fees: int
    financed: list[tuple[str, int]]
    notes: list[str]
    postings: list[Posting]


class IpoSettlementFailed(Event, frozen=True):
    offering_id: str
    reason: str


CLEARING_EVENTS: tuple[type[Event], ...] = (
    ClearingAccountOpened,
    CashDeposited,
    CashWithdrawn,
    SecuritiesCredited,
    FxRatesRecorded,
    CurrencyConverted,
    SecurityRegistered,
    CountersTransferred,
    TradeCleared,
    TradeClearingDeferred,
    SettlementFailed,
    BuyInRequired,
    SettlementRunCompleted,
    IpoFundsHeld,
    IpoSettled,
    IpoSettlementFailed,
)

__all__ = [
    "CLEARING_EVENTS",
    "BuyInRequired",
    "CashDeposited",
    "CashWithdrawn",
    "ClearingAccountOpened",
    "CountersTransferred",
    "CurrencyConverted",
    "FxRatesRecorded",
    "IpoFundsHeld",
    "IpoSettled",
    "IpoSettlementFailed",
    "Posting",
    "SecuritiesCredited",
    "SecurityRegistered",
    "SettlementFailed",
    "SettlementRunCompleted",
    "TradeCleared",
    "TradeClearingDeferred",
]
