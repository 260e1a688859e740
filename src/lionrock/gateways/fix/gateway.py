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
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import simplefix

from lionrock.gateways.fix.store import FixSessionStore, fix_store_url
from lionrock.kernel.errors import Rejection
from lionrock.kernel.ids import IDENTIFIER_CHARACTERS, IDENTIFIER_MAX_LENGTH, parse_identifier
from lionrock.kernel.messages import Command
from lionrock.kernel.price import PRICE_SCALE, parse_price
from lionrock.readmodel.projector import parties_of
from lionrock.readmodel.tenancy import participant_of
from lionrock.service.auth import AuthError, Principal, Role
from lionrock.service.policy import Denied
from lionrock.service.root import Published, Service
from lionrock.service.writer import RunnerStopped
from lionrock.trading import TradingCode

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
    """BeginString (8) then BodyLength (9) first, CheckSum (10) last, and both right for the bytes
    received (FIX 4.4 session rules: otherwise the message is garbled and ignored). Never raises:
    any field out of shape is a garbled message."""
    raw = getattr(msg, "raw", None)
    if raw is None:  # built in memory: its fields in order
        raw = b"".join(bytes(t) + b"=" + bytes(v) + SOH for t, v in msg.pairs)
    return _frame_ok(raw)


def _frame_ok(raw: bytes) -> bool:
    first = raw.find(SOH)
    second = raw.find(SOH, first + 1) if first >= 0 else -1
    if not raw.startswith(b"8=") or second < 0 or raw[first + 1 : first + 3] != b"9=":
        return False
    length = raw[first + 3 : second]
    trailer = raw.rfind(b"\x0110=")
    checksum = raw[trailer + 4 : -1]
    if trailer < second or not raw.endswith(SOH) or not _is_digits(length, 7) or not _is_digits(checksum, 3):
        return False
    return int(checksum) == sum(raw[: trailer + 1]) % 256 and int(length) == trailer + 1 - (second + 1)


def _is_digits(raw: bytes, max_len: int) -> bool:
    """ASCII digits only, 1 to ``max_len`` of them (so ``int`` is cheap and never refuses)."""
    return 0 < len(raw) <= max_len and raw.isdigit()


_RAW_LEN_TAGS = frozenset(str(t).encode() for t in simplefix.parser.RAW_LEN_TAGS)
_RAW_DATA_TAGS = frozenset(str(t).encode() for t in simplefix.parser.RAW_DATA_TAGS)
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


