"""The sequencer: journal before apply, rejections change nothing, replay and snapshots (issue 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.engine import DeterminismError, Engine, MemoryJournal
from lionrock.kernel.messages import Codec, CommandRejected
from lionrock.storage.sqlite_journal import SqliteJournal
from testkit import T0, Audited, Credit, Debit, Debited, Explode, tally_contexts


def _engine(journal=None, **kw) -> Engine:  # type: ignore[no-untyped-def]
    return Engine(tally_contexts(), journal or MemoryJournal(), **kw)


def test_command_is_sequenced_applied_and_observed() -> None:
    e = _engine()
    e.submit(Credit(account="a", amount=10), T0)
    out = e.submit(Debit(account="a", amount=4), T0 + 1)
    assert out.accepted and out.seq == 2
    assert out.events == [Debited(account="a", amount=4, balance=6), Audited(account="a")]


def test_rejected_command_is_journaled_and_changes_nothing() -> None:
    e = _engine()
    e.submit(Credit(account="a", amount=10), T0)
    before = e.contexts["tally"].canonical_state(), e.contexts["audit"].canonical_state()
    out = e.submit(Debit(account="a", amount=11), T0 + 1)
    assert not out.accepted and out.rejection is not None
    assert (out.rejection.code, out.rejection.field) == (1901, "amount")
    assert "a holds 10, cannot debit 11" in out.rejection.message
    assert isinstance(out.events[0], CommandRejected)
    assert (e.contexts["tally"].canonical_state(), e.contexts["audit"].canonical_state()) == before
    assert e.journal.last_seq == 2  # the rejection is part of the record


@given(st.lists(st.tuples(st.booleans(), st.integers(-3, 20)), max_size=40))
@settings(max_examples=60, deadline=None)
def test_rejections_leave_state_hash_unchanged_and_replay_matches(ops: list[tuple[bool, int]]) -> None:
    e = _engine()
    for i, (credit, amount) in enumerate(ops):
        cmd = Credit(account="a", amount=amount) if credit else Debit(account="a", amount=amount)
        contexts_before = {n: c.canonical_state() for n, c in e.contexts.items()}
        out = e.submit(cmd, T0 + i)
        if not out.accepted:
            assert {n: c.canonical_state() for n, c in e.contexts.items()} == contexts_before
        assert e.contexts["tally"].balances.get("a", 0) >= 0
    replayed = _engine(e.journal).recover()
    assert replayed.state_hash() == e.state_hash()


def test_command_that_crashes_the_engine_does_not_become_durable(tmp_path: Path) -> None:
    """Crash-only: a bug stops the engine; with group commit the unacknowledged records, the
    poison command among them, are not written, so the restart does not crash on it again."""
    from lionrock.engine.journal import Durability
    from lionrock.kernel.errors import InvariantError

    path = tmp_path / "j.sqlite"
    e = _engine(SqliteJournal(path, Durability("group", 60_000)))
    for i in range(3):
        e.submit(Credit(account="a", amount=1), T0 + i)
    e.flush()  # acknowledged
    e.submit(Credit(account="a", amount=5), T0 + 4)  # applied, not yet durable
    with pytest.raises(InvariantError, match="the tally context has a bug"):
        e.submit(Explode(), T0 + 5)
    e.close()
    again = _engine(SqliteJournal(path)).recover()
    assert again.seq == 3 and again.contexts["tally"].balances == {"a": 3}
    again.close()


@pytest.mark.parametrize("durability", ["every", "group:0"])
def test_command_that_crashes_the_engine_is_not_committed_by_its_own_append(tmp_path: Path, durability: str) -> None:
    """Even when a commit is due at the moment the poison command is appended (``every``, or a
    group window that has already run out), the commit covers only the records before it: the
    poison command is applied first and discarded when it crashes the engine."""
    from lionrock.engine.journal import Durability
    from lionrock.kernel.errors import InvariantError

    path = tmp_path / "j.sqlite"
    mode, _, ms = durability.partition(":")
    e = _engine(SqliteJournal(path, Durability(mode, int(ms or 0))))
    for i in range(3):
        e.submit(Credit(account="a", amount=1), T0 + i)
    with pytest.raises(InvariantError, match="the tally context has a bug"):
        e.submit(Explode(), T0 + 5)
    e.close()
    again = _engine(SqliteJournal(path)).recover()
    assert again.seq == 3 and again.contexts["tally"].balances == {"a": 3}
    again.close()


def test_time_never_goes_backwards() -> None:
    e = _engine()
    e.submit(Credit(account="a", amount=1), T0 + 100)
    out = e.submit(Credit(account="a", amount=1), T0)
    assert out.at_ns == T0 + 100


def test_recovery_from_snapshot_plus_tail_equals_full_replay(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    e = _engine(SqliteJournal(path, "group:5"), snapshot_every=7)
    for i in range(30):
        e.submit(Credit(account=f"a{i % 3}", amount=i + 1), T0 + i)
        if i % 4 == 0:
            e.submit(Debit(account=f"a{i % 3}", amount=2), T0 + i)
    live = e.state_hash()
    e.close()
    from_snapshot = _engine(SqliteJournal(path)).recover()
    from_scratch = _engine(SqliteJournal(path, readonly=True)).recover(use_snapshot=False)
    assert from_snapshot.state_hash() == from_scratch.state_hash() == live
    assert from_snapshot.journal.latest_snapshot() is not None
    from_snapshot.close()
    from_scratch.close()


def test_recovery_with_snapshot_every_does_not_snapshot_mid_replay(tmp_path: Path) -> None:
    """A crash between a record and its due snapshot: recovery replays past the snapshot point
    without trying to snapshot at a record that is not the journal's last."""
    path = tmp_path / "j.sqlite"
    e = _engine(SqliteJournal(path, "every"))  # no snapshots while writing
    for i in range(10):
        e.submit(Credit(account="a", amount=1), T0 + i)
    live = e.state_hash()
    e.close()
    again = _engine(SqliteJournal(path), snapshot_every=4).recover()
    assert again.state_hash() == live
    again.close()


