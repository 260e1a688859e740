"""The journal: an append-only, sequence-numbered, CRC-checked, hash-chained log of commands.

Commands are journaled before they are applied; state is rebuilt by replaying them (snapshots cut
the replay short). Each record carries ``crc32(header + body)`` and a chain value
``blake2b(previous chain + header + body)``, so a flipped bit, a torn record or a missing one is
found. Damage confined to the tail (every record from the first bad one to the end is bad: a
crash mid-write, a torn page) is cut off with a message saying how many records went; damage in
the middle (a bad record followed by intact ones) is refused, never skipped.

Durability policies: ``every`` commits and fsyncs each append; ``group:<ms>`` batches appends and
commits when the oldest pending record is ``ms`` old (or on `flush`). A record is durable, and
may be acknowledged, once ``durable_seq`` has reached it.
"""

from __future__ import annotations

import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from typing import NamedTuple, Protocol

import msgspec

from lionrock.kernel.messages import SCHEMA_VERSION
from lionrock.kernel.user_errors import UserError

_HEADER = struct.Struct("<qq")
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
    """The journal was written under another message schema."""

    hint = "Read it with the Lion Rock version that wrote it, or start a new journal."


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
    return zlib.crc32(body, zlib.crc32(_HEADER.pack(seq, at_ns)))


def next_chain(previous: bytes, seq: int, at_ns: int, body: bytes) -> bytes:
    h = blake2b(previous, digest_size=16)
    h.update(_HEADER.pack(seq, at_ns))
    h.update(body)
    return h.digest()


