"""WebSockets: the market feed of one instrument and the caller's own events.

Each stream subscribes to the event hub first, then sends a snapshot from the read models with the
``seq`` it reflects, then forwards only events after it: nothing lost between the two, nothing
counted twice. The caller is `http.identify`, as for REST and the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from lionrock.kernel.messages import Event
from lionrock.readmodel import queries
from lionrock.readmodel.tenancy import Principal
from lionrock.service.auth import AuthError
from lionrock.service.hub import Published
from lionrock.service.root import Service
from lionrock.trading.events import (
    AuctionCompleted,
    AuctionIndicativeUpdated,
    ClosingAuctionReferenceSet,
    ClosingPriceSet,
    InstrumentListed,
    MarketDepthUpdated,
    TradeExecuted,
    TradingDayStarted,
    TradingPhaseChanged,
    VolatilityCoolingOffEnded,
    VolatilityCoolingOffStarted,
)

from .http import identify, service_of

router = APIRouter()
_ENC = msgspec.json.Encoder()


async def _caller(ws: WebSocket) -> Principal | None:
    try:
        return identify(ws)
    except AuthError:
        return None


async def pump(service: Service, ws: WebSocket, accept: Any, first: Any = None, shape: Any = None, user: str = "") -> None:
    sub_id, q = service.hub.subscribe(accept)  # subscribe, then snapshot: no event falls between
    after = 0
    try:
        if first is not None:  # () -> message with the "seq" it reflects; events up to it are in it
            message = first()
            after = message["seq"]
            await ws.send_text(_ENC.encode(message).decode())
        receiver = asyncio.ensure_future(ws.receive_text())
        while True:
            getter = asyncio.ensure_future(q.get())
            done, _ = await asyncio.wait({getter, receiver}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            if user and not service.auth.is_active(user):  # disabled by an operator: checked at least once a second
                getter.cancel()
                await ws.close(code=4403, reason="user disabled")
                return
            if not done:
                getter.cancel()
                continue
            if receiver in done:
                getter.cancel()
                receiver.result()  # raises WebSocketDisconnect when the client leaves
                receiver = asyncio.ensure_future(ws.receive_text())
                continue
            pub = getter.result()
            if pub is None:
                await ws.close(code=1013, reason="too slow: more than 10,000 events behind")
                return
            if pub.seq <= after:  # already reflected in the snapshot
                continue
            message = _ws_message(pub) if shape is None else shape(pub, q.empty())
            await ws.send_text(_ENC.encode(message).decode())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        service.hub.unsubscribe(sub_id)
        with contextlib.suppress(Exception):
            receiver.cancel()


@router.websocket("/v1/ws/market/{instrument}")
async def ws_market(ws: WebSocket, instrument: str) -> None:
    """Trades, depth changes and auction indicative prices of one instrument (no account names).
    The first message is a snapshot (depth, newest trades) with the ``seq`` it reflects; the
    events after it follow, each with its ``seq`` (none at or below the snapshot's)."""
    service = service_of(ws)
    p = await _caller(ws)
    if p is None:
        await ws.close(code=4401, reason="sign in or pass ?key=")
        return
    await ws.accept()

    def snapshot() -> dict[str, Any]:
        seq, (depth, trades) = queries.consistent_snapshot(
            service.read, lambda: (queries.depth(service.read, instrument, 10), queries.trades(service.read, instrument, 50))
        )
        return {"type": "snapshot", "seq": seq, "instrument": instrument, "depth": depth, "trades": trades}

    def shape(pub: Published, last_of_burst: bool) -> dict[str, Any]:
        message = _ws_message(pub)
        for name in _MARKET_PRIVATE:
            message["event"].pop(name, None)
        if last_of_burst:
            message["depth"] = queries.depth(service.read, instrument, 10)
        return message

    await pump(
        service,
        ws,
        lambda pub: pub.instrument in (instrument, None) and isinstance(pub.event, _MARKET_EVENTS),
        snapshot,
        shape,
        user=p.username,
    )


@router.websocket("/v1/ws/me")
async def ws_me(ws: WebSocket) -> None:
    """The signed-in user's own order, execution and application events, after a first snapshot
    message (``type`` snapshot: the newest 200 orders and the ``seq`` they reflect)."""
    service = service_of(ws)
    p = await _caller(ws)
    if p is None:
        await ws.close(code=4401, reason="sign in or pass ?key=")
        return
    await ws.accept()
    mine = set(p.parties())

    def snapshot() -> dict[str, Any]:
        seq, orders = queries.consistent_snapshot(service.read, lambda: queries.orders(service.read, p, limit=200))
        return {"type": "snapshot", "seq": seq, "orders": orders}

    if p.sees_all:
        await pump(service, ws, lambda pub: True, snapshot, user=p.username)
    else:

        def own(pub: Published, last_of_burst: bool) -> dict[str, Any]:
            message = _ws_message(pub)
            message["event"] = queries.redact(message["event"], p)
            return message

        await pump(service, ws, lambda pub: bool(mine & pub.parties), snapshot, shape=own, user=p.username)


_MARKET_EVENTS: tuple[type[Event], ...] = (
    TradeExecuted,
    MarketDepthUpdated,
    AuctionIndicativeUpdated,
    AuctionCompleted,
    ClosingAuctionReferenceSet,
    ClosingPriceSet,
    VolatilityCoolingOffStarted,
    VolatilityCoolingOffEnded,
    TradingPhaseChanged,
    TradingDayStarted,
    InstrumentListed,
)
"""The only events the market feed forwards (market data; nothing about an account's orders,
applications or settlement)."""
MARKET_EVENT_TYPES = frozenset(t.__name__ for t in _MARKET_EVENTS)
"""Their type names (as the feed's messages name them)."""
_MARKET_PRIVATE = ("buyer", "seller", "account", "buyer_participant", "seller_participant", "participant", "client_order_id")


def _ws_message(pub: Published) -> dict[str, Any]:
    body = msgspec.to_builtins(pub.event)
    if isinstance(body, dict):
        body["type"] = type(pub.event).__name__
    return {"seq": pub.seq, "at_ns": pub.at_ns, "event": body}


__all__ = ["MARKET_EVENT_TYPES", "router"]
