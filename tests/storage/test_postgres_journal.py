"""PostgreSQL-only journal behaviour: a schema written before blocks is converted on open, and a
commit is one block with its origins."""

from __future__ import annotations

import zlib

import psycopg
import pytest

from lionrock.engine.journal import GENESIS, JournalCorrupted, Origin, next_chain, record_crc
from lionrock.kernel.messages import OUTCOME_VERSION, SCHEMA_VERSION
from lionrock.storage.postgres_journal import PostgresJournal, split_schema

pytestmark = pytest.mark.integration


def _per_record_journal(url: str, records: int, snapshot_at: int) -> None:
    """A journal as the per-record PostgreSQL journal wrote it: a row and a chain value per record."""
    conninfo, s = split_schema(url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {s}")
        db.execute(f"CREATE TABLE {s}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute(
            f"CREATE TABLE {s}.journal (seq BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, crc BIGINT NOT NULL, "
            "chain BYTEA NOT NULL, body BYTEA NOT NULL)"
        )
        db.execute(
            f"CREATE TABLE {s}.snapshots (seq BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, chain BYTEA NOT NULL, "
            "state BYTEA NOT NULL, state_hash TEXT NOT NULL, crc BIGINT NOT NULL)"
        )
        db.execute(f"INSERT INTO {s}.meta VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
        db.execute(f"INSERT INTO {s}.meta VALUES ('outcome_version', %s)", (str(OUTCOME_VERSION),))  # the storage format alone differs
        chain = GENESIS
        for seq in range(1, records + 1):
            body = f"body-{seq}".encode()
            chain = next_chain(chain, seq, 1_000 + seq, body)
            db.execute(
                f"INSERT INTO {s}.journal VALUES (%s, %s, %s, %s, %s)", (seq, 1_000 + seq, record_crc(seq, 1_000 + seq, body), chain, body)
            )
            if seq == snapshot_at:
                crc = zlib.crc32(b"state", zlib.crc32(chain + b"hash"))
                db.execute(f"INSERT INTO {s}.snapshots VALUES (%s, %s, %s, %s, 'hash', %s)", (seq, 1_000 + seq, chain, b"state", crc))


def test_postgres_journal_per_record_schema_converted_to_blocks_on_open(pg_url: str) -> None:
    _per_record_journal(pg_url, records=30, snapshot_at=20)
    j = PostgresJournal(pg_url, "every")
    try:
        assert j.last_seq == 30 and j.verify() == 30
        assert [r.body for r in j.records(25)] == [f"body-{seq}".encode() for seq in range(26, 31)]
        snapshot = j.latest_snapshot()
        assert snapshot is not None and snapshot.seq == 20 and snapshot.chain == j.chain_at(20)
        j.append(31, 2_000, b"after")
        j.flush()
    finally:
        j.close()
    again = PostgresJournal(pg_url, readonly=True)
    assert again.last_seq == 31 and again.report.records_verified == 11
    again.close()


def test_postgres_journal_damaged_per_record_schema_refused_not_converted(pg_url: str) -> None:
    _per_record_journal(pg_url, records=10, snapshot_at=0)
    conninfo, s = split_schema(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f"UPDATE {s}.journal SET body = 'x' WHERE seq = 4")
    with pytest.raises(JournalCorrupted, match="record 4 fails its CRC"):
        PostgresJournal(pg_url, "every")
    with psycopg.connect(conninfo, autocommit=True) as db:
        assert db.execute(f"SELECT COUNT(*) FROM {s}.blocks").fetchone() == (0,)


def test_postgres_journal_group_commit_is_one_block_with_its_origins(pg_url: str) -> None:
    j = PostgresJournal(pg_url, "group:60000")
    for seq in range(1, 6):
        j.stamp_origin(Origin(f"user{seq}", "REST") if seq % 2 else None)
        j.append(seq, seq, b"r")
    j.flush()
    conninfo, s = split_schema(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        assert db.execute(f"SELECT first_seq, last_seq FROM {s}.blocks").fetchall() == [(1, 5)]
    assert list(j.origins()) == [(1, Origin("user1", "REST")), (3, Origin("user3", "REST")), (5, Origin("user5", "REST"))]
    j.close()