class Journal(Protocol):
    """What the engine needs of a journal. `MemoryJournal` and `SqliteJournal` implement it."""

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
    def chain_at(self, seq: int) -> bytes: ...
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
        self._meta: dict[str, str] = {"schema_version": str(SCHEMA_VERSION)}

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

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, chain BLOB NOT NULL, crc INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
  seq INTEGER PRIMARY KEY, at_ns INTEGER NOT NULL, chain BLOB NOT NULL, state BLOB NOT NULL,
  state_hash TEXT NOT NULL, crc INTEGER NOT NULL
);
"""

_BLOCK_ENCODER = msgspec.msgpack.Encoder()
_BLOCK_DECODER = msgspec.msgpack.Decoder(list[JournalRecord])


def _block_chain(previous: bytes, data: bytes) -> bytes:
    return blake2b(data, digest_size=16, key=previous).digest() if previous != GENESIS else blake2b(data, digest_size=16).digest()


class SqliteJournal:
    """The embedded journal: one SQLite file in WAL mode, ``synchronous=FULL``.

    Each commit writes one *block* row holding the records appended since the last commit, as a
    MessagePack list of ``(seq, at_ns, crc32, body)``. A block carries its own CRC and a chain
    value keyed by the previous block's, so one SQLite row per group commit keeps appends and
    replay fast while every record still has its CRC. Opening the journal checks the blocks after
    the latest snapshot, cuts a damaged tail (whole blocks) and refuses a damaged middle;
    ``report`` says what was found.
    """

    def __init__(self, path: str | Path, durability: Durability | str = "group:5", *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.durability = Durability.parse(durability) if isinstance(durability, str) else durability
        self.readonly = readonly
        self.report = RecoveryReport()
        if readonly:
            if not self.path.exists():
                raise JournalNotFound(f"journal {self.path} does not exist")
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
        self._pending: list[tuple[int, int, int, bytes]] = []
        self._commit = GroupCommit(self.durability)
        try:
            self._open()
        except sqlite3.DatabaseError as exc:  # a damaged header, not SQLite at all, missing tables
            self._db.close()
            raise NotAJournal(f"{self.path} is not a readable Lion Rock journal: {exc}") from exc
        except BaseException:
            self._db.close()
            raise
        self._durable_seq = self._last_seq

    def _open(self) -> None:
        tables = {str(row[0]) for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:  # never add journal tables to someone else's database
            raise NotAJournal(f"{self.path} is an SQLite database but not a Lion Rock journal (it has no meta table)")
        if not self.readonly:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            if self.get_meta("schema_version") is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))
        self._check_schema()
        self._last_seq, self._chain = self._tail()

    def _check_schema(self) -> None:
        version = self.get_meta("schema_version")
        if version != str(SCHEMA_VERSION):
            raise JournalIncompatible(f"{self.path} was written with message schema {version}; this build reads schema {SCHEMA_VERSION}")

    # -- writing ---------------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    def append(self, seq: int, at_ns: int, body: bytes) -> None:
        if seq != self._last_seq + 1:
            raise ValueError(f"append out of sequence: {seq} after {self._last_seq}")
        if self._commit.due(len(self._pending)):
            self.flush()
        self._pending.append((seq, at_ns, zlib.crc32(body, zlib.crc32(_HEADER.pack(seq, at_ns))), body))
        self._last_seq = seq
        if len(self._pending) == 1:
            self._commit.started()

    def discard_pending(self) -> int:
        """Drop the records appended since the last commit (none was acknowledged): used when
        applying a command crashed the engine, so a poison command does not become durable."""
        dropped = len(self._pending)
        if dropped:
            self._last_seq = self._pending[0][0] - 1
            self._pending.clear()
        return dropped

    def flush(self) -> None:
        """Commit and fsync everything appended so far, as one block."""
        if not self._pending:
            return
        data = _BLOCK_ENCODER.encode(self._pending)
        chain = _block_chain(self._chain, data)
        first, last = self._pending[0][0], self._pending[-1][0]
        self._db.execute(
            "INSERT INTO blocks (first_seq, last_seq, chain, crc, data) VALUES (?, ?, ?, ?, ?)",
            (first, last, chain, zlib.crc32(data), data),
        )  # autocommit: one transaction, fsync'd (synchronous=FULL)
        self._chain = chain
        self._durable_seq = last
        self._pending.clear()

    # -- reading ---------------------------------------------------------------------------
    def records(self, after: int = 0) -> Iterator[JournalRecord]:
        """Verified records with ``seq > after``; verification starts at the block holding
        ``after + 1``, from its predecessor's stored chain value."""
        cur = self._db.execute(
            "SELECT first_seq, last_seq, chain, crc, data FROM blocks WHERE last_seq > ? AND first_seq <= ? ORDER BY first_seq",
            (after, self._last_seq),
        )
        prev_chain = self._chain_before(after)
        expected = None
        for first, last, chain, crc, data in cur:
            problem = _check_block(prev_chain, first, last, bytes(chain), crc, data, expected)
            if problem:
                raise JournalCorrupted(f"{self.path}: {problem}")
            prev_chain = bytes(chain)
            expected = last + 1
            # The block CRC covers every byte of its records, so their own CRCs hold too; they
            # are checked one by one only to name the record when a block is damaged.
            block = _BLOCK_DECODER.decode(data)
            if first > after:
                yield from block
            else:
                yield from block[after - first + 1 :]

    def _chain_before(self, after: int) -> bytes:
        """Chain value of the block that ends before the one holding record ``after + 1``."""
        row = self._db.execute("SELECT chain FROM blocks WHERE last_seq <= ? ORDER BY first_seq DESC LIMIT 1", (after,)).fetchone()
        if row is None:
            return GENESIS
        # if `after` falls inside a block, verification restarts at that block's predecessor
        inner = self._db.execute("SELECT first_seq FROM blocks WHERE first_seq <= ? AND last_seq > ?", (after, after)).fetchone()
        if inner is not None:
            row = self._db.execute("SELECT chain FROM blocks WHERE last_seq < ? ORDER BY first_seq DESC LIMIT 1", (inner[0],)).fetchone()
            return GENESIS if row is None else bytes(row[0])
        return bytes(row[0])

    def chain_at(self, seq: int) -> bytes:
        """Chain value of the block ending at ``seq`` (snapshots are taken at block ends)."""
        if seq == 0:
            return GENESIS
        row = self._db.execute("SELECT chain FROM blocks WHERE last_seq = ?", (seq,)).fetchone()
        if row is None:
            raise JournalCorrupted(f"{self.path}: no block ends at record {seq}")
        return bytes(row[0])

    def verify(self, upto: int | None = None) -> int:
        """Every block from the first to the one holding ``upto``: its CRC and chain link, and in
        it each record's sequence number and CRC (records are unpacked, commands not decoded)."""
        upto = self._durable_seq if upto is None else upto
        chain, expected = GENESIS, 1
        cur = self._db.execute("SELECT first_seq, last_seq, chain, crc, data FROM blocks WHERE first_seq <= ? ORDER BY first_seq", (upto,))
        for first, last, row_chain, crc, data in cur:
            problem = _check_block(chain, first, last, bytes(row_chain), crc, data, expected) or _check_records(first, last, data)
            if problem:
                raise JournalCorrupted(f"{self.path}: {problem}")
            chain, expected = bytes(row_chain), last + 1
        if expected <= upto:
            raise JournalCorrupted(f"{self.path}: record {expected} is missing (the journal ends at {expected - 1})")
        return upto

    # -- snapshots and meta ----------------------------------------------------------------
    def save_snapshot(self, seq: int, at_ns: int, state: bytes, state_hash: str) -> None:
        if seq != self._last_seq:
            raise ValueError(f"a snapshot is taken at the last appended record ({self._last_seq}), not at {seq}")
        self.flush()
        chain = self.chain_at(seq)
        crc = zlib.crc32(state, zlib.crc32(chain + state_hash.encode()))
        self._db.execute(
            "INSERT OR REPLACE INTO snapshots (seq, at_ns, chain, state, state_hash, crc) VALUES (?, ?, ?, ?, ?, ?)",
            (seq, at_ns, chain, state, state_hash, crc),
        )

    def latest_snapshot(self) -> SnapshotRecord | None:
        """The newest snapshot whose CRC holds and whose records are still in the journal."""
        rows = self._db.execute(
            "SELECT seq, at_ns, chain, state, state_hash, crc FROM snapshots WHERE seq <= ? ORDER BY seq DESC",
            (self._last_seq,),
        )
        for seq, at_ns, chain, state, state_hash, crc in rows:
            if zlib.crc32(state, zlib.crc32(bytes(chain) + state_hash.encode())) == crc:
                return SnapshotRecord(seq, at_ns, bytes(chain), bytes(state), state_hash)
            self.report.messages.append(f"snapshot at seq {seq} fails its CRC; using an older one")
        return None

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        if not self.readonly:
            self.flush()
        self._db.close()

    # -- recovery --------------------------------------------------------------------------
    def _tail(self) -> tuple[int, bytes]:
        """Verify the blocks after the latest snapshot; cut a damaged tail, refuse a damaged middle."""
        snap = self._db.execute("SELECT seq, chain FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        after, chain = (int(snap[0]), bytes(snap[1])) if snap else (0, GENESIS)
        expected = after + 1
        bad: tuple[int, str] | None = None
        later_intact = 0
        verified = 0
        cur = self._db.execute("SELECT first_seq, last_seq, chain, crc, data FROM blocks WHERE first_seq > ? ORDER BY first_seq", (after,))
        for first, last, row_chain, crc, data in cur:
            if bad is None:
                problem = _check_block(chain, first, last, bytes(row_chain), crc, data, expected)
                if problem:
                    bad = (min(first, expected), problem)
                    if first > expected and zlib.crc32(data) == crc:  # a gap: the block that shows it is intact
                        later_intact += last - first + 1
                else:
                    chain, expected = bytes(row_chain), last + 1
                    verified += last - first + 1
            elif zlib.crc32(data) == crc:
                later_intact += last - first + 1
        self.report.records_verified = verified
        if bad is None:
            return expected - 1, chain
        bad_seq, problem = bad
        if later_intact:
            raise JournalCorrupted(
                f"{self.path}: {problem}, and {later_intact} intact records follow it: the journal is damaged in "
                "the middle, not at its tail. Refusing to recover; restore the journal from a replica or backup."
            )
        row = self._db.execute("SELECT COALESCE(MAX(last_seq), 0) FROM blocks").fetchone()
        dropped = max(int(row[0]) - bad_seq + 1, 1)
        self.report.dropped_records = dropped
        self.report.dropped_from_seq = bad_seq
        self.report.reason = problem
        self.report.messages.append(
            f"journal tail damaged ({problem}): dropped {dropped} record(s) from seq {bad_seq}; recovered to seq {bad_seq - 1}"
        )
        if not self.readonly:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM blocks WHERE first_seq >= ?", (bad_seq,))
            self._db.execute("DELETE FROM snapshots WHERE seq >= ?", (bad_seq,))
            self._db.execute("COMMIT")
        return bad_seq - 1, chain


def _check_block(prev_chain: bytes, first: int, last: int, chain: bytes, crc: int, data: bytes, expected: int | None) -> str:
    if expected is not None and first != expected:
        return f"record {expected} is missing (next stored is {first})"
    if zlib.crc32(data) != crc:
        for seq, at_ns, rcrc, body in _safe_records(data):
            if zlib.crc32(body, zlib.crc32(_HEADER.pack(seq, at_ns))) != rcrc:
                return f"record {seq} fails its CRC"
        return f"block of records {first}-{last} fails its CRC"
    if _block_chain(prev_chain, data) != chain:
        return f"block of records {first}-{last} breaks the hash chain"
    return ""


def _check_records(first: int, last: int, data: bytes) -> str:
    """Inside a block whose own CRC holds: the records run from ``first`` to ``last`` without a
    gap and each one's CRC holds (a writer bug would show here, not as a damaged block)."""
    records = _safe_records(data)
    if not records:
        return f"block of records {first}-{last} cannot be unpacked"
    expected = first
    for seq, at_ns, rcrc, body in records:
        if seq != expected:
            return f"record {expected} is missing (next stored is {seq})"
        if zlib.crc32(body, zlib.crc32(_HEADER.pack(seq, at_ns))) != rcrc:
            return f"record {seq} fails its CRC"
        expected += 1
    if expected != last + 1:
        return f"block of records {first}-{last} ends at record {expected - 1}"
    return ""


def _safe_records(data: bytes) -> list[JournalRecord]:
    try:
        return _BLOCK_DECODER.decode(data)
    except msgspec.DecodeError:
        return []


def open_journal(path: str | Path, durability: str = "group:5", *, readonly: bool = False) -> Journal:
    return SqliteJournal(path, durability, readonly=readonly)


__all__ = [
    "Durability",
    "GroupCommit",
    "Journal",
    "JournalCorrupted",
    "JournalError",
    "JournalIncompatible",
    "JournalNotFound",
    "JournalRecord",
    "MemoryJournal",
    "NotAJournal",
    "RecordVerifier",
    "RecoveryReport",
    "SnapshotRecord",
    "SqliteJournal",
    "open_journal",
    "verify_snapshot_chain",
]