class _Inbound(simplefix.FixMessage):
    """A received message: its fields, its exact bytes (for `checksum_ok`) and its first defect
    (SessionRejectReason, RefTagID, Text), which the session answers with a Reject, or with a
    Logout before Logon, once the message is known not to be garbled."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw
        self.defect: tuple[int, int, str] | None = None

    def flag(self, reason: int, tag: int, text: str) -> None:
        if self.defect is None:
            self.defect = (reason, tag, text)


# NumInGroup fields of the repeating groups an order-entry message may carry (Parties,
# Stipulations, TradingSessions, SecurityAltID, Allocs, StrategyParameters, ContraBrokers):
# inside a group a tag repeats by design, so only the tags the gateway reads must be unique there
_GROUP_COUNT_TAGS = frozenset({b"453", b"232", b"386", b"454", b"78", b"957", b"382", b"802", b"523"})
# the tags the gateway acts on: each must appear once (FIX 4.4: "Tag appears more than once", 13)
_READ_TAGS = frozenset(str(t).encode() for t in (
    8, 9, 10, 35, 34, 43, 49, 56, 52, 97, 122, 1, 7, 11, 16, 18, 36, 37, 38, 40, 41, 44, 54, 55, 59, 98, 108, 112, 123, 141, 553, 554))
_CONTROL_IN_VALUE = re.compile(rb"[\x00-\x1f\x7f]")
_MAX_TAG_DIGITS = 9


def _parse_message(raw: bytes) -> simplefix.FixMessage:
    """The fields of one framed message, split at SOH. Never raises: a field that is not
    ``tag=value`` with a positive numeric tag, an empty value, a value with a control character,
    or a tag repeated outside a repeating group is recorded as the message's defect. A message
    with a length-prefixed raw data field is parsed by simplefix (a raw value may hold SOH)."""
    items = raw[:-1].split(SOH)
    if any(item.partition(b"=")[0] in _RAW_LEN_TAGS for item in items):
        with contextlib.suppress(Exception):  # simplefix refuses it: split below, with a defect
            parser = simplefix.FixParser()
            parser.append_buffer(raw)
            parsed = parser.get_message()
            if parsed is not None:
                msg = _Inbound(raw)
                msg.pairs, msg.begin_string, msg.message_type = parsed.pairs, parsed.begin_string, parsed.message_type
                return msg
    msg = _Inbound(raw)
    pairs: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    in_group = False
    for item in items:
        tag, eq, value = item.partition(b"=")
        if not eq or not _is_digits(tag, _MAX_TAG_DIGITS) or tag[0] == 48:
            msg.flag(0, 0, f"invalid tag number: field {item[:20].decode('ascii', 'replace')!r} is not tag=value with a positive numeric tag")
            continue
        if not value:
            msg.flag(4, int(tag), f"tag {int(tag)} specified without a value")
        elif _CONTROL_IN_VALUE.search(value) and tag not in _RAW_DATA_TAGS:
            msg.flag(6, int(tag), f"tag {int(tag)}: incorrect data format: a value may not contain control characters")
        if tag in seen and (not in_group or tag in _READ_TAGS):
            msg.flag(13, int(tag), f"tag {int(tag)} appears more than once")
        in_group = in_group or tag in _GROUP_COUNT_TAGS
        seen.add(tag)
        pairs.append((tag, value))
    msg.pairs = pairs
    msg.begin_string = pairs[0][1] if pairs else None
    msg.message_type = msg.get(35)
    return msg


class UnsafeFixValue(ValueError):
    """A value the gateway was about to write holds a control character (a byte below 0x20, or
    0x7f): SOH inside a value would end the field early and let its sender inject fields (say
    ``39=2``) into another party's session, with a valid checksum. Nothing is sent. Identifiers are
    refused at every edge before they get here, so this is a bug, raised loudly."""


_CONTROL_EXCEPT_SOH = re.compile(rb"[\x00\x02-\x1f\x7f]")


def _refuse_control_characters(m: simplefix.FixMessage, raw: bytes) -> None:
    """Cheap on the good path: one scan of the encoded message for control characters other than
    SOH, and exactly one SOH per field (an SOH in a value adds one)."""
    if _CONTROL_EXCEPT_SOH.search(raw) is None and raw.count(SOH) == len(m.pairs) + 2 and all(v for _, v in m.pairs):  # + BodyLength, CheckSum
        return
    for tag, value in m.pairs:
        if _CONTROL_IN_VALUE.search(bytes(value)):
            raise UnsafeFixValue(f"FIX tag {int(tag)}: value {bytes(value)[:40]!r} holds a control character; "
                                 "FIX values may not contain bytes below 0x20 or 0x7f (SOH would inject fields): not sent")
    for tag, value in m.pairs:
        if not value:
            raise UnsafeFixValue(f"FIX tag {int(tag)}: empty value (FIX has no empty fields): not sent")
    raise UnsafeFixValue("FIX message holds a control character outside its values: not sent")


def _printable(text: str, limit: int = 200) -> str:
    """Free text the gateway writes (Text (58) naming what a client sent): control characters
    become '?' and it is cut at ``limit``, so an echoed value can never break the framing."""
    return _CONTROL_TEXT.sub("?", text[:limit])


_CONTROL_TEXT = re.compile(r"[\x00-\x1f\x7f]")


class SessionReject(Exception):
    """A message broke a session-level rule: answered by a Reject (35=3) with SessionRejectReason
    (373) ``reason``, RefTagID (371) ``tag`` (0: none) and Text (58)."""

    def __init__(self, reason: int, tag: int, text: str) -> None:
        super().__init__(text)
        self.reason, self.tag, self.text = reason, tag, text


class BusinessReject(Exception):
    """A well-formed application message the gateway will not take: answered by a
    BusinessMessageReject (35=j) with BusinessRejectReason (380) ``reason`` and Text (58)."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason, self.text = reason, text


