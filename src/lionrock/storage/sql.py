"""A small SQL facade over SQLite and PostgreSQL for the read models, users and audit log.

Statements are written once with ``?`` placeholders and portable types (BIGINT, TEXT, BYTEA is
spelled BLOB and mapped); PostgreSQL gets ``%s`` placeholders and its own schema. One connection
behind a lock: projections write from the engine thread, the API reads from its threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lionrock.storage.locations import is_postgres


class SqlStore:
    """``:memory:``, a SQLite path, or ``postgresql://…?schema=NAME``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._lock = threading.RLock()
        self._depth = 0
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
        if self.postgres:
            return sql.replace("?", "%s").replace(" BLOB", " BYTEA")
        return sql

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self.postgres:
                cur = self._pg.execute(self._sql(sql), tuple(args))  # type: ignore[arg-type]
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
                    cur.executemany(self._sql(sql), [tuple(r) for r in rows])  # type: ignore[arg-type]
            else:
                self._lite.executemany(sql, [tuple(r) for r in rows])

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
                    with self._pg.transaction():
                        yield
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

    def script(self, statements: Sequence[str]) -> None:
        for stmt in statements:
            self.execute(stmt)

    def close(self) -> None:
        with self._lock:
            if self.postgres:
                self._pg.close()
            else:
                self._lite.close()


__all__ = ["SqlStore"]
