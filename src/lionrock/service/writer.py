"""The engine runner: one writer thread owns the single-threaded `Engine`.

Adapters (REST, WebSocket, FIX, CLI) never touch the engine. They put commands on the runner's
queue and get a future back. The writer thread drains the queue in batches, submits each command
(the sequencer stamps it with the adapter clock, the only clock read on the command path), then
calls ``engine.flush()`` once per batch (group commit) and only then resolves the futures and
fans the outcomes out to listeners (projections, WebSocket hubs, the FIX gateway). So nothing is
acknowledged or published before it is durable, and projections are updated before the caller
sees its answer (read-your-writes).

A *staged* listener (the read-model projector) runs on a second thread while the batch's fsync
is in flight, inside a transaction it commits only once the flush has succeeded (it waits on
the ``durable`` future it is given, which raises if the flush failed): the projection's SQL
overlaps the fsync instead of following it, and still nothing is visible before it is durable.
The writer waits for it before answering, so read-your-writes holds.

A broken invariant or a determinism error inside the engine stops the runner (crash-only): every
pending and later command fails with `RunnerStopped`, and recovery is the ordinary start-up path.
The stop is logged at CRITICAL with the exception and its traceback: every later command of every
user answers "engine unavailable", so an operator must see why at once. A command the engine
refused before sequencing (``Outcome.seq`` 0: the journal could not hold it) is answered at once
and never reaches the listeners: it changed nothing, so there is nothing to project or publish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

from lionrock.engine import Engine, Origin, Outcome
from lionrock.kernel.errors import ServiceError
from lionrock.kernel.messages import Command

BatchListener = Callable[[Sequence[tuple[Command, Outcome]]], None]
"""Called on the writer thread with each durable batch, in sequence order."""
StagedListener = Callable[[Sequence[tuple[Command, Outcome]], "Future[None]"], None]
"""Called on the staging thread with each batch while it is being made durable; it must make
nothing visible before ``durable.result()`` returns (which raises if the flush failed)."""

_STOP = object()
_LOG = logging.getLogger("lionrock.runner")


class RunnerStopped(ServiceError, RuntimeError):
    """The runner is not accepting commands (stopped, or the engine crashed)."""


class EngineRunner:
    """Single writer over an `Engine`, with a command queue and group commit."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        *,
        clock: Callable[[], int] = time.time_ns,
        max_batch: int = 1024,
        ticker: Callable[[Engine, int], Command | None] | None = None,
        idle_tick_s: float = 0.5,
    ) -> None:
        self._factory = None if isinstance(engine, Engine) else engine
        self.engine: Engine = engine if isinstance(engine, Engine) else None  # type: ignore[assignment]
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._clock = clock
        self._ticker = ticker
        self._idle_tick_s = idle_tick_s
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._listeners: list[BatchListener] = []
        self._staged: list[StagedListener] = []
        self._batch_ends: list[Callable[[], None]] = []
        self._stager: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.stopped_at: tuple[int, str] | None = None
        """(seq, state hash) of the engine after a clean stop: what a replay of the journal must print."""
        self._stopped = threading.Event()
        self.batches = 0
        self.commands = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def add_listener(self, listener: BatchListener) -> None:
        """Register before `start`; listeners run on the writer thread and must be quick."""
        self._listeners.append(listener)

    def add_staged_listener(self, listener: StagedListener) -> None:
        """Register before `start`: ``listener(batch, durable)`` runs on the staging thread while
        the batch's flush is in flight (see the module docstring), before every `add_listener` one."""
        self._staged.append(listener)

    def add_batch_end(self, callback: Callable[[], None]) -> None:
        """Register before `start`: ``callback()`` runs on the writer thread after each batch's
        outcomes are resolved (and after a failure has failed them): where a caller that resolves
        many slots at once (the writer process answering its gateway) sends them in one go."""
        self._batch_ends.append(callback)

    def start(self, timeout: float = 600.0) -> EngineRunner:
        """Start the writer thread. With an engine factory, the engine (its journal connection,
        recovery) is built on the writer thread itself, since SQLite connections are bound to the
        thread that made them; `start` waits for that and re-raises its failure."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lionrock-engine", daemon=True)
            self._thread.start()
            if not self._ready.wait(timeout):
                raise RunnerStopped("engine did not start in time")
            if self._start_error is not None:
                raise self._start_error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._stopped.set()

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._failure is None

    # -- submitting --------------------------------------------------------------------------
    def submit(self, command: Command, origin: Origin | None = None) -> Future[Outcome]:
        """Queue ``command``; ``origin`` (who sent it, through which channel) is journaled with it."""
        fut: Future[Outcome] = Future()
        if self._stopped.is_set() or self._failure is not None:
            fut.set_exception(RunnerStopped(f"engine runner stopped: {self._failure or 'shut down'}"))
            return fut
        self._queue.put((command, fut) if origin is None else (command, fut, origin))
        self._recheck(fut)
        return fut

    def submit_on_loop(self, command: Command, origin: Origin | None = None) -> asyncio.Future[Outcome]:
        """`submit` from a coroutine on an event loop: the outcome as an asyncio future of that loop.
        It comes back through a `_LoopWaiter`: the writer hands a batch's outcomes to each loop in
        one ``call_soon_threadsafe``, where a concurrent future per command would cost a
        cross-thread wake-up and four lock round trips each (a fifth of the REST gateway's GIL time
        under load, bench api)."""
        waiter = _LoopWaiter(asyncio.get_running_loop())
        if self._stopped.is_set() or self._failure is not None:
            waiter.future.set_exception(RunnerStopped(f"engine runner stopped: {self._failure or 'shut down'}"))
            return waiter.future
        self._queue.put((command, waiter) if origin is None else (command, waiter, origin))
        self._recheck(waiter)  # type: ignore[arg-type]
        return waiter.future

    async def submit_async(self, command: Command, origin: Origin | None = None) -> Outcome:
        return await self.submit_on_loop(command, origin)

    def submit_to(self, command: Command, slot: Any, origin: Origin | None = None) -> None:
        """Queue ``command`` with a caller-made ``slot`` that quacks like the future the writer
        resolves (``set_running_or_notify_cancel``, ``running``, ``done``, ``set_result``,
        ``set_exception``): for a caller that collects outcomes itself (see `add_batch_end`)."""
        if self._stopped.is_set() or self._failure is not None:
            _fail(slot, RunnerStopped(f"engine runner stopped: {self._failure or 'shut down'}"))
            return
        self._queue.put((command, slot) if origin is None else (command, slot, origin))
        self._recheck(slot)

    def submit_wait(self, command: Command, timeout: float | None = 30.0, origin: Origin | None = None) -> Outcome:
        return self.submit(command, origin).result(timeout)

    def call(self, fn: Callable[[Engine], Any]) -> Future[Any]:
        """Run ``fn(engine)`` on the writer thread between batches (snapshot, state hash)."""
        fut: Future[Any] = Future()
        if self._stopped.is_set() or self._failure is not None:
            fut.set_exception(RunnerStopped("engine runner stopped"))
            return fut
        self._queue.put((fn, fut))
        self._recheck(fut)
        return fut

    def _recheck(self, fut: Future[Any]) -> None:
        """A submit that raced past the stop check may have put its item after the writer's last
        drain: nobody would ever resolve it. Re-check after the put and fail it here (whichever of
        this and the writer's drain comes second finds the future claimed and leaves it)."""
        if self._stopped.is_set() or self._failure is not None:
            _fail(fut, RunnerStopped(f"engine runner stopped: {self._failure or 'shut down'}"))

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            if self._factory is not None:
                self.engine = self._factory()
        except BaseException as exc:
            _LOG.critical("engine runner could not start: %r", exc, exc_info=exc)
            self._start_error = exc
            self._failure = exc
            self._stopped.set()
            self._ready.set()
            return
        self._ready.set()
        if self._staged:
            self._stager = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lionrock-projector")
        try:
            self._loop()
            if self._failure is None and self.engine is not None:  # a clean stop: say where it stopped
                self.stopped_at = (self.engine.seq, self.engine.state_hash())
                _LOG.info("engine stopped at seq %d, state hash %s", *self.stopped_at)
        finally:
            if self._stager is not None:
                self._stager.shutdown(wait=True)
            if self._factory is not None and self.engine is not None:
                try:
                    self.engine.close()
                except Exception:  # closing after a crash: nothing more to save
                    pass

    def _loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._idle_tick_s) if self._ticker is not None else self._queue.get()
            except queue.Empty:
                item = None  # idle: only run timers that are due
            if item is _STOP:
                break
            batch = [] if item is None else [item]
            stop_after = False
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop_after = True
                    break
                batch.append(nxt)
            try:
                self._process(batch)
                self._delivered()
            except BaseException as exc:  # crash-only: fail everything, accept nothing more
                _LOG.critical(
                    "engine runner STOPPED at seq %s: %r; every command now answers engine unavailable until restart",
                    getattr(self.engine, "seq", "?"),
                    exc,
                    exc_info=exc,
                )
                self._failure = exc
                self._drain_with(exc, batch)
                self._delivered()
                break
            if stop_after:
                break
        self._stopped.set()
        self._drain_with(RunnerStopped("engine runner stopped"), [])
        self._delivered()

    def _delivered(self) -> None:
        _LoopWaiter.deliver()
        for callback in self._batch_ends:
            callback()

    def _process(self, batch: list[tuple[Any, ...]]) -> None:
        done: list[tuple[Command, Outcome, Future[Outcome] | None]] = []
        calls: list[tuple[Any, Future[Any]]] = []
        if not batch:
            self._tick(done, self._clock())
        journal = self.engine.journal
        for target, fut, *origin in batch:
            if not fut.set_running_or_notify_cancel():
                continue
            if isinstance(target, Command):
                at = self._clock()
                self._tick(done, at)
                journal.stamp_origin(origin[0] if origin else None)
                outcome = self.engine.submit(target, at)
                journal.stamp_origin(None)  # refused unsequenced: the origin goes with nothing
                if outcome.seq == 0:  # refused unsequenced: nothing to make durable or publish
                    _LOG.warning("command refused before sequencing: %s", outcome.rejection)
                    fut.set_result(outcome)
                    continue
                done.append((target, outcome, fut))
            else:
                calls.append((target, fut))
        if done:
            pairs = [(c, o) for c, o, _ in done]
            durable: Future[None] = Future()
            staged = self._stage(pairs, durable)
            try:
                self.engine.flush()  # group commit: nothing below runs before the batch is durable
                last = done[-1][1].seq
                if self.engine.journal.durable_seq < last:
                    raise RuntimeError(f"Invariant: journal durable to {self.engine.journal.durable_seq} after flush, batch ends at {last}")
            except BaseException as exc:
                durable.set_exception(RunnerStopped(f"flush failed: {exc!r}"))
                for job in staged:  # they roll back; the crash is the flush's
                    with contextlib.suppress(BaseException):
                        job.result()
                raise
            durable.set_result(None)
            for job in staged:
                job.result()  # committed (or raises: a projection bug stops the runner, as a listener's does)
            for listener in self._listeners:
                listener(pairs)
            self.batches += 1
            self.commands += len(done)
            for _, outcome, fut in done:
                if fut is not None:
                    fut.set_result(outcome)
        for fn, fut in calls:
            try:
                fut.set_result(fn(self.engine))
            except Exception as exc:  # a failing query does not stop the engine
                fut.set_exception(exc)

    def _stage(self, pairs: list[tuple[Command, Outcome]], durable: Future[None]) -> list[Future[None]]:
        if self._stager is None:
            return []
        return [self._stager.submit(listener, pairs, durable) for listener in self._staged]

    def _tick(self, done: list[tuple[Command, Outcome, Future[Outcome] | None]], at: int) -> None:
        """Run the timers due at ``at`` (a context's clock commands) before the next command."""
        if self._ticker is None:
            return
        for _ in range(64):
            tick = self._ticker(self.engine, at)
            if tick is None:
                return
            done.append((tick, self.engine.submit(tick, at), None))

    def _drain_with(self, exc: BaseException, batch: list[tuple[Any, ...]]) -> None:
        for item in batch:
            fut = item[1]
            if fut is not None and not fut.done():
                with contextlib.suppress(InvalidStateError):
                    fut.set_exception(RunnerStopped(f"engine runner stopped: {exc!r}"))
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                _fail(item[1], RunnerStopped(f"engine runner stopped: {exc!r}"))


