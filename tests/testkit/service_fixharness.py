"""The FIX gateway in-process, for hostile-input tests and the session fuzz: a `FixGateway` that
listens on nothing, whose connections are `FixSession`s fed bytes directly (an asyncio
StreamReader) and writing into memory. The service, its engine thread and its event hub are the
real ones, so orders go through the venue and reports come back exactly as over TCP, without a
socket per example (the fuzz runs 100,000 frames)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import simplefix

from lionrock.gateways.fix.gateway import FixGateway
from lionrock.gateways.fix.session import FixSession
from lionrock.gateways.fix.store import FixSessionStore
from lionrock.service.root import Service

NOW = "20251124-02:00:00"


class MemoryWriter:
    """What a `FixSession` writes to: kept in memory."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def frame(
    msg_type: bytes, fields: list[tuple[int, Any]], *, sender: str, seq: int, target: str = "LIONROCK", poss_dup: bool = False
) -> bytes:
    m = simplefix.FixMessage()
    for tag, value in ((8, b"FIX.4.4"), (35, msg_type), (49, sender), (56, target), (34, seq)):
        m.append_pair(tag, value, header=True)
    if poss_dup:
        m.append_pair(43, b"Y", header=True)
    m.append_pair(52, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000", header=True)
    for tag, value in fields:
        m.append_pair(tag, value)
    return bytes(m.encode())


def raw_frame(body: bytes) -> bytes:
    """A message around ``body`` (its fields after MsgType, SOH-terminated, written as given: no
    checks), with a correct BodyLength and CheckSum: what a hostile client can always produce."""
    head = b"8=FIX.4.4\x01"
    inner = body
    msg = head + b"9=" + str(len(inner)).encode() + b"\x01" + inner
    return msg + b"10=" + f"{sum(msg) % 256:03d}".encode() + b"\x01"


_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def outbound_messages(data: bytes) -> list[list[tuple[bytes, bytes]]]:
    """Split what the gateway wrote into messages and check each independently of the gateway's
    own code: ``tag=value`` fields (positive numeric tags, non-empty values without control
    characters), BeginString, BodyLength and CheckSum right. Raises AssertionError otherwise."""
    out = []
    at = 0
    while at < len(data):
        end = data.find(b"\x0110=", at)
        assert end >= 0, f"trailing bytes without a CheckSum: {data[at : at + 80]!r}"
        stop = data.index(b"\x01", end + 1) + 1
        raw = data[at:stop]
        fields = [f.partition(b"=") for f in raw[:-1].split(b"\x01")]
        assert all(eq and tag.isdigit() and tag[0] != 48 and value and not _CONTROL.search(value) for tag, eq, value in fields), raw
        assert fields[0][0] == b"8" and fields[0][2] == b"FIX.4.4" and fields[1][0] == b"9" and fields[2][0] == b"35", raw
        body_start = raw.index(b"\x01", raw.index(b"\x01") + 1) + 1
        assert int(fields[1][2]) == end + 1 - at - body_start, f"BodyLength wrong: {raw!r}"
        assert int(fields[-1][2]) == sum(raw[: end + 1 - at]) % 256, f"CheckSum wrong: {raw!r}"
        out.append([(tag, value) for tag, _, value in fields])
        at = stop
    return out


class Connection:
    """One client connection to an `InProcessGateway`."""

    def __init__(self, gateway: FixGateway, sender: str) -> None:
        self.reader = asyncio.StreamReader()
        self.writer = MemoryWriter()
        now = time.monotonic()
        self.session = FixSession(gateway, self.reader, self.writer, last_recv=now, last_send=now)  # type: ignore[arg-type]
        self.task = asyncio.ensure_future(self.session.run())
        self.sender = sender
        self.seq = 1
        self.read_at = 0  # messages already returned by `recv`

    def feed(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], *, seq: int | None = None, poss_dup: bool = False) -> None:
        self.feed(frame(msg_type, fields, sender=self.sender, seq=self.seq if seq is None else seq, poss_dup=poss_dup))
        if seq is None:
            self.seq += 1

    def messages(self) -> list[simplefix.FixMessage]:
        parser = simplefix.FixParser()
        parser.append_buffer(bytes(self.writer.data))
        out = []
        while (msg := parser.get_message()) is not None:
            out.append(msg)
        return out

    async def recv(self, msg_type: bytes | None = None, timeout: float = 10.0) -> simplefix.FixMessage:
        """The next message not yet returned (of ``msg_type``, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages()
            while self.read_at < len(msgs):
                msg = msgs[self.read_at]
                self.read_at += 1
                if msg_type is None or msg.get(35) == msg_type:
                    return msg
            if time.monotonic() > deadline:
                raise AssertionError(f"no {msg_type!r} within {timeout}s; got {[m.get(35) for m in msgs]}")
            if self.task.done() and self.read_at >= len(msgs):
                raise ConnectionError(f"the session ended; last messages {[bytes(m.encode()) for m in msgs[-2:]]}")
            await asyncio.sleep(0.002)

    async def logon(
        self, user: str, password: str, *, reset: bool = True, extra: list[tuple[int, Any]] | None = None
    ) -> simplefix.FixMessage:
        if reset:
            self.seq = 1
        self.send(b"A", [(98, 0), (108, 30), (553, user), (554, password), *([(141, b"Y")] if reset else []), *(extra or [])])
        return await self.recv()

    async def close(self) -> None:
        self.reader.feed_eof()
        try:
            await asyncio.wait_for(self.task, 10)
        finally:
            self.writer.close()


class InProcessGateway:
    """A `FixGateway` on ``service`` with its own in-memory session store and no listening socket."""

    def __init__(self, service: Service, **options: Any) -> None:
        self.store = FixSessionStore.open(":memory:")
        self.gateway = FixGateway(service, store=self.store, **options)
        self.connections: list[Connection] = []

    def connect(self, sender: str) -> Connection:
        conn = Connection(self.gateway, sender)
        self.connections.append(conn)
        return conn

    async def close(self) -> None:
        for conn in self.connections:
            if not conn.task.done():
                await conn.close()
        for task in list(self.gateway.completers):
            await asyncio.wait_for(asyncio.shield(task), 10)
        for st in self.gateway.states.values():
            st.unsubscribe()
        await self.gateway.stop()
        self.store.close()
