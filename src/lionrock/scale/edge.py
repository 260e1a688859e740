"""The service's edge over the bus: commands to the shards through NATS, answers from their outcomes.

`BusRunner` has the submission interface the gateways reach through `Service` (`submit`,
`submit_async`, `submit_wait`, `add_listener`, `stop`), so `lionrock serve --nats URL` answers
REST, FIX and WebSocket clients exactly as the in-process engine runner does, with one difference
in where the work happens:

1. the command is stamped with the edge's clock and published through the `CommandProducer`
   under a client key (``<type>:<participant>:<client order id>`` for orders, else a digest of
   body and time), with its `Origin` (who sent it, through which channel, as the server
   authenticated it), to every shard `ShardMap.route` names; the acknowledgement says where the
   stream stored it (for an exact retry inside the duplicate window: where it stored the first);
2. the shard engine journals (with the origin) and applies it and publishes the outcome on
   ``evt.<shard>``, in one message with the rest of the batch it processed, each outcome naming
   its command's stream sequence (`OutcomeEntry.cmd_seq`);
3. the edge, subscribed to ``evt.>``, matches each outcome of a batch by ``(shard, command
   stream seq)``;
4. the edge answers once the read model holds that outcome: the projector announces what it
   committed on ``read.outcomes`` with every shard's read-model position, and the same messages
   feed the service's event hub (WebSocket streams, FIX reports) in the read model's order.

The NATS client has its own thread and loop; commands submitted from a server's loop cross to it,
and their answers back, in bursts, one wake-up each way per burst (`BusRunner.submit_on_loop`).

Retries (the same client order id sent again, e.g. after a 504) trade once and get the first
outcome: inside the stream's duplicate window the publish is answered "duplicate" with the first
copy's sequence, and the edge answers with that copy's outcome, which it has seen because its
subscription starts a duplicate window (plus a margin) in the past, so an edge started after the
first answer (the first edge killed) finds it too. After the window the retry is stored again and
the venue's own idempotency by client order id answers "exists" (`OrderRetryAcknowledged`), as
the single-process service does; a different order under a used client order id is refused,
naming the field that differs.

If no outcome arrives (or it is not readable) within ``timeout_s`` the caller gets
`OutcomeTimeout` (HTTP 504): the command is stored in the stream (the publish was acknowledged)
and will be applied. Reads come from the read models that `lionrock project` keeps; the edge
projects nothing itself.

The ticker: the venue's session timers arrive only as `TradingTick` commands (the in-process
runner sends one when a timer is due). Each trading shard's outcome batches say when its next
timer is due (header ``Lionrock-Next-Timer``, read from its state after the batch); the edge keeps
the latest per shard (at start-up from each shard's last outcome message) and, when its clock
reaches it, sends a tick under the key ``tick:<shard>:<due ns>``: several edges send the same message id, so the stream stores
one tick per timer however many edges run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from lionrock.engine import Origin, Outcome
from lionrock.kernel.messages import Codec, Command, CommandRejected
from lionrock.scale.nats import (
    CMD_STREAM,
    EVT_STREAM,
    H_NEXT_TIMER,
    H_READ_POSITIONS,
    READ_SUBJECT,
    CommandProducer,
    OutcomeEntry,
    ShardOutcome,
    _retrying,
    connect_with_backoff,
    decode_projected,
    default_key,
    ensure_streams,
    evt_subject,
    outcome_entries,
    resolve_bodies,
    shard_outcome,
)
from lionrock.scale.sharding import ShardMap
from lionrock.service.writer import RunnerStopped

log = logging.getLogger("lionrock.edge")

BatchListener = Callable[[Sequence[tuple[Command, Outcome]]], None]


class OutcomeTimeout(RunnerStopped):
    """The command is stored in its stream but its outcome did not come in time (HTTP 504)."""

    status = 504


LOOKBACK_MARGIN_S = 30.0
"""How much further back than the duplicate window the edge's subscription starts: a first copy
stored at the window's edge may have had its outcome published a little later."""


