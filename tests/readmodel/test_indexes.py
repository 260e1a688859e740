"""The read model's event lookups by offering and by issuer use their indexes, which hold only the
events that name one (migration 6): a trading event adds no entry to them, and the queries the API
runs (`lionrock.readmodel.queries`) still find their rows through them."""

from __future__ import annotations

from pathlib import Path

from lionrock.readmodel.projector import Projector
from lionrock.storage.sql import SqlStore


def test_offering_and_issuer_lookups_use_partial_indexes(tmp_path: Path) -> None:
    store = SqlStore(str(tmp_path / "read.db"))
    try:
        Projector(store)
        for index, column in (("events_offering", "offering_id"), ("events_issuer", "issuer_id")):
            (sql,) = store.one("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)) or ("",)
            assert sql.endswith(f"WHERE {column} IS NOT NULL"), sql
            for query in (
                f"SELECT seq, idx, at_ns, type, body FROM events WHERE {column} = ? ORDER BY seq, idx",
                f"SELECT type FROM events WHERE {column} = ? ORDER BY seq DESC, idx DESC LIMIT 1",
                f"SELECT {column}, MIN(seq), MAX(seq), COUNT(*) FROM events WHERE {column} IS NOT NULL GROUP BY {column}",
            ):
                plan = " ".join(str(row[-1]) for row in store.execute(f"EXPLAIN QUERY PLAN {query}", ("x",) if "= ?" in query else ()))
                assert f"INDEX {index}" in plan, (query, plan)
    finally:
        store.close()
