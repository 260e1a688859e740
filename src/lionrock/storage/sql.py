"""A small SQL facade over SQLite and PostgreSQL for the read models, users and audit log.

Statements are written once with ``?`` placeholders and portable types (BIGINT, TEXT, BYTEA is
spelled BLOB and mapped); PostgreSQL gets ``%s`` placeholders and its own schema. One connection
behind a lock: projections write from the engine thread, the API reads from its threads.

On PostgreSQL a transaction runs in psycopg's pipeline mode: a statement that returns no rows
(INSERT, UPDATE, DELETE without RETURNING) is sent without waiting for its answer, so a writer
batch's read-model rows (an order row, its events, their parties, trades, balances: a dozen
statements per order) go to the server back to back and the transaction costs about one round
trip and its commit, where it cost a round trip per statement. A statement that returns rows waits
for everything sent before it (its answer needs them); an error in any statement fails the
transaction as it would have failed the statement, at the latest when the transaction ends.
Statements repeated in a session are prepared by the server (psycopg prepares a statement on its
fifth use), so the pipeline sends only their parameters.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from lionrock.storage.locations import is_postgres

_JSON = msgspec.json.Encoder()


class SqlStore:
    """``:memory:``, a SQLite path, or ``postgresql://…?schema=NAME``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._lock = threading.RLock()
        self._depth = 0
        self._dialect: dict[str, tuple[str, bool]] = {}
        self._pipeline: Any = None
        if self.postgres:
            import psycopg

            from lionrock.storage.postgres_journal import split_schema

            conninfo, self.schema = split_schema(url, "lionrock_read")
            self._pg = psycopg.connect(conninfo, autocommit=True)
            self._pg.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self._pg.execute(f"SET search_path TO {self.schema}")
        else:
            if url != ":memory:":
                Path(url).parent.mkdir(parents=True, exist_ok=True)
            self._lite = sqlite3.connect(url, isolation_level=None, check_same_thread=False)
            if url != ":memory:":
                self._lite.execute("PRAGMA journal_mode=WAL")
                self._lite.execute("PRAGMA synchronous=NORMAL")

    def _sql(self, sql: str) -> str:
        return self._pg_form(sql)[0] if self.postgres else sql

    def _pg_form(self, sql: str) -> tuple[str, bool]:
        """The statement in PostgreSQL's spelling, and whether it answers with rows."""
        found = self._dialect.get(sql)
        if found is None:
            found = self._dialect[sql] = (sql.replace("?", "%s").replace(" BLOB", " BYTEA"), _returns_rows(sql))
        return found

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self.postgres:
                statement, rows = self._pg_form(sql)
                cur = self._pg.execute(statement, tuple(args))
                if self._depth:  # pipelined: a query waits for its rows, a write's answer is read when the transaction syncs
                    return list(cur.fetchall()) if rows else []
                return list(cur.fetchall()) if cur.description else []
            return self._lite.execute(sql, tuple(args)).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.execute(sql, args)
        return rows[0] if rows else None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self._lock:
            if self.postgres:
                with self._pg.cursor() as cur:
                    cur.executemany(self._sql(sql), [tuple(r) for r in rows])
            else:
                self._lite.executemany(sql, [tuple(r) for r in rows])

    def insert_rows(self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], conflict: str = "") -> None:
        """Insert ``rows`` (tuples in ``columns`` order; each column a ``(name, type)``, the type
        ``BIGINT`` or ``TEXT``), appending ``conflict`` (an ``ON CONFLICT`` clause; with ``DO
        UPDATE`` the rows' keys must be distinct). SQLite: one ``executemany``. PostgreSQL: one
        statement whatever the number of rows, ``INSERT … SELECT (r->>0)::bigint, (r->>1)::text, …
        FROM jsonb_array_elements(%s::jsonb) r``, the rows sent as one JSON array of arrays: the
        statement text never changes (prepared once), a batch is one message, and the rows are
        encoded by msgspec in C (psycopg's array dumpers, one per column, cost more in Python than
        the projection itself). ``jsonb``, not ``json``: a ``json`` element is text, and each
        ``->>`` parses it again from its start, past every field before it (an event's body
        included); ``jsonb`` parses a row once. The server's time for a batch of eight crossing
        orders' rows went from ~1.1 to ~0.7 ms (``log_min_duration_statement``), the events insert
        from 0.50 to 0.25 ms."""
        if not rows:
            return
        names = ", ".join(name for name, _ in columns)
        if self.postgres:
            fields = ", ".join(f"(r->>{i})::{kind.lower()}" for i, (_, kind) in enumerate(columns))
            statement = f"INSERT INTO {table} ({names}) SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS r {conflict}"
            with self._lock:
                self._pg.execute(statement, (_JSON.encode(rows).decode(),))
            return
        with self._lock:
            self._lite.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) {conflict}", rows)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (a `transaction` block entered now joins it)."""
        return self._depth > 0

    def sync(self) -> None:
        """Inside a PostgreSQL transaction: wait until the server has run every statement sent so
        far (an error raises here), without committing, so the commit that follows is one short
        round trip. Elsewhere nothing to do."""
        with self._lock:
            if self.postgres and self._depth and self._pipeline is not None:
                self._pipeline.sync()

    def select_keys(self, sql: str, column: str, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
        """``sql WHERE column`` is one of ``keys``, as one statement whatever their number
        (PostgreSQL ``= ANY(array)``, SQLite ``IN (SELECT value FROM json_each(?))``)."""
        if not keys:
            return []
        if self.postgres:
            return self.execute(f"{sql} WHERE {column} = ANY(?)", (list(keys),))
        return self.execute(f"{sql} WHERE {column} IN (SELECT value FROM json_each(?))", (json.dumps(list(keys)),))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (re-entrant: inner calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if self.postgres:
                    yield from self._pg_transaction()
                else:
                    self._lite.execute("BEGIN")
                    try:
                        yield
                    except BaseException:
                        self._lite.execute("ROLLBACK")
                        raise
                    self._lite.execute("COMMIT")
            finally:
                self._depth = 0
                self._pipeline = None

    def _pg_transaction(self) -> Iterator[None]:
        """BEGIN, the block's statements and COMMIT sent in one pipeline: one round trip and the
        commit. (psycopg's ``transaction()`` inside ``pipeline()`` syncs on entry and on exit,
        twice the round trips: 0.46 ms for an empty transaction on loopback against 0.25 ms here
        for BEGIN, a write and COMMIT.) A failed statement fails the transaction: psycopg raises
        its error at the latest when the pipeline ends, and the transaction is rolled back."""
        pg = self._pg
        try:
            with pg.pipeline() as self._pipeline:
                pg.execute("BEGIN")
                yield
                pg.execute("COMMIT")
        except BaseException:
            if pg.info.transaction_status.name != "IDLE":  # BEGIN went through: end what is left of it
                with contextlib.suppress(Exception):  # the connection itself may be gone: the error above says why
                    pg.execute("ROLLBACK")
            raise

    def script(self, statements: Sequence[str]) -> None:
        for stmt in statements:
            self.execute(stmt)

    def close(self) -> None:
        with self._lock:
            if self.postgres:
                self._pg.close()
            else:
                self._lite.close()


def _returns_rows(sql: str) -> bool:
    """Whether a statement answers with rows: a query, or a write with RETURNING. A ``WITH``
    statement answers with rows when its main statement (the first word outside parentheses after
    the common table expressions) is a query."""
    upper = sql.upper()
    if "RETURNING" in upper:
        return True
    words = _top_level_words(upper)
    if words[:1] == ["WITH"]:
        words = [w for w in words if w in ("SELECT", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE")]
    return bool(words) and words[0] in ("SELECT", "VALUES", "SHOW", "TABLE", "EXPLAIN")


def _top_level_words(sql: str) -> list[str]:
    """The words of ``sql`` outside parentheses (string literals are not parsed: a statement with a
    parenthesis inside a literal is not one the stores write)."""
    depth, out = 0, []
    for part in re.split(r"([()])", sql):
        if part == "(":
            depth += 1
        elif part == ")":
            depth -= 1
        elif depth == 0:
            out.extend(re.findall(r"[A-Z_]+", part))
    return out


__all__ = ["SqlStore"]