def test_catch_up_checks_regenerated_commands_against_the_journal() -> None:
    j = MemoryJournal()
    e = _engine(j)
    for i in range(5):
        e.submit(Credit(account="a", amount=i + 1), T0 + i)
    resumed = _engine(j).catch_up()
    for i in range(5):
        resumed.submit(Credit(account="a", amount=i + 1), T0 + i)
    assert not resumed.catching_up and resumed.state_hash() == e.state_hash()
    diverged = _engine(j).catch_up()
    diverged.submit(Credit(account="a", amount=1), T0)
    with pytest.raises(DeterminismError, match="seq 2"):
        diverged.submit(Credit(account="a", amount=99), T0 + 1)


def test_commands_round_trip_through_the_codec() -> None:
    codec = Codec()
    for msg in (Credit(account="x", amount=3), Debit(account="y", amount=4)):
        assert codec.decode_command(codec.encode(msg)) == msg
        assert codec.command_from_json(msgspec.json.encode(msg)) == msg
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int`, got `str` - at `\$.amount`"):
        codec.command_from_json(b'{"type":"Credit","account":"x","amount":"many"}')


_KILL_DRIVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from testkit import T0, Credit, Debit, tally_contexts
    from lionrock.engine import Engine
    from lionrock.storage.sqlite_journal import SqliteJournal
    e = Engine(tally_contexts(), SqliteJournal(sys.argv[1], "group:2")).catch_up()
    print("started", flush=True)
    for i in range(int(sys.argv[2])):
        e.submit(Credit(account=f"a{{i % 7}}", amount=i % 13 + 1), T0 + i)
        if i % 5 == 0:
            e.submit(Debit(account=f"a{{i % 7}}", amount=3), T0 + i)
    e.close()
    print(e.state_hash())
    """
)


def test_sigkill_at_random_points_then_resume_reaches_the_uninterrupted_hash(tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(_KILL_DRIVER.format(tests=str(Path(__file__).parents[1])))
    n = "300000"
    clean = subprocess.run([sys.executable, str(script), str(tmp_path / "clean.sqlite"), n], capture_output=True, text=True, check=True)
    want = clean.stdout.split()[-1]
    path = tmp_path / "killed.sqlite"
    import random
    import sqlite3

    rng = random.Random(1234)
    kills = 0
    progress = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(path), n], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "started\n"  # imports done: the clock starts at the first command
        try:
            proc.wait(timeout=rng.uniform(0.2, 0.6))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
        proc.stdout.close()
        if path.exists():
            db = sqlite3.connect(path)
            progress.append(db.execute("SELECT COALESCE(MAX(last_seq), 0) FROM blocks").fetchone()[0])
            db.close()
    assert kills >= 2, "the driver finished before it could be killed: raise n"
    assert progress and 0 < progress[-1], progress
    resumed = subprocess.run([sys.executable, str(script), str(path), n], capture_output=True, text=True, check=True)
    assert resumed.stdout.split()[-1] == want


class _LaggingJournal(MemoryJournal):
    """A journal whose flush returns without making anything durable (a broken backend)."""

    @property
    def durable_seq(self) -> int:
        return 0

    def flush(self) -> None:
        pass


def test_flush_that_leaves_a_record_not_durable_is_an_invariant_failure() -> None:
    from lionrock.kernel.errors import InvariantError

    e = _engine(_LaggingJournal())
    e.submit(Credit(account="a", amount=1), T0)
    with pytest.raises(InvariantError, match=r"^Invariant: flush left seq 1 not durable"):
        e.flush()


def test_applying_a_record_out_of_sequence_is_an_invariant_failure() -> None:
    from lionrock.engine.journal import JournalRecord
    from lionrock.kernel.errors import InvariantError

    e = _engine()
    body = e.codec.encode(Credit(account="a", amount=1))
    with pytest.raises(InvariantError, match=r"^Invariant: applying seq 2 after 0"):
        e._replay_record(JournalRecord(seq=2, at_ns=T0, crc=0, body=body))


def test_invariant_helper_survives_python_dash_o() -> None:
    code = (
        "from lionrock.kernel.errors import InvariantError, invariant\n"
        "try:\n    invariant(False, 'seq %d after %d', 2, 0)\n"
        "except InvariantError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Invariant: seq 2 after 0"
