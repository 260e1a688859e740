"""FIX 4.4 order entry: an asyncio TCP acceptor (loopback by default) on `simplefix`.

Session layer: Logon (35=A) must come first and carry Username (553) and Password (554) of a
broker, investor or operator user (argon2-verified; failures are audited and answered with a
Logout); HeartBtInt (108) drives Heartbeats and TestRequests; MsgSeqNum (34) is checked on every
message: a gap triggers one ResendRequest (35=2) and the later messages are held until it is
filled, a number too low without PossDupFlag (43=Y) ends the session; sequence numbers and the
store of sent messages belong to the (SenderCompID, TargetCompID) pair (`SessionState`) and are
persisted in the platform's storage (`FixSessionStore`: written before a message is sent), so a
Logon without ResetSeqNumFlag (141=Y) continues them, across gateway restarts too, and reports
produced while the client was away are resent on request; order views are rebuilt at start-up
from the read models (the venue's recovered state), and the events after the last one each pair
has stored reports for (its reported position, stored in the same transaction as the reports)
are reported then, so no report is lost or doubled by a crash (`SessionState.recover`); a ResendRequest from the client is
answered by resending application messages with PossDupFlag and OrigSendingTime and by
SequenceReset-GapFill (35=4, 123=Y) over admin messages; a SequenceReset moves the expected
number. Bad checksum or body length: the message is dropped
(as the FIX spec says for garbled messages); missing or malformed fields: Reject (35=3) with
SessionRejectReason (373) and RefTagID (371); unsupported types: BusinessMessageReject (35=j).

Application layer: NewOrderSingle (D) -> `PlaceOrder`, OrderCancelRequest (F) -> `CancelOrder`,
OrderCancelReplaceRequest (G) -> `AmendOrder`. Every order event for the session's participant
(and, for an investor, its accounts) comes back as an ExecutionReport (8) after it is durable:
New, Trade (one per fill, LastQty/LastPx), Canceled, Replaced, Rejected (OrdRejReason 99 and
Text naming the code, field and rule). A refused cancel or replace is an OrderCancelReject (9).

OrdType mapping (HKEX order types): 40=2 Limit -> LIMIT; 40=2 with TimeInForce 59=3 (IOC) ->
SPECIAL_LIMIT; 40=2 with ExecInst 18=e -> ENHANCED_LIMIT; 40=1 Market -> AT_AUCTION (price 0);
40=2 with 59=2 (At the Opening) or 59=7 (At the Close) -> AT_AUCTION_LIMIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import simplefix

from lionrock.adapters.auth import AuthError, Principal, Role
from lionrock.adapters.fix_store import FixSessionStore, fix_store_url
from lionrock.adapters.policy import Denied
from lionrock.adapters.projections import parties_of
from lionrock.adapters.runner import RunnerStopped
from lionrock.adapters.service import Published, Service
from lionrock.kernel.errors import Rejection
from lionrock.kernel.messages import Command
from lionrock.kernel.price import PRICE_SCALE, parse_price

log = logging.getLogger(__name__)
SOH = b"\x01"
ADMIN_TYPES = {b"0", b"1", b"2", b"3", b"4", b"5", b"A"}
HEADER_TAGS = {b"8", b"9", b"35", b"49", b"56", b"34", b"43", b"122", b"97", b"52", b"10"}
SIDE_IN = {b"1": "B", b"2": "S", b"5": "S"}  # 5: sell short (a short sale under Schedule 11)
SIDE_OUT = {"B": b"1", "S": b"2"}
SELL_SHORT = b"5"


def _px(ticks: int) -> str:
    whole, frac = divmod(ticks, PRICE_SCALE)
    return f"{whole}.{frac:03d}"


def checksum_ok(msg: simplefix.FixMessage) -> bool:
    """Recompute BodyLength (9) and CheckSum (10) from the parsed fields, in order."""
    raw = b"".join(bytes(t) + b"=" + bytes(v) + SOH for t, v in msg.pairs if bytes(t) != b"10")
    got = msg.get(10)
    if got is None or int(got) != sum(raw) % 256:
        return False
    body_start = raw.index(SOH, raw.index(SOH) + 1) + 1  # after 8= and 9=
    length = msg.get(9)
    return length is not None and int(length) == len(raw) - body_start


_RAW_LEN_TAGS = frozenset(str(t).encode() for t in simplefix.parser.RAW_LEN_TAGS)
_MAX_MESSAGE = 1 << 20


class FixFramer:
    """Splits the bytes of a connection into FIX messages in linear time.

    simplefix's parser cuts its whole buffer after every field, so a pipelining client that
    fills the socket (64 KiB, ~400 orders) cost ~0.1-0.2 ms a message in copying alone. Here a
    message runs, as in simplefix, from a BeginString (``8=FIX``) to the end of the first CheckSum
    field (``|10=nnn|``) after it; bytes before a BeginString are skipped. Its fields are split at
    SOH unless it carries a length-prefixed raw data field or anything simplefix would refuse (a
    non-numeric or zero-padded tag, an empty value): then simplefix parses that one message, so
    what is accepted and refused is simplefix's. BodyLength and CheckSum are checked by the
    session (`checksum_ok`), which ignores a garbled message as FIX asks."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.pos = 0

    def feed(self, data: bytes) -> None:
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += data

    def next(self) -> simplefix.FixMessage | None:
        """The next complete message, or None until more bytes are fed."""
        buf = self.buf
        start = buf.find(b"8=FIX", self.pos)
        if start < 0:
            self.pos = max(self.pos, len(buf) - 4)  # a BeginString may be arriving
            return None
        self.pos = start
        trailer = buf.find(b"\x0110=", start)
        if trailer < 0:
            if len(buf) - start > _MAX_MESSAGE:
                self.pos = start + 1  # no CheckSum in sight: not a message
            return None
        end = buf.find(SOH, trailer + 4)
        if end < 0:
            return None
        self.pos = end + 1
        return _parse_message(bytes(buf[start : end + 1]))


def _parse_message(raw: bytes) -> simplefix.FixMessage:
    pairs = []
    for item in raw[:-1].split(SOH):
        tag, eq, value = item.partition(b"=")
        if not eq or not value or not tag.isdigit() or tag[0] == 48 or tag in _RAW_LEN_TAGS:
            parser = simplefix.FixParser()  # raw data, or something to refuse: simplefix decides
            parser.append_buffer(raw)
            msg = parser.get_message()
            assert msg is not None, "Invariant: a framed message parses"
            return msg
        pairs.append((tag, value))
    msg = simplefix.FixMessage()
    msg.pairs = pairs
    msg.begin_string = pairs[0][1]
    msg.message_type = msg.get(35)
    return msg


