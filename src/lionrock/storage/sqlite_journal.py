"""The SQLite journal: the `Journal` port (`lionrock.engine.journal`) in one SQLite file.

Records are stored in blocks (one row per group commit: the block's records MessagePack-encoded,
a CRC and a chain over the block), so a group of a thousand commands costs one row and one fsync.
Opening checks the records after the latest snapshot: a damaged tail is cut off with a report, a
damaged middle is refused. `SqliteJournal` and `PostgresJournal` (beside it) pass the same
contract suite as `MemoryJournal`.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

from lionrock.engine.journal import (
    GENESIS,
    Durability,
    GroupCommit,
    Journal,
    JournalCorrupted,
    JournalIncompatible,
    JournalNotFound,
    JournalRecord,
    NotAJournal,
    Origin,
    RecoveryReport,
    SnapshotRecord,
    check_outcome_version,
)
from lionrock.kernel.messages import SCHEMA_VERSION
from lionrock.storage._blocks import (
    PendingRecord,
    TailScan,
    check_block,
    check_records,
    decode_block,
    encode_block,
    pending_record,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, chain BLOB NOT NULL, crc INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS origins (seq INTEGER PRIMARY KEY, sender TEXT NOT NULL, channel TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
  seq INTEGER PRIMARY KEY, at_ns INTEGER NOT NULL, chain BLOB NOT NULL, state BLOB NOT NULL,
  state_hash TEXT NOT NULL, crc INTEGER NOT NULL
);
"""


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
        self._pending: list[PendingRecord] = []
        self._pending_origins: list[tuple[int, str, str]] = []
        self._staged_meta: dict[str, str] = {}
        self._next_origin: Origin | None = None
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
        check_outcome_version(self, str(self.path), empty=self._last_seq == 0, writable=not self.readonly)

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
        self._pending.append(pending_record(seq, at_ns, body))
        self._last_seq = seq
        if self._next_origin is not None:
            self._pending_origins.append((seq, *self._next_origin))
            self._next_origin = None
        if len(self._pending) == 1:
            self._commit.started()

    def discard_pending(self) -> int:
        """Drop the records appended since the last commit (none was acknowledged): used when
        applying a command crashed the engine, so a poison command does not become durable."""
        dropped = len(self._pending)
        if dropped:
            self._last_seq = self._pending[0][0] - 1
            self._pending.clear()
            self._pending_origins.clear()
        self._staged_meta.clear()  # it described them
        return dropped

    def stamp_origin(self, origin: Origin | None) -> None:
        self._next_origin = origin

    def origins(self, after: int = 0) -> Iterator[tuple[int, Origin]]:
        for seq, sender, channel in self._db.execute("SELECT seq, sender, channel FROM origins WHERE seq > ? ORDER BY seq", (after,)):
            yield int(seq), Origin(sender, channel)

    def flush(self) -> None:
        """Commit and fsync everything appended so far, as one block, with the staged meta."""
        if not self._pending and not self._staged_meta:
            return
        block = encode_block(self._chain, self._pending) if self._pending else None
        self._db.execute("BEGIN")  # the block, its records' origins, the staged meta: one transaction, fsync'd (synchronous=FULL)
        try:
            if block is not None:
                self._db.execute("INSERT INTO blocks (first_seq, last_seq, chain, crc, data) VALUES (?, ?, ?, ?, ?)", block)
            if self._pending_origins:
                self._db.executemany("INSERT OR REPLACE INTO origins (seq, sender, channel) VALUES (?, ?, ?)", self._pending_origins)
            if self._staged_meta:
                self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(self._staged_meta.items()))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._pending_origins.clear()
        self._staged_meta.clear()
        if block is not None:
            self._chain = block[2]
            self._durable_seq = block[1]
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
            problem = check_block(prev_chain, first, last, bytes(chain), crc, data, expected)
            if problem:
                raise JournalCorrupted(f"{self.path}: {problem}")
            prev_chain = bytes(chain)
            expected = last + 1
            # The block CRC covers every byte of its records, so their own CRCs hold too; they
            # are checked one by one only to name the record when a block is damaged.
            block = decode_block(data)
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
            problem = check_block(chain, first, last, bytes(row_chain), crc, data, expected) or check_records(first, last, data)
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

    def stage_meta(self, key: str, value: str) -> None:
        self._staged_meta[key] = value

    def close(self) -> None:
        if not self.readonly:
            self.flush()
        self._db.close()

    # -- recovery --------------------------------------------------------------------------
    def _tail(self) -> tuple[int, bytes]:
        """Verify the blocks after the latest snapshot; cut a damaged tail, refuse a damaged middle."""
        snap = self._db.execute("SELECT seq, chain FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        after, chain = (int(snap[0]), bytes(snap[1])) if snap else (0, GENESIS)
        scan = TailScan(after, chain)
        cur = self._db.execute("SELECT first_seq, last_seq, chain, crc, data FROM blocks WHERE first_seq > ? ORDER BY first_seq", (after,))
        for first, last, row_chain, crc, data in cur:
            scan.see(first, last, bytes(row_chain), crc, data)
        self.report.records_verified = scan.verified
        if scan.bad is None:
            return scan.expected - 1, scan.chain
        bad_seq, problem = scan.bad
        if scan.later_intact:
            raise JournalCorrupted(scan.refusal(str(self.path)))
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
        return bad_seq - 1, scan.chain


def open_journal(path: str | Path, durability: str = "group:5", *, readonly: bool = False) -> Journal:
    return SqliteJournal(path, durability, readonly=readonly)


__all__ = ["SqliteJournal", "open_journal"]
