"""Journal contract (every backend) and recovery from damaged tails (issue 2, failure behaviour)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lionrock.engine.journal import (
    GENESIS,
    Durability,
    JournalCorrupted,
    MemoryJournal,
)
from lionrock.storage.sqlite_journal import SqliteJournal


def _fill(journal, n: int, start: int = 1) -> None:  # type: ignore[no-untyped-def]
    for seq in range(start, start + n):
        journal.append(seq, 1_000 + seq, f"body-{seq}".encode())
    journal.flush()


@pytest.fixture(params=["memory", "sqlite-every", "sqlite-group"])
def make_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], object]]:
    opened: list[object] = []

    def make():  # type: ignore[no-untyped-def]
        if request.param == "memory":
            j = MemoryJournal()
        else:
            j = SqliteJournal(tmp_path / "j.sqlite", "every" if request.param == "sqlite-every" else "group:5")
        opened.append(j)
        return j

    yield make
    for j in opened:
        j.close()  # type: ignore[attr-defined]


def test_journal_appends_and_reads_back_in_order(make_journal) -> None:  # type: ignore[no-untyped-def]
    j = make_journal()
    _fill(j, 50)
    got = list(j.records())
    assert [r.seq for r in got] == list(range(1, 51))
    assert got[9].body == b"body-10" and got[9].at_ns == 1010
    assert j.last_seq == 50 and j.durable_seq == 50


def test_journal_refuses_out_of_sequence_append(make_journal) -> None:  # type: ignore[no-untyped-def]
    j = make_journal()
    _fill(j, 3)
    with pytest.raises(ValueError, match="out of sequence: 5 after 3"):
        j.append(5, 0, b"x")


def test_journal_reads_tail_after_a_seq(make_journal) -> None:  # type: ignore[no-untyped-def]
    j = make_journal()
    _fill(j, 10)
    tail = list(j.records(6))
    assert [r.seq for r in tail] == [7, 8, 9, 10]


def test_journal_snapshots_and_meta(make_journal) -> None:  # type: ignore[no-untyped-def]
    j = make_journal()
    _fill(j, 5)
    assert j.latest_snapshot() is None
    j.save_snapshot(5, 1005, b"state", "ab" * 32)  # snapshots are taken at the last appended record
    snap = j.latest_snapshot()
    assert snap is not None and (snap.seq, snap.state, snap.chain) == (5, b"state", j.chain_at(5))
    j.set_meta("scenario", "hk-ai-wave")
    assert j.get_meta("scenario") == "hk-ai-wave"


def test_group_commit_is_durable_only_after_flush(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite", Durability("group", 60_000))
    j.append(1, 1, b"a")
    assert j.last_seq == 1 and j.durable_seq == 0
    other = sqlite3.connect(tmp_path / "j.sqlite")
    assert other.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 0
    j.flush()
    assert j.durable_seq == 1
    assert other.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 1
    other.close()
    j.close()


def test_durability_policy_parsing() -> None:
    assert str(Durability.parse("group:5")) == "group:5"
    assert Durability.parse("every").mode == "every"
    with pytest.raises(ValueError, match="expected 'every' or 'group:<ms>'"):
        Durability.parse("sometimes")
    with pytest.raises(ValueError):
        Durability.parse("group:0")


def _damage(path: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, args)
    db.commit()
    db.close()


def _flip_last_byte(path: Path, first_seq: int) -> None:
    """Flip one bit in the last byte of a stored block (inside its last record's body)."""
    db = sqlite3.connect(path)
    (data,) = db.execute("SELECT data FROM blocks WHERE first_seq = ?", (first_seq,)).fetchone()
    db.execute("UPDATE blocks SET data = ? WHERE first_seq = ?", (data[:-1] + bytes([data[-1] ^ 0x01]), first_seq))
    db.commit()
    db.close()


def test_bit_flipped_tail_is_dropped_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, "every")
    _fill(j, 20)
    j.close()
    _flip_last_byte(path, 20)
    j2 = SqliteJournal(path)
    assert j2.last_seq == 19
    assert j2.report.dropped_records == 1 and j2.report.dropped_from_seq == 20
    assert "dropped 1 record(s) from seq 20" in j2.report.messages[0]
    assert [r.seq for r in j2.records()][-1] == 19
    j2.append(20, 5, b"new")  # appends continue from the recovered point
    j2.close()


def test_truncated_tail_records_are_all_dropped(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, "every")
    _fill(j, 20)
    j.close()
    for seq in (18, 19, 20):  # a torn write: the last records lost their ends
        _damage(path, "UPDATE blocks SET data = substr(data, 1, 3) WHERE first_seq = ?", seq)
    j2 = SqliteJournal(path)
    assert j2.last_seq == 17 and j2.report.dropped_records == 3
    j2.close()


def test_corrupted_middle_record_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, "every")
    _fill(j, 20)
    j.close()
    _flip_last_byte(path, 7)
    with pytest.raises(JournalCorrupted, match=r"record 7 fails its CRC, and 13 intact records follow"):
        SqliteJournal(path)


def test_missing_middle_record_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, "every")
    _fill(j, 10)
    j.close()
    _damage(path, "DELETE FROM blocks WHERE first_seq = 4")
    with pytest.raises(JournalCorrupted, match="record 4 is missing"):
        SqliteJournal(path)


def test_memory_journal_detects_tampering() -> None:
    j = MemoryJournal()
    _fill(j, 3)
    seq, at, crc, chain, _body = j._rows[1]
    j._rows[1] = (seq, at, crc, chain, b"tampered")
    with pytest.raises(JournalCorrupted, match="record 2 fails its CRC"):
        list(j.records())
    assert j.chain_at(0) == GENESIS


def test_group_commit_blocks_read_back_from_inside_a_block(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "j.sqlite", Durability("group", 60_000))
    _fill(j, 10)  # one block of 10 records
    _fill(j, 5, start=11)  # a second block
    assert [r.seq for r in j.records(7)] == [8, 9, 10, 11, 12, 13, 14, 15]
    assert j.chain_at(10) != GENESIS
    with pytest.raises(JournalCorrupted, match="no block ends at record 7"):
        j.chain_at(7)
    j.close()


def test_readonly_open_of_damaged_tail_reports_without_deleting(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, "every")
    _fill(j, 5)
    j.close()
    _flip_last_byte(path, 5)
    ro = SqliteJournal(path, readonly=True)
    assert ro.last_seq == 4 and [r.seq for r in ro.records()] == [1, 2, 3, 4]
    ro.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 5
    db.close()


def test_missing_block_before_the_last_is_refused_not_cut(tmp_path: Path) -> None:
    """A gap followed by an intact block is damage in the middle: nothing acknowledged is cut."""
    path = tmp_path / "j.sqlite"
    j = SqliteJournal(path, "every")
    _fill(j, 10)
    j.close()
    _damage(path, "DELETE FROM blocks WHERE first_seq = 9")
    with pytest.raises(JournalCorrupted, match="record 9 is missing"):
        SqliteJournal(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 9  # record 10 still there
    db.close()
