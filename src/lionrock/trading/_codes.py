"""Reject codes of the trading venue (2000-2999; stable, never reused)."""

from __future__ import annotations

from enum import IntEnum

from lionrock.kernel.errors import Reject, reject_codes


@reject_codes("trading")
class TradingCode(IntEnum):
    UNKNOWN_INSTRUMENT = 2001
    INSTRUMENT_EXISTS = 2002
    INVALID_BOARD_LOT = 2003
    INVALID_CURRENCY = 2004
    INVALID_VCM_CLASS = 2005
    INVALID_INSTRUMENT = 2006
    NOT_A_TRADING_DAY = 2010
    DAY_IN_PROGRESS = 2011
    NO_RULES_IN_FORCE = 2012
    TICK_REQUIRED = 2013
    SESSION_CLOSED = 2014
    INVALID_SIDE = 2020
    INVALID_ORDER_TYPE = 2021
    ORDER_TYPE_NOT_IN_SESSION = 2022
    ODD_LOT = 2023
    INVALID_QUANTITY = 2024
    PRICE_NOT_ON_SPREAD_GRID = 2025
    PRICE_OUTSIDE_SPREAD_TABLE = 2026
    PRICE_DEVIATES_FROM_NOMINAL = 2027
    PRICE_TOO_FAR_FROM_BEST = 2028
    PRICE_THROUGH_BEST = 2029
    PRICE_BEYOND_QUEUE_LIMIT = 2030
    PRICE_OUTSIDE_AUCTION_LIMIT = 2031
    PRICE_OUTSIDE_VCM_BAND = 2032
    DUPLICATE_CLIENT_ORDER_ID = 2033
    UNKNOWN_ORDER = 2034
    NOT_ORDER_OWNER = 2035
    AMEND_WOULD_TRADE = 2036
    AMEND_NO_CHANGE = 2037
    LIMIT_EXCEEDED = 2038
    INVALID_CLIENT_ORDER_ID = 2039
    INVALID_PARTY = 2040
    CANCEL_NOT_IN_SESSION = 2041
    AMEND_NOT_IN_SESSION = 2042
    SOUTHBOUND_AMEND_INCREASE = 2043
    SHORT_SELL_NOT_DESIGNATED = 2044
    SHORT_SELL_NOT_A_SELL = 2045
    SHORT_SELL_TICK_RULE = 2046
    ORDER_SIZE_EXCEEDED = 2047
    PRICE_QUEUE_FULL = 2048


__all__ = ["TradingCode"]


def unknown_client_order(participant: str, client_order_id: str) -> Reject:
    """The rejection of a cancel or amend naming a client order id the participant never used
    today (one definition for the Python path and the compiled fast path)."""
    return Reject(
        TradingCode.UNKNOWN_ORDER, "client_order_id", f"{participant} has no order with client order id {client_order_id!r} today"
    )


def order_not_live(order_id: int) -> Reject:
    """The rejection of a cancel or amend of an order that is not resting (filled, cancelled)."""
    return Reject(TradingCode.UNKNOWN_ORDER, "order_id", f"order {order_id} is not live (filled, cancelled or never accepted)")
