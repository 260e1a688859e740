"""Commands the trading venue executes (imports only `lionrock.kernel`; other contexts may import it).

Prices are integer ticks of 0.001 (``12.34`` is ``12_340``); quantities are shares. Time is never
a field: it is the sequencer's stamp. Timers arrive as `TradingTick` commands.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, get_args

from lionrock.kernel.messages import Command


class Side(StrEnum):
    """An order's side as the wire, the journal and the events carry it."""

    BUY = "B"
    SELL = "S"


class OrderType(StrEnum):
    """The HKEX order types. Time in force is part of the type: a special limit order is
    immediate-or-cancel, an at-auction (limit) order lives for its auction session."""

    LIMIT = "LIMIT"
    """Continuous trading: matches only at its own price (one price queue); the rest queues there."""
    ENHANCED_LIMIT = "ENHANCED_LIMIT"
    """Continuous trading: matches up to ten price queues; the rest queues at its price."""
    SPECIAL_LIMIT = "SPECIAL_LIMIT"
    """Continuous trading: matches up to ten price queues; the rest is cancelled."""
    AT_AUCTION = "AT_AUCTION"
    """Auctions: no price (``price=0``); matched first, at the final equilibrium price."""
    AT_AUCTION_LIMIT = "AT_AUCTION_LIMIT"
    """Auctions: priced; never matched at a price worse than its own."""


# The values as plain ``str``: commands and events hold plain strings (a client's unknown side is
# a coded rejection, not a decoding error, and the compiled core types these fields ``str``), so
# these names, not the members, are what the venue and the simulator put in them.
BUY: Final = Side.BUY.value
SELL: Final = Side.SELL.value
SIDES: tuple[str, ...] = tuple(s.value for s in Side)
LIMIT: Final = OrderType.LIMIT.value
ENHANCED_LIMIT: Final = OrderType.ENHANCED_LIMIT.value
SPECIAL_LIMIT: Final = OrderType.SPECIAL_LIMIT.value
AT_AUCTION: Final = OrderType.AT_AUCTION.value
AT_AUCTION_LIMIT: Final = OrderType.AT_AUCTION_LIMIT.value
ORDER_TYPES: tuple[str, ...] = tuple(t.value for t in OrderType)


class ListInstrument(Command, frozen=True):
    """Open a book for a stock code (one counter). ``nominal_price`` is the previous close, or the
    IPO price on the first day. ``vcm_class`` is ``""`` (not covered) or LARGE / MID / SMALL.
    ``counter_of`` names the paired counter of a dual-counter stock (``"02525"`` for ``"82525"``).
    ``closing_auction`` says whether the instrument takes part in the closing auction session.
    ``short_sell_designated``: a Designated Security, in which short sales may be made (Rules of
    the Exchange, Schedule 11); the list changes by `DesignateShortSelling`."""

    instrument: str
    board_lot: int
    nominal_price: int
    currency: str = "HKD"
    vcm_class: str = ""
    counter_of: str = ""
    name: str = ""
    closing_auction: bool = True
    short_sell_designated: bool = False


class StartTradingDay(Command, frozen=True):
    """Set the day's timetable from the XHKG calendar (``day`` is an ISO date). ``seed`` draws the
    random matching (pre-opening) and random close (closing auction) moments of each instrument."""

    day: str
    seed: int = 0


class TradingTick(Command, frozen=True):
    """Run every timer due at or before the stamp's time: phase changes, auctions, the end of a
    volatility cooling-off period. Other commands are refused while a timer is overdue."""


class DesignateShortSelling(Command, frozen=True):
    """Add a listed instrument to, or remove it from, the Designated Securities eligible for short
    selling (the exchange revises the list quarterly; Schedule 11 of the Rules of the Exchange).
    Orders already resting are not affected."""

    instrument: str
    designated: bool


class PlaceOrder(Command, frozen=True):
    """``short_sell`` flags a short sale (a covered one: the participant vouches for the borrow):
    a sell, in a Designated Security, not below the tick-rule price of the session."""

    instrument: str
    participant: str
    account: str
    client_order_id: str
    side: str
    order_type: str
    price: int
    quantity: int
    channel: str = ""
    short_sell: bool = False


SOUTHBOUND_CHANNEL_PREFIX = "SB-"
"""The channel of an order trading places for a southbound admission (``SB-<link>``): connect acts
on such orders' events only (`ConnectContext.observes`), so it is the one spelling both use."""


class CancelOrder(Command, frozen=True):
    """Cancel by venue ``order_id``, or (``order_id=0``) by the participant's ``client_order_id``."""

    instrument: str
    participant: str
    order_id: int = 0
    client_order_id: str = ""


class AmendOrder(Command, frozen=True):
    """Change an order's outstanding ``quantity`` and/or ``price`` (``price=0``: unchanged).
    Reducing the quantity keeps time priority; any other change loses it."""

    instrument: str
    participant: str
    quantity: int
    price: int = 0
    order_id: int = 0
    client_order_id: str = ""


TradingCommand = ListInstrument | DesignateShortSelling | StartTradingDay | TradingTick | PlaceOrder | CancelOrder | AmendOrder
"""The closed union of trading's commands (`TradingContext.execute_python` matches it exhaustively)."""

TRADING_COMMANDS: tuple[type[Command], ...] = get_args(TradingCommand)
"""The same commands as a tuple of classes (the context's ``command_types``)."""

__all__ = [
    "AT_AUCTION",
    "AT_AUCTION_LIMIT",
    "BUY",
    "ENHANCED_LIMIT",
    "LIMIT",
    "ORDER_TYPES",
    "SELL",
    "SIDES",
    "SOUTHBOUND_CHANNEL_PREFIX",
    "SPECIAL_LIMIT",
    "TRADING_COMMANDS",
    "AmendOrder",
    "CancelOrder",
    "DesignateShortSelling",
    "ListInstrument",
    "OrderType",
    "PlaceOrder",
    "Side",
    "StartTradingDay",
    "TradingCommand",
    "TradingTick",
]
