"""The journal: an append-only, sequence-numbered, CRC-checked, hash-chained log of commands.

Commands are journaled before they are applied; state is rebuilt by replaying them (snapshots cut
the replay short). Each record carries ``crc32(header + body)`` and a chain value
``blake2b(previous chain + header + body)``, so a flipped bit, a torn record or a missing one is
found. Damage confined to the tail (every record from the first bad one to the end is bad: a
crash mid-write, a torn page) is cut off with a message saying how many records went; damage in
the middle (a bad record followed by intact ones) is refused, never skipped.

This module is the port: the record format, the errors, the durability policy, the chain and
verifier every backend shares, and the in-memory journal. The SQLite and PostgreSQL journals live
side by side in `lionrock.storage` (the engine never imports a storage backend).

Durability policies: ``every`` commits and fsyncs each append; ``group:<ms>`` batches appends and
commits when the oldest pending record is ``ms`` old (or on `flush`). A record is durable, and
may be acknowledged, once ``durable_seq`` has reached it.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import NamedTuple, Protocol

from lionrock.kernel.messages import OUTCOME_VERSION, SCHEMA_VERSION
from lionrock.kernel.user_errors import UserError

RECORD_HEADER = struct.Struct("<qq")
GENESIS = bytes(16)
MAX_PENDING = 65_536


class GroupCommit:
    """When to commit (shared by every journal backend). Asked BEFORE a record is appended: are
    the ``pending`` records to be committed first? Under ``every`` always (each record is its own
    commit); under ``group:<ms>`` once the oldest pending record is ``ms`` old or the batch is
    full. The record being appended is never committed by its own append: it is applied first,
    and committed by the next append or by ``flush`` (which callers run before acknowledging),
    so a command that crashes the engine can still be discarded (`discard_pending`) instead of
    becoming durable and crashing every restart."""

    def __init__(self, durability: Durability) -> None:
        self.durability = durability
        self._since = 0.0

    def due(self, pending: int) -> bool:
        if not pending:
            return False
        if self.durability.mode == "every":
            return True
        return pending >= MAX_PENDING or (time.monotonic() - self._since) * 1000.0 >= self.durability.group_ms

    def started(self) -> None:
        """The first record of a new batch was appended."""
        self._since = time.monotonic()


class Origin(NamedTuple):
    """Who sent a command and through which channel (REST, FIX, WEB, CLI), as the server
    authenticated it: recorded by the journal beside the command it came with, so the journal is
    the one log of who did what (DESIGN.md); the command body, its CRC and chain are unchanged."""

    sender: str
    channel: str


class JournalRecord(NamedTuple):
    seq: int
    at_ns: int
    crc: int
    body: bytes


class SnapshotRecord(NamedTuple):
    seq: int
    at_ns: int
    chain: bytes
    state: bytes
    state_hash: str


class JournalError(UserError):
    """A journal cannot be used as it is (see the tree in `lionrock.kernel.user_errors`)."""

    hint = "Restore the journal from a replica or backup, or point the command at another one."


class JournalCorrupted(JournalError):
    """The journal is damaged somewhere other than its tail; it will not be repaired silently."""


class NotAJournal(JournalCorrupted):
    """The file is not a Lion Rock journal (not SQLite, a damaged header, or no journal tables)."""

    hint = "Give the journal.sqlite a lionrock command wrote (e.g. out/demo/journal.sqlite)."


class JournalNotFound(JournalError, FileNotFoundError):
    """No file where a journal to read was expected (a `FileNotFoundError` too)."""

    hint = "Check the path, or write a journal first (lionrock demo --out DIR)."


class JournalIncompatible(JournalError):
    """The journal was written under another message schema or outcome version."""

    hint = "Read it with the Lion Rock version that wrote it, or start a new journal."


def check_outcome_version(journal: Journal, where: str, *, empty: bool, writable: bool) -> None:
    """Refuse a journal written under another `OUTCOME_VERSION` (one with records and none
    recorded predates the versions: 1); a new, empty journal writable here is stamped with ours."""
    version = journal.get_meta("outcome_version")
    if version is None and empty and writable:
        journal.set_meta("outcome_version", str(OUTCOME_VERSION))
        return
    if (version or "1") != str(OUTCOME_VERSION):
        raise JournalIncompatible(
            f"{where} was written under outcome version {version or '1 (none recorded)'}; this build computes outcome version "
            f"{OUTCOME_VERSION}, whose rules may give other outcomes for the same commands (lionrock.kernel.messages.OUTCOME_VERSION)"
        )


@dataclass(frozen=True)
class Durability:
    mode: str  # "every" | "group"
    group_ms: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Durability:
        t = text.strip().lower()
        if t == "every":
            return cls("every")
        if t.startswith("group:"):
            try:
                ms = float(t.split(":", 1)[1])
            except ValueError:
                ms = -1
            if ms > 0:
                return cls("group", ms)
        raise ValueError(f"durability {text!r}: expected 'every' or 'group:<ms>' with ms > 0, e.g. 'group:5'")

    def __str__(self) -> str:
        return "every" if self.mode == "every" else f"group:{self.group_ms:g}"


@dataclass
class RecoveryReport:
    records_verified: int = 0
    dropped_records: int = 0
    dropped_from_seq: int | None = None
    reason: str = ""
    messages: list[str] = field(default_factory=list)


def record_crc(seq: int, at_ns: int, body: bytes) -> int:
    return zlib.crc32(body, zlib.crc32(RECORD_HEADER.pack(seq, at_ns)))


def next_chain(previous: bytes, seq: int, at_ns: int, body: bytes) -> bytes:
    h = blake2b(previous, digest_size=16)
    h.update(RECORD_HEADER.pack(seq, at_ns))
    h.update(body)
    return h.digest()


class Journal(Protocol):
    """What the engine needs of a journal. `MemoryJournal` (here) and the SQLite and PostgreSQL
    journals (`lionrock.storage`) implement it; one contract suite tests all three."""

    durability: Durability
    report: RecoveryReport

    @property
    def last_seq(self) -> int: ...
    @property
    def durable_seq(self) -> int: ...
    def append(self, seq: int, at_ns: int, body: bytes) -> None: ...
    def flush(self) -> None: ...
    def discard_pending(self) -> int:
        """Forget appended records that are not yet durable (never acknowledged); how many."""
        ...

    def records(self, after: int = 0) -> Iterator[JournalRecord]: ...
    def save_snapshot(self, seq: int, at_ns: int, state: bytes, state_hash: str) -> None:
        """Store the state as of ``seq``, which must be the last appended record."""
        ...

    def latest_snapshot(self) -> SnapshotRecord | None: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def stage_meta(self, key: str, value: str) -> None:
        """Set ``key`` with the next `flush`, in the transaction that makes the records appended
        before it durable (alone if there are none): the value is durable exactly when they are,
        for the price of no commit of its own. `get_meta` shows it once flushed."""
        ...

    def chain_at(self, seq: int) -> bytes: ...
    def stamp_origin(self, origin: Origin | None) -> None:
        """The origin of the next record appended (made durable with it); None: no origin."""
        ...

    def origins(self, after: int = 0) -> Iterator[tuple[int, Origin]]:
        """``(seq, origin)`` of the records after ``after`` that came with an origin, in order."""
        ...

    def verify(self, upto: int | None = None) -> int:
        """Check every record from the first to ``upto`` (default: the last): none missing, each
        one's CRC, the hash chain; commands are not decoded. Raise `JournalCorrupted` naming the
        first bad record; return how many records were checked."""
        ...

    def close(self) -> None: ...


def verify_snapshot_chain(journal: Journal, snapshot: SnapshotRecord) -> int:
    """Verify every record up to ``snapshot`` and that the snapshot belongs to that chain.

    Opening a journal checks only the records after its latest snapshot (so a restart is quick),
    and a replay from the snapshot reads only those: damage before the snapshot would go unseen.
    This walks the earlier records without decoding or applying them (a CRC and a hash each), so
    `lionrock replay` can vouch for the whole journal at a fraction of a full replay's cost."""
    checked = journal.verify(snapshot.seq)
    if journal.chain_at(snapshot.seq) != snapshot.chain:
        raise JournalCorrupted(f"the snapshot at record {snapshot.seq} does not belong to the journal's hash chain")
    return checked


