"""One command the journal cannot hold never stops the engine (issue 13, defect 1).

Before: ``Credit(amount=10**30)`` raised OverflowError in the MessagePack encoder inside
`Engine.submit`; the runner caught it as a crash and stopped, so every later command of every user
answered "engine unavailable" until a restart, and nothing was logged. Now the engine refuses it
unsequenced with a coded rejection, the runner answers it and goes on, and a real stop is logged
at CRITICAL with its traceback.
"""

from __future__ import annotations

import logging

import pytest

from lionrock.engine import Engine, MemoryJournal
from lionrock.kernel.errors import EngineCode
from lionrock.service.writer import EngineRunner, RunnerStopped
from testkit import T0, Credit, Explode, tally_contexts

_HOSTILE = [10**30, -(10**30), 2**64, 2**63, -(2**63) - 1]


def _engine() -> Engine:
    return Engine(tally_contexts(), MemoryJournal())


@pytest.mark.parametrize("amount", _HOSTILE)
def test_engine_command_outside_int64_is_refused_unsequenced_and_changes_nothing(amount: int) -> None:
    engine = _engine()
    engine.submit(Credit(account="a", amount=10), T0)
    before = engine.state_hash(), engine.seq, engine.last_at_ns, engine.journal.last_seq
    outcome = engine.submit(Credit(account="a", amount=amount), T0 + 5)
    assert outcome.rejection is not None and not outcome.sequenced
    assert (outcome.seq, outcome.events) == (0, [])
    assert (outcome.rejection.code, outcome.rejection.reason, outcome.rejection.field) == (
        int(EngineCode.COMMAND_NOT_ENCODABLE),
        "COMMAND_NOT_ENCODABLE",
        "amount",
    )
    assert f"within {-(2**63)}..{2**63 - 1}" in outcome.rejection.message
    assert (engine.state_hash(), engine.seq, engine.last_at_ns, engine.journal.last_seq) == before
    after = engine.submit(Credit(account="a", amount=1), T0 + 6)
    assert after.accepted and after.seq == 2


def test_engine_int64_bounds_are_accepted() -> None:
    engine = _engine()
    assert engine.submit(Credit(account="a", amount=2**63 - 1), T0).accepted
    assert engine.submit(Credit(account="b", amount=1), T0).seq == 2


def test_engine_journal_bytes_unchanged_for_ordinary_commands() -> None:
    engine = _engine()
    engine.submit(Credit(account="a", amount=2**40), T0)
    (record,) = list(engine.journal.records())
    assert record.body == engine.codec.encode(Credit(account="a", amount=2**40))


def test_runner_answers_an_unencodable_command_and_keeps_serving_everyone() -> None:
    seen: list[int] = []
    runner = EngineRunner(Engine(tally_contexts(), MemoryJournal()), clock=iter(range(1, 10**9)).__next__)
    runner.add_listener(lambda batch: seen.extend(o.seq for _, o in batch))
    runner.start()
    try:
        bad = runner.submit_wait(Credit(account="a", amount=10**30))
        assert bad.rejection is not None and bad.rejection.code == int(EngineCode.COMMAND_NOT_ENCODABLE)
        good = runner.submit_wait(Credit(account="b", amount=3))
        assert good.accepted and good.seq == 1 and runner.running and runner.failure is None
    finally:
        runner.stop()
    assert seen == [1]  # the refused command was never published to listeners


def test_runner_stop_is_logged_critical_with_traceback(caplog: pytest.LogCaptureFixture) -> None:
    runner = EngineRunner(Engine(tally_contexts(), MemoryJournal())).start()
    try:
        with caplog.at_level(logging.CRITICAL, logger="lionrock.runner"), pytest.raises(RunnerStopped):
            runner.submit_wait(Explode())
        with pytest.raises(RunnerStopped):
            runner.submit_wait(Credit(account="a", amount=1))
    finally:
        runner.stop()
    records = [r for r in caplog.records if r.name == "lionrock.runner" and r.levelno == logging.CRITICAL]
    assert len(records) == 1 and "STOPPED" in records[0].getMessage()
    assert records[0].exc_info is not None and records[0].exc_info[1] is not None


def test_engine_string_whose_bytes_look_like_a_large_uint64_is_accepted() -> None:
    engine = _engine()
    outcome = engine.submit(Credit(account="\u03c0" * 5, amount=2**62), T0)  # "π" is 0xCF 0x80 in UTF-8
    assert outcome.accepted and outcome.seq == 1