def _echo(value: bytes) -> bytes:
    """A client's MsgType written back in RefMsgType (372): as received when it is a plausible
    MsgType, else ``?`` (never a control character, never empty)."""
    return value if 0 < len(value) <= 4 and value.isalnum() else b"?"


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
            fields.append((58, _printable(text)))
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
        _refuse_control_characters(m, raw)
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
                    try:
                        self._report(pub)
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
    MAX_HELD = 10_000
    """Messages held behind a sequence gap at most; past it the session ends (a limit on memory)."""
    throttle_window: int = -1  # the one-second window being counted (whole seconds of the gateway's clock)
    throttle_count: int = 0  # application messages seen in it

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
        """Best effort on the way out: the connection closes whether or not the Logout is sent."""
        try:
            self.send(b"5", [(58, _printable(text))])
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
        """FIX 4.4 session rules, in their order: a garbled message (BeginString, BodyLength,
        CheckSum, MsgType not in place) is ignored; one without a usable MsgSeqNum ends the session
        with a Logout; before Logon anything malformed or not a Logon does too; after Logon the
        sequence number is checked first, then the message's defect (`_Inbound.defect`) is
        answered by a Reject (`_process`)."""
        if self.gateway.stopped:
            return
        if msg.get(8) != b"FIX.4.4" or not checksum_ok(msg) or len(msg.pairs) < 3 or msg.pairs[2][0] != b"35":
            return  # garbled: ignore (the counterparty will see the gap)
        msg_type = msg.get(35) or b""
        seq_raw = msg.get(34)
        if seq_raw is None or not _is_digits(seq_raw, 18):
            self.logout("MsgSeqNum (34) missing or not a whole number of at most 18 digits: session ended")
            return
        seq = int(seq_raw)
        defect = getattr(msg, "defect", None)
        if self.principal is None:
            if msg_type != b"A":
                self.logout("first message must be Logon")
            elif defect is not None:
                self.logout(f"logon refused: malformed Logon: {defect[2]} (SessionRejectReason {defect[0]})")
            else:
                await self._logon(msg, seq)
            return
        st = self.state
        if (msg.get(49), msg.get(56)) != (st.key[0].encode(), self.gateway.comp_id.encode()) and defect is None:
            # FIX 4.4: a CompID other than the session's is a Reject (9, CompID problem), then a Logout
            self.send(b"3", [(45, seq), (371, 49), (372, _echo(msg_type)), (373, 9),
                             (58, f"CompID problem: SenderCompID (49) / TargetCompID (56) must be those of the Logon ({st.key[0]} / {self.gateway.comp_id})")])
            self.logout("CompID problem: session ended")
            return
        if msg_type == b"4" and msg.get(123) != b"Y":  # SequenceReset-Reset: ignores MsgSeqNum
            self._sequence_reset(msg)
            await self._drain_held()
            return
        if seq > st.in_seq:
            # a gap: hold the message until the gap is filled; one ResendRequest per gap
            if seq not in self.held and len(self.held) >= self.MAX_HELD:
                self.logout(f"more than {self.MAX_HELD} messages held waiting for a gap to be filled: session ended")
                return
            if seq not in self.held:
                handled = msg_type == b"2" and getattr(msg, "defect", None) is None  # a ResendRequest is answered at once
                if handled:
                    try:
                        self._resend(msg)
                    except SessionReject:
                        handled = False  # rejected when its turn comes
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
            defect = getattr(msg, "defect", None)
            if defect is not None:
                raise SessionReject(*defect)
            if msg_type not in ADMIN_TYPES:
                if not self._still_active():
                    return
                self._check_application(msg_type)
            await self._dispatch(msg_type, msg, seq)
        except SessionReject as r:
            fields: list[tuple[int, Any]] = [(45, seq)]
            if r.tag:
                fields.append((371, r.tag))
            fields += [(372, _echo(msg_type)), (373, r.reason), (58, _printable(r.text))]
            self.send(b"3", fields)
        except BusinessReject as r:
            self.send(b"j", [(45, seq), (372, _echo(msg_type)), (380, r.reason), (58, _printable(r.text))])

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
        username = _printable((msg.get(553) or b"").decode(errors="replace"), 64)
        password = (msg.get(554) or b"").decode(errors="replace")
        service = self.gateway.service
        sender = msg.get(49) or b""
        try:
            try:
                key = (_identifier(sender, 49, "SenderCompID"), _identifier(msg.get(56) or b"", 56, "TargetCompID"))
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
            target = self.their_comp or _printable(sender.decode(errors="replace"), 64)
            service.auth.audit(username, "", "fix", "logon", target, "failed", _printable(str(exc)))
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
        self.heartbeat_s = max(1, min(int(hb), 300)) if hb and _is_digits(hb, 6) else 30
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
        if new is None or not _is_digits(new, 18):
            self.send(b"3", [(45, msg.get(34) or b"0"), (371, 36), (373, 1 if new is None else 5),
                             (58, "SequenceReset needs NewSeqNo (36), a whole number of at most 18 digits")])
            return
        if int(new) >= self.state.in_seq:
            self.state.in_seq = int(new)

    def _resend(self, msg: simplefix.FixMessage) -> None:
        begin_raw, end_raw_text = msg.get(7) or b"", msg.get(16) or b""
        for tag, raw in ((7, begin_raw), (16, end_raw_text)):
            if not _is_digits(raw, 18):
                raise SessionReject(1 if not raw else 5, tag, f"ResendRequest needs tag {tag}, a whole number of at most 18 digits")
        begin = max(int(begin_raw), 1)
        end_raw = int(end_raw_text)
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
        elif msg_type == b"1":  # TestReqID is required and echoed: at most 64 bytes come back
            test_req_id = _req(msg, 112)
            if len(test_req_id) > _MAX_TEST_REQ_ID:
                raise SessionReject(5, 112, f"TestReqID (112) must be at most {_MAX_TEST_REQ_ID} characters, got {len(test_req_id)}")
            self.send(b"0", [(112, test_req_id)])
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
    def _still_active(self) -> bool:
        """The session's user is still active (`AuthStore.is_active`: in memory, per message); a
        user disabled by an operator is logged out at once, with the reason."""
        p = self.principal
        if p is None or self.gateway.service.auth.is_active(p.username):
            return True
        self.gateway.service.auth.audit(p.username, str(p.role), "fix", "logout", self.their_comp, "ok", "user disabled")
        self.logout("user disabled: session ended")
        return False

    def _check_application(self, msg_type: bytes) -> None:
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
            raise BusinessReject(0, f"throttle exceeded: more than {gateway.throttle_per_second} application messages in one second on this session")

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
        cl = _identifier(msg.get(11) or b"", 11, "ClOrdID")
        symbol = _identifier(msg.get(55) or b"", 55, "Symbol")
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
        account_raw = msg.get(1)
        account = _identifier(account_raw, 1, "Account") if account_raw is not None else (p.accounts[0] if p.accounts else f"P:{p.participant}")
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

        poss_dup = msg.get(43) == b"Y"

        def answer(result: Any) -> None:
            """The order's outcome (or a refusal): a rejected order is reported here, an
            accepted one by its events (OrderAccepted -> ExecutionReport New), a repeated
            ClOrdID here too (`_answer_duplicate`)."""
            transact = _utc_now()  # refused before the engine: now
            if isinstance(result, Rejection):
                rejection: Rejection | None = result
            elif isinstance(result, BaseException):
                rejection = _unavailable(result)
            else:
                service.settle(p, command, result, grants)
                rejection = _rejection_of(result)
                transact = _fix_time(result.at_ns)  # the engine's time of the rejection
                retry = next((e for e in result.events if type(e).__name__ == "OrderRetryAcknowledged"), None)
                if rejection is None and retry is not None:
                    self._answer_duplicate(retry, command, side_code, transact, poss_dup=poss_dup)
                    return
            if rejection is not None:
                duplicate = rejection.code == TradingCode.DUPLICATE_CLIENT_ORDER_ID
                self._order_rejected(command, side_code, transact, 6 if duplicate else 99, _DUPLICATE_TEXT if duplicate else _text(rejection))

        self._pipeline(outcome, answer)
        if len(self.inflight) >= self.MAX_INFLIGHT:
            await self._settled(self.MAX_INFLIGHT // 2)

    def _order_rejected(self, command: Any, side_code: bytes, transact: str, reason: int, text: str) -> None:
        """ExecutionReport Rejected (150=8, 39=8) for a NewOrderSingle, OrdRejReason ``reason``."""
        self.send(b"8", [
            (37, "NONE"), (11, command.client_order_id), (17, f"R{self.out_seq}"), (150, b"8"), (39, b"8"), (55, command.instrument),
            (54, side_code), (38, command.quantity), (151, 0), (14, 0), (6, 0), (103, reason), (58, text), (1, command.account), (60, transact),
        ])

    def _answer_duplicate(self, retry: Any, command: Any, side_code: bytes, transact: str, *, poss_dup: bool) -> None:
        """A NewOrderSingle whose ClOrdID the participant already used today for this same order
        (the venue acknowledged it as a retry: nothing new happened). FIX 4.4 (Vol. 2, PossDupFlag;
        Vol. 4, ClOrdID uniqueness): with PossDupFlag (43=Y) it is a resend of a message already
        processed, answered with the order's current status (ExecutionReport, ExecType I Order
        Status); without it, it is a duplicate order: ExecutionReport Rejected, OrdRejReason 6.
        Both are deterministic. The status is only sent to a principal that may trade the order's
        account (the retry carried the same account, which the access policy admitted), and the
        reject's Text never says who used the ClOrdID or for which order."""
        if not poss_dup:
            self._order_rejected(command, side_code, transact, 6, _DUPLICATE_TEXT)
            return
        view = self.orders.get(retry.order_id) or self._view(retry.order_id, command.client_order_id)
        quantity = view.quantity if view is not None else command.quantity
        filled = view.cum_qty if view is not None else 0
        if retry.remaining:
            status = b"1" if filled else b"0"
        else:
            status = b"2" if filled >= quantity else b"4"
        fields: list[tuple[int, Any]] = [
            (37, retry.order_id), (11, command.client_order_id), (17, f"S{self.out_seq}"), (150, b"I"), (39, status), (55, retry.instrument),
            (54, side_code), (38, quantity), (40, b"2" if command.price else b"1"), (151, retry.remaining), (14, filled),
            (6, _px(view.cum_value // filled) if view is not None and filled else "0"), (1, command.account), (60, transact),
        ]
        if command.price:
            fields.append((44, _px(command.price)))
        fields.append((58, "PossDup resend of an order already processed: its current status"))
        self.send(b"8", fields)

    def _lookup(self, msg: simplefix.FixMessage) -> tuple[int, str]:
        """Venue order id from OrderID (37), or from OrigClOrdID (41) following this session's
        ClOrdID chain (a replaced order is known by its latest ClOrdID)."""
        order_id = msg.get(37)
        orig = _identifier(msg.get(41) or b"", 41, "OrigClOrdID")
        oid = int(order_id) if order_id and _is_digits(order_id, 18) else 0
        if not oid:
            for v in self.orders.values():
                if v.cl_ord_id == orig:
                    return v.order_id, orig
        return oid, orig

    async def _cancel(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        cl = _identifier(msg.get(11) or b"", 11, "ClOrdID")
        oid, orig = self._lookup(msg)
        symbol = _identifier(msg.get(55) or b"", 55, "Symbol")
        from lionrock.trading.commands import CancelOrder

        self.state.add_pending(orig, cl)
        rejection = await self._submit(CancelOrder(instrument=symbol, participant=p.participant, order_id=oid, client_order_id=orig if not oid else ""))
        if rejection is not None:
            self.state.drop_pending(orig)
            self.send(b"9", [(37, oid or "NONE"), (11, cl), (41, orig), (39, b"8"), (434, b"1"), (102, b"1" if rejection.code in (7004,) else b"99"), (58, _text(rejection))])

    async def _replace(self, msg: simplefix.FixMessage) -> None:
        p = self.principal
        assert p is not None
        cl = _identifier(msg.get(11) or b"", 11, "ClOrdID")
        oid, orig = self._lookup(msg)
        symbol = _identifier(msg.get(55) or b"", 55, "Symbol")
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
    if not _is_digits(raw, _MAX_QUANTITY_DIGITS) or int(raw) <= 0:
        raise SessionReject(5, tag, f"tag {tag} must be a positive whole number of at most {_MAX_QUANTITY_DIGITS} digits, "
                                    f"got {_shown(raw)}")
    return int(raw)


_FIX_PRICE = re.compile(rb"[0-9]{1,9}(\.[0-9]{1,9})?")
_MAX_QUANTITY_DIGITS = 12


def _price(msg: simplefix.FixMessage) -> int:
    """Price (44): a FIX Price is plain decimal digits with an optional point; an exponent
    (``1e400``), NaN, Infinity, a sign or more than 9 whole digits is refused here, before the
    kernel's ``parse_price`` (positive, at most 0.001 fine) decides."""
    raw = _req(msg, 44)
    if _FIX_PRICE.fullmatch(raw) is None:
        raise SessionReject(6, 44, f"Price (44) must be a plain decimal such as 49.90 (digits, optional point, no sign or exponent), got {_shown(raw)}")
    try:
        return parse_price(raw.decode())
    except ValueError as exc:
        raise SessionReject(5, 44, f"Price (44): {exc}") from exc


def _shown(raw: bytes) -> str:
    """A client's value quoted in a Text: printable and cut short."""
    text = _printable(raw[:40].decode("ascii", "replace"))
    return repr(text + ("..." if len(raw) > 40 else ""))


_DUPLICATE_TEXT = ("duplicate order: ClOrdID (11) is already in use today "
                   "[client order ids are unique per participant per trading day; FIX 4.4 OrdRejReason 6]")
_MAX_PASSWORD = 1024
_MAX_TEST_REQ_ID = 64


def _identifier(raw: bytes, tag: int, name: str) -> str:
    """An identifier over FIX (ClOrdID, OrigClOrdID, Account, Symbol, CompIDs), checked by the
    kernel's `parse_identifier`, the one gate every edge uses: 1 to 64 characters of its narrow
    charset. Anything else (SOH, which would let a value inject fields into the reports that carry
    it back; a 100,000 character id) is a Reject: 1 when empty, 5 (value incorrect) for the
    length, 6 (incorrect data format) for a character, with Text naming the field and the rule."""
    if not raw:
        raise SessionReject(1, tag, f"required tag {tag} ({name}) missing")
    if len(raw) > IDENTIFIER_MAX_LENGTH:
        raise SessionReject(5, tag, f"{name} ({tag}) must be 1-{IDENTIFIER_MAX_LENGTH} characters, got {len(raw)}")
    try:
        return parse_identifier(raw.decode("ascii"), f"{name} ({tag})")
    except (UnicodeDecodeError, ValueError):
        raise SessionReject(6, tag, f"{name} ({tag}) may contain only {IDENTIFIER_CHARACTERS}, got {_shown(raw)}") from None


def _text(r: Rejection) -> str:
    rule = f" [{r.rule}]" if r.rule else ""
    return _printable(f"{r.code} {r.reason}: {r.field}: {r.message}{rule}", 400)


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


def _peer_address(writer: Any) -> str:
    """The client's IP address, for the login throttle's per-address count ("" if unknown)."""
    get = getattr(writer, "get_extra_info", None)
    peer = get("peername") if get is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


def _utc_now() -> str:
    return _fix_time(time.time_ns())


def _fix_time(at_ns: int) -> str:
    """UTCTimestamp (YYYYMMDD-HH:MM:SS.sss) of epoch nanoseconds."""
    seconds, ns = divmod(at_ns, 1_000_000_000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1_000_000:03d}"


DEFAULT_THROTTLE_PER_SECOND = 10_000
"""Application messages a FIX session may send in one second (`FixSession._check_application`).
HKEX sells OCG-C throttles in units of 2 messages per second; a test venue's default is high
enough for the FIX benchmark's pipelined burst and is lowered per gateway (``throttle_per_second``)."""


class FixGateway:
    """Accepts FIX 4.4 sessions on ``host:port`` for one `Service`, with the sessions' state in
    ``store`` (by default the `FixSessionStore` beside the service's storage, see `fix_store_url`),
    each session throttled to ``throttle_per_second`` application messages."""

    def __init__(self, service: Service, host: str = "127.0.0.1", port: int = 9878, *, comp_id: str = "LIONROCK",
                 resend_window: int = 100_000, logon_timeout_s: float = 10.0, store: FixSessionStore | None = None,
                 throttle_per_second: int = DEFAULT_THROTTLE_PER_SECOND, throttle_clock: Callable[[], float] = time.time) -> None:
        if throttle_per_second < 1:
            raise ValueError(f"throttle_per_second must be at least 1 message per second, got {throttle_per_second}")
        self.service, self.host, self.port = service, host, port
        self.throttle_per_second = throttle_per_second
        self.throttle_clock = throttle_clock  # wall-clock seconds: windows start at whole seconds (OCG-C)
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
