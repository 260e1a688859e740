"""The engine runner: one writer thread, group commit, acknowledge only durable commands."""

from __future__ import annotations

import threading
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait

import pytest

from lionrock.engine import Engine, MemoryJournal
from lionrock.service.writer import EngineRunner, RunnerStopped
from testkit import Credit, Debit, tally_contexts


class _SpyJournal(MemoryJournal):
    """A memory journal that is durable only after `flush`, like a group-commit backend."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed_to = 0
        self.flushes = 0

    @property
    def durable_seq(self) -> int:
        return self.flushed_to

    def flush(self) -> None:
        self.flushes += 1
        self.flushed_to = self.last_seq


def test_runner_concurrent_submitters_all_acknowledged_after_flush() -> None:
    journal = _SpyJournal()
    runner = EngineRunner(Engine(tally_contexts(), journal), clock=iter(range(1, 10**9)).__next__)
    seen_durable: list[bool] = []
    runner.add_listener(lambda batch: seen_durable.extend(journal.durable_seq >= o.seq for _, o in batch))
    runner.start()
    futures = []

    def client(k: int) -> None:
        for _ in range(200):
            futures.append(runner.submit(Credit(account=f"C:B:{k}", amount=1)))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait(futures, timeout=30)
    outcomes = [f.result() for f in futures]
    runner.stop()
    assert sorted(o.seq for o in outcomes) == list(range(1, 801))
    assert all(seen_durable) and len(seen_durable) == 800
    assert journal.flushes == runner.batches and runner.batches <= 800
    assert runner.engine.contexts["tally"].balances == {f"C:B:{k}": 200 for k in range(4)}  # type: ignore[attr-defined]


def test_runner_rejection_is_an_outcome_not_an_error() -> None:
    runner = EngineRunner(Engine(tally_contexts())).start()
    outcome = runner.submit_wait(Debit(account="C:B:1", amount=5))
    runner.stop()
    assert outcome.rejection is not None and outcome.rejection.reason == "INSUFFICIENT"


def test_runner_engine_crash_stops_accepting_commands() -> None:
    runner = EngineRunner(Engine(tally_contexts())).start()

    def boom(batch) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("listener bug")

    runner.add_listener(boom)
    with pytest.raises(RunnerStopped):
        runner.submit_wait(Credit(account="C:B:1", amount=5))
    with pytest.raises(RunnerStopped):
        runner.submit_wait(Credit(account="C:B:1", amount=5))
    assert not runner.running and isinstance(runner.failure, RuntimeError)


def test_runner_call_runs_on_writer_thread_between_batches() -> None:
    runner = EngineRunner(Engine(tally_contexts())).start()
    runner.submit_wait(Credit(account="C:B:1", amount=5))
    name = runner.call(lambda engine: threading.current_thread().name).result(5)
    digest = runner.call(lambda engine: engine.state_hash()).result(5)
    runner.stop()
    assert name == "lionrock-engine" and len(digest) == 64


def test_runner_submit_racing_stop_fails_with_runner_stopped() -> None:
    """A submit that passed the stop check just before the writer's last drain is failed, not lost."""
    runner = EngineRunner(Engine(tally_contexts(), MemoryJournal())).start()
    runner.stop()

    class _Racy(threading.Event):
        calls = 0

        def is_set(self) -> bool:  # the first check (in submit) misses the stop
            self.calls += 1
            return self.calls > 1

    runner._stopped = _Racy()
    from testkit import Credit

    fut = runner.submit(Credit(account="A", amount=1))
    try:
        fut.result(timeout=2)
    except RunnerStopped:
        pass
    except FutureTimeout:
        pytest.fail("the future never resolved")
    else:
        pytest.fail("a command after stop succeeded")


def test_staged_listener_commits_only_after_the_flush_and_before_the_answer() -> None:
    """A staged listener (the projector) runs while the flush is in flight; what it waits for is
    the batch being durable, and the caller's answer comes after it has finished."""
    journal = _SpyJournal()
    runner = EngineRunner(Engine(tally_contexts(), journal), clock=iter(range(1, 10**9)).__next__)
    committed: list[tuple[int, int]] = []  # (last seq of the batch, durable seq when it committed)

    def staged(batch, durable) -> None:  # type: ignore[no-untyped-def]
        durable.result()
        committed.append((batch[-1][1].seq, journal.durable_seq))

    runner.add_staged_listener(staged)
    runner.start()
    for k in range(20):
        outcome = runner.submit_wait(Credit(account="C:B:1", amount=k + 1))
        assert committed[-1][0] == outcome.seq  # read-your-writes: projected before the answer
    runner.stop()
    assert all(durable >= last for last, durable in committed)


class _FailingFlushJournal(_SpyJournal):
    def flush(self) -> None:
        raise OSError("disk full")


def test_staged_listener_sees_a_failed_flush_and_the_runner_stops() -> None:
    runner = EngineRunner(Engine(tally_contexts(), _FailingFlushJournal()))
    outcomes: list[str] = []

    def staged(batch, durable) -> None:  # type: ignore[no-untyped-def]
        try:
            durable.result()
        except RunnerStopped as exc:
            outcomes.append(f"rolled back: {exc}")
            raise
        outcomes.append("committed")

    runner.add_staged_listener(staged)
    runner.start()
    with pytest.raises(RunnerStopped):
        runner.submit_wait(Credit(account="C:B:1", amount=5))
    assert outcomes == ["rolled back: flush failed: OSError('disk full')"]
    assert not runner.running
