"""Order events -> ExecutionReports (35=8), and the order views they are built from.

A `Reporter` belongs to one session pair (`session.SessionState`): it keeps the pair's view of
each order it reports on (`OrderView`: quantities, CumQty, the value for AvgPx, the latest
ClOrdID) and the cancel or cancel/replace requests awaiting the event that answers them, and it
hands each report to its `Outbox` (the session state, which numbers, stores and sends it). It
dispatches with ``match`` on the event classes of the trading context. Every order event for the
session's participant (and, for an investor, its accounts) becomes a report: New, Trade (one per
fill, LastQty/LastPx), Canceled, Replaced; a rejected order is reported by the session that sent
it, from its own command's outcome (`order_rejected`), never from the hub.

The helpers at the end read the read models' ``events`` table back into `Published` events, for
the session's recovery after a restart (`session.SessionState.recover`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from lionrock.gateways.fix import tags
from lionrock.gateways.fix.framing import Fields, printable
from lionrock.gateways.fix.tags import ExecType, MsgType, OrdStatus, OrdType, Side
from lionrock.kernel.account import house_account
from lionrock.kernel.errors import Rejection
from lionrock.kernel.price import PRICE_SCALE
from lionrock.readmodel.projector import parties_of
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.hub import Published
from lionrock.trading.commands import BUY, SELL, PlaceOrder
from lionrock.trading.events import (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRetryAcknowledged,
    TradeExecuted,
)

SIDE_OUT = {BUY: Side.BUY, SELL: Side.SELL}
ALL_EVENTS = 1 << 31
"""An event index past any real one: position (T, ALL_EVENTS) means every event of seq T is handled."""


def price_text(ticks: int) -> str:
    whole, frac = divmod(ticks, PRICE_SCALE)
    return f"{whole}.{frac:03d}"


_seconds_cache: dict[int, str] = {}


def fix_time(at_ns: int) -> str:
    """UTCTimestamp (YYYYMMDD-HH:MM:SS.sss) of epoch nanoseconds (the seconds formatted once each).
    The cache holds several seconds: a report carries the engine's time (TransactTime) and the
    wall clock (SendingTime), which differ under a simulated venue clock, and a one-entry cache
    formatted both on every message (8% of the gateway's GIL time, bench api's FIX leg)."""
    seconds, ns = divmod(at_ns, 1_000_000_000)
    text = _seconds_cache.get(seconds)
    if text is None:
        if len(_seconds_cache) >= 64:
            _seconds_cache.clear()
        text = _seconds_cache[seconds] = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{ns // 1_000_000:03d}"


def utc_now() -> str:
    return fix_time(time.time_ns())


@dataclass
class OrderView:
    order_id: int
    cl_ord_id: str
    instrument: str
    side: str
    quantity: int
    price: int
    account: str
    cum_qty: int = 0
    cum_value: int = 0
    as_of: int = 0  # built from the read models at this engine seq: events up to it are already in the view
    short: bool = False  # a short sale: Side (54) 5


class Outbox(Protocol):
    """Where a `Reporter` puts what it makes: the session state, which numbers, stores and sends."""

    def send(self, msg_type: bytes, fields: Fields) -> None: ...

    def remember_cl(self, order_id: int, cl_ord_id: str) -> None:
        """An order is now known by a new ClOrdID (after a replace)."""

    def answered(self, orig: str, cl: str) -> None:
        """The pending request ``cl`` on the order known by ``orig`` has its answer."""


class Reporter:
    """Order events -> ExecutionReports for one session pair (see the module docstring)."""

    def __init__(self, outbox: Outbox, principal: Principal | None = None) -> None:
        self.outbox = outbox
        self.principal = principal
        self.orders: dict[int, OrderView] = {}
        self.pending_cl: dict[str, str] = {}  # orig ClOrdID -> ClOrdID of a cancel or cancel/replace awaiting its event
        self.transact = ""  # TransactTime (60) of the reports being made: the engine time of their event

    def wants(self, pub: Published) -> bool:
        """An order event this session reports: its participant's or accounts' (an operator: all).
        No OrderRejected here: an order's rejection is in the outcome of the command that carried
        it, so the session that sent that ClOrdID reports it from its own outcome, once; routing
        it by participant would tell the participant's other sessions of another client's reject
        and report it twice to the sender."""
        p = self.principal
        if p is None or not isinstance(pub.event, (OrderAccepted, TradeExecuted, OrderCancelled, OrderAmended)):
            return False
        if p.role == Role.OPERATOR:
            return True
        return house_account(p.participant) in pub.parties or bool(set(p.accounts) & pub.parties)

    def take_pending(self, orig: str) -> str:
        """The ClOrdID of the cancel or cancel/replace request pending on ``orig`` (the order's
        current ClOrdID), which the report of its outcome carries; else ``orig`` (a cancel the
        venue made: end of day, closing-auction limit)."""
        cl = self.pending_cl.pop(orig, None)
        if cl is None:
            return orig
        self.outbox.answered(orig, cl)
        return cl

    def report(self, pub: Published) -> None:
        exec_id = f"{pub.seq}-{pub.index}"
        self.transact = fix_time(pub.at_ns)
        match pub.event:
            case OrderAccepted() as e:
                self._accepted(e, exec_id)
            case TradeExecuted() as e:
                for oid in (e.buy_order_id, e.sell_order_id):
                    v = self.orders.get(oid)
                    if v is None or pub.seq <= v.as_of:
                        continue
                    v.cum_qty += e.quantity
                    v.cum_value += e.quantity * e.price
                    status = OrdStatus.FILLED if v.cum_qty >= v.quantity else OrdStatus.PARTIALLY_FILLED
                    self.execution_report(v, f"{exec_id}-{v.side}", ExecType.TRADE, status, last=(e.quantity, e.price))
            case OrderCancelled() as e:
                v = self.orders.get(e.order_id)
                if v is None or pub.seq <= v.as_of:
                    return
                cl = self.take_pending(v.cl_ord_id)
                self.execution_report(v, exec_id, ExecType.CANCELED, OrdStatus.CANCELED, leaves=0, cl=cl, orig=v.cl_ord_id, text=e.reason)
            case OrderAmended() as e:
                v = self.orders.get(e.order_id)
                if v is None or pub.seq <= v.as_of:
                    return
                self._amended(v, e, exec_id)
            case _:
                pass

    def _accepted(self, e: OrderAccepted, exec_id: str) -> None:
        p = self.principal
        if p is None or not p.can_trade_account(e.account) or (p.role == Role.OPERATOR and e.channel != "FIX"):
            return
        if e.order_id in self.orders:  # already in a view rebuilt from the read models
            return
        v = OrderView(e.order_id, e.client_order_id, e.instrument, e.side, e.quantity, e.price, e.account, short=bool(e.short_sell))
        self.orders[e.order_id] = v
        self.execution_report(v, exec_id, ExecType.NEW, OrdStatus.NEW)

    def _amended(self, v: OrderView, e: OrderAmended, exec_id: str) -> None:
        orig = v.cl_ord_id
        cl = self.take_pending(orig)
        v.quantity = v.cum_qty + e.quantity
        if e.price:
            v.price = e.price
        if cl != orig:
            v.cl_ord_id = cl
            self.outbox.remember_cl(v.order_id, cl)
        self.execution_report(v, exec_id, ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED if v.cum_qty else OrdStatus.NEW, cl=cl, orig=orig)

    def execution_report(
        self,
        v: OrderView,
        exec_id: str,
        exec_type: bytes,
        status: bytes,
        *,
        last: tuple[int, int] | None = None,
        leaves: int | None = None,
        cl: str | None = None,
        orig: str | None = None,
        text: str = "",
    ) -> None:
        remaining = max(v.quantity - v.cum_qty, 0) if leaves is None else leaves
        avg = price_text(v.cum_value // v.cum_qty) if v.cum_qty else "0"
        fields: list[tuple[int, Any]] = [
            (tags.ORDER_ID, v.order_id),
            (tags.CL_ORD_ID, cl or v.cl_ord_id),
            (tags.EXEC_ID, exec_id),
            (tags.EXEC_TYPE, exec_type),
            (tags.ORD_STATUS, status),
            (tags.SYMBOL, v.instrument),
            (tags.SIDE, Side.SELL_SHORT if v.short else SIDE_OUT[v.side]),
            (tags.ORDER_QTY, v.quantity),
            (tags.ORD_TYPE, OrdType.LIMIT if v.price else OrdType.MARKET),
            (tags.LEAVES_QTY, remaining),
            (tags.CUM_QTY, v.cum_qty),
            (tags.AVG_PX, avg),
            (tags.ACCOUNT, v.account),
            (tags.TRANSACT_TIME, self.transact),
        ]
        if v.price:
            fields.append((tags.PRICE, price_text(v.price)))
        if orig is not None:
            fields.append((tags.ORIG_CL_ORD_ID, orig))
        if last is not None:
            fields += [(tags.LAST_QTY, last[0]), (tags.LAST_PX, price_text(last[1]))]
        if text:
            fields.append((tags.TEXT, printable(text)))
        self.outbox.send(MsgType.EXECUTION_REPORT, fields)

    def order_rejected(self, command: PlaceOrder, side_code: bytes, transact: str, reason: int, text: str, exec_id: str) -> None:
        """ExecutionReport Rejected (150=8, 39=8) for a NewOrderSingle, OrdRejReason ``reason``."""
        self.outbox.send(
            MsgType.EXECUTION_REPORT,
            [
                (tags.ORDER_ID, "NONE"),
                (tags.CL_ORD_ID, command.client_order_id),
                (tags.EXEC_ID, exec_id),
                (tags.EXEC_TYPE, ExecType.REJECTED),
                (tags.ORD_STATUS, OrdStatus.REJECTED),
                (tags.SYMBOL, command.instrument),
                (tags.SIDE, side_code),
                (tags.ORDER_QTY, command.quantity),
                (tags.LEAVES_QTY, 0),
                (tags.CUM_QTY, 0),
                (tags.AVG_PX, 0),
                (tags.ORD_REJ_REASON, reason),
                (tags.TEXT, text),
                (tags.ACCOUNT, command.account),
                (tags.TRANSACT_TIME, transact),
            ],
        )

    def order_status(
        self, retry: OrderRetryAcknowledged, command: PlaceOrder, view: OrderView | None, side_code: bytes, transact: str, exec_id: str
    ) -> None:
        """ExecutionReport Order Status (150=I) of an order a PossDup NewOrderSingle repeated."""
        quantity = view.quantity if view is not None else command.quantity
        filled = view.cum_qty if view is not None else 0
        if retry.remaining:
            status = OrdStatus.PARTIALLY_FILLED if filled else OrdStatus.NEW
        else:
            status = OrdStatus.FILLED if filled >= quantity else OrdStatus.CANCELED
        fields: list[tuple[int, Any]] = [
            (tags.ORDER_ID, retry.order_id),
            (tags.CL_ORD_ID, command.client_order_id),
            (tags.EXEC_ID, exec_id),
            (tags.EXEC_TYPE, ExecType.ORDER_STATUS),
            (tags.ORD_STATUS, status),
            (tags.SYMBOL, retry.instrument),
            (tags.SIDE, side_code),
            (tags.ORDER_QTY, quantity),
            (tags.ORD_TYPE, OrdType.LIMIT if command.price else OrdType.MARKET),
            (tags.LEAVES_QTY, retry.remaining),
            (tags.CUM_QTY, filled),
            (tags.AVG_PX, price_text(view.cum_value // filled) if view is not None and filled else "0"),
            (tags.ACCOUNT, command.account),
            (tags.TRANSACT_TIME, transact),
        ]
        if command.price:
            fields.append((tags.PRICE, price_text(command.price)))
        fields.append((tags.TEXT, "PossDup resend of an order already processed: its current status"))
        self.outbox.send(MsgType.EXECUTION_REPORT, fields)


class _Silent:
    """An outbox that drops everything: for folding past events into views."""

    def send(self, msg_type: bytes, fields: Fields) -> None:
        pass

    def remember_cl(self, order_id: int, cl_ord_id: str) -> None:
        pass

    def answered(self, orig: str, cl: str) -> None:
        pass


def fold(principal: Principal, history: list[Published]) -> dict[int, OrderView]:
    """The order views that ``history`` (each order's own past events, oldest first) builds, with
    the report logic and nothing sent."""
    reporter = Reporter(_Silent(), principal)
    for pub in history:
        reporter.report(pub)
    return reporter.orders


def text_of(r: Rejection) -> str:
    rule = f" [{r.rule}]" if r.rule else ""
    return printable(f"{r.code} {r.reason}: {r.field}: {r.message}{rule}", 400)


# -- the read models' events, for recovery ---------------------------------------------------------------
_ORDER_EVENT_TYPES = ("OrderAccepted", "TradeExecuted", "OrderCancelled", "OrderAmended")
_decoder = msgspec.json.Decoder(OrderAccepted | TradeExecuted | OrderCancelled | OrderAmended)


def _published(row: tuple[Any, ...]) -> Published:
    """An order event from the ``events`` table's JSON (tagged by class name, as journaled)."""
    seq, idx, at_ns, body = int(row[0]), int(row[1]), int(row[2]), row[3]
    event = _decoder.decode(body)
    return Published(seq, at_ns, idx, event, frozenset(parties_of(event)), getattr(event, "instrument", None))


def order_ids(e: Any) -> tuple[int, ...]:
    match e:
        case TradeExecuted():
            return (e.buy_order_id, e.sell_order_id)
        case _:
            return (e.order_id,)


def order_events_after(read: Any, p: Principal, start: tuple[int, int], as_of: int) -> list[Published]:
    """The order events after ``start`` up to seq ``as_of`` naming the principal's participant or
    accounts (an operator: all of them), oldest first, from the read models' ``events`` table."""
    types = ", ".join(f"'{t}'" for t in _ORDER_EVENT_TYPES)
    if p.role == Role.OPERATOR:
        rows = read.execute(
            f"SELECT seq, idx, at_ns, body FROM events WHERE type IN ({types}) AND seq >= ? AND seq <= ? ORDER BY seq, idx",
            (start[0], as_of),
        )
    else:
        parties = [house_account(p.participant), *p.accounts]
        marks = ", ".join("?" for _ in parties)
        rows = read.execute(
            f"""SELECT DISTINCT e.seq, e.idx, e.at_ns, e.body FROM event_parties ep JOIN events e ON e.seq = ep.seq AND e.idx = ep.idx
                WHERE ep.party IN ({marks}) AND ep.seq >= ? AND ep.seq <= ? AND e.type IN ({types}) ORDER BY e.seq, e.idx""",
            (*parties, start[0], as_of),
        )
    return [_published(r) for r in rows if (int(r[0]), int(r[1])) > start]


def order_histories(read: Any, ids: set[int], until: tuple[int, int]) -> list[Published]:
    """Each order's own events (accepted, amended, filled) up to and including ``until``, oldest first."""
    ordered = sorted(ids)
    first: dict[str, int] = {}
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        for instrument, created in read.execute(
            f"SELECT instrument, MIN(created_seq) FROM orders WHERE order_id IN ({marks}) GROUP BY instrument", chunk
        ):
            first[instrument] = min(int(created), first.get(instrument, int(created)))
    out: list[Published] = []
    for instrument, created in sorted(first.items()):
        rows = read.execute(
            """SELECT seq, idx, at_ns, body FROM events WHERE instrument = ? AND type IN ('OrderAccepted', 'TradeExecuted', 'OrderAmended')
               AND seq >= ? AND seq <= ? ORDER BY seq, idx""",
            (instrument, created, until[0]),
        )
        for r in rows:
            if (int(r[0]), int(r[1])) <= until:
                pub = _published(r)
                if ids.intersection(order_ids(pub.event)):
                    out.append(pub)
    out.sort(key=lambda pub: (pub.seq, pub.index))
    return out


def filled_values(read: Any, ids: list[int]) -> dict[int, int]:
    """Sum of price x quantity over each order's trades (for AvgPx), from the read models."""
    out: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        for column in ("buy_order_id", "sell_order_id"):
            for oid, value in read.execute(
                f"SELECT {column}, SUM(price * quantity) FROM trades WHERE {column} IN ({marks}) GROUP BY {column}", chunk
            ):
                out[int(oid)] = out.get(int(oid), 0) + int(value)
    return out


__all__ = [
    "ALL_EVENTS",
    "OrderView",
    "Outbox",
    "Reporter",
    "filled_values",
    "fix_time",
    "fold",
    "order_events_after",
    "order_histories",
    "order_ids",
    "price_text",
    "text_of",
    "utc_now",
]
