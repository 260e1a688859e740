"""Numbered schema migrations for the tables the edge owns (read models, users, FIX sessions).

A component (``readmodel``, ``auth``, ``fix``) lists its migrations in order; each is SQL
statements or a function of the store, applied once, in one transaction with the row that records
its number in ``schema_versions``. Opening a store applies the ones it lacks. This replaces
``ALTER TABLE`` guessing in constructors: what a store holds is the number it records, and an
upgrade is a numbered step a reviewer can read. A store that records a number above the code's
newest was written by a newer version and is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lionrock.kernel.errors import StorageError
from lionrock.storage.sql import SqlStore


@dataclass(frozen=True)
class Migration:
    """Step ``number`` of a component's schema: SQL statements, or a function run on the store."""

    number: int
    why: str
    statements: Sequence[str] = ()
    run: Callable[[SqlStore], None] | None = None


class SchemaTooNew(StorageError, RuntimeError):
    """The store records a migration newer than this code knows."""


def schema_version(store: SqlStore, component: str) -> int:
    store.execute("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version BIGINT NOT NULL)")
    row = store.one("SELECT version FROM schema_versions WHERE component = ?", (component,))
    return int(row[0]) if row else 0


def migrate(store: SqlStore, component: str, migrations: Sequence[Migration]) -> int:
    """Apply the migrations of ``component`` the store lacks, in order; the version it is at now."""
    numbers = [m.number for m in migrations]
    if numbers != list(range(1, len(migrations) + 1)):
        raise ValueError(f"Invariant: {component} migrations must be numbered 1..{len(migrations)}, got {numbers}")
    current = schema_version(store, component)
    if current > len(migrations):
        raise SchemaTooNew(
            f"the {component} tables are at schema {current}, newer than this version's {len(migrations)}: "
            "use the Lion Rock that wrote them"
        )
    for migration in migrations[current:]:
        with store.transaction():
            store.script(migration.statements)
            if migration.run is not None:
                migration.run(store)
            store.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, migration.number),
            )
    return len(migrations)


def has_column(store: SqlStore, table: str, column: str) -> bool:
    if store.postgres:
        return (
            store.one(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?",
                (table, column),
            )
            is not None
        )
    return column in {r[1] for r in store.execute(f"PRAGMA table_info({table})")}


__all__ = ["Migration", "SchemaTooNew", "has_column", "migrate", "schema_version"]
