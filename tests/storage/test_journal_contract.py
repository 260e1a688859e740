"""One contract suite for every `Journal` backend: MemoryJournal, SqliteJournal, PostgresJournal.

Each backend must keep the same records (CRC, hash chain, continuity), the same group-commit
durability, snapshots and meta, and the same recovery: a damaged tail is cut with a report, a
damaged middle is refused. The PostgreSQL runs use a throwaway server (see ``pgserver.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lionrock.engine import Engine
from lionrock.engine.journal import (
    GENESIS,
    Durability,
    JournalCorrupted,
    JournalIncompatible,
    MemoryJournal,
)
from lionrock.kernel.messages import OUTCOME_VERSION
from lionrock.storage.postgres_journal import PostgresJournal, split_schema
from lionrock.storage.sqlite_journal import SqliteJournal
from testkit import T0, Credit, Debit, tally_contexts


class Backend:
    """Opens journals of one kind at one location and can damage the stored rows directly."""

    persistent = True

    def __init__(self, kind: str, where: str) -> None:
        self.kind = kind
        self.where = where
        self.opened: list[object] = []

    def open(self, durability: str | Durability = "every"):  # type: ignore[no-untyped-def]
        if self.kind == "memory":
            j = MemoryJournal(durability)
        elif self.kind == "sqlite":
            j = SqliteJournal(self.where, durability)
        else:
            j = PostgresJournal(self.where, durability)
        self.opened.append(j)
        return j

    def flip_bit(self, seq: int) -> None:
        """Flip one bit of record ``seq``'s stored bytes (journals written with ``every``: a block
        per record, in the same format on SQLite and PostgreSQL)."""
        self._rewrite_block(seq, lambda data: data[:-1] + bytes([data[-1] ^ 0x01]))

    def tear(self, seq: int) -> None:
        self._rewrite_block(seq, lambda data: data[:3])

    def _rewrite_block(self, seq: int, change) -> None:  # type: ignore[no-untyped-def]
        (data,) = self.query("SELECT data FROM blocks WHERE first_seq = ?", seq)[0]
        self.damage("UPDATE blocks SET data = ? WHERE first_seq = ?", change(bytes(data)), seq)

    def delete(self, seq: int) -> None:
        self.damage("DELETE FROM blocks WHERE first_seq = ?", seq)

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        """Rows of raw SQL on the stored journal (``?`` placeholders, table names unqualified)."""
        if self.kind == "sqlite":
            db = sqlite3.connect(self.where)
            rows = db.execute(sql, args).fetchall()
            db.close()
            return rows
        conninfo, schema = split_schema(self.where)
        with psycopg.connect(conninfo, autocommit=True) as pg:
            pg.execute(f"SET search_path TO {schema}")
            return list(pg.execute(sql.replace("?", "%s"), args).fetchall())

    def damage(self, sql: str, *args: object) -> None:
        """Run raw SQL on the stored journal (``?`` placeholders, table names unqualified)."""
        if self.kind == "sqlite":
            db = sqlite3.connect(self.where)
            db.execute(sql, args)
            db.commit()
            db.close()
        else:
            conninfo, schema = split_schema(self.where)
            with psycopg.connect(conninfo, autocommit=True) as db:
                db.execute(f"SET search_path TO {schema}")
                db.execute(sql.replace("?", "%s"), args)

    def count(self) -> int:
        """Stored blocks (one per commit)."""
        return int(self.query("SELECT COUNT(*) FROM blocks")[0][0])  # type: ignore[call-overload]

    def close_all(self) -> None:
        for j in self.opened:
            try:
                j.close()  # type: ignore[attr-defined]
            except Exception:
                pass


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        b = Backend("memory", "")
        b.persistent = False
    elif request.param == "sqlite":
        b = Backend("sqlite", str(tmp_path / "j.sqlite"))
    else:
        b = Backend("postgresql", request.getfixturevalue("pg_url"))
    yield b
    b.close_all()


def _need_persistent(b: Backend) -> None:
    if not b.persistent:
        pytest.skip("the memory journal has no storage to reopen or damage")


def _fill(journal, n: int, start: int = 1) -> None:  # type: ignore[no-untyped-def]
    for seq in range(start, start + n):
        journal.append(seq, 1_000 + seq, f"body-{seq}".encode())
    journal.flush()


def test_journal_contract_appends_read_back_in_order(backend: Backend) -> None:
    j = backend.open()
    _fill(j, 50)
    got = list(j.records())
    assert [r.seq for r in got] == list(range(1, 51))
    assert got[9].body == b"body-10" and got[9].at_ns == 1010
    assert j.last_seq == 50 and j.durable_seq == 50


def test_journal_contract_out_of_sequence_append_refused(backend: Backend) -> None:
    j = backend.open()
    _fill(j, 3)
    with pytest.raises(ValueError, match="out of sequence: 5 after 3"):
        j.append(5, 0, b"x")


def test_journal_contract_tail_after_seq_reads_rest(backend: Backend) -> None:
    j = backend.open()
    _fill(j, 10)
    assert [r.seq for r in j.records(6)] == [7, 8, 9, 10]
    assert j.chain_at(0) == GENESIS


def test_journal_contract_snapshots_and_meta_round_trip(backend: Backend) -> None:
    j = backend.open()
    _fill(j, 5)
    assert j.latest_snapshot() is None
    j.save_snapshot(5, 1005, b"state", "ab" * 32)
    snap = j.latest_snapshot()
    assert snap is not None and (snap.seq, snap.state, snap.chain, snap.state_hash) == (5, b"state", j.chain_at(5), "ab" * 32)
    j.set_meta("scenario", "hk-ai-wave")
    j.set_meta("scenario", "hk-ai-wave-2")
    assert j.get_meta("scenario") == "hk-ai-wave-2"
    assert j.get_meta("absent") is None


def test_journal_contract_group_commit_durable_only_after_flush(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open(Durability("group", 60_000))
    j.append(1, 1, b"a")
    assert j.last_seq == 1 and j.durable_seq == 0
    assert backend.count() == 0
    j.flush()
    assert j.durable_seq == 1 and backend.count() == 1


def test_journal_contract_staged_meta_committed_with_the_next_block(backend: Backend) -> None:
    """`Journal.stage_meta`: durable with the records appended before the next flush (one commit,
    as the NATS shard keeps its stream position), or on its own when none are; dropped with them
    by `discard_pending` (it described them)."""
    _need_persistent(backend)
    j = backend.open(Durability("group", 60_000))
    j.set_meta("position", "0")
    j.append(1, 1, b"a")
    j.stage_meta("position", "1")
    assert j.get_meta("position") == "0" and backend.count() == 0  # neither is durable before the flush
    j.flush()
    assert j.get_meta("position") == "1" and backend.count() == 1
    j.stage_meta("position", "1+")  # no records: committed on its own
    j.flush()
    assert j.get_meta("position") == "1+"
    j.append(2, 2, b"b")
    j.stage_meta("position", "2")
    assert j.discard_pending() == 1
    j.flush()
    assert j.get_meta("position") == "1+" and backend.count() == 1
    j.append(2, 3, b"c")
    j.stage_meta("position", "2")
    j.close()  # a clean close flushes both
    j2 = backend.open()
    assert j2.last_seq == 2 and j2.get_meta("position") == "2"


def test_journal_contract_reopen_continues_from_last_seq(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open()
    _fill(j, 10)
    j.save_snapshot(10, 1010, b"s10", "cd" * 32)
    _fill(j, 2, start=11)
    j.close()
    j2 = backend.open()
    assert j2.last_seq == 12 and j2.report.records_verified == 2
    assert j2.latest_snapshot() is not None
    j2.append(13, 2000, b"more")
    j2.flush()
    assert [r.seq for r in j2.records()][-2:] == [12, 13]


def test_journal_contract_bit_flipped_tail_dropped_with_message(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open()
    _fill(j, 20)
    j.close()
    backend.flip_bit(20)
    j2 = backend.open()
    assert j2.last_seq == 19
    assert j2.report.dropped_records == 1 and j2.report.dropped_from_seq == 20
    assert "dropped 1 record(s) from seq 20" in j2.report.messages[0]
    j2.append(20, 5, b"new")
    j2.flush()
    assert [r.body for r in j2.records()][-1] == b"new"


def test_journal_contract_torn_tail_records_all_dropped(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open()
    _fill(j, 20)
    j.close()
    for seq in (18, 19, 20):
        backend.tear(seq)
    j2 = backend.open()
    assert j2.last_seq == 17 and j2.report.dropped_records == 3


def test_journal_contract_corrupted_middle_refused(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open()
    _fill(j, 20)
    j.close()
    backend.flip_bit(7)
    with pytest.raises(JournalCorrupted, match=r"7 .*and 13 intact records follow"):
        backend.open()


def test_journal_contract_missing_middle_record_refused(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open()
    _fill(j, 10)
    j.close()
    backend.delete(4)
    with pytest.raises(JournalCorrupted, match="record 4 is missing"):
        backend.open()


def test_journal_contract_other_schema_version_refused(backend: Backend) -> None:
    _need_persistent(backend)
    j = backend.open()
    _fill(j, 2)
    j.close()
    backend.damage("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(JournalIncompatible, match="schema 999"):
        backend.open()


def test_journal_contract_engine_recovers_same_state_hash(backend: Backend) -> None:
    """Restart = snapshot + tail replay; the state hash proves the recovered engine is the same."""
    j = backend.open("group:5")
    engine = Engine(tally_contexts(), j, snapshot_every=7)
    for i in range(30):
        engine.submit(Credit(account="C:B1:I1", amount=10 + i) if i % 3 else Debit(account="C:B1:I1", amount=5), T0 + i)
    engine.flush()
    want = engine.state_hash()
    if not backend.persistent:
        again = Engine(tally_contexts(), j).recover()
        assert again.state_hash() == want
        return
    j.close()
    recovered = Engine(tally_contexts(), backend.open()).recover()
    assert recovered.seq == 30 and recovered.state_hash() == want
    recovered.close()
    replayed = Engine(tally_contexts(), backend.open()).recover(use_snapshot=False)
    assert replayed.state_hash() == want


def test_journal_contract_discard_pending_forgets_only_undurable_records(backend: Backend) -> None:
    """After a crash inside the engine, records not yet committed are dropped (never acknowledged)."""
    j = backend.open(Durability("group", 60_000))
    for seq in (1, 2):
        j.append(seq, seq, f"r{seq}".encode())
    j.flush()
    j.append(3, 3, b"r3")
    j.append(4, 4, b"poison")
    dropped = j.discard_pending()
    assert dropped == (0 if backend.kind == "memory" else 2)
    if backend.kind != "memory":
        assert j.last_seq == 2 and j.durable_seq == 2
        j.append(3, 3, b"r3-again")  # appends continue after the durable record
        j.flush()
        assert [r.body for r in j.records()] == [b"r1", b"r2", b"r3-again"]
    j.close()


def test_journal_contract_other_outcome_version_refused(backend: Backend) -> None:
    """A journal written under another outcome version (the same commands would give other
    outcomes: lionrock.kernel.messages.OUTCOME_VERSION), or under none recorded (written before
    versions were stored: 1), is refused naming both versions; a new journal is stamped with ours."""
    _need_persistent(backend)
    j = backend.open()
    assert j.get_meta("outcome_version") == str(OUTCOME_VERSION)
    _fill(j, 2)
    j.close()
    backend.damage("UPDATE meta SET value = '1' WHERE key = 'outcome_version'")
    with pytest.raises(JournalIncompatible, match=f"outcome version 1; this build computes outcome version {OUTCOME_VERSION}"):
        backend.open()
    backend.damage("DELETE FROM meta WHERE key = 'outcome_version'")
    with pytest.raises(JournalIncompatible, match="outcome version 1 \\(none recorded\\)"):
        backend.open()