class BusRunner:
    """Submits commands to the shards over NATS JetStream and answers from their outcomes.

    ``remember`` bounds the outcomes kept (raw, decoded only when a retry asks) for retries."""

    def __init__(
        self,
        url: str,
        shard_map: ShardMap,
        *,
        clock: Callable[[], int] = time.time_ns,
        timeout_s: float = 10.0,
        replicas: int = 1,
        remember: int = 200_000,
        ticker: bool = True,
        tick_poll_s: float = 0.1,
    ) -> None:
        self.url = url
        self.shard_map = shard_map
        self.clock = clock
        self.timeout_s = timeout_s
        self.replicas = replicas
        self.remember = remember
        self.codec = Codec()
        self.failure: BaseException | None = None
        self.stopped_at: tuple[int, str] | None = None
        """What `lionrock serve` prints at the end for an in-process engine; the shards print theirs."""
        self.ticker = ticker
        self.tick_poll_s = tick_poll_s
        self.ticks_sent = 0
        self.handoffs = Handoffs()
        self._next_due: dict[str, tuple[int, int]] = {}
        """Trading shard -> (due ns, timer index) of its venue's next timer, from its latest outcome."""
        self._handoff = threading.Lock()
        self._inbox: list[tuple[Command, Origin | None, asyncio.AbstractEventLoop, asyncio.Future[Outcome]]] = []
        """Commands submitted from other loops, not yet taken by the bus loop (`submit_on_loop`)."""
        self._outboxes: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Outcome], Outcome | None, BaseException | None]]] = {}
        """Answers for each caller's loop, not yet handed to it."""
        self._answering: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._listeners: list[BatchListener] = []
        self._waiting: dict[tuple[str, int], asyncio.Future[ShardOutcome]] = {}
        self._seen: OrderedDict[tuple[str, int], OutcomeEntry] = OrderedDict()
        self._heard = 0
        """The read-model sequence of the last projected outcome handed to the listeners."""
        self.answer_when_readable = False
        """Answer a command only once the read model holds its outcome (`Service.use_bus` sets it:
        a client that reads right after an answer sees what the answer said, as on one process)."""
        self._readable: dict[str, int] = {}
        """Shard -> its last outcome in the read model, from the projector's announcements."""
        self._readable_waiters: list[tuple[str, int, asyncio.Future[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._js: Any = None
        self._tick_task: asyncio.Task[None] | None = None
        self._producer: CommandProducer | None = None

    # -- life ------------------------------------------------------------------------------------
    def add_listener(self, listener: BatchListener) -> None:
        """Called (on the bus thread) with every outcome the projector commits to the read model
        after this edge started (`READ_SUBJECT`), once each, under its read-model sequence and in
        that order: whichever edge submitted the command, and the reactions a shard makes to
        another's events (clearing a trade on the primary). The service's event hub listens, so
        WebSocket streams and FIX sessions see one order of events, the one their snapshots and
        recovery read from the read model, as they do on one process (a passive fill of an order
        another edge's client hit included). Without a running projector they hear nothing."""
        self._listeners.append(listener)

    def start(self, timeout: float = 120.0) -> BusRunner:
        ready: Future[None] = Future()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            task = self._loop.create_task(self._connect())
            task.add_done_callback(lambda t: _settle(ready, t))
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="lionrock-bus", daemon=True)
        self._thread.start()
        ready.result(timeout)
        return self

    async def _connect(self) -> None:
        connected = await connect_with_backoff(self.url)
        assert connected is not None
        self._nc, js = connected
        self._js = js
        self._producer = CommandProducer(js, self.shard_map, timeout_s=self.timeout_s)
        # a node lost or a leader being elected while the edge starts: tried again, as the shards do
        await _retrying(lambda: self._subscribe(js), "edge: start")
        if self.ticker:
            await _retrying(lambda: self._last_timers(js), "edge: timers")
            self._tick_task = asyncio.get_running_loop().create_task(self._tick_loop())  # held: the loop keeps only a weak reference

    async def _last_timers(self, js: Any) -> None:
        """Each trading shard's next timer from its last outcome (an edge started mid-day)."""
        import nats.js.errors

        for shard in self.shard_map.trading_shards:
            try:
                last = await js.get_last_msg(EVT_STREAM, evt_subject(shard))
            except nats.js.errors.NotFoundError:
                continue
            self._next_due.setdefault(shard, _next_timer(last.headers))

    async def _tick_loop(self) -> None:
        """Send a `TradingTick` whenever a trading shard's next timer is due by the edge's clock."""
        from lionrock.trading.commands import TradingTick

        while True:
            await asyncio.sleep(self.tick_poll_s)
            due = [(at, index, shard) for shard, (at, index) in self._next_due.items() if at]
            if not due:
                continue
            at, index, shard = min(due)
            if at > self.clock():
                continue
            try:
                await self._submit(TradingTick(), Origin("ticker", "SYSTEM"), key=f"tick:{shard}:{index}:{at}")
                self.ticks_sent += 1
            except Exception as exc:  # noqa: BLE001 - a lost node or a timeout: tried again next round
                log.warning("tick for %s at %d not answered (%s); trying again", shard, at, exc)

    async def _subscribe(self, js: Any) -> None:
        await ensure_streams(js, replicas=self.replicas)
        info = await js.stream_info(CMD_STREAM)
        window_s = float(info.config.duplicate_window or 120.0)
        since = datetime.now(UTC) - timedelta(seconds=window_s + LOOKBACK_MARGIN_S)  # the server stamps messages with its wall clock
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since, headers_only=False)
        await js.subscribe("evt.>", cb=self._on_outcome, ordered_consumer=True, idle_heartbeat=2.0, config=config)
        if self._listeners or self.answer_when_readable:
            news = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
            await js.subscribe(READ_SUBJECT, cb=self._on_projected, ordered_consumer=True, idle_heartbeat=2.0, config=news)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.failure is None

    def stop(self, timeout: float = 10.0) -> None:
        with self._handoff:
            self._stopping = True
            untaken, self._inbox = self._inbox, []
        for _, _, caller, future in untaken:  # submitted but not yet taken by the bus loop: never published
            self._hand_back(caller, future, None, RunnerStopped("the edge stopped before the command was published"))
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        """Drain the connection, then end the client's own tasks (heartbeat checks of the ordered
        consumer), so the loop stops with nothing pending."""
        if self._nc is not None:
            await self._nc.drain()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- outcomes in -------------------------------------------------------------------------------
    async def _on_outcome(self, msg: Msg) -> None:
        """A batch of one shard's outcomes: answer the commands waiting for them; remember each
        (still encoded) for a retry. An outcome seen twice (a batch republished outside the
        duplicate window) is the same outcome."""
        await resolve_bodies(self._js, [msg])
        shard = msg.subject.split(".", 1)[1]
        if self.ticker and shard in self.shard_map.trading_shards:
            self._next_due[shard] = _next_timer(msg.headers)
        seen, waiting = self._seen, self._waiting
        for entry in outcome_entries(msg):
            if not entry.cmd_seq:
                continue
            where = (shard, entry.cmd_seq)
            waiter = waiting.pop(where, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(shard_outcome(entry, shard, self.codec))
            seen[where] = entry
        while len(seen) > self.remember:
            seen.popitem(last=False)

    async def _on_projected(self, msg: Msg) -> None:
        """Outcomes the projector committed: to the listeners, each once, in read-model order;
        then the answers waiting for them to be readable."""
        batch = [(c, o) for c, o in decode_projected(msg.data, self.codec) if o.seq > self._heard]
        if batch:
            self._heard = batch[-1][1].seq
            for listener in self._listeners:
                listener(batch)
        for item in (msg.headers or {}).get(H_READ_POSITIONS, "").split(","):
            name, _, position = item.partition("=")
            if position:
                self._readable[name] = max(self._readable.get(name, 0), int(position))
        if self._readable_waiters:
            still = []
            for shard, seq, future in self._readable_waiters:
                if future.done():  # its answer timed out
                    continue
                if self._readable.get(shard, 0) >= seq:
                    future.set_result(None)
                else:
                    still.append((shard, seq, future))
            self._readable_waiters = still

    async def _until_readable(self, outcomes: Sequence[ShardOutcome]) -> None:
        loop = asyncio.get_running_loop()
        for o in outcomes:
            if self._readable.get(o.shard, 0) < o.seq:
                future: asyncio.Future[None] = loop.create_future()
                self._readable_waiters.append((o.shard, o.seq, future))
                await future

    # -- commands out ------------------------------------------------------------------------------
    async def _submit(self, command: Command, origin: Origin | None, key: str | None = None) -> Outcome:
        assert self._producer is not None, "start() first"
        at_ns = self.clock()
        key = key or default_key(command, at_ns, self.codec.encode(command))
        try:
            published = await self._producer.publish(command, at_ns, key, origin)
        except Exception as exc:
            raise RunnerStopped(f"the command stream did not take the command: {exc}") from exc
        loop = asyncio.get_running_loop()
        waiters: dict[tuple[str, int], asyncio.Future[ShardOutcome]] = {}
        for p in published:  # no await since the acknowledgement: an outcome not yet seen is still to come
            where = (p.shard, p.stream_seq)
            waiter = waiters[where] = self._waiting.setdefault(where, loop.create_future())
            seen = self._seen.get(where)
            if seen is not None and not waiter.done():  # already applied: a retry, or an outcome faster than the ack
                waiter.set_result(shard_outcome(seen, p.shard, self.codec))
        started = time.monotonic()
        try:
            if len(waiters) == 1:  # one shard: most commands
                outcomes = [await asyncio.wait_for(next(iter(waiters.values())), self.timeout_s)]
            else:
                outcomes = await asyncio.wait_for(asyncio.gather(*waiters.values()), self.timeout_s)
        except TimeoutError:
            stored = ", ".join(f"{p.shard} stream seq {p.stream_seq}" for p in published)
            raise OutcomeTimeout(
                f"the command is stored ({stored}) but its outcome did not arrive within {self.timeout_s:g} s; "
                "it will be applied: retry with the same client order id to get its answer"
            ) from None
        finally:
            for where in waiters:
                self._waiting.pop(where, None)
        if self.answer_when_readable:
            try:
                await asyncio.wait_for(self._until_readable(outcomes), max(0.0, self.timeout_s - (time.monotonic() - started)))
            except TimeoutError:
                raise OutcomeTimeout(
                    f"the command is applied but its outcome is not in the read model within {self.timeout_s:g} s "
                    "(is lionrock project running?): retry with the same client order id to get its answer"
                ) from None
        return merge(outcomes)

    def submit(self, command: Command, origin: Origin | None = None) -> Future[Outcome]:
        if self._loop is None or not self.running:
            raise RunnerStopped("the edge is not connected to the bus")
        return asyncio.run_coroutine_threadsafe(self._submit(command, origin), self._loop)

    def submit_on_loop(self, command: Command, origin: Origin | None = None) -> asyncio.Future[Outcome]:
        """Submit from the caller's running event loop (the HTTP or FIX server's); the answer is an
        asyncio future of that loop. Crossing threads is what an order costs the edge most (py-spy:
        a wake-up of the bus loop per command was 44% of the server thread's busy samples, the
        concurrent future's way back a quarter of the bus thread's), so the commands submitted
        while the bus loop is busy cross together with one wake-up, and the answers that come
        out together go back with one (`Handoffs` counts both)."""
        loop = self._loop
        if loop is None or not self.running:
            raise RunnerStopped("the edge is not connected to the bus")
        caller = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = caller.create_future()
        with self._handoff:
            if self._stopping:
                raise RunnerStopped("the edge is stopping")
            self._inbox.append((command, origin, caller, future))
            wake = len(self._inbox) == 1  # the first since the bus loop last took them: it must be woken
            self.handoffs.wakeups_in += wake
        if wake:
            loop.call_soon_threadsafe(self._take_inbox)
        return future

    def _take_inbox(self) -> None:
        """On the bus loop: start answering every command submitted since the last wake-up."""
        with self._handoff:
            taken, self._inbox = self._inbox, []
            self.handoffs.commands += len(taken)
        loop = asyncio.get_running_loop()
        for command, origin, caller, future in taken:
            task = loop.create_task(self._answer(command, origin, caller, future))
            self._answering.add(task)  # held: the loop keeps only a weak reference
            task.add_done_callback(self._answering.discard)

    async def _answer(
        self, command: Command, origin: Origin | None, caller: asyncio.AbstractEventLoop, future: asyncio.Future[Outcome]
    ) -> None:
        try:
            outcome = await self._submit(command, origin)
        except asyncio.CancelledError:
            self._hand_back(caller, future, None, RunnerStopped("the edge stopped before the outcome came"))
            raise
        except Exception as exc:  # noqa: BLE001 - the caller's to raise (RunnerStopped, OutcomeTimeout)
            self._hand_back(caller, future, None, exc)
        else:
            self._hand_back(caller, future, outcome, None)

    def _hand_back(
        self, caller: asyncio.AbstractEventLoop, future: asyncio.Future[Outcome], outcome: Outcome | None, error: BaseException | None
    ) -> None:
        with self._handoff:
            box = self._outboxes.setdefault(caller, [])
            box.append((future, outcome, error))
            wake = len(box) == 1
            self.handoffs.wakeups_out += wake
        if wake:
            try:
                caller.call_soon_threadsafe(self._settle_outbox, caller)
            except RuntimeError:  # the caller's loop is closed: nobody waits for these answers
                with self._handoff:
                    self._outboxes.pop(caller, None)

    def _settle_outbox(self, caller: asyncio.AbstractEventLoop) -> None:
        """On the caller's loop: settle every answer handed back since the last wake-up."""
        with self._handoff:
            box = self._outboxes.pop(caller, [])
        for future, outcome, error in box:
            if future.done():  # the caller gave up (cancelled)
                continue
            if error is not None:
                future.set_exception(error)
            else:
                assert outcome is not None
                future.set_result(outcome)

    async def submit_async(self, command: Command, origin: Origin | None = None) -> Outcome:
        return await self.submit_on_loop(command, origin)

    def submit_wait(self, command: Command, timeout: float | None = 30.0, origin: Origin | None = None) -> Outcome:
        return self.submit(command, origin).result(timeout)


@dataclass
class Handoffs:
    """Crossings between the callers' loops and the bus loop (`BusRunner.submit_on_loop`)."""

    commands: int = 0
    wakeups_in: int = 0
    """Wake-ups of the bus loop: one per burst of commands, not per command."""
    wakeups_out: int = 0
    """Wake-ups of a caller's loop: one per burst of answers."""


def _settle(ready: Future[None], task: asyncio.Task[None]) -> None:
    exc = task.exception()
    if exc is not None:
        ready.set_exception(exc)
    else:
        ready.set_result(None)


def _next_timer(headers: dict[str, str] | None) -> tuple[int, int]:
    at, _, index = (headers or {}).get(H_NEXT_TIMER, "0:0").partition(":")
    return int(at), int(index or 0)


def merge(outcomes: Sequence[ShardOutcome]) -> Outcome:
    """One answer from a command's outcome on each shard it went to (several only for broadcast
    session commands): the first shard's sequence and time, every shard's own events, the first
    rejection."""
    events = [e for o in outcomes for e in o.own_events]
    rejection = next((e.rejection for e in events if isinstance(e, CommandRejected)), None)
    first = outcomes[0]
    return Outcome(first.seq, first.at_ns, events, rejection)


__all__ = ["LOOKBACK_MARGIN_S", "BusRunner", "Handoffs", "OutcomeTimeout", "merge"]