class RecordVerifier:
    """Checks sequence continuity, CRC and chain over a stream of stored rows."""

    def __init__(self, after: int, start_chain: bytes) -> None:
        self.expected = after + 1
        self.chain = start_chain

    def check(self, seq: int, at_ns: int, crc: int, chain: bytes, body: bytes) -> str:
        if seq != self.expected:
            return f"record {self.expected} is missing (next stored is {seq})"
        if record_crc(seq, at_ns, body) != crc:
            return f"record {seq} fails its CRC"
        want = next_chain(self.chain, seq, at_ns, body)
        if want != chain:
            return f"record {seq} breaks the hash chain"
        self.chain = want
        self.expected += 1
        return ""


class MemoryJournal:
    """In-process journal with the same contract; for tests and throwaway simulations."""

    def __init__(self, durability: Durability | str = "every") -> None:
        self.durability = Durability.parse(durability) if isinstance(durability, str) else durability
        self.report = RecoveryReport()
        self._rows: list[tuple[int, int, int, bytes, bytes]] = []
        self._chain = GENESIS
        self._snapshots: list[SnapshotRecord] = []
        self._meta: dict[str, str] = {"schema_version": str(SCHEMA_VERSION), "outcome_version": str(OUTCOME_VERSION)}
        self._origins: dict[int, Origin] = {}
        self._next_origin: Origin | None = None

    @property
    def last_seq(self) -> int:
        return self._rows[-1][0] if self._rows else 0

    @property
    def durable_seq(self) -> int:
        return self.last_seq

    def append(self, seq: int, at_ns: int, body: bytes) -> None:
        if seq != self.last_seq + 1:
            raise ValueError(f"append out of sequence: {seq} after {self.last_seq}")
        self._chain = next_chain(self._chain, seq, at_ns, body)
        self._rows.append((seq, at_ns, record_crc(seq, at_ns, body), self._chain, body))
        if self._next_origin is not None:
            self._origins[seq], self._next_origin = self._next_origin, None

    def stamp_origin(self, origin: Origin | None) -> None:
        self._next_origin = origin

    def origins(self, after: int = 0) -> Iterator[tuple[int, Origin]]:
        for seq in sorted(s for s in self._origins if s > after):
            yield seq, self._origins[seq]

    def flush(self) -> None:
        pass

    def discard_pending(self) -> int:
        return 0  # every append is immediately "durable" here

    def records(self, after: int = 0) -> Iterator[JournalRecord]:
        v = RecordVerifier(after, self.chain_at(after))
        for seq, at_ns, crc, chain, body in self._rows[after:]:
            problem = v.check(seq, at_ns, crc, chain, body)
            if problem:
                raise JournalCorrupted(problem)
            yield JournalRecord(seq, at_ns, crc, body)

    def chain_at(self, seq: int) -> bytes:
        return self._rows[seq - 1][3] if seq else GENESIS

    def verify(self, upto: int | None = None) -> int:
        upto = self.last_seq if upto is None else upto
        v = RecordVerifier(0, GENESIS)
        for seq, at_ns, crc, chain, body in self._rows[:upto]:
            problem = v.check(seq, at_ns, crc, chain, body)
            if problem:
                raise JournalCorrupted(problem)
        if v.expected <= upto:
            raise JournalCorrupted(f"record {v.expected} is missing (the journal ends at {v.expected - 1})")
        return upto

    def save_snapshot(self, seq: int, at_ns: int, state: bytes, state_hash: str) -> None:
        self._snapshots.append(SnapshotRecord(seq, at_ns, self.chain_at(seq), state, state_hash))

    def latest_snapshot(self) -> SnapshotRecord | None:
        return self._snapshots[-1] if self._snapshots else None

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    def stage_meta(self, key: str, value: str) -> None:
        self._meta[key] = value  # every append is immediately "durable" here

    def close(self) -> None:
        pass


__all__ = [
    "GENESIS",
    "MAX_PENDING",
    "RECORD_HEADER",
    "Durability",
    "GroupCommit",
    "Journal",
    "JournalCorrupted",
    "JournalError",
    "JournalIncompatible",
    "check_outcome_version",
    "JournalNotFound",
    "JournalRecord",
    "MemoryJournal",
    "next_chain",
    "record_crc",
    "NotAJournal",
    "Origin",
    "RecordVerifier",
    "RecoveryReport",
    "SnapshotRecord",
    "verify_snapshot_chain",
]
