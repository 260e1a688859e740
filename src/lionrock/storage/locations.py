"""Choosing storage from one ``--db`` value.

- ``memory:``: in-process journal and read models (tests, throwaway runs);
- a path (``lionrock.db``, the default): SQLite journal ``<path>`` and read models
  ``<path minus .db>.read.db`` beside it;
- ``postgresql://user@host:port/db[?schema=NAME]``: PostgreSQL journal in schema ``NAME`` (default
  ``lionrock``) and read models in schema ``NAME_read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lionrock.engine.journal import Journal, MemoryJournal
from lionrock.storage.sqlite_journal import SqliteJournal


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class StorageSpec:
    """Where the journal and the read models go for one ``--db`` value."""

    db: str

    def open_journal(self, durability: str = "group:5") -> Journal:
        if self.db == "memory:":
            return MemoryJournal(durability)
        if is_postgres(self.db):
            from lionrock.storage.postgres_journal import PostgresJournal

            return PostgresJournal(self.db, durability)
        return SqliteJournal(self.db, durability)

    @property
    def read_model_url(self) -> str:
        """The read models' location: ``:memory:``, a SQLite path, or a PostgreSQL URL + schema."""
        if self.db == "memory:":
            return ":memory:"
        if is_postgres(self.db):
            from lionrock.storage.postgres_journal import split_schema

            base, schema = split_schema(self.db)
            sep = "&" if "?" in base else "?"
            return f"{base}{sep}schema={schema}_read"
        path = Path(self.db)
        return str(path.with_name(path.stem + ".read.db"))


def open_existing_journal(location: str, *, readonly: bool = True) -> Journal:
    """A journal that exists, by the ``--db`` value that wrote it: a SQLite file's path or the
    PostgreSQL URL (``?schema=S``). Read-only unless told (``lionrock replay --repair``)."""
    if is_postgres(location):
        from lionrock.storage.postgres_journal import PostgresJournal

        return PostgresJournal(location, readonly=readonly)
    return SqliteJournal(Path(location), readonly=readonly)


__all__ = ["StorageSpec", "is_postgres", "open_existing_journal"]
