"""Fuzz of the FIX session layer: valid Logon, NewOrderSingle, Cancel, Replace, ResendRequest,
SequenceReset, Heartbeat, TestRequest and Logout frames, mutated (bit flips; deleted, repeated
and emptied fields; wrong CheckSum and BodyLength; huge values; control characters; truncation)
or replaced by random bytes, fed in random chunks to an in-process gateway on a real service
(`service.fixharness`: no sockets, so it is fast).

After every example: no error was logged by the gateway (an unexpected exception is logged before
the session is closed, so this catches every one), every outbound message is well formed (numeric
tags, non-empty values without control characters, BodyLength and CheckSum right, checked by code
independent of the gateway's), and a valid order on a new session is still accepted (the engine
and its runner are alive).

``make test`` runs a few hundred examples; ``make fuzz`` sets ``LIONROCK_FIX_FUZZ_EXAMPLES``
(default there: 12,000 examples, over 100,000 frames) and the last test checks the frame count."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionrock.service.root import Service
from testkit.service_fixharness import NOW, InProcessGateway, frame, outbound_messages, raw_frame
from testkit.service_world import PASSWORD, next_id, open_world

STOCK = "02534"
EXAMPLES = int(os.environ.get("LIONROCK_FIX_FUZZ_EXAMPLES", "200"))
FUZZ_USER = "fuzzbroker"
SENDER = "FUZZER"  # one pair for every example: its state is dropped after each (`_forget`), so each starts afresh
frames_fed = [0]


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz() -> Iterator[tuple[Service, asyncio.AbstractEventLoop, InProcessGateway, _Errors]]:
    service, _ = open_world(stocks=(STOCK,))
    # a cheap password hash for the fuzz user only: a Logon per example must not cost argon2's default work
    service.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    service.auth.create_user(FUZZ_USER, PASSWORD, "broker", participant="B1")
    loop = asyncio.new_event_loop()
    gateway = loop.run_until_complete(_gateway(service))
    errors = _Errors()
    logger = logging.getLogger("lionrock.gateways.fix")  # every module of the gateway (session, reports, ...)
    logger.addHandler(errors)
    try:
        yield service, loop, gateway, errors
    finally:
        logger.removeHandler(errors)
        loop.run_until_complete(gateway.close())
        loop.close()
        service.close()


async def _gateway(service: Service) -> InProcessGateway:
    return InProcessGateway(service, throttle_per_second=50)


def _order(cl: str) -> list[tuple[int, object]]:
    return [(11, cl), (55, STOCK), (54, 1), (38, 100), (40, 2), (44, "49.90"), (1, "C:B1:F1"), (60, NOW)]


BASES: dict[str, tuple[bytes, list[tuple[int, object]]]] = {
    "logon": (b"A", [(98, 0), (108, 30), (553, FUZZ_USER), (554, PASSWORD), (141, "Y")]),
    "order": (b"D", _order("FZ1")),
    "cancel": (b"F", [(11, "FZC1"), (41, "FZ1"), (55, STOCK), (54, 1), (60, NOW)]),
    "replace": (b"G", [(11, "FZR1"), (41, "FZ1"), (55, STOCK), (54, 1), (38, 200), (40, 2), (44, "49.85"), (60, NOW)]),
    "resend": (b"2", [(7, 1), (16, 0)]),
    "reset": (b"4", [(123, "Y"), (36, 5)]),
    "heartbeat": (b"0", []),
    "test": (b"1", [(112, "probe")]),
    "logout": (b"5", [(58, "bye")]),
    "quote": (b"R", [(131, "q1")]),
}
CONTROL = [b"\x00", b"\x01", b"\x02", b"\x09", b"\x0a", b"\x0d", b"\x1f", b"\x7f"]


@st.composite
def mutated(draw: st.DrawFn, seq: int, sender: str) -> bytes:
    """One frame: a base message at MsgSeqNum ``seq`` (or another), mutated or not."""
    kind = draw(st.sampled_from(sorted(BASES)))
    msg_type, fields = BASES[kind]
    fields = [(t, v) for t, v in fields]
    if kind in ("order", "cancel", "replace"):
        fields[0] = (11, draw(st.sampled_from(["FZ1", "FZ2", "FZC1"]) | st.integers(0, 999_999).map(lambda n: f"FZ{n:06d}")))  # repeats too
    number = draw(st.sampled_from([seq, seq, seq, seq + 1, max(seq - 1, 1), 0, 10**30]))
    raw = frame(msg_type, fields, sender=sender, seq=number, poss_dup=draw(st.booleans()) and draw(st.booleans()))
    body = raw[raw.index(b"\x0135=") + 1 : raw.rindex(b"\x0110=") + 1]
    mutation = draw(st.sampled_from(["none", "none", "field", "field", "field", "bits", "checksum", "length", "truncate", "random"]))
    if mutation == "field":
        items = body[:-1].split(b"\x01")
        at = draw(st.integers(0, len(items) - 1))
        tag = items[at].partition(b"=")[0]
        how = draw(st.sampled_from(["delete", "repeat", "empty", "huge", "control", "no-equals", "bad-tag", "digits"]))
        if how == "delete":
            del items[at]
        elif how == "repeat":
            items.insert(at, items[at])
        elif how == "empty":
            items[at] = tag + b"="
        elif how == "huge":
            items[at] = tag + b"=" + b"9" * draw(st.sampled_from([65, 5000, 100_000]))
        elif how == "control":
            items[at] = items[at] + draw(st.sampled_from(CONTROL)) + b"x"
        elif how == "no-equals":
            items[at] = tag
        elif how == "bad-tag":
            items[at] = draw(st.sampled_from([b"0", b"-1", b"abc", b"007", b"99999999999"])) + b"=" + items[at].partition(b"=")[2]
        else:
            items[at] = tag + b"=" + draw(st.sampled_from([b"1e400", b"NaN", b"-Infinity", b"0", b"-5", b"\xff\xfe", b"1.0001", b"9" * 30]))
        return raw_frame(b"\x01".join(items) + b"\x01")
    if mutation == "bits":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if mutation == "checksum":
        return raw[:-4] + draw(st.sampled_from([b"000", b"abc", b"1", b"", b"9999"])) + b"\x01"
    if mutation == "length":
        return raw.replace(b"\x019=", b"\x019=" + draw(st.sampled_from([b"1", b"x", b"-", b"99999999"])), 1)
    if mutation == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if mutation == "random":
        return draw(st.binary(min_size=1, max_size=300))
    return raw


@st.composite
def sessions(draw: st.DrawFn) -> tuple[str, bool, list[bytes], list[int]]:
    """(SenderCompID, fuzz the Logon too, frames, chunk cuts)."""
    sender = SENDER
    count = draw(st.integers(5, 20))
    fuzz_logon = draw(st.integers(0, 9)) == 0
    frames = [draw(mutated(seq=i + (1 if fuzz_logon else 2), sender=sender)) for i in range(count)]
    return sender, fuzz_logon, frames, draw(st.lists(st.integers(0, 5_000), max_size=6))


async def _one(gw: InProcessGateway, sender: str, fuzz_logon: bool, frames: list[bytes], cuts: list[int]) -> None:
    conn = gw.connect(sender)
    if not fuzz_logon:
        assert (await conn.logon(FUZZ_USER, PASSWORD)).get(35) == b"A"
    stream = b"".join(frames)
    at = 0
    for cut in [*sorted(c % (len(stream) + 1) for c in cuts), len(stream)]:
        if cut > at:
            conn.feed(stream[at:cut])
            at = cut
            await asyncio.sleep(0)
    await conn.close()  # the session reads what is buffered, then sees the end of the stream
    for task in list(gw.gateway.completers):
        await asyncio.wait_for(asyncio.shield(task), 10)
    frames_fed[0] += len(frames)
    outbound_messages(bytes(conn.writer.data))
    _forget(gw, sender)


def _forget(gw: InProcessGateway, sender: str) -> None:
    """Drop the pair's state, so the next example's Logon starts a new session (data generation
    must not depend on state outside the example, so every example uses the same SenderCompID)."""
    state = gw.gateway.states.pop((sender, "LIONROCK"), None)
    if state is not None:
        state.unsubscribe()
    gw.store.reset((sender, "LIONROCK"))


async def _still_accepting(gw: InProcessGateway) -> None:
    probe = gw.connect(next_id("PROBE"))
    assert (await probe.logon(FUZZ_USER, PASSWORD)).get(35) == b"A"
    cl = next_id("ALIVE")
    probe.send(b"D", _order(cl))
    er = await probe.recv(b"8")
    assert (er.get(150), er.get(11)) == (b"0", cl.encode()), er.get(58)
    await probe.close()
    _forget(gw, probe.sender)
    gw.connections.clear()  # all closed: keep memory flat over 100,000 frames


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(sessions())
def test_fix_session_survives_mutated_and_random_frames(fuzz, case: tuple[str, bool, list[bytes], list[int]]) -> None:  # type: ignore[no-untyped-def]
    service, loop, gw, errors = fuzz
    loop.run_until_complete(_one(gw, *case))
    assert errors.records == [], [r.getMessage() for r in errors.records]
    assert service.runner.running, service.runner.failure
    loop.run_until_complete(_still_accepting(gw))


def test_fix_fuzz_fed_enough_frames() -> None:
    """Under ``make fuzz`` (LIONROCK_FIX_FUZZ_EXAMPLES set), at least 100,000 frames were fed."""
    if "LIONROCK_FIX_FUZZ_EXAMPLES" in os.environ:
        assert frames_fed[0] >= 100_000, frames_fed[0]
    else:
        assert frames_fed[0] >= EXAMPLES * 5 or frames_fed[0] == 0  # 0: the fuzz test was deselected
