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
    next_chain,
    record_crc,
)
from lionrock.kernel.messages import SCHEMA_VERSION
from lionrock.kernel.user_errors import ServiceUnavailable

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PAGE = 4096


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


def _record(seq: int, at_ns: int, crc: int, body: bytes) -> JournalRecord:
    """A `JournalRecord` whatever fields this build's record carries (with or without ``crc``)."""
    values = {"seq": seq, "at_ns": at_ns, "crc": crc, "body": body}
    return JournalRecord._make(values[f] for f in JournalRecord._fields)


def _ddl(schema: str) -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        f"CREATE TABLE IF NOT EXISTS {schema}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {schema}.journal (
              seq BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, crc BIGINT NOT NULL,
              chain BYTEA NOT NULL, body BYTEA NOT NULL)""",
        f"CREATE TABLE IF NOT EXISTS {schema}.origins (seq BIGINT PRIMARY KEY, sender TEXT NOT NULL, channel TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {schema}.snapshots (
              seq BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, chain BYTEA NOT NULL, state BYTEA NOT NULL,
              state_hash TEXT NOT NULL, crc BIGINT NOT NULL)""",
    ]


class PostgresJournal:
    """A journal in PostgreSQL. ``url`` is a libpq URL, optionally with ``?schema=NAME``."""

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
        self._pending: list[tuple[int, int, int, bytes, bytes]] = []
        self._pending_origins: list[tuple[int, str, str]] = []
        self._next_origin: Origin | None = None
        self._commit = GroupCommit(self.durability)
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise
        self._durable_seq = self._last_seq

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
        version = self.get_meta("schema_version")
        if version != str(SCHEMA_VERSION):
            raise JournalIncompatible(f"{self._where} was written with message schema {version}; this build reads schema {SCHEMA_VERSION}")
        self._last_seq, self._chain = self._tail()
        self._durable_chain = self._chain

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
        self._chain = next_chain(self._chain, seq, at_ns, body)
        self._pending.append((seq, at_ns, record_crc(seq, at_ns, body), self._chain, body))
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
            self._chain = self._durable_chain
            self._pending.clear()
            self._pending_origins.clear()
        return dropped

    def stamp_origin(self, origin: Origin | None) -> None:
        self._next_origin = origin

    def origins(self, after: int = 0) -> Iterator[tuple[int, Origin]]:
        rows = self._db.execute(f"SELECT seq, sender, channel FROM {self.schema}.origins WHERE seq > %s ORDER BY seq", (after,)).fetchall()
        for seq, sender, channel in rows:
            yield int(seq), Origin(sender, channel)

    def flush(self) -> None:
        """Commit everything appended so far in one transaction."""
        if not self._pending:
            return
        with self._db.transaction(), self._db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.schema}.journal (seq, at_ns, crc, chain, body) VALUES (%s, %s, %s, %s, %s)",
                self._pending,
            )
            if self._pending_origins:
                cur.executemany(
                    f"INSERT INTO {self.schema}.origins (seq, sender, channel) VALUES (%s, %s, %s) ON CONFLICT (seq) DO UPDATE SET sender = excluded.sender, channel = excluded.channel",
                    self._pending_origins,
                )
        self._pending_origins.clear()
        self._durable_seq = self._pending[-1][0]
        self._durable_chain = self._pending[-1][3]
        self._pending.clear()

    # -- reading ---------------------------------------------------------------------------
    def _pages(self, after: int, upto: int | None) -> Iterator[tuple[int, int, int, bytes, bytes]]:
        last = after
        while True:
            if upto is None:
                sql = f"SELECT seq, at_ns, crc, chain, body FROM {self.schema}.journal WHERE seq > %s ORDER BY seq LIMIT {_PAGE}"
                rows = self._db.execute(sql, (last,)).fetchall()
            else:
                sql = f"SELECT seq, at_ns, crc, chain, body FROM {self.schema}.journal WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT {_PAGE}"
                rows = self._db.execute(sql, (last, upto)).fetchall()
            for seq, at_ns, crc, chain, body in rows:
                yield int(seq), int(at_ns), int(crc), bytes(chain), bytes(body)
            if len(rows) < _PAGE:
                return
            last = int(rows[-1][0])

    def records(self, after: int = 0, start_chain: bytes | None = None) -> Iterator[JournalRecord]:
        """Verified records with ``seq > after``; verification starts from the chain value stored
        at ``after`` (or ``start_chain`` when given)."""
        v = RecordVerifier(after, self.chain_at(after) if start_chain is None else start_chain)
        for seq, at_ns, crc, chain, body in self._pages(after, self._last_seq):
            problem = v.check(seq, at_ns, crc, chain, body)
            if problem:
                raise JournalCorrupted(f"{self._where}: {problem}")
            yield _record(seq, at_ns, crc, body)

    def verify(self, upto: int | None = None) -> int:
        """Every record from the first to ``upto`` (default: the last): none missing, its CRC and
        its chain value; bodies are not decoded."""
        upto = self._durable_seq if upto is None else upto
        v = RecordVerifier(0, GENESIS)
        for seq, at_ns, crc, chain, body in self._pages(0, upto):
            problem = v.check(seq, at_ns, crc, chain, body)
            if problem:
                raise JournalCorrupted(f"{self._where}: {problem}")
        if v.expected <= upto:
            raise JournalCorrupted(f"{self._where}: record {v.expected} is missing (the journal ends at {v.expected - 1})")
        return upto

    def chain_at(self, seq: int) -> bytes:
        if seq == 0:
            return GENESIS
        for pseq, _, _, chain, _ in self._pending:
            if pseq == seq:
                return chain
        row = self._db.execute(f"SELECT chain FROM {self.schema}.journal WHERE seq = %s", (seq,)).fetchone()
        if row is None:
            raise JournalCorrupted(f"{self._where}: record {seq} is missing")
        return bytes(row[0])

    # -- snapshots and meta ----------------------------------------------------------------
    def save_snapshot(self, seq: int, at_ns: int, state: bytes, state_hash: str) -> None:
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

    def close(self) -> None:
        if self._db.closed:
            return
        if not self.readonly:
            self.flush()
        self._db.close()

    # -- recovery --------------------------------------------------------------------------
    def _tail(self) -> tuple[int, bytes]:
        """Verify the records after the latest snapshot; cut a damaged tail, refuse a damaged middle."""
        snap = self._db.execute(f"SELECT seq, chain FROM {self.schema}.snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        after, chain = (int(snap[0]), bytes(snap[1])) if snap else (0, GENESIS)
        v = RecordVerifier(after, chain)
        bad_seq: int | None = None
        problem = ""
        later_intact = 0
        verified = 0
        for seq, at_ns, crc, row_chain, body in self._pages(after, None):
            if bad_seq is None:
                problem = v.check(seq, at_ns, crc, row_chain, body)
                if problem:
                    bad_seq = min(seq, v.expected)
                    if seq > v.expected and record_crc(seq, at_ns, body) == crc:  # a gap: this record is intact
                        later_intact += 1
                else:
                    verified += 1
                continue
            if record_crc(seq, at_ns, body) == crc:
                later_intact += 1
        self.report.records_verified = verified
        if bad_seq is None:
            return v.expected - 1, v.chain
        if later_intact:
            raise JournalCorrupted(
                f"{self._where}: {problem}, and {later_intact} intact records follow it: the journal is damaged in "
                "the middle, not at its tail. Refusing to recover; restore the journal from a replica or backup."
            )
        row = self._db.execute(f"SELECT COUNT(*) FROM {self.schema}.journal WHERE seq >= %s", (bad_seq,)).fetchone()
        dropped = int(row[0]) if row else 0
        self.report.dropped_records = dropped
        self.report.dropped_from_seq = bad_seq
        self.report.reason = problem
        msg = f"journal tail damaged ({problem}): dropped {dropped} record(s) from seq {bad_seq}; recovered to seq {bad_seq - 1}"
        self.report.messages.append(msg)
        if not self.readonly:
            with self._db.transaction():
                self._db.execute(f"DELETE FROM {self.schema}.journal WHERE seq >= %s", (bad_seq,))
                self._db.execute(f"DELETE FROM {self.schema}.snapshots WHERE seq >= %s", (bad_seq,))
        return bad_seq - 1, v.chain


__all__ = ["PostgresJournal", "split_schema"]
