"""The PostgreSQL journal: the `Journal` contract of `SqliteJournal`, on psycopg 3.

Same records (seq, at_ns, crc32, blake2b chain, body), same recovery (a damaged tail is cut with a
report, a damaged middle is refused), same snapshots and meta, so the shared contract tests run
unchanged against Memory, SQLite and PostgreSQL. Tables live in one schema (``?schema=NAME`` in
the URL, default ``lionrock``), so several journals can share a database. One writer per journal:
opening for writing takes a session advisory lock on the schema and fails if another process
holds it.

Durability: ``every`` commits each append; ``group:<ms>`` batches appends into one transaction
(on `flush`, when the oldest pending record is ``ms`` old, or at 65,536 records). A commit is
durable when PostgreSQL's ``synchronous_commit`` is on (its default).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lionrock.engine.journal import (
    GENESIS,
    Durability,
    GroupCommit,
    JournalCorrupted,
    JournalError,
    JournalIncompatible,
    JournalRecord,
    Origin,
    RecordVerifier,
    RecoveryReport,
    SnapshotRecord,
    check_outcome_version,
)
from lionrock.kernel.messages import SCHEMA_VERSION
from lionrock.kernel.user_errors import ServiceUnavailable
from lionrock.storage._blocks import (
    PendingRecord,
    TailScan,
    check_block,
    check_records,
    decode_block,
    encode_block,
    pending_record,
)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_WINDOW = 65_536
"""Sequence numbers per read: the blocks starting in one window come in one query."""
_CONVERT_BLOCK = 4096


def split_schema(url: str, default: str = "lionrock") -> tuple[str, str]:
    """``postgresql://h/db?schema=x`` -> (``postgresql://h/db``, ``x``); checks the schema name."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = default
    kept = []
    for k, v in query:
        if k == "schema":
            schema = v
        else:
            kept.append((k, v))
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema {schema!r}: expected lower-case letters, digits and _ (at most 63)")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment)), schema


def _redacted(conninfo: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(conninfo)
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _ddl(schema: str) -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        f"CREATE TABLE IF NOT EXISTS {schema}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {schema}.blocks (
              first_seq BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL, chain BYTEA NOT NULL, crc BIGINT NOT NULL, data BYTEA NOT NULL)""",
        f"CREATE UNIQUE INDEX IF NOT EXISTS blocks_last_seq ON {schema}.blocks (last_seq)",
        f"CREATE TABLE IF NOT EXISTS {schema}.origins (seq BIGINT PRIMARY KEY, sender TEXT NOT NULL, channel TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {schema}.snapshots (
              seq BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, chain BYTEA NOT NULL, state BYTEA NOT NULL,
              state_hash TEXT NOT NULL, crc BIGINT NOT NULL)""",
    ]


