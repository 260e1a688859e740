"""The writer in a process of its own: ``lionrock serve --writer process``.

Under load one Python process serving HTTP and writing the journal is bound by its one GIL: the
gateway's event loop held it about three quarters of the time, the writer and the projector the
rest (bench api; on PostgreSQL the projector alone held it 40% of the time). Here the
`WriterCore` (journal, engine, projector) runs in a child process and the parent keeps the
gateways, auth, policy and the event hub: each half has an interpreter, and the two cores of a
machine both work.

The parent makes a socket pair and the child inherits one end (no path on disk: nobody else can
connect, which is also why a `call` may carry a pickled function). Frames are a 4-byte length and
MessagePack ``(kind, body)``:

- parent -> child: ``commands`` (request id, sender, channel, command) in submission order;
  ``call`` (a function of the engine, run between batches: the allocation preview); ``advance``
  (move a demo venue's market clock); ``stop``.
- child -> parent: ``ready`` (or ``failed``, with the start-up exception), then one ``batch`` per
  group commit, sent only after the batch is durable and projected: every sequenced outcome in
  sequence order (with the command when the parent did not send it, a timer's tick) and the
  answers to the parent's requests, so the parent resolves its waiters and feeds its event hub
  from one frame; ``result``, ``clock``, and ``stopped`` with the state hash at a clean stop.

Nothing is acknowledged before the child says it is durable, so a kill of either process loses
nothing acknowledged. The child dies with its parent (``PR_SET_PDEATHSIG``): a kill -9 of the
service is a kill of both, as it is of one process; if the child dies alone, every waiting and
later command answers "engine unavailable" (`RunnerStopped`), as when the writer thread stops.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import functools
import itertools
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, BinaryIO, Union

import msgspec

from lionrock.engine import Origin, Outcome
from lionrock.kernel.errors import Rejection
from lionrock.kernel.messages import Command, command_types, event_types
from lionrock.service.core import MarketClock, WriterCore, market_clock
from lionrock.service.writer import BatchListener, RunnerStopped, Slot, _LoopWaiter
from lionrock.storage.locations import StorageSpec

_LOG = logging.getLogger("lionrock.writer_process")
_HEAD = msgspec.msgpack.Decoder(tuple[str, msgspec.Raw])
_ENCODER = msgspec.msgpack.Encoder()
_NO_BODY = msgspec.Raw(_ENCODER.encode(None))


class _Wire:
    """The frames' bodies: decoders over every registered command and event type (built once the
    contexts are imported)."""

    def __init__(self) -> None:
        commands = Union[tuple(command_types())]  # type: ignore[valid-type]  # noqa: UP007
        events = Union[tuple(event_types())]  # type: ignore[valid-type]  # noqa: UP007
        self.commands = msgspec.msgpack.Decoder(list[tuple[int, str, str, commands]])  # type: ignore[valid-type]
        self.batch = msgspec.msgpack.Decoder(
            tuple[tuple[int, int, int, int], list[tuple[int, int, int, list[events], Rejection | None, commands | None, str]]]  # type: ignore[valid-type]
        )
        self.ready = msgspec.msgpack.Decoder(tuple[int, int, list[str], list[str], int])
        self.result = msgspec.msgpack.Decoder(tuple[int, bool, bytes])
        self.pair = msgspec.msgpack.Decoder(tuple[int, int])
        self.stopped = msgspec.msgpack.Decoder(tuple[int, str] | None)


def _frame(kind: str, body: Any) -> bytes:
    payload = _ENCODER.encode((kind, msgspec.Raw(_ENCODER.encode(body))))
    return len(payload).to_bytes(4, "big") + payload


def _read_frame(reader: BinaryIO) -> tuple[str, bytes] | None:
    """The next ``(kind, body)``, or None at the end of the stream (the other process is gone)."""
    head = reader.read(4)
    if len(head) < 4:
        return None
    size = int.from_bytes(head, "big")
    payload = reader.read(size)
    if len(payload) < size:
        return None
    kind, body = _HEAD.decode(payload)
    return kind, bytes(body)


# -- the parent's side ----------------------------------------------------------------------------
class MirroredClock(MarketClock):
    """The parent's copy of the writer process's market clock: read here (the venue's "today"),
    moved there first (the sequencer stamps commands with the child's)."""

    def __init__(self, clock: MarketClock, runner: RemoteRunner) -> None:
        super().__init__(clock.start_ns, clock.speed)
        self._runner = runner

    def advance_to(self, at_ns: int) -> bool:
        moved = self._runner.advance_clock(at_ns)
        if moved:
            super().advance_to(at_ns)
        return moved


class RemoteRunner:
    """The submission interface of `EngineRunner` (`submit`, `submit_on_loop`, `submit_async`,
    `submit_wait`, `call`, `add_listener`, `stop`) over a writer child process."""

    def __init__(self, db: str, *, durability: str = "group:2", snapshot_every: int = 0, clock: Callable[[], int] | None = None) -> None:
        if db == "memory:":
            raise ValueError("--writer process needs a store both processes open (a SQLite path or PostgreSQL), not memory:")
        self._argv = [sys.executable, "-m", "lionrock.service.writer_process", "--db", db, "--durability", durability]
        self._argv += ["--snapshot-every", str(snapshot_every), "--parent-pid", str(os.getpid())]
        self.clock: Callable[[], int] | None = None
        if isinstance(clock, MarketClock):
            self._argv += ["--clock-start-ns", str(clock.start_ns), "--clock-speed", repr(clock.speed)]
            self.clock = MirroredClock(clock, self)
        self._wire: _Wire | None = None
        self._listeners: list[BatchListener] = []
        self._pending: dict[int, tuple[Any, Command | None]] = {}
        self._ids = itertools.count(1)
        self._outbox: list[tuple[int, str, str, Command]] = []
        self._flush_scheduled = False
        self._send_lock = threading.Lock()
        self._failure: BaseException | None = None
        self._stopping = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None
        self._thread: threading.Thread | None = None
        self.seq = self.durable_seq = self.batches = self.commands = 0
        self.contexts: list[str] = []
        self.journal_messages: list[str] = []
        self.stopped_at: tuple[int, str] | None = None
        """(seq, state hash) after a clean stop: what a replay of the journal must print."""

    def add_listener(self, listener: BatchListener) -> None:
        """Register before `start`: called on the receiving thread with each durable batch."""
        self._listeners.append(listener)

    def start(self, timeout: float = 600.0) -> RemoteRunner:
        """Start the child, wait for its recovery; re-raise what stopped it from starting."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._proc = subprocess.Popen([*self._argv, "--fd", str(theirs.fileno())], pass_fds=(theirs.fileno(),))
        theirs.close()
        self._sock = ours
        reader: BinaryIO = ours.makefile("rb", buffering=1 << 16)  # type: ignore[assignment]
        ready, _, _ = select.select([ours], [], [], timeout)
        frame = _read_frame(reader) if ready else None
        if frame is None or frame[0] == "failed":
            reader.close()
            ours.close()
            self._sock = None
            if self._proc.poll() is None:  # still recovering after `timeout` seconds
                self._proc.kill()
            self._proc.wait(10)
            if frame is not None:
                raise _start_failure(frame[1])
            raise RunnerStopped(f"the writer process did not start (exit status {self._proc.poll()})")
        self._wire = _Wire()
        self.seq, self.durable_seq, self.contexts, self.journal_messages, clock_ns = self._wire.ready.decode(frame[1])
        if isinstance(self.clock, MarketClock):
            self.clock.resume_after(clock_ns)
        self._reader = reader
        self._thread = threading.Thread(target=self._receive, args=(reader,), name="lionrock-writer-link", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Started, not stopped, and the link up (the receiving thread sees the child's end at once:
        no ``waitpid`` per command)."""
        return self._failure is None and not self._stopping and self._thread is not None

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    # -- submitting -------------------------------------------------------------------------------
    def submit_on_loop(self, command: Command, origin: Origin | None = None) -> asyncio.Future[Outcome]:
        """Queue ``command``: the commands a loop submits in one turn go to the child in one frame."""
        loop = asyncio.get_running_loop()
        waiter = _LoopWaiter(loop)
        rid = self._register(waiter, command)
        if rid:
            with self._send_lock:  # a flush on another thread takes the outbox under this lock
                self._outbox.append((rid, *_origin(origin), command))
                scheduled, self._flush_scheduled = self._flush_scheduled, True
            if not scheduled:
                loop.call_soon(self._flush)
        return waiter.future

    async def submit_async(self, command: Command, origin: Origin | None = None) -> Outcome:
        return await self.submit_on_loop(command, origin)

    def submit(self, command: Command, origin: Origin | None = None) -> Future[Outcome]:
        fut: Future[Outcome] = Future()
        rid = self._register(fut, command)
        if rid:
            with self._send_lock:
                self._outbox.append((rid, *_origin(origin), command))
            self._flush()
        return fut

    def submit_wait(self, command: Command, timeout: float | None = 30.0, origin: Origin | None = None) -> Outcome:
        return self.submit(command, origin).result(timeout)

    def call(self, fn: Callable[[Any], Any]) -> Future[Any]:
        """Run ``fn(engine)`` in the child between batches (``fn`` must pickle: a module function
        or a `functools.partial` of one); the result comes back pickled."""
        fut: Future[Any] = Future()
        if rid := self._register(fut, None):
            self._send("call", (rid, pickle.dumps(fn)))
        return fut

    def advance_clock(self, at_ns: int, timeout: float = 30.0) -> bool:
        """Move the child's market clock to ``at_ns`` (never back); True if it moved."""
        fut: Future[Any] = Future()
        if rid := self._register(fut, None):
            self._send("advance", (rid, at_ns))
        return bool(fut.result(timeout))

    def _register(self, slot: Any, command: Command | None) -> int:
        """A request id for ``slot``'s answer, or 0 with ``slot`` failed when the link is down."""
        if not self.running:
            slot.set_exception(self._stopped())
            _LoopWaiter.deliver()  # a loop waiter's answer goes to its loop
            return 0
        rid = next(self._ids)
        self._pending[rid] = (slot, command)
        return 0 if self._recheck(rid) else rid

    def _recheck(self, rid: int) -> bool:
        """A submit that raced the link's end may have put its waiter after `_lost` took them all:
        fail it here (True) rather than leave it waiting for ever."""
        if self.running:
            return False
        slot = self._pending.pop(rid, (None, None))[0]
        if slot is not None and slot.set_running_or_notify_cancel():
            slot.set_exception(self._stopped())
            _LoopWaiter.deliver()
        return True

    def _flush(self) -> None:
        """Send what the outbox holds; taken and sent under one lock, so commands reach the child
        in the order they were queued whichever thread flushes."""
        with self._send_lock:
            self._flush_scheduled = False
            batch, self._outbox = self._outbox, []
            if batch:
                self._send_locked(_frame("commands", batch))

    def _send(self, kind: str, body: Any) -> None:
        data = _frame(kind, body)
        with self._send_lock:
            self._send_locked(data)

    def _send_locked(self, data: bytes) -> None:
        try:
            assert self._sock is not None
            self._sock.sendall(data)
        except OSError as exc:
            self._lost(RunnerStopped(f"the writer process is gone: {exc!r}"))

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to stop cleanly (it finishes what it was sent, closes the journal and says
        where it stopped); kill it if it does not within ``timeout``."""
        if self._stopping or self._proc is None:
            return
        self._flush()
        self._stopping = True
        if self._proc.poll() is None and self._sock is not None:
            self._send("stop", None)
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()

    def _stopped(self) -> RunnerStopped:
        return RunnerStopped(f"engine runner stopped: {self._failure or 'shut down'}")

    # -- the receiving thread ---------------------------------------------------------------------
    def _receive(self, reader: BinaryIO) -> None:
        wire = self._wire
        assert wire is not None
        try:
            while (frame := _read_frame(reader)) is not None:
                kind, body = frame
                if kind == "batch":
                    self._on_batch(*wire.batch.decode(body))
                elif kind == "result":
                    rid, ok, data = wire.result.decode(body)
                    fut = self._pending.pop(rid, (None, None))[0]
                    if fut is not None and fut.set_running_or_notify_cancel():
                        value = pickle.loads(data)  # noqa: S301  (our own child, over our own socket pair)
                        fut.set_result(value) if ok else fut.set_exception(value)
                elif kind == "clock":
                    rid, moved = wire.pair.decode(body)
                    fut = self._pending.pop(rid, (None, None))[0]
                    if fut is not None and fut.set_running_or_notify_cancel():
                        fut.set_result(bool(moved))
                elif kind == "stopped":
                    self.stopped_at = wire.stopped.decode(body)
        except Exception as exc:  # a frame we cannot read: the link is broken, not the engine
            _LOG.critical("writer process link failed: %r", exc, exc_info=exc)
            self._lost(RunnerStopped(f"writer process link failed: {exc!r}"))
        self._lost(RunnerStopped("engine runner stopped: shut down") if self._stopping else RunnerStopped("the writer process ended"))

    def _on_batch(self, status: tuple[int, int, int, int], entries: list[tuple[Any, ...]]) -> None:
        self.seq, self.durable_seq, self.batches, self.commands = status
        pairs: list[tuple[Command, Outcome]] = []
        answers: list[tuple[Any, Outcome | None, str]] = []
        for rid, seq, at_ns, events, rejection, command, error in entries:
            slot, sent = self._pending.pop(rid, (None, None)) if rid else (None, None)
            outcome = None if error else Outcome(seq, at_ns, events, rejection)
            if outcome is not None and seq > 0:
                pairs.append((command if command is not None else sent, outcome))  # type: ignore[arg-type]
            if slot is not None:
                answers.append((slot, outcome, error))
        if pairs:
            for listener in self._listeners:
                listener(pairs)
        for slot, outcome, error in answers:
            if slot.set_running_or_notify_cancel():
                slot.set_exception(RunnerStopped(error)) if outcome is None else slot.set_result(outcome)
        _LoopWaiter.deliver()

    def _lost(self, exc: RunnerStopped) -> None:
        """The child is gone (or stopped): fail everything still waiting, accept nothing more."""
        if self._failure is None and not self._stopping:
            _LOG.critical("%s; every command now answers engine unavailable until restart", exc)
            self._failure = exc
        pending, self._pending = self._pending, {}
        for slot, _ in pending.values():
            if slot.set_running_or_notify_cancel():
                slot.set_exception(exc)
        _LoopWaiter.deliver()


def _origin(origin: Origin | None) -> tuple[str, str]:
    return ("", "") if origin is None else (origin.sender, origin.channel)


def _start_failure(body: bytes) -> BaseException:
    """The exception that stopped the child's start-up (its own type when it pickles)."""
    try:
        exc = pickle.loads(msgspec.msgpack.decode(body, type=bytes))  # noqa: S301  (our own child)
    except Exception as unreadable:
        return RunnerStopped(f"the writer process could not start ({unreadable!r})")
    return exc if isinstance(exc, BaseException) else RunnerStopped(f"the writer process could not start: {exc!r}")


# -- the child's side -----------------------------------------------------------------------------
class _Reply(Slot):
    """The child's slot for one of the parent's commands: the outcome waits in the child's outbox
    for the end of the batch."""

    __slots__ = ("child", "rid")

    def __init__(self, rid: int, child: _Child) -> None:
        super().__init__()
        self.rid, self.child = rid, child

    def _record(self, outcome: Outcome | None, exc: BaseException | None) -> None:
        self.child.answer(self.rid, outcome, "" if exc is None else str(exc) or repr(exc))


class _Child:
    """The writer process: a `WriterCore` and the link to its parent."""

    def __init__(self, sock: socket.socket, core: WriterCore) -> None:
        self.sock, self.core = sock, core
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._answers: list[tuple[int, Outcome | None, str]] = []
        self._pairs: list[tuple[Command, Outcome]] = []
        core.runner.add_listener(self._pairs.extend)  # the writer thread's, in sequence order
        core.runner.add_batch_end(self.flush)

    def answer(self, rid: int, outcome: Outcome | None, error: str) -> None:
        with self._lock:
            self._answers.append((rid, outcome, error))

    def flush(self) -> None:
        """One ``batch`` frame: the batch's sequenced outcomes in order, then the other answers."""
        with self._lock:
            answers, self._answers = self._answers, []
        pairs, self._pairs[:] = list(self._pairs), []
        if not answers and not pairs:
            return
        rid_of = {id(outcome): rid for rid, outcome, _ in answers if outcome is not None}
        entries: list[tuple[Any, ...]] = []
        for command, outcome in pairs:
            rid = rid_of.pop(id(outcome), 0)
            entries.append((rid, outcome.seq, outcome.at_ns, outcome.events, outcome.rejection, None if rid else command, ""))
        for rid, answered, error in answers:  # refused before sequencing, or failed
            if answered is None:
                entries.append((rid, 0, 0, [], None, None, error))
            elif id(answered) in rid_of:
                entries.append((rid, answered.seq, answered.at_ns, answered.events, answered.rejection, None, ""))
        engine = self.core.runner.engine
        status = (engine.seq, engine.journal.durable_seq, self.core.runner.batches, self.core.runner.commands) if engine else (0, 0, 0, 0)
        self.send("batch", (status, entries))

    def send(self, kind: str, body: Any) -> None:
        data = _frame(kind, body)
        with self._send_lock:
            try:
                self.sock.sendall(data)
            except OSError:  # the parent is gone; PR_SET_PDEATHSIG ends this process
                pass

    def serve(self) -> None:
        """Read the parent's frames until ``stop`` or the end of the link; then stop cleanly."""
        wire = _Wire()
        runner = self.core.runner
        reader: BinaryIO = self.sock.makefile("rb", buffering=1 << 16)  # type: ignore[assignment]
        while (frame := _read_frame(reader)) is not None:
            kind, body = frame
            if kind == "commands":
                for rid, sender, channel, command in wire.commands.decode(body):
                    runner.submit_to(command, _Reply(rid, self), Origin(sender, channel) if sender else None)
            elif kind == "call":
                rid, data = msgspec.msgpack.decode(body, type=tuple[int, bytes])
                try:
                    fn = pickle.loads(data)  # noqa: S301  (only our parent holds the other end)
                except Exception as exc:  # e.g. a function of a module this process cannot import
                    failed: Future[Any] = Future()
                    failed.set_exception(RuntimeError(f"the writer process cannot load the call: {exc!r}"))
                    self._result(rid, failed)
                    continue
                runner.call(fn).add_done_callback(functools.partial(self._result, rid))
            elif kind == "advance":
                rid, at_ns = wire.pair.decode(body)
                clock = self.core.clock
                self.send("clock", (rid, int(isinstance(clock, MarketClock) and clock.advance_to(at_ns))))
            elif kind == "stop":
                break
        self.core.stop()
        self.flush()
        self.send("stopped", runner.stopped_at)
        self.core.read.close()
        reader.close()
        self.sock.close()

    def _result(self, rid: int, fut: Future[Any]) -> None:
        exc = fut.exception()
        try:
            data = pickle.dumps(fut.result() if exc is None else exc)
        except Exception as unpicklable:
            exc, data = unpicklable, pickle.dumps(RuntimeError(f"result not transferable: {unpicklable!r}"))
        self.send("result", (rid, exc is None, data))


def _die_with_parent(parent_pid: int) -> None:
    """Linux: SIGKILL this process when the parent dies, so a kill of the service is a kill of both."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the end of the link still stops the child
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lionrock.service.writer_process", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--durability", default="group:2")
    parser.add_argument("--snapshot-every", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--clock-start-ns", type=int, default=0)
    parser.add_argument("--clock-speed", type=float, default=1.0)
    args = parser.parse_args(argv)
    _die_with_parent(args.parent_pid)
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C (or a supervisor) reaches the whole group: the parent stops us cleanly
        signal.signal(signum, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sock = socket.socket(fileno=args.fd)
    clock = market_clock(args.clock_start_ns, args.clock_speed) if args.clock_start_ns else None
    try:
        core = WriterCore(StorageSpec(args.db), durability=args.durability, snapshot_every=args.snapshot_every, clock=clock or time.time_ns)
        child = _Child(sock, core)
        core.start()
    except BaseException as exc:
        try:
            data = pickle.dumps(exc)
        except Exception:
            data = pickle.dumps(RunnerStopped(f"the writer process could not start: {exc!r}"))
        sock.sendall(_frame("failed", data))
        sock.close()
        raise SystemExit(1) from None
    ready = (core.engine.seq, core.journal.durable_seq, list(core.engine.contexts), list(core.journal.report.messages), core.clock())
    child.send("ready", ready)
    child.serve()


if __name__ == "__main__":
    main()
