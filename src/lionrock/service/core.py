"""The writing half of the service: journal, engine, writer thread and read-model projector.

`WriterCore` is what owns the state: it opens the journal, recovers the engine (the projector
catches the read models up on the way) and runs the single writer (`EngineRunner`), whose staged
listener is the projector, so every answer is durable and projected. `Service` runs one in its
own process beside the gateways (``lionrock serve --writer thread``) or talks to one in a child
process (``--writer process``, `lionrock.service.writer_process`); the core is the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from lionrock.engine import Engine
from lionrock.kernel.context import Context
from lionrock.kernel.errors import InvariantError
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.readmodel.projector import Projector
from lionrock.service.contexts import default_contexts
from lionrock.service.writer import EngineRunner
from lionrock.storage.locations import StorageSpec
from lionrock.storage.sql import SqlStore


class WriterCore:
    """Journal, engine, runner and projector over one ``--db`` store; `start` recovers and runs.
    Listeners (`runner.add_listener`) are registered between construction and `start`."""

    def __init__(
        self,
        spec: StorageSpec,
        *,
        read: SqlStore | None = None,
        contexts: Iterable[Context] | None = None,
        durability: str = "group:2",
        snapshot_every: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.spec = spec
        self.read = read if read is not None else SqlStore(spec.read_model_url)
        self._contexts: dict[str, Context] = {}
        self.projector = Projector(self.read, offering_context=lambda: self._contexts["offering"])
        self.context_list = list(contexts) if contexts is not None else default_contexts()
        self._replaying = True
        self._durability = durability
        self._snapshot_every = snapshot_every
        self.clock = clock
        ticker = trading_ticker if any(c.name == "trading" for c in self.context_list) else None
        self.runner = EngineRunner(self._build_engine, clock=clock, ticker=ticker)
        self.runner.add_staged_listener(self.projector.on_batch_staged)  # its SQL overlaps the fsync, committed after it

    def start(self) -> WriterCore:
        """Recover (on the writer thread) and start accepting commands; re-raises a failed recovery."""
        self.runner.start()
        self.engine = self.runner.engine
        self.journal = self.engine.journal
        return self

    def stop(self) -> None:
        """Stop the writer (it closes the engine and its journal on its own thread)."""
        self.runner.stop()

    def _build_engine(self) -> Engine:  # runs on the writer thread (SQLite connections are per thread)
        journal = self.spec.open_journal(self._durability)
        try:
            engine = Engine(self.context_list, journal, snapshot_every=self._snapshot_every)
            self._contexts = engine.contexts  # read by the projector on this thread only
            engine.subscribe(self._replay_feed)
            self._recover(engine)
            if isinstance(self.clock, MarketClock):  # not behind the journal's last command time
                self.clock.resume_after(engine.last_at_ns)
            self._replaying = False
            self.projector.finish_replay()
        except BaseException:
            journal.close()
            raise
        return engine

    def _recover(self, engine: Engine) -> None:
        """Recovery restores the engine from the latest snapshot and replays only the records after
        it, so a read model behind the snapshot (deleted, or an older copy) would never see the
        records in between. Then replay the whole journal instead, without the snapshot: the
        projector gets every record it lacks (it skips up to ``projected_seq``), the state ends the
        same, and on the way the state at the snapshot's seq is checked against its hash."""
        snap = engine.journal.latest_snapshot()
        if snap is None or self.projector.projected_seq >= snap.seq:
            engine.recover()
            return

        def check(seq: int) -> None:
            if seq == snap.seq and engine.state_hash() != snap.state_hash:
                raise InvariantError(f"Invariant: replay reaches a different state at snapshot seq {snap.seq}")

        every, engine.snapshot_every = engine.snapshot_every, 0  # replaying records takes no new snapshots
        try:
            engine.recover(use_snapshot=False, on_record=check)
        finally:
            engine.snapshot_every = every

    def _replay_feed(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        if self._replaying:
            self.projector.on_replay(stamp, command, events)


def trading_ticker(engine: Engine, at_ns: int) -> Command | None:
    """A `TradingTick` when one of the trading venue's timers is due at ``at_ns`` (the venue
    refuses other commands while a timer is overdue; timers arrive as commands, never by clock)."""
    ctx = engine.contexts.get("trading")
    timers = getattr(ctx, "timers", None)
    index = getattr(ctx, "timer_index", None)
    if not timers or index is None or index >= len(timers) or timers[index][0] > at_ns:
        return None
    from lionrock.trading.commands import TradingTick

    return TradingTick()


class MarketClock:
    """A clock that starts at ``start_ns`` (e.g. a trading day's 09:30 HKT) and runs at ``speed``.

    After a restart the journal already holds commands stamped up to some moment, which may be
    past the configured start: a clock started there again would run behind the journal, the
    sequencer would stamp every command with the journal's last time (time never goes back) and
    the venue's timers would never come due. `resume_after` (called once recovery is done)
    moves the clock's origin to the later of the start and the journal's last time, and it runs
    on from there."""

    def __init__(self, start_ns: int, speed: float = 1.0) -> None:
        self.start_ns = start_ns
        self.speed = speed
        self._base_ns = start_ns
        self._origin = time.monotonic_ns()

    def __call__(self) -> int:
        return self._base_ns + int((time.monotonic_ns() - self._origin) * self.speed)

    def advance_to(self, at_ns: int) -> bool:
        """Move the clock forward to ``at_ns`` and run on from there (a demo venue's operator
        skipping to the next session or to T+2); never back, so the sequencer's stamps stay in
        order. True if it moved."""
        if at_ns <= self():
            return False
        self._base_ns = at_ns
        self._origin = time.monotonic_ns()
        return True

    def resume_after(self, last_ns: int) -> None:
        """Continue from the journal's last command time if the clock is behind it (never back)."""
        if last_ns > self():
            self._base_ns = last_ns
            self._origin = time.monotonic_ns()


def market_clock(start_ns: int, speed: float = 1.0) -> MarketClock:
    """A `MarketClock` from ``start_ns``; the service resumes it from the journal after recovery."""
    return MarketClock(start_ns, speed)


__all__ = ["MarketClock", "WriterCore", "market_clock", "trading_ticker"]