class PostgresJournal:
    """A journal in PostgreSQL. ``url`` is a libpq URL, optionally with ``?schema=NAME``.

    Each commit is one statement: it inserts the block (the records appended since the last
    commit, in `lionrock.storage._blocks`' format) and their origins together, so one group
    commit costs one round trip and one WAL flush however many commands it holds."""

    def __init__(self, url: str, durability: Durability | str = "group:5", *, readonly: bool = False) -> None:
        import psycopg

        self.url = url
        conninfo, self.schema = split_schema(url)
        self.durability = Durability.parse(durability) if isinstance(durability, str) else durability
        self.readonly = readonly
        self.report = RecoveryReport()
        try:
            self._db = psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ServiceUnavailable(f"PostgreSQL at {_redacted(conninfo)} does not answer: {exc}") from exc
        self._pending: list[PendingRecord] = []
        self._pending_origins: list[tuple[int, str, str]] = []
        self._staged_meta: dict[str, str] = {}
        self._next_origin: Origin | None = None
        self._commit = GroupCommit(self.durability)
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise
        self._durable_seq = self._last_seq
        s = self.schema
        self._meta_sql = (
            f"INSERT INTO {s}.meta (key, value) SELECT * FROM unnest(%s::text[], %s::text[]) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
        self._flush_sql = (
            f"WITH o AS (INSERT INTO {s}.origins (seq, sender, channel) SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
            "ON CONFLICT (seq) DO UPDATE SET sender = excluded.sender, channel = excluded.channel), "
            f"m AS ({self._meta_sql}) "
            f"INSERT INTO {s}.blocks (first_seq, last_seq, chain, crc, data) VALUES (%s, %s, %s, %s, %s)"
        )

    def _open(self) -> None:
        s = self.schema
        if not self.readonly:
            for stmt in _ddl(s):
                self._db.execute(stmt)
            lock_key = zlib.crc32(f"lionrock.journal.{s}".encode())
            got = self._db.execute("SELECT pg_try_advisory_lock(%s)", (lock_key,)).fetchone()
            if not (got and got[0]):
                raise JournalError(f"journal {self._where}: another writer holds it", "Stop that writer first, or use another ?schema=")
            if self.get_meta("schema_version") is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))
            self._convert_per_record_rows()
        version = self.get_meta("schema_version")
        if version != str(SCHEMA_VERSION):
            raise JournalIncompatible(f"{self._where} was written with message schema {version}; this build reads schema {SCHEMA_VERSION}")
        self._last_seq, self._chain = self._tail()
        check_outcome_version(self, self._where, empty=self._last_seq == 0, writable=not self.readonly)

    @property
    def _where(self) -> str:
        return f"postgresql journal (schema {self.schema})"

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
        """Drop the records appended since the last commit (never acknowledged)."""
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
        rows = self._db.execute(f"SELECT seq, sender, channel FROM {self.schema}.origins WHERE seq > %s ORDER BY seq", (after,)).fetchall()
        for seq, sender, channel in rows:
            yield int(seq), Origin(sender, channel)

    def flush(self) -> None:
        """Commit everything appended so far as one block, with its records' origins and the
        staged meta, in one statement (its own transaction: durable when it returns, under
        ``synchronous_commit``)."""
        meta = ([k for k in self._staged_meta], [v for v in self._staged_meta.values()])
        if not self._pending:
            if self._staged_meta:
                self._db.execute(self._meta_sql, meta)
                self._staged_meta.clear()
            return
        first, last, chain, crc, data = encode_block(self._chain, self._pending)
        origins = self._pending_origins
        self._db.execute(
            self._flush_sql,
            ([o[0] for o in origins], [o[1] for o in origins], [o[2] for o in origins], *meta, first, last, chain, crc, data),
        )
        self._pending_origins = []
        self._staged_meta.clear()
        self._chain = chain
        self._durable_seq = last
        self._pending.clear()

    # -- reading ---------------------------------------------------------------------------
    def _blocks(self, after: int, upto: int | None) -> Iterator[tuple[int, int, bytes, int, bytes]]:
        """The blocks with ``after < first_seq <= upto`` (``upto`` None: to the end), in order,
        fetched a window of `_WINDOW` sequence numbers at a time, so memory stays bounded however
        many records a block holds."""
        if upto is None:
            row = self._db.execute(f"SELECT COALESCE(MAX(first_seq), 0) FROM {self.schema}.blocks").fetchone()
            upto = int(row[0]) if row else 0
        sql = (
            f"SELECT first_seq, last_seq, chain, crc, data FROM {self.schema}.blocks "
            "WHERE first_seq > %s AND first_seq <= %s ORDER BY first_seq"
        )
        low = after
        while low < upto:
            high = min(low + _WINDOW, upto)
            for first, last, chain, crc, data in self._db.execute(sql, (low, high)).fetchall():
                yield int(first), int(last), bytes(chain), int(crc), bytes(data)
            low = high

    def records(self, after: int = 0) -> Iterator[JournalRecord]:
        """Verified records with ``seq > after``; verification starts at the block holding
        ``after + 1``, from its predecessor's stored chain value."""
        start = self._block_start(after)
        prev_chain = self._chain_before(start)
        expected = None
        for first, last, chain, crc, data in self._blocks(start - 1, self._last_seq):
            problem = check_block(prev_chain, first, last, chain, crc, data, expected)
            if problem:
                raise JournalCorrupted(f"{self._where}: {problem}")
            prev_chain, expected = chain, last + 1
            # the block CRC covers every byte of its records, so their own CRCs hold too
            block = decode_block(data)
            yield from (block if first > after else block[after - first + 1 :])

    def _block_start(self, after: int) -> int:
        """``first_seq`` of the block holding record ``after + 1`` (``after + 1`` when none does)."""
        row = self._db.execute(
            f"SELECT first_seq FROM {self.schema}.blocks WHERE first_seq <= %s AND last_seq > %s", (after + 1, after)
        ).fetchone()
        return after + 1 if row is None else int(row[0])

    def _chain_before(self, first_seq: int) -> bytes:
        """Chain value of the block that ends just before ``first_seq``."""
        if first_seq <= 1:
            return GENESIS
        row = self._db.execute(f"SELECT chain FROM {self.schema}.blocks WHERE last_seq = %s", (first_seq - 1,)).fetchone()
        return GENESIS if row is None else bytes(row[0])

    def verify(self, upto: int | None = None) -> int:
        """Every block from the first to the one holding ``upto``: its CRC and chain link, and in
        it each record's sequence number and CRC (records are unpacked, commands not decoded)."""
        upto = self._durable_seq if upto is None else upto
        chain, expected = GENESIS, 1
        for first, last, row_chain, crc, data in self._blocks(0, upto):
            problem = check_block(chain, first, last, row_chain, crc, data, expected) or check_records(first, last, data)
            if problem:
                raise JournalCorrupted(f"{self._where}: {problem}")
            chain, expected = row_chain, last + 1
        if expected <= upto:
            raise JournalCorrupted(f"{self._where}: record {expected} is missing (the journal ends at {expected - 1})")
        return upto

    def chain_at(self, seq: int) -> bytes:
        """Chain value of the block ending at ``seq`` (snapshots are taken at block ends)."""
        if seq == 0:
            return GENESIS
        row = self._db.execute(f"SELECT chain FROM {self.schema}.blocks WHERE last_seq = %s", (seq,)).fetchone()
        if row is None:
            raise JournalCorrupted(f"{self._where}: no block ends at record {seq}")
        return bytes(row[0])

    # -- snapshots and meta ----------------------------------------------------------------
    def save_snapshot(self, seq: int, at_ns: int, state: bytes, state_hash: str) -> None:
        if seq != self._last_seq:
            raise ValueError(f"a snapshot is taken at the last appended record ({self._last_seq}), not at {seq}")
        self.flush()
        chain = self.chain_at(seq)
        crc = zlib.crc32(state, zlib.crc32(chain + state_hash.encode()))
        self._db.execute(
            f"""INSERT INTO {self.schema}.snapshots (seq, at_ns, chain, state, state_hash, crc)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (seq) DO UPDATE SET at_ns = EXCLUDED.at_ns, chain = EXCLUDED.chain,
                  state = EXCLUDED.state, state_hash = EXCLUDED.state_hash, crc = EXCLUDED.crc""",
            (seq, at_ns, chain, state, state_hash, crc),
        )

    def latest_snapshot(self) -> SnapshotRecord | None:
        """The newest snapshot whose CRC holds and whose records are still in the journal."""
        rows = self._db.execute(
            f"SELECT seq, at_ns, chain, state, state_hash, crc FROM {self.schema}.snapshots WHERE seq <= %s ORDER BY seq DESC",
            (self._last_seq,),
        ).fetchall()
        for seq, at_ns, chain, state, state_hash, crc in rows:
            if zlib.crc32(bytes(state), zlib.crc32(bytes(chain) + state_hash.encode())) == crc:
                return SnapshotRecord(int(seq), int(at_ns), bytes(chain), bytes(state), state_hash)
            self.report.messages.append(f"snapshot at seq {seq} fails its CRC; using an older one")
        return None

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute(f"SELECT value FROM {self.schema}.meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            f"INSERT INTO {self.schema}.meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )

    def stage_meta(self, key: str, value: str) -> None:
        self._staged_meta[key] = value

    def close(self) -> None:
        if self._db.closed:
            return
        if not self.readonly:
            self.flush()
        self._db.close()

    # -- recovery --------------------------------------------------------------------------
    def _tail(self) -> tuple[int, bytes]:
        """Verify the blocks after the latest snapshot; cut a damaged tail, refuse a damaged middle."""
        snap = self._db.execute(f"SELECT seq, chain FROM {self.schema}.snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        after, chain = (int(snap[0]), bytes(snap[1])) if snap else (0, GENESIS)
        scan = TailScan(after, chain)
        for first, last, row_chain, crc, data in self._blocks(after, None):
            scan.see(first, last, row_chain, crc, data)
        self.report.records_verified = scan.verified
        if scan.bad is None:
            return scan.expected - 1, scan.chain
        bad_seq, problem = scan.bad
        if scan.later_intact:
            raise JournalCorrupted(scan.refusal(self._where))
        row = self._db.execute(f"SELECT COALESCE(MAX(last_seq), 0) FROM {self.schema}.blocks").fetchone()
        dropped = max(int(row[0]) - bad_seq + 1, 1) if row else 1
        self.report.dropped_records = dropped
        self.report.dropped_from_seq = bad_seq
        self.report.reason = problem
        self.report.messages.append(
            f"journal tail damaged ({problem}): dropped {dropped} record(s) from seq {bad_seq}; recovered to seq {bad_seq - 1}"
        )
        if not self.readonly:
            with self._db.transaction():
                self._db.execute(f"DELETE FROM {self.schema}.blocks WHERE first_seq >= %s", (bad_seq,))
                self._db.execute(f"DELETE FROM {self.schema}.snapshots WHERE seq >= %s", (bad_seq,))
        return bad_seq - 1, scan.chain

    def _convert_per_record_rows(self) -> None:
        """A schema written before blocks (table ``journal``, a row and a chain value per record):
        verify every record, rewrite them as blocks ending at each snapshot (whose chain value
        becomes its block's) and rename the old table ``journal_per_record``, in one transaction.
        A damaged per-record journal is refused, not converted."""
        s = self.schema
        found = self._db.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'journal'", (s,)
        ).fetchone()
        if found is None:
            return
        ends = {int(r[0]) for r in self._db.execute(f"SELECT seq FROM {s}.snapshots").fetchall()}
        with self._db.transaction():
            verifier, chain, block = RecordVerifier(0, GENESIS), GENESIS, []
            for seq, at_ns, crc, row_chain, body in self._db.execute(f"SELECT seq, at_ns, crc, chain, body FROM {s}.journal ORDER BY seq"):
                problem = verifier.check(int(seq), int(at_ns), int(crc), bytes(row_chain), bytes(body))
                if problem:
                    raise JournalCorrupted(f"{self._where}: converting the per-record journal to blocks: {problem}")
                block.append(pending_record(int(seq), int(at_ns), bytes(body)))
                if int(seq) in ends or len(block) == _CONVERT_BLOCK:
                    chain = self._write_converted(chain, block, int(seq) in ends)
                    block = []
            if block:
                self._write_converted(chain, block, False)
            self._db.execute(f"ALTER TABLE {s}.journal RENAME TO journal_per_record")

    def _write_converted(self, previous: bytes, block: list[PendingRecord], snapshot_end: bool) -> bytes:
        first, last, chain, crc, data = encode_block(previous, block)
        self._db.execute(
            f"INSERT INTO {self.schema}.blocks (first_seq, last_seq, chain, crc, data) VALUES (%s, %s, %s, %s, %s)",
            (first, last, chain, crc, data),
        )
        if snapshot_end:  # the snapshot now points at its block's chain value; a CRC that failed still fails
            old = self._db.execute(f"SELECT chain, state, state_hash, crc FROM {self.schema}.snapshots WHERE seq = %s", (last,)).fetchone()
            assert old is not None
            old_chain, state, state_hash, old_crc = bytes(old[0]), bytes(old[1]), str(old[2]), int(old[3])
            intact = zlib.crc32(state, zlib.crc32(old_chain + state_hash.encode())) == old_crc
            crc = zlib.crc32(state, zlib.crc32(chain + state_hash.encode())) if intact else old_crc
            self._db.execute(f"UPDATE {self.schema}.snapshots SET chain = %s, crc = %s WHERE seq = %s", (chain, crc, last))
        return chain


__all__ = ["PostgresJournal", "split_schema"]
