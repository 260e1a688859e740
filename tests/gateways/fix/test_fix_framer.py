"""`FixFramer`: the gateway's linear-time FIX message framing gives exactly what simplefix's
parser gives for the same bytes, however they are split across reads (FIX 4.4 message format:
BeginString, BodyLength, ..., CheckSum), and skips bytes that are not a message."""

from __future__ import annotations

import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.gateways.fix.framing import FixFramer, checksum_ok

values = st.binary(min_size=1, max_size=20).filter(lambda v: b"\x01" not in v)
bodies = st.lists(st.tuples(st.sampled_from([11, 38, 44, 54, 55, 58, 60, 1, 40, 59]), values), max_size=8)


def _message(seq: int, body: list[tuple[int, bytes]]) -> bytes:
    m = simplefix.FixMessage()
    for tag, value in ((8, b"FIX.4.4"), (35, b"D"), (49, b"C"), (56, b"LIONROCK"), (34, seq)):
        m.append_pair(tag, value, header=True)
    for tag, value in body:
        m.append_pair(tag, value)
    return bytes(m.encode())


def _pairs(msg: simplefix.FixMessage) -> list[tuple[bytes, bytes]]:
    return [(bytes(t), bytes(v)) for t, v in msg.pairs]


def _frame(stream: bytes, cuts: list[int]) -> list[list[tuple[bytes, bytes]]]:
    framer, out, at = FixFramer(), [], 0
    for cut in [*sorted(c % (len(stream) + 1) for c in cuts), len(stream)]:
        framer.feed(stream[at:cut] if cut > at else b"")
        at = max(at, cut)
        while (msg := framer.next()) is not None:
            out.append(_pairs(msg))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(bodies, min_size=1, max_size=12), st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_framer_gives_simplefix_messages_whatever_the_reads(messages: list[list[tuple[int, bytes]]], cuts: list[int]) -> None:
    raws = [_message(i + 1, body) for i, body in enumerate(messages)]
    parser, expected = simplefix.FixParser(), []
    parser.append_buffer(b"".join(raws))
    while (msg := parser.get_message()) is not None:
        expected.append(_pairs(msg))
    assert _frame(b"".join(raws), cuts) == expected
    assert len(expected) == len(raws)


def test_framer_skips_junk_and_frames_a_garbled_message_for_the_session_to_ignore() -> None:
    """Bytes before a BeginString are skipped; a message with a wrong BodyLength is still one
    message (it ends at its CheckSum), which `checksum_ok` then refuses, as simplefix framed it."""
    first, second, third = _message(1, [(11, b"a")]), _message(2, [(11, b"b")]), _message(3, [(11, b"c")])
    wrong = second.replace(b"\x019=", b"\x019=1", 1)  # BodyLength 1xx: garbled
    framer, got = FixFramer(), []
    for chunk in (b"noise 58=text\x01" + first[:30], first[30:] + wrong[:7], wrong[7:] + b"\x01\x01", third):
        framer.feed(chunk)
        while (msg := framer.next()) is not None:
            got.append(msg)
    assert [m.get(11) for m in got] == [b"a", b"b", b"c"]
    assert [checksum_ok(m) for m in got] == [True, False, True]


def test_framer_waits_for_the_rest_of_a_message() -> None:
    raw = _message(1, [(58, b"8=FIX inside a value")])
    framer = FixFramer()
    for i in range(len(raw) - 1):
        framer.feed(raw[i : i + 1])
        assert framer.next() is None
    framer.feed(raw[-1:])
    msg = framer.next()
    assert msg is not None and msg.get(58) == b"8=FIX inside a value" and msg.get(35) == b"D"
