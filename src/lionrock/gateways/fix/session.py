"""The FIX 4.4 session layer: Logon, sequence numbers, resend, heartbeats, the throttle and the
session-level rejects, over one TCP connection (`FixSession`) attached to the state of its
(SenderCompID, TargetCompID) pair (`SessionState`).

Logon (35=A) must come first and carry Username (553) and Password (554) of a broker, investor or
operator user (argon2-verified; failures are audited and answered with a Logout); HeartBtInt
(108) drives Heartbeats and TestRequests; MsgSeqNum (34) is checked on every message: a gap
triggers one ResendRequest (35=2) and the later messages are held until it is filled, a number
too low without PossDupFlag (43=Y) ends the session; sequence numbers and the store of sent
messages belong to the pair and are persisted in the platform's storage (`FixSessionStore`:
written before a message is sent), so a Logon without ResetSeqNumFlag (141=Y) continues them,
across gateway restarts too, and reports produced while the client was away are resent on
request; order views are rebuilt at start-up from the read models (the venue's recovered state),
and the events after the last one each pair has stored reports for (its reported position,
stored in the same transaction as the reports) are reported then, so no report is lost or doubled
by a crash (`SessionState.recover`). A ResendRequest from the client is answered by resending
application messages with PossDupFlag and OrigSendingTime and by SequenceReset-GapFill (35=4,
123=Y) over admin messages; a SequenceReset moves the expected number. Bad checksum or body
length: the message is dropped (as the FIX spec says for garbled messages); missing or malformed
fields: Reject (35=3) with SessionRejectReason (373) and RefTagID (371); unsupported types:
BusinessMessageReject (35=j).

Composition: a `SessionState` holds the pair's `Reporter` (events -> ExecutionReports) and
`OrderMapper` (order messages -> commands) and is their one way out (`SessionState.send`): every
message is numbered, stored and written there. A `FixSession` is the connection: it reads,
checks the session rules, and hands order messages to the mapper and their commands to the
service, pipelining NewOrderSingles (answered in message order once durable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import simplefix

from lionrock.gateways.fix import tags
from lionrock.gateways.fix.framing import (
    BusinessReject,
    Fields,
    FixFramer,
    SessionReject,
    UnsafeFixValue,
    body_of,
    checksum_ok,
    encode,
    is_digits,
    printable,
)
from lionrock.gateways.fix.orders import OrderMapper, identifier, required
from lionrock.gateways.fix.reports import (
    ALL_EVENTS,
    OrderView,
    Reporter,
    filled_values,
    fix_time,
    fold,
    order_events_after,
    order_histories,
    order_ids,
    text_of,
    utc_now,
)
from lionrock.gateways.fix.tags import (
    ADMIN_TYPES,
    YES,
    BusinessRejectReason,
    CxlRejReason,
    CxlRejResponseTo,
    MsgType,
    OrdRejReason,
    OrdStatus,
    SessionRejectReason,
)
from lionrock.kernel.errors import Rejection
from lionrock.kernel.messages import Command
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.auth import AuthError
from lionrock.service.hub import Published
from lionrock.service.policy import Denied, ServiceCode
from lionrock.service.writer import RunnerStopped
from lionrock.trading import TradingCode
from lionrock.trading.commands import PlaceOrder
from lionrock.trading.events import OrderAccepted, OrderRejected, OrderRetryAcknowledged

if TYPE_CHECKING:
    from lionrock.gateways.fix.store import FixSessionStore
    from lionrock.service.root import Service


class SessionHost(Protocol):
    """What a session needs of the acceptor that owns it (`gateway.FixGateway`): the service, the
    session store, the pairs' states and the session limits. A protocol, so the session module
    does not import the gateway that imports it."""

    service: Service
    store: FixSessionStore
    stopped: bool
    comp_id: str
    comp_id_bytes: bytes
    logon_timeout_s: float
    throttle_per_second: int
    throttle_clock: Callable[[], float]
    states: dict[tuple[str, str], SessionState]
    completers: set[asyncio.Future[None]]


log = logging.getLogger(__name__)
_FIX_44 = b"FIX.4.4"


@dataclass(eq=False)
class SessionState:
    """What outlives a TCP connection for one (SenderCompID, TargetCompID) pair: the expected
    incoming and the next outgoing MsgSeqNum and the sent messages (both in the gateway's
    `FixSessionStore`, so they outlive the process too), the reporter with its order views, the
    order mapper and the event subscription. Execution reports produced while no connection is
    attached are numbered and stored like any other, so the client gets them by ResendRequest
    when it logs on again (or, after a Logon with ResetSeqNumFlag, sent again under new numbers
    with PossResend). A state that is not ``persistent`` is a connection's throwaway one before
    its Logon succeeds."""

    gateway: SessionHost
    key: tuple[str, str] = ("", "")
    in_seq: int = 1
    out_seq: int = 1
    persistent: bool = False
    saved_in_seq: int = 1
    owner: str = ""  # the user the pair belongs to (the first to log on with it)
    conn: FixSession | None = None
    sub_id: int | None = None
    pump: asyncio.Future[None] | None = None
    position: tuple[int, int] = (0, 0)  # (engine seq, event index) of the last event handled: later ones only
    resume_from: tuple[int, int] | None = None  # the stored reported position, until `recover` has used it
    recovered: bool = True  # False for a stored pair whose events after ``resume_from`` are not yet reported
    in_seq_cap: int | None = None  # a message whose answer could not be stored: never saved as received
    reporter: Reporter = field(init=False)
    mapper: OrderMapper = field(init=False)
    _outbox: list[tuple[int, bytes, str, bytes]] | None = None  # the reports of the events being reported
    _aliases: list[tuple[int, str]] | None = None
    _answered: list[tuple[str, str]] | None = None  # (OrigClOrdID, ClOrdID) of the pending requests the events answered

    REPORT_BATCH = 256
    """Events whose reports are stored in one session-store transaction at most."""

    def __post_init__(self) -> None:
        self.reporter = Reporter(self)
        self.mapper = OrderMapper(self.reporter, self.gateway.service.read)

    @property
    def principal(self) -> Principal | None:
        """The pair's owner as signed in (the reporter's: whose events are reported)."""
        return self.reporter.principal

    @principal.setter
    def principal(self, principal: Principal | None) -> None:
        self.reporter.principal = principal

    def attached(self) -> bool:
        return self.conn is not None and not self.conn.closed

    # -- the one way out --------------------------------------------------------------------------
    def send(
        self, msg_type: bytes, fields: Fields, *, resend_of: int | None = None, orig_time: str = "", poss_resend: bool = False
    ) -> None:
        """Number, store (write before send) and write one message; while events are being
        reported (`report`) an application message is collected and stored with their position."""
        if self.gateway.stopped:
            return  # the gateway is stopping: nothing more is numbered or sent
        seq = resend_of if resend_of is not None else self.out_seq
        now = utc_now()
        header: list[tuple[int, Any]] = [
            (tags.MSG_TYPE, msg_type),
            (tags.SENDER_COMP_ID, self.gateway.comp_id_bytes),
            (tags.TARGET_COMP_ID, self.key[0].encode() or b"CLIENT"),
            (tags.MSG_SEQ_NUM, seq),
        ]
        if resend_of is not None:
            header += [(tags.POSS_DUP_FLAG, YES), (tags.ORIG_SENDING_TIME, orig_time)]
        if poss_resend:
            header.append((tags.POSS_RESEND, YES))
        header.append((tags.SENDING_TIME, now))
        raw = encode(header, fields)
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

    # -- the reporter's outbox (`reports.Outbox`) ------------------------------------------------------
    def remember_cl(self, order_id: int, cl_ord_id: str) -> None:
        if self._aliases is not None:
            self._aliases.append((order_id, cl_ord_id))  # stored with the report that makes it the order's
        elif self.persistent and not self.gateway.stopped:
            self.gateway.store.set_cl_ord_id(self.key, order_id, cl_ord_id)

    def answered(self, orig: str, cl: str) -> None:
        if self._answered is not None:
            self._answered.append((orig, cl))  # dropped from the store with the report that answers it
        elif self.persistent and not self.gateway.stopped:
            self.gateway.store.drop_pending(self.key, orig)

    def add_pending(self, orig: str, cl: str) -> None:
        """A cancel or cancel/replace request ``cl`` on the order known by ``orig`` is about to be
        submitted: remembered (and stored, before the submit) until the event that answers it."""
        self.reporter.pending_cl[orig] = cl
        if self.persistent and not self.gateway.stopped:
            self.gateway.store.set_pending(self.key, orig, cl)

    def drop_pending(self, orig: str) -> None:
        """The request was refused: no event will answer it."""
        if self.reporter.pending_cl.pop(orig, None) is not None and self.persistent and not self.gateway.stopped:
            self.gateway.store.drop_pending(self.key, orig)

    # -- events -> reports, exactly once ------------------------------------------------------------
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
                    try:
                        self.reporter.report(pub)
                    except UnsafeFixValue:  # an identifier no edge should have let in: never sent, said loudly
                        log.exception("FIX %s: the report of event %d-%d is not sent", self.key[0], pub.seq, pub.index)
                    at = (pub.seq, pub.index)
            if at == self.position:
                return
            outbox, aliases, answered = self._outbox, self._aliases, [orig for orig, _ in self._answered]
            if (outbox or aliases or answered) and self.persistent and not self.gateway.stopped:
                self.gateway.store.sent_reports(self.key, outbox, at, offline=not self.attached(), aliases=aliases, answered=answered)
        except BaseException:
            self.out_seq = before  # nothing of it was stored: the numbers are not used
            for orig, cl in self._answered or ():
                self.reporter.pending_cl[orig] = cl  # nor was the request answered
            raise
        finally:
            self._outbox = self._aliases = self._answered = None
        self.position = at
        conn = self.conn
        if outbox and conn is not None and not conn.closed:
            conn.writer.write(b"".join(raw for *_, raw in outbox))
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
            as_of = service.projected_seq()
            rows = read.execute(
                f"SELECT {columns} FROM orders WHERE status IN ('new', 'partially_filled') AND {where} ORDER BY order_id", args
            )
            rows = [r for r in rows if p.can_trade_account(r[6])]
            values = filled_values(read, [int(r[0]) for r in rows if int(r[7])])
            if start is not None and start < (as_of, ALL_EVENTS):
                replay = [pub for pub in order_events_after(read, p, start, as_of) if self.reporter.wants(pub)]
                created = {pub.event.order_id for pub in replay if isinstance(pub.event, OrderAccepted)}
                touched = {oid for pub in replay for oid in order_ids(pub.event)} - created
                history = order_histories(read, touched, start) if touched else []
        aliases = self.gateway.store.cl_ord_ids(self.key)
        orders = self.reporter.orders
        for orig, cl in self.gateway.store.pending(self.key).items():
            self.reporter.pending_cl.setdefault(orig, cl)
        for r in rows:
            oid = int(r[0])
            if oid not in orders:
                orders[oid] = OrderView(
                    oid, aliases.get(oid, r[1]), r[2], r[3], int(r[4]), int(r[5]), r[6], int(r[7]), values.get(oid, 0), as_of, bool(r[8])
                )
        if start is None:
            self.position = max(self.position, (as_of, ALL_EVENTS))
            if self.persistent and not self.gateway.stopped:
                self.gateway.store.set_reported(self.key, self.position)
            return
        if replay:
            for oid in created | touched:
                orders.pop(oid, None)
            for oid, v in fold(p, history).items():
                if oid in touched:
                    v.cl_ord_id = aliases.get(oid, v.cl_ord_id)
                    orders[oid] = v
            self.position = max(self.position, start)
            self.report(replay)
        self.position = max(self.position, start, (as_of, ALL_EVENTS))

    def subscribe(self) -> None:
        if self.sub_id is None:
            self.sub_id, queue = self.gateway.service.hub.subscribe(self.reporter.wants)
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


_DUPLICATE_TEXT = (
    "duplicate order: ClOrdID (11) is already in use today "
    "[client order ids are unique per participant per trading day; FIX 4.4 OrdRejReason 6]"
)
_MAX_PASSWORD = 1024
_MAX_TEST_REQ_ID = 64
_MAX_SEQ_DIGITS = 18


@dataclass(eq=False)
class FixSession:
    """One TCP connection. Before Logon it has a throwaway `SessionState`; a successful Logon
    attaches it to the gateway's `SessionState` for its (SenderCompID, TargetCompID) pair."""

    gateway: SessionHost
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
    state: SessionState = field(init=False)
    # NewOrderSingles queued in the engine and not yet answered, oldest first: (outcome, what to
    # do with it, the expected incoming MsgSeqNum after that message)
    inflight: deque[tuple[asyncio.Future[Any], Callable[[Any], None], int]] = field(default_factory=deque)
    completer: asyncio.Future[None] | None = None
    progress: asyncio.Future[None] | None = None  # set when the completer has answered some orders
    handling: bool = False  # a message is being handled (its MsgSeqNum counted, not yet saved)
    throttle_window: int = -1  # the one-second window being counted (whole seconds of the gateway's clock)
    throttle_count: int = 0  # application messages seen in it

    MAX_INFLIGHT = 4096
    """A session's NewOrderSingles in the engine queue at once; the next waits (back-pressure).
    Several of the writer's batches (at most 1,024 commands each), so the gateway parses the next
    orders while the writer runs the last ones."""
    MAX_HELD = 10_000
    """Messages held behind a sequence gap at most; past it the session ends (a limit on memory)."""

    def __post_init__(self) -> None:
        self.state = SessionState(self.gateway, conn=self)

    @property
    def their_comp(self) -> str:
        return self.state.key[0]

    def logout(self, text: str) -> None:
        """Best effort on the way out: the connection closes whether or not the Logout is sent."""
        try:
            self.state.send(MsgType.LOGOUT, [(tags.TEXT, printable(text))])
        except ConnectionError:
            pass
        except Exception:  # noqa: BLE001 - a bug (or a failing store): loud in the log, the close goes on
            log.exception("FIX %s: the Logout could not be sent", self.their_comp)
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
                # a turn of the loop between reads: the orders of this read go to the writer now
                # (one frame per turn), and its answers are reported, while the next read is parsed
                await asyncio.sleep(0)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug: loud in the log, and the counterparty is told before the close
            log.exception("FIX %s: unexpected error; logging the session out", self.their_comp)
            if not self.closed:
                self.logout("internal error: session closed")
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
            if not self._still_active():  # disabled while idle: out within a second, not at its next order
                self.writer.close()
                return
            now = time.monotonic()
            if now - self.last_send >= self.heartbeat_s:
                self.state.send(MsgType.HEARTBEAT, [])
            silent = now - self.last_recv
            if self.test_req_out is None and silent >= self.heartbeat_s * 1.2 + 1:
                self.test_req_out = f"TR{int(now * 1000)}"
                self.state.send(MsgType.TEST_REQUEST, [(tags.TEST_REQ_ID, self.test_req_out)])
            elif self.test_req_out is not None and silent >= self.heartbeat_s * 2.4 + 2:
                self.logout("no answer to TestRequest")
                self.writer.close()

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
        self.inflight.append((outcome, done, self.state.in_seq))
        if self.completer is None or self.completer.done():
            self.completer = asyncio.ensure_future(self._complete())
            self.gateway.completers.add(self.completer)
            self.completer.add_done_callback(self.gateway.completers.discard)

    async def _complete(self) -> None:
        """Answer the queued orders in order; runs on after the connection closes (the answers
        are numbered and stored for the pair like any report). The engine makes a batch durable
        at once, so one wake-up answers every order already durable (the loop is woken once per
        batch, not once per order) and saves the incoming number once for them."""
        while self.inflight:
            head = self.inflight[0][0]
            if not head.done():
                with contextlib.suppress(Exception):  # its exception is handed to ``done`` below
                    await head
            answered_upto: int | None = None
            while self.inflight and self.inflight[0][0].done():
                outcome, done, in_seq_after = self.inflight[0]
                exc = outcome.exception()
                try:
                    done(exc if exc is not None else outcome.result())
                except Exception:  # noqa: BLE001 - crash-only, below
                    self._answer_not_stored(answered_upto, in_seq_after)
                    return
                self.inflight.popleft()
                answered_upto = in_seq_after
            if answered_upto is not None:
                # the number after the last message answered; the current one only when nothing
                # is in flight or being handled (a cancel waiting for this order is not durable yet)
                self.state.save_in_seq(answered_upto if self.inflight or self.handling else None)
            self._progressed()

    def _answer_not_stored(self, answered_upto: int | None, in_seq_after: int) -> None:
        """The answer was not stored (the session store failed): this message must never count as
        received, so the counterparty sends it again after the restart; the connection closes and
        the orders after it stay unanswered here."""
        log.exception("FIX %s: the answer to MsgSeqNum %d could not be stored; closing", self.their_comp, in_seq_after - 1)
        if answered_upto is not None:
            with contextlib.suppress(Exception):  # the answers before it are stored: counted if the store lets us
                self.state.save_in_seq(answered_upto)
        self.state.in_seq_cap = in_seq_after - 1
        self.closed = True
        self.writer.close()
        self.inflight.clear()
        self._progressed()

    def _progressed(self) -> None:
        if self.progress is not None and not self.progress.done():
            self.progress.set_result(None)

    async def _settled(self, keep: int = 0) -> None:
        """Wait until at most ``keep`` queued orders are unanswered (0: all answered)."""
        while len(self.inflight) > keep:
            if self.progress is None or self.progress.done():
                self.progress = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.progress)

    # -- session rules ------------------------------------------------------------------------------
    async def _handle(self, msg: simplefix.FixMessage) -> None:
        """FIX 4.4 session rules, in their order: a garbled message (BeginString, BodyLength,
        CheckSum, MsgType not in place) is ignored; one without a usable MsgSeqNum ends the session
        with a Logout; before Logon anything malformed or not a Logon does too; after Logon the
        sequence number is checked first, then the message's defect (`Inbound.defect`) is
        answered by a Reject (`_process`)."""
        if self.gateway.stopped:
            return
        if msg.get(tags.BEGIN_STRING) != _FIX_44 or not checksum_ok(msg) or len(msg.pairs) < 3 or msg.pairs[2][0] != b"35":
            return  # garbled: ignore (the counterparty will see the gap)
        msg_type = msg.get(tags.MSG_TYPE) or b""
        seq_raw = msg.get(tags.MSG_SEQ_NUM)
        if seq_raw is None or not is_digits(seq_raw, _MAX_SEQ_DIGITS):
            self.logout("MsgSeqNum (34) missing or not a whole number of at most 18 digits: session ended")
            return
        seq = int(seq_raw)
        defect = getattr(msg, "defect", None)
        if self.principal is None:
            if msg_type != MsgType.LOGON:
                self.logout("first message must be Logon")
            elif defect is not None:
                self.logout(f"logon refused: malformed Logon: {defect[2]} (SessionRejectReason {defect[0]})")
            else:
                await self._logon(msg, seq)
            return
        st = self.state
        if (msg.get(tags.SENDER_COMP_ID), msg.get(tags.TARGET_COMP_ID)) != (
            st.key[0].encode(),
            self.gateway.comp_id_bytes,
        ) and defect is None:
            # FIX 4.4: a CompID other than the session's is a Reject (9, CompID problem), then a Logout
            st.send(
                MsgType.REJECT,
                [
                    (tags.REF_SEQ_NUM, seq),
                    (tags.REF_TAG_ID, tags.SENDER_COMP_ID),
                    (tags.REF_MSG_TYPE, _echo(msg_type)),
                    (tags.SESSION_REJECT_REASON, SessionRejectReason.COMP_ID_PROBLEM),
                    (
                        tags.TEXT,
                        "CompID problem: SenderCompID (49) / TargetCompID (56) must be those of the Logon "
                        f"({st.key[0]} / {self.gateway.comp_id})",
                    ),
                ],
            )
            self.logout("CompID problem: session ended")
            return
        if msg_type == MsgType.SEQUENCE_RESET and msg.get(tags.GAP_FILL_FLAG) != YES:  # SequenceReset-Reset: ignores MsgSeqNum
            self._sequence_reset(msg)
            await self._drain_held()
            return
        if seq > st.in_seq:
            self._hold(msg, msg_type, seq)
            return
        if seq < st.in_seq:
            if msg.get(tags.POSS_DUP_FLAG) != YES:
                self.logout(f"MsgSeqNum too low, expecting {st.in_seq} but received {seq}")
            return
        await self._process(msg_type, msg, seq)
        await self._drain_held()

    def _hold(self, msg: simplefix.FixMessage, msg_type: bytes, seq: int) -> None:
        """A gap: hold the message until the gap is filled; one ResendRequest per gap."""
        if seq not in self.held and len(self.held) >= self.MAX_HELD:
            self.logout(f"more than {self.MAX_HELD} messages held waiting for a gap to be filled: session ended")
            return
        if seq not in self.held:
            handled = msg_type == MsgType.RESEND_REQUEST and getattr(msg, "defect", None) is None  # answered at once
            if handled:
                try:
                    self._resend(msg)
                except SessionReject:
                    handled = False  # rejected when its turn comes
            self.held[seq] = (msg, handled)
        self._request_resend()

    def _request_resend(self) -> None:
        if not self.gap_requested:
            self.gap_requested = True
            self.state.send(MsgType.RESEND_REQUEST, [(tags.BEGIN_SEQ_NO, self.state.in_seq), (tags.END_SEQ_NO, 0)])

    async def _process(self, msg_type: bytes, msg: simplefix.FixMessage, seq: int) -> None:
        self.state.in_seq += 1
        try:
            defect = getattr(msg, "defect", None)
            if defect is not None:
                raise SessionReject(*defect)
            if msg_type not in ADMIN_TYPES:
                if not self._still_active():
                    return
                self._check_application()
            await self._dispatch(msg_type, msg, seq)
        except SessionReject as r:
            fields: list[tuple[int, Any]] = [(tags.REF_SEQ_NUM, seq)]
            if r.tag:
                fields.append((tags.REF_TAG_ID, r.tag))
            fields += [(tags.REF_MSG_TYPE, _echo(msg_type)), (tags.SESSION_REJECT_REASON, r.reason), (tags.TEXT, printable(r.text))]
            self.state.send(MsgType.REJECT, fields)
        except BusinessReject as r:
            self.state.send(
                MsgType.BUSINESS_MESSAGE_REJECT,
                [
                    (tags.REF_SEQ_NUM, seq),
                    (tags.REF_MSG_TYPE, _echo(msg_type)),
                    (tags.BUSINESS_REJECT_REASON, r.reason),
                    (tags.TEXT, printable(r.text)),
                ],
            )

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
                await self._process(msg.get(tags.MSG_TYPE) or b"", msg, st.in_seq)
        if not self.held:
            self.gap_requested = False

    async def _logon(self, msg: simplefix.FixMessage, seq: int) -> None:
        username = printable((msg.get(tags.USERNAME) or b"").decode(errors="replace"), 64)
        password = (msg.get(tags.PASSWORD) or b"").decode(errors="replace")
        service = self.gateway.service
        sender = msg.get(tags.SENDER_COMP_ID) or b""
        try:
            try:
                key = (
                    identifier(sender, tags.SENDER_COMP_ID, "SenderCompID"),
                    identifier(msg.get(tags.TARGET_COMP_ID) or b"", tags.TARGET_COMP_ID, "TargetCompID"),
                )
            except SessionReject as exc:
                raise AuthError(exc.text) from None
            if key[1] != self.gateway.comp_id:
                raise AuthError(f"TargetCompID (56) must be {self.gateway.comp_id}, this gateway's CompID")
            self.state.key = key
            if not username or not password:
                raise AuthError("Logon needs Username (553) and Password (554)")
            if len(password) > _MAX_PASSWORD:
                raise AuthError("unknown user or wrong password")  # as verify_password says it: nothing is hashed
            loop = asyncio.get_running_loop()
            address = _peer_address(self.writer)
            p = await loop.run_in_executor(None, lambda: service.auth.verify_password(username, password, "fix", address=address))
            if p.role not in (Role.BROKER, Role.INVESTOR, Role.OPERATOR):
                raise AuthError(f"role {p.role} may not enter orders")
            st = self.gateway.states.get(key)
            if st is not None and st.owner and st.owner != p.username:
                raise AuthError("this SenderCompID/TargetCompID pair belongs to another user")
        except AuthError as exc:  # a throttled login too (stream C's subclass): same Logout, no hint of the user
            target = self.their_comp or printable(sender.decode(errors="replace"), 64)
            service.auth.audit(username, "", "fix", "logon", target, "failed", printable(str(exc)))
            self.logout(f"logon refused: {exc}")
            return
        reset = msg.get(tags.RESET_SEQ_NUM_FLAG) == YES
        if st is not None and not reset and seq < st.in_seq:
            self.logout(f"MsgSeqNum too low, expecting {st.in_seq} but received {seq}")
            return
        self._attach(msg, seq, key, st, p, reset)

    def _attach(
        self, msg: simplefix.FixMessage, seq: int, key: tuple[str, str], st: SessionState | None, p: Principal, reset: bool
    ) -> None:
        """A Logon accepted: this connection takes the pair's state (made on its first Logon)."""
        service = self.gateway.service
        if st is None:
            st = self.gateway.states[key] = SessionState(self.gateway, key, persistent=True)
        store = self.gateway.store
        st.owner = p.username
        store.claim(key, p.username, st.in_seq, st.out_seq, reported=(service.projected_seq(), ALL_EVENTS))
        old = st.conn
        if old is not None and old is not self and not old.closed:  # a new logon takes over from a stale connection
            old.closed = True
            old.writer.close()
        st.conn = self
        st.principal = p
        self.state, self.principal = st, p
        hb = msg.get(tags.HEART_BT_INT)
        self.heartbeat_s = max(1, min(int(hb), 300)) if hb and is_digits(hb, 6) else 30
        redeliver = []
        if reset:
            redeliver = store.offline(key)
            store.reset(key)
            st.in_seq = st.out_seq = st.saved_in_seq = 1
            st.in_seq_cap = None
        else:
            store.clear_offline(key)
        service.auth.audit(p.username, str(p.role), "fix", "logon", self.their_comp, "ok")
        st.send(
            MsgType.LOGON,
            [(tags.ENCRYPT_METHOD, 0), (tags.HEART_BT_INT, self.heartbeat_s)] + ([(tags.RESET_SEQ_NUM_FLAG, YES)] if reset else []),
        )
        if seq == st.in_seq:
            st.in_seq += 1
        elif seq > st.in_seq:
            self.held[seq] = (msg, True)
            self._request_resend()
        for stored in redeliver:  # missed while away, their old numbers given up by the reset
            st.send(stored.msg_type, body_of(stored.raw), poss_resend=True)
        st.subscribe()
        if not st.recovered:  # a stored pair its owner could not report for at start-up
            st.recover()

    def _sequence_reset(self, msg: simplefix.FixMessage) -> None:
        new = msg.get(tags.NEW_SEQ_NO)
        if new is None or not is_digits(new, _MAX_SEQ_DIGITS):
            reason = SessionRejectReason.REQUIRED_TAG_MISSING if new is None else SessionRejectReason.VALUE_INCORRECT
            self.state.send(
                MsgType.REJECT,
                [
                    (tags.REF_SEQ_NUM, msg.get(tags.MSG_SEQ_NUM) or b"0"),
                    (tags.REF_TAG_ID, tags.NEW_SEQ_NO),
                    (tags.SESSION_REJECT_REASON, reason),
                    (tags.TEXT, "SequenceReset needs NewSeqNo (36), a whole number of at most 18 digits"),
                ],
            )
            return
        if int(new) >= self.state.in_seq:
            self.state.in_seq = int(new)

    def _resend(self, msg: simplefix.FixMessage) -> None:
        st = self.state
        begin_raw, end_raw_text = msg.get(tags.BEGIN_SEQ_NO) or b"", msg.get(tags.END_SEQ_NO) or b""
        for tag, raw in ((tags.BEGIN_SEQ_NO, begin_raw), (tags.END_SEQ_NO, end_raw_text)):
            if not is_digits(raw, _MAX_SEQ_DIGITS):
                reason = SessionRejectReason.REQUIRED_TAG_MISSING if not raw else SessionRejectReason.VALUE_INCORRECT
                raise SessionReject(reason, tag, f"ResendRequest needs tag {tag}, a whole number of at most 18 digits")
        begin = max(int(begin_raw), 1)
        end_raw = int(end_raw_text)
        end = st.out_seq - 1 if end_raw == 0 else min(end_raw, st.out_seq - 1)
        gap_start: int | None = None
        stored_by_seq = {m.seq: m for m in self.gateway.store.messages(st.key, begin, end)} if end >= begin else {}
        for seq in range(begin, end + 1):
            stored = stored_by_seq.get(seq)
            if stored is None:  # an admin message (not stored) or one older than the store keeps
                gap_start = seq if gap_start is None else gap_start
                continue
            if gap_start is not None:
                st.send(
                    MsgType.SEQUENCE_RESET, [(tags.GAP_FILL_FLAG, YES), (tags.NEW_SEQ_NO, seq)], resend_of=gap_start, orig_time=utc_now()
                )
                gap_start = None
            st.send(stored.msg_type, body_of(stored.raw), resend_of=seq, orig_time=stored.sending_time)
        if gap_start is not None:
            st.send(
                MsgType.SEQUENCE_RESET, [(tags.GAP_FILL_FLAG, YES), (tags.NEW_SEQ_NO, end + 1)], resend_of=gap_start, orig_time=utc_now()
            )

    async def _dispatch(self, msg_type: bytes, msg: simplefix.FixMessage, seq: int) -> None:
        match msg_type:
            case MsgType.HEARTBEAT:
                if self.test_req_out is not None and msg.get(tags.TEST_REQ_ID) == self.test_req_out.encode():
                    self.test_req_out = None
            case MsgType.TEST_REQUEST:  # TestReqID is required and echoed: at most 64 bytes come back
                test_req_id = required(msg, tags.TEST_REQ_ID)
                if len(test_req_id) > _MAX_TEST_REQ_ID:
                    raise SessionReject(
                        SessionRejectReason.VALUE_INCORRECT,
                        tags.TEST_REQ_ID,
                        f"TestReqID (112) must be at most {_MAX_TEST_REQ_ID} characters, got {len(test_req_id)}",
                    )
                self.state.send(MsgType.HEARTBEAT, [(tags.TEST_REQ_ID, test_req_id)])
            case MsgType.RESEND_REQUEST:
                self._resend(msg)
            case MsgType.SEQUENCE_RESET:
                self._sequence_reset(msg)
            case MsgType.LOGOUT:
                await self._settled()
                self.logout("logout acknowledged")
            case MsgType.REJECT:
                pass
            case MsgType.LOGON:
                raise SessionReject(SessionRejectReason.SENDING_TIME_ACCURACY, tags.MSG_TYPE, "already logged on")
            case MsgType.NEW_ORDER_SINGLE:
                await self._new_order(msg)
            case MsgType.ORDER_CANCEL_REQUEST:
                await self._settled()  # the orders before it are in the venue and in this session's views
                await self._cancel(msg)
            case MsgType.ORDER_CANCEL_REPLACE_REQUEST:
                await self._settled()
                await self._replace(msg)
            case _:
                self.state.send(
                    MsgType.BUSINESS_MESSAGE_REJECT,
                    [
                        (tags.REF_SEQ_NUM, seq),
                        (tags.REF_MSG_TYPE, msg_type),
                        (tags.BUSINESS_REJECT_REASON, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE),
                        (tags.TEXT, f"unsupported message type {msg_type.decode(errors='replace')}"),
                    ],
                )

    # -- application messages -----------------------------------------------------------------------
    def _still_active(self) -> bool:
        """The session's user is still active (`AuthStore.is_active`: in memory, per message); a
        user disabled by an operator is logged out at once, with the reason."""
        p = self.principal
        if p is None or self.gateway.service.auth.is_active(p.username):
            return True
        self.gateway.service.auth.audit(p.username, str(p.role), "fix", "logout", self.their_comp, "ok", "user disabled")
        self.logout("user disabled: session ended")
        return False

    def _check_application(self) -> None:
        """Before any application message: its sender is still an active user (disabled: the
        session ends), and the session is within its throttle. The throttle counts application
        messages in one-second windows starting at whole clock seconds, as HKEX's OCG-C does ("a
        one-second period that begins at the boundary of an actual clock second"; messages over
        the entitled rate are rejected immediately, not queued: HKEX OCG-C FAQ, Throttle): those
        past ``FixGateway.throttle_per_second`` get a BusinessMessageReject, BusinessRejectReason
        0 (Other: FIX 4.4 has no throttle value; FIX 5.0 SP2 added 8) and Text "throttle exceeded".
        Admin messages (heartbeats, resends) are not counted, so a throttled session stays up."""
        gateway = self.gateway
        window = int(gateway.throttle_clock())
        if window != self.throttle_window:
            self.throttle_window, self.throttle_count = window, 0
        self.throttle_count += 1
        if self.throttle_count > gateway.throttle_per_second:
            raise BusinessReject(
                BusinessRejectReason.OTHER,
                f"throttle exceeded: more than {gateway.throttle_per_second} application messages in one second on this session",
            )

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
        command, side_code = self.state.mapper.new_order(msg, p)
        service = self.gateway.service
        grants: list[tuple[str, str]] = []
        outcome: asyncio.Future[Any]
        try:
            outcome, grants = service.enqueue(p, command)
        except Denied as d:
            outcome = asyncio.get_running_loop().create_future()
            outcome.set_result(_denied(d))
        poss_dup = msg.get(tags.POSS_DUP_FLAG) == YES

        def answer(result: Any) -> None:
            """The order's outcome (or a refusal): a rejected order is reported here, an
            accepted one by its events (OrderAccepted -> ExecutionReport New), a repeated
            ClOrdID here too (`_answer_duplicate`)."""
            transact = utc_now()  # refused before the engine: now
            if isinstance(result, Rejection):
                rejection: Rejection | None = result
            elif isinstance(result, BaseException):
                rejection = _unavailable(result)
            else:
                service.settle(p, command, result, grants)
                rejection = _rejection_of(result)
                transact = fix_time(result.at_ns)  # the engine's time of the rejection
                retry = next((e for e in result.events if isinstance(e, OrderRetryAcknowledged)), None)
                if rejection is None and retry is not None:
                    self._answer_duplicate(retry, command, side_code, transact, poss_dup=poss_dup)
                    return
            if rejection is not None:
                duplicate = rejection.code == TradingCode.DUPLICATE_CLIENT_ORDER_ID
                self.state.reporter.order_rejected(
                    command,
                    side_code,
                    transact,
                    OrdRejReason.DUPLICATE_ORDER if duplicate else OrdRejReason.OTHER,
                    _DUPLICATE_TEXT if duplicate else text_of(rejection),
                    f"R{self.state.out_seq}",
                )

        self._pipeline(outcome, answer)
        if len(self.inflight) >= self.MAX_INFLIGHT:
            await self._settled(self.MAX_INFLIGHT // 2)

    def _answer_duplicate(
        self, retry: OrderRetryAcknowledged, command: PlaceOrder, side_code: bytes, transact: str, *, poss_dup: bool
    ) -> None:
        """A NewOrderSingle whose ClOrdID the participant already used today for this same order
        (the venue acknowledged it as a retry: nothing new happened). FIX 4.4 (Vol. 2, PossDupFlag;
        Vol. 4, ClOrdID uniqueness): with PossDupFlag (43=Y) it is a resend of a message already
        processed, answered with the order's current status (ExecutionReport, ExecType I Order
        Status); without it, it is a duplicate order: ExecutionReport Rejected, OrdRejReason 6.
        Both are deterministic. The status is only sent to a principal that may trade the order's
        account (the retry carried the same account, which the access policy admitted), and the
        reject's Text never says who used the ClOrdID or for which order."""
        st = self.state
        if not poss_dup:
            st.reporter.order_rejected(command, side_code, transact, OrdRejReason.DUPLICATE_ORDER, _DUPLICATE_TEXT, f"R{st.out_seq}")
            return
        view = st.reporter.orders.get(retry.order_id) or st.mapper.view(retry.order_id, command.client_order_id, self.principal)
        st.reporter.order_status(retry, command, view, side_code, transact, f"S{st.out_seq}")

    async def _cancel(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        command, cl, orig, oid = self.state.mapper.cancel(msg, p)
        self.state.add_pending(orig, cl)
        rejection = await self._submit(command)
        if rejection is not None:
            self._cancel_rejected(rejection, CxlRejResponseTo.CANCEL, cl, orig, oid)

    async def _replace(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        command, cl, orig, oid = self.state.mapper.replace(msg, p)
        self.state.add_pending(orig, cl)
        rejection = await self._submit(command)
        if rejection is not None:
            self._cancel_rejected(rejection, CxlRejResponseTo.REPLACE, cl, orig, oid)

    def _cancel_rejected(self, rejection: Rejection, response_to: bytes, cl: str, orig: str, oid: int) -> None:
        """OrderCancelReject (35=9) for a refused cancel or cancel/replace: no event will answer it."""
        self.state.drop_pending(orig)
        reason = CxlRejReason.UNKNOWN_ORDER if rejection.code == ServiceCode.NOT_FOUND else CxlRejReason.OTHER
        self.state.send(
            MsgType.ORDER_CANCEL_REJECT,
            [
                (tags.ORDER_ID, oid or "NONE"),
                (tags.CL_ORD_ID, cl),
                (tags.ORIG_CL_ORD_ID, orig),
                (tags.ORD_STATUS, OrdStatus.REJECTED),
                (tags.CXL_REJ_RESPONSE_TO, response_to),
                (tags.CXL_REJ_REASON, reason),
                (tags.TEXT, text_of(rejection)),
            ],
        )


def _echo(value: bytes) -> bytes:
    """A client's MsgType written back in RefMsgType (372): as received when it is a plausible
    MsgType, else ``?`` (never a control character, never empty)."""
    return value if 0 < len(value) <= 4 and value.isalnum() else b"?"


def _denied(d: Denied) -> Rejection:
    return Rejection(code=int(d.code), reason=d.code.name, field=d.field, message=d.message, rule="service access policy")


def _unavailable(exc: BaseException) -> Rejection:
    return Rejection(
        code=int(ServiceCode.ENGINE_UNAVAILABLE), reason="ENGINE_UNAVAILABLE", field="", message=str(exc) or type(exc).__name__
    )


def _rejection_of(outcome: Any) -> Rejection | None:
    """The command's rejection, or an order's rejection by an observed event (OrderRejected)."""
    if outcome.rejection is not None:
        return outcome.rejection
    for e in outcome.events:
        if isinstance(e, OrderRejected) and isinstance(e.rejection, Rejection):
            return e.rejection
    return None


def _peer_address(writer: Any) -> str:
    """The client's IP address, for the login throttle's per-address count ("" if unknown)."""
    get = getattr(writer, "get_extra_info", None)
    peer = get("peername") if get is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


__all__ = ["FixSession", "SessionState"]