_CLAIM = threading.RLock()
"""Held while a queued future is claimed, by the writer or by `_fail` (re-entered from there)."""


def _fail(fut: Future[Any], exc: BaseException) -> None:
    """Fail a queued future unless it is already claimed (running, done or cancelled)."""
    with _CLAIM:
        if fut.running() or fut.done():
            return
        if not fut.set_running_or_notify_cancel():
            return
    fut.set_exception(exc)
    if isinstance(fut, _LoopWaiter):
        _LoopWaiter.deliver()


class Slot:
    """What the writer resolves for a queued command, where the caller collects outcomes itself
    instead of through a `concurrent.futures.Future`: it quacks like one (claim, running, done,
    result, exception); a subclass says what a result is (`_record`) and whether its caller has
    gone (`_cancelled`)."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = 0  # 0 queued, 1 claimed, 2 resolved

    def _cancelled(self) -> bool:
        return False

    def set_running_or_notify_cancel(self) -> bool:
        with _CLAIM:
            if self.state or self._cancelled():
                return False
            self.state = 1
            return True

    def running(self) -> bool:
        return self.state == 1

    def done(self) -> bool:
        return self.state == 2

    def set_result(self, outcome: Outcome) -> None:
        self.state = 2
        self._record(outcome, None)

    def set_exception(self, exc: BaseException) -> None:
        self.state = 2
        self._record(None, exc)

    def _record(self, outcome: Outcome | None, exc: BaseException | None) -> None:
        raise NotImplementedError


class _LoopWaiter(Slot):
    """The writer's end of an asyncio future (`EngineRunner.submit_on_loop`): ``set_result`` only
    records the outcome; `deliver` then hands everything recorded on this thread to each loop in
    one callback."""

    __slots__ = ("future", "loop")
    _pending = threading.local()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.future: asyncio.Future[Outcome] = loop.create_future()

    def _cancelled(self) -> bool:
        return self.future.cancelled()  # a cancelled caller (its client went away): skip it

    def _record(self, outcome: Outcome | None, exc: BaseException | None) -> None:
        pending: dict[asyncio.AbstractEventLoop, list[tuple[_LoopWaiter, Outcome | None, BaseException | None]]] | None
        pending = getattr(_LoopWaiter._pending, "by_loop", None)
        if pending is None:
            pending = _LoopWaiter._pending.by_loop = {}
        pending.setdefault(self.loop, []).append((self, outcome, exc))

    @staticmethod
    def deliver() -> None:
        """Hand what this thread recorded to each loop (one ``call_soon_threadsafe`` per loop)."""
        pending = getattr(_LoopWaiter._pending, "by_loop", None)
        if not pending:
            return
        _LoopWaiter._pending.by_loop = {}
        for loop, resolved in pending.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, resolved)


def _settle(resolved: list[tuple[_LoopWaiter, Outcome | None, BaseException | None]]) -> None:
    """On the waiters' loop: resolve every future still waiting (a cancelled one is left)."""
    for waiter, outcome, exc in resolved:
        if waiter.future.done():
            continue
        if exc is None:
            waiter.future.set_result(outcome)  # type: ignore[arg-type]
        else:
            waiter.future.set_exception(exc)


__all__ = ["BatchListener", "EngineRunner", "RunnerStopped", "Slot", "StagedListener"]
