"""FIX 4.4 framing: bytes in -> messages (`FixFramer`), fields out -> bytes (`encode`).

Incoming: a connection's bytes are split into messages in linear time and each message's first
defect is recorded (`Inbound.defect`) for the session to answer; BodyLength and CheckSum are
checked by `checksum_ok` (a garbled message is ignored, as FIX asks). Outgoing: `encode` writes
the standard header, the body and the trailer directly as bytes and refuses (`UnsafeFixValue`)
any value holding a control character, so a value can never end its field early and inject
fields into another party's session.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

import simplefix

from lionrock.gateways.fix import tags
from lionrock.gateways.fix.tags import SessionRejectReason
from lionrock.kernel.errors import ServiceError

SOH = b"\x01"
Fields = Sequence[tuple[int, Any]]
"""A message's fields as (tag, value): bytes as they are, anything else as its ``str``."""


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
    if trailer < second or not raw.endswith(SOH) or not is_digits(length, 7) or not is_digits(checksum, 3):
        return False
    return int(checksum) == sum(raw[: trailer + 1]) % 256 and int(length) == trailer + 1 - (second + 1)


def is_digits(raw: bytes, max_len: int) -> bool:
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
        return parse_message(bytes(buf[start : end + 1]))


_TAG_BYTES = {t: str(t).encode() for t in range(1, 1000)}


class Inbound(simplefix.FixMessage):
    """A received message: its fields, its exact bytes (for `checksum_ok`) and its first defect
    (SessionRejectReason, RefTagID, Text), which the session answers with a Reject, or with a
    Logout before Logon, once the message is known not to be garbled. ``get`` looks a tag up in
    a dict of first occurrences (simplefix scans the fields)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw
        self.defect: tuple[int, int, str] | None = None
        self.first: dict[bytes, bytes] = {}

    def flag(self, reason: int, tag: int, text: str) -> None:
        if self.defect is None:
            self.defect = (reason, tag, text)

    def get(self, tag: Any, nth: int = 1) -> Any:
        if nth != 1:
            return super().get(tag, nth)
        key = _TAG_BYTES.get(tag) if isinstance(tag, int) else (tag if isinstance(tag, bytes) else str(tag).encode())
        return self.first.get(key if key is not None else str(tag).encode())


# NumInGroup fields of the repeating groups an order-entry message may carry (Parties,
# Stipulations, TradingSessions, SecurityAltID, Allocs, StrategyParameters, ContraBrokers):
# inside a group a tag repeats by design, so only the tags the gateway reads must be unique there
_GROUP_COUNT_TAGS = frozenset(
    _TAG_BYTES[t]
    for t in (
        tags.NO_PARTY_IDS,
        tags.NO_STIPULATIONS,
        tags.NO_TRADING_SESSIONS,
        tags.NO_SECURITY_ALT_ID,
        tags.NO_ALLOCS,
        tags.NO_STRATEGY_PARAMETERS,
        tags.NO_CONTRA_BROKERS,
        tags.NO_PARTY_SUB_IDS,
        tags.PARTY_SUB_ID,
    )
)
# the tags the gateway acts on: each must appear once (FIX 4.4: "Tag appears more than once", 13)
_READ_TAGS = frozenset(
    _TAG_BYTES[t]
    for t in (
        tags.BEGIN_STRING,
        tags.BODY_LENGTH,
        tags.CHECK_SUM,
        tags.MSG_TYPE,
        tags.MSG_SEQ_NUM,
        tags.POSS_DUP_FLAG,
        tags.SENDER_COMP_ID,
        tags.TARGET_COMP_ID,
        tags.SENDING_TIME,
        tags.POSS_RESEND,
        tags.ORIG_SENDING_TIME,
        tags.ACCOUNT,
        tags.BEGIN_SEQ_NO,
        tags.CL_ORD_ID,
        tags.END_SEQ_NO,
        tags.EXEC_INST,
        tags.NEW_SEQ_NO,
        tags.ORDER_ID,
        tags.ORDER_QTY,
        tags.ORD_TYPE,
        tags.ORIG_CL_ORD_ID,
        tags.PRICE,
        tags.SIDE,
        tags.SYMBOL,
        tags.TIME_IN_FORCE,
        tags.ENCRYPT_METHOD,
        tags.HEART_BT_INT,
        tags.TEST_REQ_ID,
        tags.GAP_FILL_FLAG,
        tags.RESET_SEQ_NUM_FLAG,
        tags.USERNAME,
        tags.PASSWORD,
    )
)
_CONTROL_IN_VALUE = re.compile(rb"[\x00-\x1f\x7f]")
_MAX_TAG_DIGITS = 9


def parse_message(raw: bytes) -> simplefix.FixMessage:
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
                msg = Inbound(raw)
                msg.pairs, msg.begin_string, msg.message_type = parsed.pairs, parsed.begin_string, parsed.message_type
                for tag, value in reversed(parsed.pairs):
                    msg.first[bytes(tag)] = bytes(value)
                return msg
    msg = Inbound(raw)
    pairs: list[tuple[bytes, bytes]] = []
    first = msg.first
    in_group = False
    for item in items:
        tag, eq, value = item.partition(b"=")
        if not eq or not is_digits(tag, _MAX_TAG_DIGITS) or tag[0] == 48:
            msg.flag(
                SessionRejectReason.INVALID_TAG_NUMBER,
                0,
                f"invalid tag number: field {item[:20].decode('ascii', 'replace')!r} is not tag=value with a positive numeric tag",
            )
            continue
        if not value:
            msg.flag(SessionRejectReason.TAG_WITHOUT_VALUE, int(tag), f"tag {int(tag)} specified without a value")
        elif tag not in _RAW_DATA_TAGS and _CONTROL_IN_VALUE.search(value):
            msg.flag(
                SessionRejectReason.INCORRECT_DATA_FORMAT,
                int(tag),
                f"tag {int(tag)}: incorrect data format: a value may not contain control characters",
            )
        if tag in first:
            if not in_group or tag in _READ_TAGS:
                msg.flag(SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE, int(tag), f"tag {int(tag)} appears more than once")
        else:
            first[tag] = value
        in_group = in_group or tag in _GROUP_COUNT_TAGS
        pairs.append((tag, value))
    msg.pairs = pairs
    msg.begin_string = pairs[0][1] if pairs else None
    msg.message_type = first.get(_TAG_BYTES[tags.MSG_TYPE])
    return msg


class UnsafeFixValue(ServiceError, ValueError):
    """A value the gateway was about to write holds a control character (a byte below 0x20, or
    0x7f): SOH inside a value would end the field early and let its sender inject fields (say
    ``39=2``) into another party's session, with a valid checksum. Nothing is sent. Identifiers are
    refused at every edge before they get here, so this is a bug, raised loudly."""


_CONTROL_EXCEPT_SOH = re.compile(rb"[\x00\x02-\x1f\x7f]")
_FIX_44 = b"8=FIX.4.4\x019="


def encode(header: Fields, body: Fields) -> bytes:
    """One message: BeginString, BodyLength, ``header`` (MsgType first), ``body``, CheckSum.

    The values are written with one join and the checksum summed over the bytes; then one scan
    of the result for control characters other than SOH and one count of SOH (one per field: an
    SOH in a value adds one) guard the framing. Any doubt goes to the exact check per value
    (`UnsafeFixValue` naming the tag), so nothing unsafe is ever returned."""
    parts = []
    for tag, value in header:
        parts.append(_TAG_BYTES.get(tag) or str(tag).encode())
        parts.append(b"=")
        parts.append(value if isinstance(value, bytes) else str(value).encode())
        parts.append(SOH)
    for tag, value in body:
        parts.append(_TAG_BYTES.get(tag) or str(tag).encode())
        parts.append(b"=")
        parts.append(value if isinstance(value, bytes) else str(value).encode())
        parts.append(SOH)
    inner = b"".join(parts)
    head = _FIX_44 + str(len(inner)).encode() + SOH + inner
    raw = head + b"10=" + _CHECKSUM[sum(head) % 256] + SOH
    fields = len(header) + len(body) + 3  # + BeginString, BodyLength, CheckSum
    if _CONTROL_EXCEPT_SOH.search(raw) is None and raw.count(SOH) == fields and b"=\x01" not in inner:
        return raw
    _refuse_control_characters([*header, *body])
    return raw  # a value that merely ends in '=': nothing unsafe


_CHECKSUM = [f"{n:03d}".encode() for n in range(256)]


def _refuse_control_characters(fields: Fields) -> None:
    for tag, value in fields:
        raw = value if isinstance(value, bytes) else str(value).encode()
        if _CONTROL_IN_VALUE.search(raw):
            raise UnsafeFixValue(
                f"FIX tag {int(tag)}: value {raw[:40]!r} holds a control character; "
                "FIX values may not contain bytes below 0x20 or 0x7f (SOH would inject fields): not sent"
            )
        if not raw:
            raise UnsafeFixValue(f"FIX tag {int(tag)}: empty value (FIX has no empty fields): not sent")


class SessionReject(ServiceError):
    """A message broke a session-level rule: answered by a Reject (35=3) with SessionRejectReason
    (373) ``reason``, RefTagID (371) ``tag`` (0: none) and Text (58)."""

    def __init__(self, reason: int, tag: int, text: str) -> None:
        super().__init__(text)
        self.reason, self.tag, self.text = reason, tag, text


class BusinessReject(ServiceError):
    """A well-formed application message the gateway will not take: answered by a
    BusinessMessageReject (35=j) with BusinessRejectReason (380) ``reason`` and Text (58)."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason, self.text = reason, text