class SessionReject(Exception):
    def __init__(self, reason: int, tag: int, text: str) -> None:
        super().__init__(text)
        self.reason, self.tag, self.text = reason, tag, text


@dataclass
class _OrderView:
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


class _ExecutionReports:
    """Order events -> ExecutionReports, on whatever has ``principal``, ``orders``, ``pending_cl``
    and ``send``: the `SessionState` (so reports are numbered and stored while the client is away)."""

    principal: Principal | None
    orders: dict[int, _OrderView]
    pending_cl: dict[str, str]

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], **kw: Any) -> None:
        raise NotImplementedError

    _transact = ""  # TransactTime (60) of the reports being made: the engine time of their event

    def _remember_cl(self, order_id: int, cl_ord_id: str) -> None:
        """An order is now known by a new ClOrdID (after a replace): the state persists it."""

    def _take_pending(self, orig: str) -> str:
        """The ClOrdID of the cancel or cancel/replace request pending on ``orig`` (the order's
        current ClOrdID), which the report of its outcome carries; else ``orig`` (a cancel the
        venue made: end of day, closing-auction limit)."""
        return self.pending_cl.pop(orig, orig)

    def _mine(self, pub: Published) -> bool:
        p = self.principal
        if p is None:
            return False
        name = type(pub.event).__name__
        # no OrderRejected here: an order's rejection is in the outcome of the command that carried it,
        # so the session that sent that ClOrdID reports it from its own outcome (`_new_order`), once;
        # routing it by participant would tell the participant's other sessions of another client's
        # reject and report it twice to the sender
        if name not in ("OrderAccepted", "TradeExecuted", "OrderCancelled", "OrderAmended"):
            return False
        if p.role == Role.OPERATOR:
            return True
        return f"P:{p.participant}" in pub.parties or bool(set(p.accounts) & pub.parties)

    def _report(self, pub: Published) -> None:
        e: Any = pub.event
        name = type(e).__name__
        exec_id = f"{pub.seq}-{pub.index}"
        self._transact = _fix_time(pub.at_ns)
        p = self.principal
        if name == "OrderAccepted":
            if p is None or not p.can_trade_account(e.account) or (p.role == Role.OPERATOR and e.channel != "FIX"):
                return
            if e.order_id in self.orders:  # already in a view rebuilt from the read models
                return
            v = _OrderView(e.order_id, e.client_order_id, e.instrument, e.side, e.quantity, e.price, e.account, short=bool(e.short_sell))
            self.orders[e.order_id] = v
            self._er(v, exec_id, b"0", b"0")
        elif name == "TradeExecuted":
            for oid in (e.buy_order_id, e.sell_order_id):
                v = self.orders.get(oid)
                if v is None or pub.seq <= v.as_of:
                    continue
                v.cum_qty += e.quantity
                v.cum_value += e.quantity * e.price
                status = b"2" if v.cum_qty >= v.quantity else b"1"
                self._er(v, f"{exec_id}-{v.side}", b"F", status, last=(e.quantity, e.price))
        elif name == "OrderCancelled":
            v = self.orders.get(e.order_id)
            if v is None or pub.seq <= v.as_of:
                return
            cl = self._take_pending(v.cl_ord_id)
            self._er(v, exec_id, b"4", b"4", leaves=0, cl=cl, orig=v.cl_ord_id, text=e.reason)
        elif name == "OrderAmended":
            v = self.orders.get(e.order_id)
            if v is None or pub.seq <= v.as_of:
                return
            orig = v.cl_ord_id
            cl = self._take_pending(orig)
            v.quantity = v.cum_qty + e.quantity
            if e.price:
                v.price = e.price
            if cl != orig:
                v.cl_ord_id = cl
                self._remember_cl(v.order_id, cl)
            self._er(v, exec_id, b"5", b"1" if v.cum_qty else b"0", cl=cl, orig=orig)

    def _er(self, v: _OrderView, exec_id: str, exec_type: bytes, status: bytes, *, last: tuple[int, int] | None = None,
            leaves: int | None = None, cl: str | None = None, orig: str | None = None, text: str = "") -> None:
        remaining = max(v.quantity - v.cum_qty, 0) if leaves is None else leaves
        avg = _px(v.cum_value // v.cum_qty) if v.cum_qty else "0"
        fields: list[tuple[int, Any]] = [
            (37, v.order_id), (11, cl or v.cl_ord_id), (17, exec_id), (150, exec_type), (39, status), (55, v.instrument),
            (54, SELL_SHORT if v.short else SIDE_OUT[v.side]), (38, v.quantity), (40, b"2" if v.price else b"1"), (151, remaining), (14, v.cum_qty), (6, avg),
            (1, v.account), (60, self._transact),
        ]
        if v.price:
            fields.append((44, _px(v.price)))
        if orig is not None:
            fields.append((41, orig))
        if last is not None:
            fields += [(32, last[0]), (31, _px(last[1]))]
        if text:
            fields.append((58, text))
        self.send(b"8", fields)


@dataclass(eq=False)
class SessionState(_ExecutionReports):
    """What outlives a TCP connection for one (SenderCompID, TargetCompID) pair: the expected
    incoming and the next outgoing MsgSeqNum and the sent messages (both in the gateway's
    `FixSessionStore`, so they outlive the process too), the order views and the event
    subscription. Execution reports produced while no connection is attached are numbered and
    stored like any other, so the client gets them by ResendRequest when it logs on again (or,
    after a Logon with ResetSeqNumFlag, sent again under new numbers with PossResend). A state
    that is not ``persistent`` is a connection's throwaway one before its Logon succeeds."""

    gateway: FixGateway
    key: tuple[str, str] = ("", "")
    principal: Principal | None = None
    in_seq: int = 1
    out_seq: int = 1
    persistent: bool = False
    saved_in_seq: int = 1
    owner: str = ""  # the user the pair belongs to (the first to log on with it)
    orders: dict[int, _OrderView] = field(default_factory=dict)
    pending_cl: dict[str, str] = field(default_factory=dict)  # orig ClOrdID -> new ClOrdID of a cancel/replace
    conn: FixSession | None = None
    sub_id: int | None = None
    pump: asyncio.Future[None] | None = None
    position: tuple[int, int] = (0, 0)  # (engine seq, event index) of the last event handled: later ones only
    resume_from: tuple[int, int] | None = None  # the stored reported position, until `recover` has used it
    recovered: bool = True  # False for a stored pair whose events after ``resume_from`` are not yet reported
    _outbox: list[tuple[int, bytes, str, bytes]] | None = None  # the reports of the event being reported
    _aliases: list[tuple[int, str]] | None = None
    _answered: list[tuple[str, str]] | None = None  # (OrigClOrdID, ClOrdID) of the pending requests the event answered
    in_seq_cap: int | None = None  # a message whose answer could not be stored: never saved as received

    def attached(self) -> bool:
        return self.conn is not None and not self.conn.closed

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], *, resend_of: int | None = None, orig_time: str = "",  # type: ignore[override]
             poss_resend: bool = False) -> None:
        if self.gateway.stopped:
            return  # the gateway is stopping: nothing more is numbered or sent
        seq = resend_of if resend_of is not None else self.out_seq
        now = _utc_now()
        m = simplefix.FixMessage()
        m.append_pair(8, b"FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, self.gateway.comp_id.encode(), header=True)
        m.append_pair(56, self.key[0].encode() or b"CLIENT", header=True)
        m.append_pair(34, str(seq).encode(), header=True)
        if resend_of is not None:
            m.append_pair(43, b"Y", header=True)
            m.append_pair(122, orig_time.encode(), header=True)
        if poss_resend:
            m.append_pair(97, b"Y", header=True)
        m.append_pair(52, now.encode(), header=True)
        for t, v in fields:
            m.append_pair(t, v if isinstance(v, bytes) else str(v).encode())
        raw = m.encode()
        if resend_of is None and self._outbox is not None and msg_type not in ADMIN_TYPES:
            self._outbox.append((seq, msg_type, now, raw))  # stored with its event's position by `report`, then sent
            self.out_seq = seq + 1
            return
        if resend_of is None:
            if self.persistent:  # write before send: stored (and counted) before the first byte goes out
                store = self.gateway.store
                if msg_type in ADMIN_TYPES:
                    store.sent_admin(self.key, seq + 1)
                else:
                    store.sent_app(self.key, seq, msg_type, now, raw, offline=not self.attached())
            self.out_seq = seq + 1
        conn = self.conn
        if conn is not None and not conn.closed:
            conn.writer.write(raw)
            conn.last_send = time.monotonic()

    def save_in_seq(self, upto: int | None = None) -> None:
        """Persist the expected incoming number once the messages it counts have been handled:
        ``upto`` (the number after the last message handled, while later ones are still in
        flight) or the current one; never past ``in_seq_cap``."""
        n = self.in_seq if upto is None else upto
        if self.in_seq_cap is not None:
            n = min(n, self.in_seq_cap)
        if self.persistent and n > self.saved_in_seq and not self.gateway.stopped:
            self.gateway.store.save_in_seq(self.key, n)
            self.saved_in_seq = n

    def _remember_cl(self, order_id: int, cl_ord_id: str) -> None:
        if self._aliases is not None:
            self._aliases.append((order_id, cl_ord_id))  # stored with the report that makes it the order's
        elif self.persistent and not self.gateway.stopped:
            self.gateway.store.set_cl_ord_id(self.key, order_id, cl_ord_id)

    def add_pending(self, orig: str, cl: str) -> None:
        """A cancel or cancel/replace request ``cl`` on the order known by ``orig`` is about to be
        submitted: remembered (and stored, before the submit) until the event that answers it."""
        self.pending_cl[orig] = cl
        if self.persistent and not self.gateway.stopped:
            self.gateway.store.set_pending(self.key, orig, cl)

    def drop_pending(self, orig: str) -> None:
        """The request was refused: no event will answer it."""
        if self.pending_cl.pop(orig, None) is not None and self.persistent and not self.gateway.stopped:
            self.gateway.store.drop_pending(self.key, orig)

    def _take_pending(self, orig: str) -> str:
        cl = self.pending_cl.pop(orig, None)
        if cl is None:
            return orig
        if self._answered is not None:
            self._answered.append((orig, cl))  # dropped from the store with the report that answers it
        elif self.persistent and not self.gateway.stopped:
            self.gateway.store.drop_pending(self.key, orig)
        return cl

    REPORT_BATCH = 256
    """Events whose reports are stored in one session-store transaction at most."""

    def report(self, pubs: list[Published]) -> None:
        """Turn durable events (in order) into this session's ExecutionReports, exactly once: an
        event at or before ``position`` was handled already (the live subscription and the
        start-up replay overlap, see `recover`). Their reports, the ClOrdIDs they give orders, the
        requests they answer and the pair's reported position (the last of them) are stored in ONE
        transaction (`FixSessionStore.sent_reports`), and only then written to the socket: after a
        crash a report is stored exactly when its event is at or before the stored position, so
        the replay from that position neither repeats a stored report nor skips a missing one."""
        for i in range(0, len(pubs), self.REPORT_BATCH):
            self._report_batch(pubs[i : i + self.REPORT_BATCH])

    def _report_batch(self, pubs: list[Published]) -> None:
        at = self.position
        before = self.out_seq
        self._outbox, self._aliases, self._answered = [], [], []
        try:
            for pub in pubs:
                if (pub.seq, pub.index) > at:
                    self._report(pub)
                    at = (pub.seq, pub.index)
            if at == self.position:
                return
            outbox, aliases, answered = self._outbox, self._aliases, [orig for orig, _ in self._answered]
            if (outbox or aliases or answered) and self.persistent and not self.gateway.stopped:
                self.gateway.store.sent_reports(self.key, outbox, at, offline=not self.attached(), aliases=aliases, answered=answered)
        except BaseException:
            self.out_seq = before  # nothing of it was stored: the numbers are not used
            for orig, cl in self._answered or ():
                self.pending_cl[orig] = cl  # nor was the request answered
            raise
        finally:
            self._outbox = self._aliases = self._answered = None
        self.position = at
        conn = self.conn
        if outbox and conn is not None and not conn.closed:
            for *_, raw in outbox:
                conn.writer.write(raw)
            conn.last_send = time.monotonic()

    def recover(self) -> None:
        """Rebuild the order views and report what happened since the last stored report.

        Source of the missed events: the read models' ``events`` table (every event as JSON with
        its seq and index), not the journal: the gateway starts after the engine has recovered,
        and the table is read in the same read-model transaction as ``projected_seq`` (T) and the
        open orders, so it holds exactly the events up to T. The hub subscription is made BEFORE
        that read, and the projector commits a batch before the hub publishes it, so every event
        after T reaches the subscription queue; events up to T that also reach it are skipped by
        ``position`` (set to the end of T here, before the queue is first read). No event is
        skipped (table up to T, queue after T) and none is reported twice (position).

        Views: open orders as of T from ``orders`` (quantities, CumQty, value for AvgPx; latest
        ClOrdID from ``fix_clordids``), as before. The replay needs them as of the stored position
        P instead: an order accepted after P is dropped (its replayed OrderAccepted makes it), and
        an order an event after P touches is rebuilt by folding its own events up to P (accepted,
        amended, filled) through the same report logic with nothing sent. Events after P are then
        reported in order through `report` (stored with their position, numbered, sent later by
        resend/gap fill). A pair without a stored position (a store written before it existed)
        starts at T, as before."""
        p = self.principal
        if p is None:
            return
        self.recovered = True
        start, self.resume_from = self.resume_from, None
        service = self.gateway.service
        read = service.read
        if p.role == Role.OPERATOR:
            where, args = "channel = 'FIX'", []
        else:
            marks = ", ".join("?" for _ in p.accounts) or "''"
            where, args = f"(participant = ? OR account IN ({marks}))", [p.participant, *p.accounts]
        columns = "order_id, client_order_id, instrument, side, quantity, price, account, filled, short_sell"
        replay: list[Published] = []
        history: list[Published] = []
        created: set[int] = set()
        touched: set[int] = set()
        with read.transaction():
            as_of = service.projector.projected_seq
            rows = read.execute(f"SELECT {columns} FROM orders WHERE status IN ('new', 'partially_filled') AND {where} ORDER BY order_id", args)
            rows = [r for r in rows if p.can_trade_account(r[6])]
            values = _filled_values(read, [int(r[0]) for r in rows if int(r[7])])
            if start is not None and start < (as_of, _ALL):
                replay = [pub for pub in _order_events_after(read, p, start, as_of) if self._mine(pub)]
                created = {pub.event.order_id for pub in replay if type(pub.event).__name__ == "OrderAccepted"}
                touched = {oid for pub in replay for oid in _order_ids(pub.event)} - created
                history = _order_histories(read, touched, start) if touched else []
        aliases = self.gateway.store.cl_ord_ids(self.key)
        for orig, cl in self.gateway.store.pending(self.key).items():
            self.pending_cl.setdefault(orig, cl)
        for r in rows:
            oid = int(r[0])
            if oid not in self.orders:
                self.orders[oid] = _OrderView(oid, aliases.get(oid, r[1]), r[2], r[3], int(r[4]), int(r[5]), r[6], int(r[7]),
                                              values.get(oid, 0), as_of, bool(r[8]))
        if start is None:
            self.position = max(self.position, (as_of, _ALL))
            if self.persistent and not self.gateway.stopped:
                self.gateway.store.set_reported(self.key, self.position)
            return
        if replay:
            for oid in created | touched:
                self.orders.pop(oid, None)
            fold = _Fold(p)
            for pub in history:
                fold._report(pub)
            for oid, v in fold.orders.items():
                if oid in touched:
                    v.cl_ord_id = aliases.get(oid, v.cl_ord_id)
                    self.orders[oid] = v
            self.position = max(self.position, start)
            self.report(replay)
        self.position = max(self.position, start, (as_of, _ALL))

    def subscribe(self) -> None:
        if self.sub_id is None:
            self.sub_id, queue = self.gateway.service.hub.subscribe(self._mine)
            self.pump = asyncio.ensure_future(self._events(queue))

    def unsubscribe(self) -> None:
        if self.sub_id is not None:
            self.gateway.service.hub.unsubscribe(self.sub_id)
            self.sub_id = None
        if self.pump is not None:
            self.pump.cancel()

    async def _events(self, queue: asyncio.Queue[Published | None]) -> None:
        """Report the subscription's events; those already queued are reported together (one
        session-store transaction, up to `REPORT_BATCH` events)."""
        while True:
            pubs = [await queue.get()]
            while pubs[-1] is not None and not queue.empty() and len(pubs) < self.REPORT_BATCH:
                pubs.append(queue.get_nowait())
            dropped = pubs[-1] is None
            if dropped:
                pubs.pop()
            self.report(pubs)  # type: ignore[arg-type]
            if dropped:  # the hub dropped the subscription: the next logon subscribes again
                self.sub_id = None
                conn = self.conn
                if conn is not None and not conn.closed:
                    conn.logout("too slow: event queue overflowed")
                    conn.writer.close()
                return
            conn = self.conn
            if conn is not None and not conn.closed:
                with contextlib.suppress(ConnectionError):
                    await conn.writer.drain()


@dataclass(eq=False)
class FixSession(_ExecutionReports):
    """One TCP connection. Before Logon it has a throwaway `SessionState`; a successful Logon
    attaches it to the gateway's `SessionState` for its (SenderCompID, TargetCompID) pair."""

    gateway: FixGateway
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    heartbeat_s: int = 30
    last_recv: float = 0.0
    last_send: float = 0.0
    test_req_out: str | None = None
    closed: bool = False
    held: dict[int, tuple[simplefix.FixMessage, bool]] = field(default_factory=dict)  # seq -> (msg, already handled)
    gap_requested: bool = False
    principal: Principal | None = None
    orders: dict[int, _OrderView] = field(default_factory=dict)  # the attached state's, once logged on
    pending_cl: dict[str, str] = field(default_factory=dict)
    state: SessionState = field(init=False)
    # NewOrderSingles queued in the engine and not yet answered, oldest first: (outcome, what to
    # do with it, the expected incoming MsgSeqNum after that message, set once done)
    inflight: deque[tuple[asyncio.Future[Any], Callable[[Any], None], int, asyncio.Future[None]]] = field(default_factory=deque)
    completer: asyncio.Future[None] | None = None
    handling: bool = False  # a message is being handled (its MsgSeqNum counted, not yet saved)

    MAX_INFLIGHT = 1024
    """A session's NewOrderSingles in the engine queue at once; the next waits (back-pressure)."""

    def __post_init__(self) -> None:
        self.state = SessionState(self.gateway, conn=self)

    @property
    def their_comp(self) -> str:
        return self.state.key[0]

    @property
    def out_seq(self) -> int:
        return self.state.out_seq

    # -- sending --------------------------------------------------------------------------------
    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], *, resend_of: int | None = None, orig_time: str = "") -> None:  # type: ignore[override]
        self.state.send(msg_type, fields, resend_of=resend_of, orig_time=orig_time)

    def logout(self, text: str) -> None:
        with contextlib.suppress(Exception):
            self.send(b"5", [(58, text)])
        self.closed = True

    # -- main loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        framer = FixFramer()
        timer = asyncio.ensure_future(self._timer())
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.last_recv = time.monotonic()
                framer.feed(data)
                while not self.closed:
                    msg = framer.next()
                    if msg is None:
                        break
                    await self._on_message(msg)
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed = True
            timer.cancel()
            if self.state.conn is self:
                self.state.conn = None
            with contextlib.suppress(Exception):
                await self.writer.drain()
            self.writer.close()

    async def _timer(self) -> None:
        while not self.closed:
            await asyncio.sleep(min(1.0, self.heartbeat_s / 4))
            if self.principal is None:
                if time.monotonic() - self.last_recv > self.gateway.logon_timeout_s:
                    self.closed = True
                    self.writer.close()
                continue
            now = time.monotonic()
            if now - self.last_send >= self.heartbeat_s:
                self.send(b"0", [])
            silent = now - self.last_recv
            if self.test_req_out is None and silent >= self.heartbeat_s * 1.2 + 1:
                self.test_req_out = f"TR{int(now * 1000)}"
                self.send(b"1", [(112, self.test_req_out)])
            elif self.test_req_out is not None and silent >= self.heartbeat_s * 2.4 + 2:
                self.logout("no answer to TestRequest")
                self.writer.close()

    # -- session layer --------------------------------------------------------------------------
    async def _on_message(self, msg: simplefix.FixMessage) -> None:
        self.handling = True
        try:
            await self._handle(msg)
        finally:
            self.handling = False
            if not self.inflight:  # else the completer saves it once the orders before are durable
                self.state.save_in_seq()

    # -- pipelined order entry ------------------------------------------------------------------
    def _pipeline(self, outcome: asyncio.Future[Any], done: Callable[[Any], None]) -> None:
        """Queue the answer to a NewOrderSingle already handed to the engine: ``done`` gets its
        outcome (or the exception) in message order, and only then is the incoming MsgSeqNum
        after it saved, so a message is counted as received only once its order is durable."""
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inflight.append((outcome, done, self.state.in_seq, finished))
        if self.completer is None or self.completer.done():
            self.completer = asyncio.ensure_future(self._complete())
            self.gateway.completers.add(self.completer)
            self.completer.add_done_callback(self.gateway.completers.discard)

    async def _complete(self) -> None:
        """Answer the queued orders in order; runs on after the connection closes (the answers
        are numbered and stored for the pair like any report)."""
        while self.inflight:
            outcome, done, in_seq_after, finished = self.inflight[0]
            try:
                result: Any = await outcome
            except Exception as exc:  # noqa: BLE001 - handed to ``done`` (e.g. RunnerStopped)
                result = exc
            try:
                done(result)
            except Exception:  # noqa: BLE001 - crash-only, below
                # the answer was not stored (the session store failed): this message must never
                # count as received, so the counterparty sends it again after the restart; the
                # connection closes and the orders after it stay unanswered here
                log.exception("FIX %s: the answer to MsgSeqNum %d could not be stored; closing", self.their_comp, in_seq_after - 1)
                self.state.in_seq_cap = in_seq_after - 1
                self.closed = True
                self.writer.close()
                for *_, waiting in self.inflight:
                    if not waiting.done():
                        waiting.set_result(None)
                self.inflight.clear()
                return
            self.inflight.popleft()
            # the number after this message; the current one only when nothing is in flight or
            # being handled (a cancel waiting for this order is not durable yet)
            self.state.save_in_seq(in_seq_after if self.inflight or self.handling else None)
            finished.set_result(None)

    async def _settled(self, keep: int = 0) -> None:
        """Wait until at most ``keep`` queued orders are unanswered (0: all answered)."""
        while len(self.inflight) > keep:
            await asyncio.shield(self.inflight[len(self.inflight) - keep - 1][3])

    async def _handle(self, msg: simplefix.FixMessage) -> None:
        if self.gateway.stopped:
            return
        if msg.get(8) != b"FIX.4.4" or not checksum_ok(msg):
            return  # garbled: ignore (the counterparty will see the gap)
        msg_type = msg.get(35)
        seq_raw = msg.get(34)
        if msg_type is None or seq_raw is None or not seq_raw.isdigit():
            return
        seq = int(seq_raw)
        if self.principal is None:
            if msg_type != b"A":
                self.logout("first message must be Logon")
                return
            await self._logon(msg, seq)
            return
        st = self.state
        if msg_type == b"4" and msg.get(123) != b"Y":  # SequenceReset-Reset: ignores MsgSeqNum
            self._sequence_reset(msg)
            await self._drain_held()
            return
        if seq > st.in_seq:
            # a gap: hold the message until the gap is filled; one ResendRequest per gap
            if seq not in self.held:
                handled = msg_type == b"2"  # a ResendRequest is answered at once
                if handled:
                    self._resend(msg)
                self.held[seq] = (msg, handled)
            self._request_resend()
            return
        if seq < st.in_seq:
            if msg.get(43) != b"Y":
                self.logout(f"MsgSeqNum too low, expecting {st.in_seq} but received {seq}")
            return
        await self._process(msg_type, msg, seq)
        await self._drain_held()

    def _request_resend(self) -> None:
        if not self.gap_requested:
            self.gap_requested = True
            self.send(b"2", [(7, self.state.in_seq), (16, 0)])

    async def _process(self, msg_type: bytes, msg: simplefix.FixMessage, seq: int) -> None:
        self.state.in_seq += 1
        try:
            await self._dispatch(msg_type, msg, seq)
        except SessionReject as r:
            self.send(b"3", [(45, seq), (371, r.tag), (372, msg_type), (373, r.reason), (58, r.text)])

    async def _drain_held(self) -> None:
        """Process held messages that are now in sequence; drop those a gap fill skipped."""
        st = self.state
        while self.held and not self.closed:
            for s in [s for s in self.held if s < st.in_seq]:
                del self.held[s]
            item = self.held.pop(st.in_seq, None)
            if item is None:
                break
            msg, handled = item
            if handled:
                st.in_seq += 1
            else:
                await self._process(msg.get(35) or b"", msg, st.in_seq)
        if not self.held:
            self.gap_requested = False

    async def _logon(self, msg: simplefix.FixMessage, seq: int) -> None:
        username = (msg.get(553) or b"").decode(errors="replace")
        password = (msg.get(554) or b"").decode(errors="replace")
        key = ((msg.get(49) or b"").decode(errors="replace"), (msg.get(56) or b"").decode(errors="replace"))
        self.state.key = key
        service = self.gateway.service
        try:
            if not username or not password:
                raise AuthError("Logon needs Username (553) and Password (554)")
            loop = asyncio.get_running_loop()
            p = await loop.run_in_executor(None, service.auth.verify_password, username, password, "fix")
            if p.role not in (Role.BROKER, Role.INVESTOR, Role.OPERATOR):
                raise AuthError(f"role {p.role} may not enter orders")
            st = self.gateway.states.get(key)
            if st is not None and st.owner and st.owner != p.username:
                raise AuthError("this SenderCompID/TargetCompID pair belongs to another user")
        except AuthError as exc:
            service.auth.audit(username, "", "fix", "logon", self.their_comp, "failed", str(exc))
            self.logout(f"logon refused: {exc}")
            return
        reset = msg.get(141) == b"Y"
        if st is not None and not reset and seq < st.in_seq:
            self.logout(f"MsgSeqNum too low, expecting {st.in_seq} but received {seq}")
            return
        if st is None:
            st = self.gateway.states[key] = SessionState(self.gateway, key, persistent=True)
        store = self.gateway.store
        st.owner = p.username
        store.claim(key, p.username, st.in_seq, st.out_seq, reported=(service.projector.projected_seq, _ALL))
        old = st.conn
        if old is not None and old is not self and not old.closed:  # a new logon takes over from a stale connection
            old.closed = True
            old.writer.close()
        st.conn, st.principal = self, p
        self.state, self.principal, self.orders, self.pending_cl = st, p, st.orders, st.pending_cl
        hb = msg.get(108)
        self.heartbeat_s = max(1, min(int(hb), 300)) if hb and hb.isdigit() else 30
        redeliver = []
        if reset:
            redeliver = store.offline(key)
            store.reset(key)
            st.in_seq = st.out_seq = st.saved_in_seq = 1
            st.in_seq_cap = None
        else:
            store.clear_offline(key)
        service.auth.audit(p.username, str(p.role), "fix", "logon", self.their_comp, "ok")
        self.send(b"A", [(98, 0), (108, self.heartbeat_s)] + ([(141, b"Y")] if reset else []))
        if seq == st.in_seq:
            st.in_seq += 1
        elif seq > st.in_seq:
            self.held[seq] = (msg, True)
            self._request_resend()
        for stored in redeliver:  # missed while away, their old numbers given up by the reset
            st.send(stored.msg_type, _body(stored.raw), poss_resend=True)
        st.subscribe()
        if not st.recovered:  # a stored pair its owner could not report for at start-up
            st.recover()

    def _sequence_reset(self, msg: simplefix.FixMessage) -> None:
        new = msg.get(36)
        if new is None or not new.isdigit():
            self.send(b"3", [(45, msg.get(34) or b"0"), (371, 36), (373, 1), (58, "SequenceReset needs NewSeqNo (36)")])
            return
        if int(new) >= self.state.in_seq:
            self.state.in_seq = int(new)

    def _resend(self, msg: simplefix.FixMessage) -> None:
        begin = int(msg.get(7) or b"1")
        end_raw = int(msg.get(16) or b"0")
        end = self.state.out_seq - 1 if end_raw == 0 else min(end_raw, self.state.out_seq - 1)
        gap_start: int | None = None
        stored_by_seq = {m.seq: m for m in self.gateway.store.messages(self.state.key, begin, end)} if end >= begin else {}
        for seq in range(begin, end + 1):
            stored = stored_by_seq.get(seq)
            if stored is None:  # an admin message (not stored) or one older than the store keeps
                gap_start = seq if gap_start is None else gap_start
                continue
            if gap_start is not None:
                self.send(b"4", [(123, b"Y"), (36, seq)], resend_of=gap_start, orig_time=_utc_now())
                gap_start = None
            self.send(stored.msg_type, _body(stored.raw), resend_of=seq, orig_time=stored.sending_time)
        if gap_start is not None:
            self.send(b"4", [(123, b"Y"), (36, end + 1)], resend_of=gap_start, orig_time=_utc_now())

    async def _dispatch(self, msg_type: bytes, msg: simplefix.FixMessage, seq: int) -> None:
        if msg_type == b"0":
            if self.test_req_out is not None and msg.get(112) == self.test_req_out.encode():
                self.test_req_out = None
        elif msg_type == b"1":
            self.send(b"0", [(112, msg.get(112) or b"")])
        elif msg_type == b"2":
            self._resend(msg)
        elif msg_type == b"4":
            self._sequence_reset(msg)
        elif msg_type == b"5":
            await self._settled()
            self.logout("logout acknowledged")
        elif msg_type == b"3":
            pass
        elif msg_type == b"A":
            raise SessionReject(10, 35, "already logged on")
        elif msg_type == b"D":
            await self._new_order(msg)
        elif msg_type == b"F":
            await self._settled()  # the orders before it are in the venue and in this session's views
            await self._cancel(msg)
        elif msg_type == b"G":
            await self._settled()
            await self._replace(msg)
        else:
            self.send(b"j", [(45, seq), (372, msg_type), (380, 3), (58, f"unsupported message type {msg_type.decode(errors='replace')}")])

    # -- application layer -------------------------------------------------------------------------
    async def _submit(self, command: Command) -> Rejection | None:
        """Submit and wait for the durable outcome (cancel, replace): its rejection, if any."""
        assert self.principal is not None
        try:
            outcome = await self.gateway.service.submit(self.principal, command)
        except Denied as d:
            return _denied(d)
        except RunnerStopped as exc:
            return _unavailable(exc)
        return _rejection_of(outcome)

    async def _new_order(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        cl = _req(msg, 11).decode()
        symbol = _req(msg, 55).decode()
        side_code = _req(msg, 54)
        side = SIDE_IN.get(side_code)
        if side is None:
            raise SessionReject(5, 54, "Side (54) must be 1 (buy), 2 (sell) or 5 (sell short)")
        qty = _int(msg, 38)
        ord_type = _req(msg, 40)
        tif, exec_inst = msg.get(59), msg.get(18) or b""
        if ord_type == b"1":
            order_type, price = "AT_AUCTION", 0
        elif ord_type == b"2":
            price = _price(msg)
            order_type = {b"3": "SPECIAL_LIMIT", b"2": "AT_AUCTION_LIMIT", b"7": "AT_AUCTION_LIMIT"}.get(tif or b"", "ENHANCED_LIMIT" if b"e" in exec_inst else "LIMIT")
        else:
            raise SessionReject(5, 40, "OrdType (40) must be 1 (market: at-auction) or 2 (limit)")
        account = (msg.get(1) or b"").decode() or (p.accounts[0] if p.accounts else f"P:{p.participant}")
        from lionrock.api.queries import participant_of
        from lionrock.trading.commands import PlaceOrder

        command = PlaceOrder(
            instrument=symbol, participant=participant_of(account) or p.participant, account=account, client_order_id=cl,
            side=side, order_type=order_type, price=price, quantity=qty, channel="FIX", short_sell=side_code == SELL_SHORT,
        )
        service = self.gateway.service
        grants: list[tuple[str, str]] = []
        try:
            queued, grants = service.enqueue(p, command)
            outcome: asyncio.Future[Any] = asyncio.wrap_future(queued)
        except Denied as d:
            outcome = asyncio.get_running_loop().create_future()
            outcome.set_result(_denied(d))

        def answer(result: Any) -> None:
            """The order's outcome (or a refusal): a rejected order is reported here, an
            accepted one by its events (OrderAccepted -> ExecutionReport New)."""
            transact = _utc_now()  # refused before the engine: now
            if isinstance(result, Rejection):
                rejection: Rejection | None = result
            elif isinstance(result, BaseException):
                rejection = _unavailable(result)
            else:
                service.settle(p, command, result, grants)
                rejection = _rejection_of(result)
                transact = _fix_time(result.at_ns)  # the engine's time of the rejection
            if rejection is not None:
                self.send(b"8", [
                    (37, "NONE"), (11, cl), (17, f"R{self.out_seq}"), (150, b"8"), (39, b"8"), (55, symbol), (54, side_code),
                    (38, qty), (151, 0), (14, 0), (6, 0), (103, 99), (58, _text(rejection)), (1, account), (60, transact),
                ])

        self._pipeline(outcome, answer)
        if len(self.inflight) >= self.MAX_INFLIGHT:
            await self._settled(self.MAX_INFLIGHT // 2)

    def _lookup(self, msg: simplefix.FixMessage) -> tuple[int, str]:
        """Venue order id from OrderID (37), or from OrigClOrdID (41) following this session's
        ClOrdID chain (a replaced order is known by its latest ClOrdID)."""
        order_id = msg.get(37)
        orig = _req(msg, 41).decode()
        oid = int(order_id) if order_id and order_id.isdigit() else 0
        if not oid:
            for v in self.orders.values():
                if v.cl_ord_id == orig:
                    return v.order_id, orig
        return oid, orig

    async def _cancel(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        cl = _req(msg, 11).decode()
        oid, orig = self._lookup(msg)
        symbol = _req(msg, 55).decode()
        from lionrock.trading.commands import CancelOrder

        self.state.add_pending(orig, cl)
        rejection = await self._submit(CancelOrder(instrument=symbol, participant=p.participant, order_id=oid, client_order_id=orig if not oid else ""))
        if rejection is not None:
            self.state.drop_pending(orig)
            self.send(b"9", [(37, oid or "NONE"), (11, cl), (41, orig), (39, b"8"), (434, b"1"), (102, b"1" if rejection.code in (7004,) else b"99"), (58, _text(rejection))])

    async def _replace(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        cl = _req(msg, 11).decode()
        oid, orig = self._lookup(msg)
        symbol = _req(msg, 55).decode()
        total = _int(msg, 38)
        price = _price(msg) if msg.get(44) is not None else 0
        view = self._view(oid, orig)
        filled = view.cum_qty if view is not None else 0
        from lionrock.trading.commands import AmendOrder

        self.state.add_pending(orig, cl)
        command = AmendOrder(instrument=symbol, participant=p.participant, quantity=max(total - filled, 0), price=price,
                             order_id=oid, client_order_id=orig if not oid else "")
        rejection = await self._submit(command)
        if rejection is not None:
            self.state.drop_pending(orig)
            self.send(b"9", [(37, oid or "NONE"), (11, cl), (41, orig), (39, b"8"), (434, b"2"), (102, b"1" if rejection.code in (7004,) else b"99"), (58, _text(rejection))])

    def _view(self, order_id: int, cl: str) -> _OrderView | None:
        if order_id and order_id in self.orders:
            return self.orders[order_id]
        for v in self.orders.values():
            if v.cl_ord_id == cl:
                return v
        service = self.gateway.service
        row = service.read.one(
            "SELECT order_id, client_order_id, instrument, side, quantity, price, account, filled, short_sell FROM orders WHERE order_id = ? OR (participant = ? AND client_order_id = ?) ORDER BY order_id DESC LIMIT 1",
            (order_id, self.principal.participant if self.principal else "", cl),
        )
        if row is None:
            return None
        v = _OrderView(int(row[0]), row[1], row[2], row[3], int(row[4]), int(row[5]), row[6], int(row[7]), int(row[7]) * int(row[5]), short=bool(row[8]))
        self.orders[v.order_id] = v
        return v


_ALL = 1 << 31
"""An event index past any real one: position (T, _ALL) means every event of seq T is handled."""

_ORDER_EVENT_TYPES = ("OrderAccepted", "TradeExecuted", "OrderCancelled", "OrderAmended")
_decoder: msgspec.json.Decoder[Any] | None = None


def _decode(body: str) -> Any:
    """An order event from the ``events`` table's JSON (tagged by class name, as journaled)."""
    global _decoder
    if _decoder is None:
        from lionrock.trading.events import (
            OrderAccepted,
            OrderAmended,
            OrderCancelled,
            TradeExecuted,
        )

        _decoder = msgspec.json.Decoder(OrderAccepted | TradeExecuted | OrderCancelled | OrderAmended)
    return _decoder.decode(body)


def _published(row: tuple[Any, ...]) -> Published:
    seq, idx, at_ns, body = int(row[0]), int(row[1]), int(row[2]), row[3]
    event = _decode(body)
    return Published(seq, at_ns, idx, event, frozenset(parties_of(event)), getattr(event, "instrument", None))


def _order_ids(e: Any) -> tuple[int, ...]:
    if type(e).__name__ == "TradeExecuted":
        return (e.buy_order_id, e.sell_order_id)
    return (e.order_id,)


def _order_events_after(read: Any, p: Principal, start: tuple[int, int], as_of: int) -> list[Published]:
    """The order events after ``start`` up to seq ``as_of`` naming the principal's participant or
    accounts (an operator: all of them), oldest first, from the read models' ``events`` table."""
    types = ", ".join(f"'{t}'" for t in _ORDER_EVENT_TYPES)
    if p.role == Role.OPERATOR:
        rows = read.execute(f"SELECT seq, idx, at_ns, body FROM events WHERE type IN ({types}) AND seq >= ? AND seq <= ? ORDER BY seq, idx",
                            (start[0], as_of))
    else:
        parties = [f"P:{p.participant}", *p.accounts]
        marks = ", ".join("?" for _ in parties)
        rows = read.execute(
            f"""SELECT DISTINCT e.seq, e.idx, e.at_ns, e.body FROM event_parties ep JOIN events e ON e.seq = ep.seq AND e.idx = ep.idx
                WHERE ep.party IN ({marks}) AND ep.seq >= ? AND ep.seq <= ? AND e.type IN ({types}) ORDER BY e.seq, e.idx""",
            (*parties, start[0], as_of))
    return [_published(r) for r in rows if (int(r[0]), int(r[1])) > start]


def _order_histories(read: Any, order_ids: set[int], until: tuple[int, int]) -> list[Published]:
    """Each order's own events (accepted, amended, filled) up to and including ``until``, oldest first."""
    ids = sorted(order_ids)
    first: dict[str, int] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" for _ in chunk)
        for instrument, created in read.execute(f"SELECT instrument, MIN(created_seq) FROM orders WHERE order_id IN ({marks}) GROUP BY instrument", chunk):
            first[instrument] = min(int(created), first.get(instrument, int(created)))
    out: list[Published] = []
    for instrument, created in sorted(first.items()):
        rows = read.execute(
            """SELECT seq, idx, at_ns, body FROM events WHERE instrument = ? AND type IN ('OrderAccepted', 'TradeExecuted', 'OrderAmended')
               AND seq >= ? AND seq <= ? ORDER BY seq, idx""",
            (instrument, created, until[0]))
        for r in rows:
            if (int(r[0]), int(r[1])) <= until:
                pub = _published(r)
                if order_ids.intersection(_order_ids(pub.event)):
                    out.append(pub)
    out.sort(key=lambda pub: (pub.seq, pub.index))
    return out


class _Fold(_ExecutionReports):
    """The report logic with nothing sent: folds an order's past events into its view."""

    def __init__(self, principal: Principal) -> None:
        self.principal, self.orders, self.pending_cl = principal, {}, {}

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], **kw: Any) -> None:
        pass


def _filled_values(read: Any, order_ids: list[int]) -> dict[int, int]:
    """Sum of price x quantity over each order's trades (for AvgPx), from the read models."""
    out: dict[int, int] = {}
    for i in range(0, len(order_ids), 500):
        chunk = order_ids[i:i + 500]
        marks = ", ".join("?" for _ in chunk)
        for column in ("buy_order_id", "sell_order_id"):
            for oid, value in read.execute(f"SELECT {column}, SUM(price * quantity) FROM trades WHERE {column} IN ({marks}) GROUP BY {column}", chunk):
                out[int(oid)] = out.get(int(oid), 0) + int(value)
    return out


def _body(raw: bytes) -> list[tuple[int, bytes]]:
    """The body fields of a stored message (its header and trailer are written afresh on resend)."""
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    msg = parser.get_message()
    assert msg is not None, "Invariant: a stored FIX message parses"
    return [(int(t), bytes(v)) for t, v in msg.pairs if bytes(t) not in HEADER_TAGS]


def _req(msg: simplefix.FixMessage, tag: int) -> bytes:
    value = msg.get(tag)
    if value is None or value == b"":
        raise SessionReject(1, tag, f"required tag {tag} missing")
    return bytes(value)


def _int(msg: simplefix.FixMessage, tag: int) -> int:
    raw = _req(msg, tag)
    if not raw.isdigit() or int(raw) <= 0:
        raise SessionReject(5, tag, f"tag {tag} must be a positive whole number, got {raw.decode(errors='replace')}")
    return int(raw)


def _price(msg: simplefix.FixMessage) -> int:
    raw = _req(msg, 44)
    try:
        return parse_price(raw.decode())
    except ValueError as exc:
        raise SessionReject(5, 44, str(exc)) from exc


def _text(r: Rejection) -> str:
    rule = f" [{r.rule}]" if r.rule else ""
    return f"{r.code} {r.reason}: {r.field}: {r.message}{rule}"


def _denied(d: Denied) -> Rejection:
    return Rejection(code=int(d.code), reason=d.code.name, field=d.field, message=d.message, rule="service access policy")


def _unavailable(exc: BaseException) -> Rejection:
    return Rejection(code=7007, reason="ENGINE_UNAVAILABLE", field="", message=str(exc) or type(exc).__name__)


def _rejection_of(outcome: Any) -> Rejection | None:
    """The command's rejection, or an order's rejection by an observed event (OrderRejected)."""
    if outcome.rejection is not None:
        return outcome.rejection
    for e in outcome.events:
        r = getattr(e, "rejection", None)
        if isinstance(r, Rejection) and type(e).__name__ == "OrderRejected":
            return r
    return None


def _utc_now() -> str:
    return _fix_time(time.time_ns())


def _fix_time(at_ns: int) -> str:
    """UTCTimestamp (YYYYMMDD-HH:MM:SS.sss) of epoch nanoseconds."""
    seconds, ns = divmod(at_ns, 1_000_000_000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1_000_000:03d}"


class FixGateway:
    """Accepts FIX 4.4 sessions on ``host:port`` for one `Service`, with the sessions' state in
    ``store`` (by default the `FixSessionStore` beside the service's storage, see `fix_store_url`)."""

    def __init__(self, service: Service, host: str = "127.0.0.1", port: int = 9878, *, comp_id: str = "LIONROCK",
                 resend_window: int = 100_000, logon_timeout_s: float = 10.0, store: FixSessionStore | None = None) -> None:
        self.service, self.host, self.port = service, host, port
        self.comp_id = comp_id
        self.logon_timeout_s = logon_timeout_s
        self._owns_store = store is None
        self.store = store if store is not None else FixSessionStore.open(fix_store_url(service.spec), window=resend_window)
        self.resend_window = self.store.window
        self.stopped = False
        self._server: asyncio.Server | None = None
        self.sessions: set[FixSession] = set()
        self.states: dict[tuple[str, str], SessionState] = {}  # (SenderCompID, TargetCompID) -> its state
        self.completers: set[asyncio.Future[None]] = set()  # sessions answering pipelined orders

    async def start(self) -> None:
        self._restore()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)

    def _restore(self) -> None:
        """Every stored pair gets its state back before the first connection: numbers from the
        store, subscribed to the event hub again (so reports produced before its client logs on
        again are numbered and stored), order views rebuilt from the read models."""
        for stored in self.store.sessions():
            st = SessionState(self, stored.key, in_seq=stored.in_seq, out_seq=stored.out_seq, persistent=True,
                              saved_in_seq=stored.in_seq, owner=stored.owner, position=stored.reported or (0, 0),
                              resume_from=stored.reported, recovered=False)
            self.states[stored.key] = st
            try:
                st.principal = self.service.auth.principal(stored.owner, via="fix")
            except AuthError:  # the owner is gone or disabled: numbers kept, reported if it logs on again
                continue
            st.subscribe()  # before `recover` reads the read models: see there why nothing is lost or doubled
            st.recover()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = FixSession(self, reader, writer, last_recv=time.monotonic(), last_send=time.monotonic())
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    async def stop(self) -> None:
        self.stopped = True
        if self._server is not None:
            self._server.close()
            for st in self.states.values():
                st.unsubscribe()
            for s in list(self.sessions):
                s.closed = True
                s.writer.close()
            for task in list(self.completers):  # orders still in the engine queue: not answered
                task.cancel()  # (their MsgSeqNums are not saved; the counterparty resends them)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self._owns_store:
            self.store.close()


__all__ = ["FixGateway", "FixSession", "SessionState", "checksum_ok"]
