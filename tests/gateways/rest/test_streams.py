"""The WebSocket market feed forwards market data only."""

from __future__ import annotations

from lionrock.gateways.rest.streams import MARKET_EVENT_TYPES


def test_market_feed_allow_list_excludes_orders_and_settlement() -> None:
    assert {"TradeExecuted", "MarketDepthUpdated", "AuctionIndicativeUpdated", "ClosingPriceSet", "InstrumentListed"} <= MARKET_EVENT_TYPES
    assert not {"IpoSettlementInstructed", "OrderAccepted", "OrderRejected", "OrderCancelled"} & MARKET_EVENT_TYPES