def printable(text: str, limit: int = 200) -> str:
    """Free text the gateway writes (Text (58) naming what a client sent): control characters
    become '?' and it is cut at ``limit``, so an echoed value can never break the framing."""
    return _CONTROL_TEXT.sub("?", text[:limit])


_CONTROL_TEXT = re.compile(r"[\x00-\x1f\x7f]")
HEADER_TAGS = frozenset(
    _TAG_BYTES[t]
    for t in (
        tags.BEGIN_STRING,
        tags.BODY_LENGTH,
        tags.MSG_TYPE,
        tags.SENDER_COMP_ID,
        tags.TARGET_COMP_ID,
        tags.MSG_SEQ_NUM,
        tags.POSS_DUP_FLAG,
        tags.ORIG_SENDING_TIME,
        tags.POSS_RESEND,
        tags.SENDING_TIME,
        tags.CHECK_SUM,
    )
)


def body_of(raw: bytes) -> list[tuple[int, bytes]]:
    """The body fields of a stored message (its header and trailer are written afresh on resend)."""
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    msg = parser.get_message()
    assert msg is not None, "Invariant: a stored FIX message parses"
    return [(int(t), bytes(v)) for t, v in msg.pairs if bytes(t) not in HEADER_TAGS]


__all__ = [
    "SOH",
    "BusinessReject",
    "Fields",
    "FixFramer",
    "Inbound",
    "SessionReject",
    "UnsafeFixValue",
    "body_of",
    "checksum_ok",
    "encode",
    "is_digits",
    "parse_message",
    "printable",
]
