"""Events the trading venue emits (imports only `lionrock.kernel`; other contexts may import it).

Market-data events carry ``md_seq``, a per-instrument sequence number that rises by one with each
market-data event of that instrument, so a subscriber can detect a gap.
"""

from __future__ import annotations

from enum import StrEnum

from lionrock.kernel.errors import Rejection
from lionrock.kernel.messages import Event


class InstrumentListed(Event, frozen=True):
    instrument: str
    board_lot: int
    nominal_price: int
    currency: str
    vcm_class: str
    counter_of: str
    name: str
    closing_auction: bool
    short_sell_designated: bool = False


class ShortSellingDesignationChanged(Event, frozen=True):
    """The instrument joined (``designated``) or left the Designated Securities for short selling."""

    instrument: str
    designated: bool


class TradingDayStarted(Event, frozen=True):
    """The day's timers: ``timers`` lists ``(at_ns, what, instrument)`` in the order they run;
    ``what`` is a phase name, ``"AUCTION"`` (an instrument's random match or close) or ``"VCM_END"``."""

    day: str
    half_day: bool
    timers: list[tuple[int, str, str]]


class Phase(StrEnum):
    """The venue's trading phases, in the order of a full day (`TradingPhaseChanged` carries the
    value as a plain string; the venue's `PHASES` table has one row per member)."""

    CLOSED = "CLOSED"
    BEFORE_OPEN = "BEFORE_OPEN"
    POS_INPUT = "POS_INPUT"
    POS_NO_CANCEL = "POS_NO_CANCEL"
    POS_RANDOM_MATCHING = "POS_RANDOM_MATCHING"
    POS_BLOCKING = "POS_BLOCKING"
    CTS_MORNING = "CTS_MORNING"
    LUNCH = "LUNCH"
    LUNCH_CANCEL = "LUNCH_CANCEL"
    CTS_AFTERNOON = "CTS_AFTERNOON"
    CAS_REFERENCE = "CAS_REFERENCE"
    CAS_INPUT = "CAS_INPUT"
    CAS_NO_CANCEL = "CAS_NO_CANCEL"
    CAS_RANDOM_CLOSE = "CAS_RANDOM_CLOSE"
    DAY_CLOSED = "DAY_CLOSED"


class TradingPhaseChanged(Event, frozen=True):
    day: str
    phase: str
    """A `Phase` value."""
    previous: str


class OrderAccepted(Event, frozen=True):
    order_id: int
    instrument: str
    participant: str
    account: str
    client_order_id: str
    side: str
    order_type: str
    price: int
    quantity: int
    channel: str
    short_sell: bool = False


class OrderRejected(Event, frozen=True):
    """An order that arrived by an observed event (southbound) and failed; direct commands reject."""

    instrument: str
    participant: str
    client_order_id: str
    channel: str
    rejection: Rejection


class OrderRetryAcknowledged(Event, frozen=True):
    """An exact retry of an order already accepted: nothing new happened."""

    order_id: int
    instrument: str
    participant: str
    client_order_id: str
    remaining: int


class OrderCancelled(Event, frozen=True):
    """``reason``: CLIENT, SPECIAL_LIMIT_REMAINDER, AT_AUCTION_UNMATCHED, NOMINAL_PRICE_DEVIATION,
    CAS_PRICE_LIMIT, VCM_TRIGGERED or END_OF_DAY."""

    order_id: int
    instrument: str
    participant: str
    client_order_id: str
    remaining: int
    reason: str


class OrderAmended(Event, frozen=True):
    order_id: int
    instrument: str
    participant: str
    client_order_id: str
    price: int
    quantity: int
    priority_kept: bool


class TradeExecuted(Event, frozen=True):
    """One fill. ``aggressor`` is the incoming side (B/S) in continuous trading, ``A`` in auctions."""

    instrument: str
    trade_id: int
    price: int
    quantity: int
    currency: str
    buyer: str
    buyer_participant: str
    buy_order_id: int
    seller: str
    seller_participant: str
    sell_order_id: int
    aggressor: str
    buy_remaining: int = 0
    sell_remaining: int = 0
    md_seq: int = 0


class MarketDepthUpdated(Event, frozen=True):
    """Price levels changed by one command: ``bids``/``asks`` list ``(price, quantity, orders)``
    with quantity 0 for a level that emptied; ``bid_*``/``ask_*`` are the new top of book (0 if
    empty). At-auction orders (no price) are not shown as levels; see the indicative price."""

    instrument: str
    md_seq: int
    bid_price: int
    bid_quantity: int
    ask_price: int
    ask_quantity: int
    bids: list[tuple[int, int, int]]
    asks: list[tuple[int, int, int]]


class AuctionIndicativeUpdated(Event, frozen=True):
    """Indicative equilibrium price and volume during an auction (``price`` 0 when there is none)."""

    instrument: str
    md_seq: int
    session: str
    price: int
    quantity: int
    surplus: int
    surplus_side: str


class AuctionCompleted(Event, frozen=True):
    instrument: str
    md_seq: int
    session: str
    price: int
    quantity: int
    method: str


class ClosingAuctionReferenceSet(Event, frozen=True):
    instrument: str
    md_seq: int
    price: int
    lower_price: int
    upper_price: int


class VolatilityCoolingOffStarted(Event, frozen=True):
    instrument: str
    md_seq: int
    reference_price: int
    lower_price: int
    upper_price: int
    trigger_price: int
    ends_at_ns: int


class VolatilityCoolingOffEnded(Event, frozen=True):
    instrument: str
    md_seq: int
    reason: str


class ClosingPriceSet(Event, frozen=True):
    """``method``: CAS_FINAL (the closing auction's price), CAS_REFERENCE (no auction trade: the
    reference price), MEDIAN_NOMINAL (no closing auction for this instrument), PREVIOUS_CLOSE."""

    instrument: str
    md_seq: int
    day: str
    price: int
    method: str
    open_price: int
    high_price: int
    low_price: int
    volume: int


__all__ = [
    "AuctionCompleted",
    "AuctionIndicativeUpdated",
    "ClosingAuctionReferenceSet",
    "ClosingPriceSet",
    "InstrumentListed",
    "MarketDepthUpdated",
    "OrderAccepted",
    "OrderAmended",
    "OrderCancelled",
    "OrderRejected",
    "OrderRetryAcknowledged",
    "Phase",
    "ShortSellingDesignationChanged",
    "TradeExecuted",
    "TradingDayStarted",
    "TradingPhaseChanged",
    "VolatilityCoolingOffEnded",
    "VolatilityCoolingOffStarted",
]
