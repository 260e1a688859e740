"""Whole-journal verification: damage before the latest snapshot is found and named (issue 13).

Opening a journal and replaying from its snapshot read only the records after the snapshot, so a
flipped byte in an early record went unseen; `verify` walks every record (CRC, sequence, chain)
without decoding commands, and `verify_snapshot_chain` also ties the snapshot to that chain.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from lionrock.engine.journal import (
    JournalCorrupted,
    JournalNotFound,
    MemoryJournal,
    NotAJournal,
    verify_snapshot_chain,
)
from lionrock.kernel.user_errors import UserError
from lionrock.storage.sqlite_journal import SqliteJournal


def _journal_with_snapshot(path: Path, records: int = 30, snapshot_at: int = 20) -> None:
    j = SqliteJournal(path, "every")
    for seq in range(1, records + 1):
        j.append(seq, 1_000 + seq, f"body-{seq}".encode())
        if seq == snapshot_at:
            j.save_snapshot(seq, 1_000 + seq, b"state", "hash")
    j.close()


def _flip_byte_in_body(path: Path, seq: int) -> None:
    """Flip one bit inside record ``seq``'s body, where it sits in its stored block."""
    db = sqlite3.connect(path)
    first, data = db.execute("SELECT first_seq, data FROM blocks WHERE first_seq <= ? AND last_seq >= ?", (seq, seq)).fetchone()
    at = bytes(data).rindex(f"body-{seq}".encode()) + 2
    damaged = bytearray(data)
    damaged[at] ^= 0x01
    db.execute("UPDATE blocks SET data = ? WHERE first_seq = ?", (bytes(damaged), first))
    db.commit()
    db.close()


def test_damage_before_the_snapshot_passes_open_but_verify_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _journal_with_snapshot(path)
    _flip_byte_in_body(path, 5)
    j = SqliteJournal(path, readonly=True)  # opening checks only the records after the snapshot
    snapshot = j.latest_snapshot()
    assert snapshot is not None and snapshot.seq == 20
    assert [r.seq for r in j.records(20)] == list(range(21, 31))
    with pytest.raises(JournalCorrupted, match="record 5 fails its CRC"):
        verify_snapshot_chain(j, snapshot)
    with pytest.raises(JournalCorrupted, match="record 5 fails its CRC"):
        j.verify()
    j.close()


def test_verify_of_an_intact_journal_checks_every_record_up_to_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _journal_with_snapshot(path)
    j = SqliteJournal(path, readonly=True)
    snapshot = j.latest_snapshot()
    assert snapshot is not None
    assert verify_snapshot_chain(j, snapshot) == 20
    assert j.verify() == 30
    j.close()


def test_a_record_missing_before_the_snapshot_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _journal_with_snapshot(path)
    db = sqlite3.connect(path)
    db.execute("DELETE FROM blocks WHERE first_seq = 7")
    db.commit()
    db.close()
    j = SqliteJournal(path, readonly=True)
    with pytest.raises(JournalCorrupted, match="record 7 is missing"):
        j.verify(20)
    j.close()


def test_a_snapshot_from_another_chain_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _journal_with_snapshot(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE blocks SET chain = ? WHERE last_seq = 20", (bytes(16),))
    db.commit()
    db.close()
    j = SqliteJournal(path, readonly=True)
    snapshot = j.latest_snapshot()
    assert snapshot is not None
    with pytest.raises(JournalCorrupted, match="breaks the hash chain"):
        verify_snapshot_chain(j, snapshot)
    j.close()


def test_memory_journal_verify_names_a_tampered_record() -> None:
    j = MemoryJournal()
    for seq in range(1, 6):
        j.append(seq, seq, b"x")
    assert j.verify() == 5
    seq, at, crc, chain, _ = j._rows[2]
    j._rows[2] = (seq, at, crc, chain, b"y")
    with pytest.raises(JournalCorrupted, match="record 3 fails its CRC"):
        j.verify(4)


def test_journal_errors_are_user_errors_with_a_hint(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just words\n" * 10)
    with pytest.raises(NotAJournal) as not_journal:
        SqliteJournal(text, readonly=True)
    with pytest.raises(NotAJournal):
        SqliteJournal(text)  # writing mode too: a damaged header is not "created"
    with pytest.raises(JournalNotFound) as missing:
        SqliteJournal(tmp_path / "absent.sqlite", readonly=True)
    for error in (not_journal.value, missing.value):
        assert isinstance(error, UserError) and error.hint
        assert "\n" not in error.one_line()


def test_an_unrelated_sqlite_database_is_not_turned_into_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(NotAJournal, match="no meta table"):
        SqliteJournal(path)
    db = sqlite3.connect(path)
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["customers"]
    db.close()


@pytest.fixture(scope="module")
def pg_server():  # type: ignore[no-untyped-def]
    from testkit.service_pgserver import PgServer, pg_bin
    from testkit.system import missing

    if pg_bin() is None:
        missing("PostgreSQL (/usr/lib/postgresql/*/bin/initdb)", "apt-get install postgresql")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.mark.integration
def test_postgres_journal_verify_names_a_record_damaged_before_the_snapshot(pg_server) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    from lionrock.storage.postgres_journal import PostgresJournal, split_schema

    url = f"{pg_server.url}?schema=verify_{os.getpid()}"
    j = PostgresJournal(url, "every")
    for seq in range(1, 31):
        j.append(seq, 1_000 + seq, f"body-{seq}".encode())
        if seq == 20:
            j.save_snapshot(seq, 1_000 + seq, b"state", "hash")
    j.close()
    conninfo, schema = split_schema(url)
    with psycopg.connect(conninfo, autocommit=True) as db:  # record 5's block, one bit of its body flipped
        (data,) = db.execute(f"SELECT data FROM {schema}.blocks WHERE first_seq = 5").fetchone()  # type: ignore[misc]
        at = bytes(data).rindex(b"body-5") + 2
        db.execute(
            f"UPDATE {schema}.blocks SET data = %s WHERE first_seq = 5",
            (bytes(data[:at]) + bytes([data[at] ^ 0x01]) + bytes(data[at + 1 :]),),
        )
    ro = PostgresJournal(url, readonly=True)  # opening checks only the records after the snapshot
    try:
        snapshot = ro.latest_snapshot()
        assert snapshot is not None and snapshot.seq == 20
        with pytest.raises(JournalCorrupted, match="record 5 fails its CRC"):
            verify_snapshot_chain(ro, snapshot)
        assert ro.verify(4) == 4
    finally:
        ro.close()


def test_postgres_journal_without_a_server_is_a_user_error() -> None:
    import socket

    from lionrock.kernel.user_errors import ServiceUnavailable
    from lionrock.storage.postgres_journal import PostgresJournal

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ServiceUnavailable, match=f"PostgreSQL at postgresql://lion@127.0.0.1:{port}/db does not answer") as caught:
        PostgresJournal(f"postgresql://lion:secret@127.0.0.1:{port}/db?connect_timeout=2")
    assert "secret" not in caught.value.one_line()
