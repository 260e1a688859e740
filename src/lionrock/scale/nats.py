"""Scale-out over NATS JetStream: commands sequenced per shard, one engine per shard, events out.

* `CommandProducer` publishes typed commands (MessagePack, the journal's encoding) to stream
  ``LIONROCK_CMDS`` on subject ``cmd.<shard>`` (`ShardMap.route` picks the shard). The edge stamps
  the time in header ``Lionrock-At-Ns``, so a replay of the stream gives the same times. Header
  ``Nats-Msg-Id`` carries the client key: a retried publish inside the stream's duplicate window
  is answered "duplicate" and stored once.
* `ShardEngine` runs one shard: a durable pull consumer on ``cmd.<shard>`` feeds `Engine.submit`
  in stream-sequence order; each fetched batch is journaled to the shard's own SQLite journal and
  flushed (fsync) before its outcome events are published to stream ``LIONROCK_EVTS`` on subject
  ``evt.<shard>`` and before any command of it is acknowledged. Events another shard observes are
  sent to that shard's command subject as `RelayShardEvents` (see `lionrock.scale.sharding`).
* Restart is the ordinary start-up path: the engine recovers from its journal; the journal's meta
  records the last stream sequence journaled with the engine sequence it ended at, in one value
  (``nats.position``, written after the flush), and the consumer is re-created to deliver from the next stream sequence, so delivery
  resumes in order without waiting for the server's redelivery timer. Commands journaled by a run
  that died before it recorded their stream position are re-delivered, checked byte for byte
  against the journal and not applied again. Outcome events not yet published when it died
  (engine sequence above ``nats.evt_published_seq``) are rebuilt by the recovery replay and
  published again under the same message ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from lionrock.engine import Engine, Outcome
from lionrock.engine.engine import DeterminismError
from lionrock.kernel.messages import Codec, Command, Event, Stamp
from lionrock.kernel.user_errors import ServiceUnavailable
from lionrock.scale.sharding import RelayShardEvents, ShardMap, shard_contexts
from lionrock.storage.sqlite_journal import SqliteJournal

log = logging.getLogger("lionrock.nats")

CMD_STREAM = "LIONROCK_CMDS"
EVT_STREAM = "LIONROCK_EVTS"
H_MSG_ID = "Nats-Msg-Id"
H_AT_NS = "Lionrock-At-Ns"
H_SEQ = "Lionrock-Seq"
H_COMMAND = "Lionrock-Command"
H_RELAYED = "Lionrock-Relayed"
META_POSITION = "nats.position"
"""``"<last stream seq journaled>:<engine seq it ended at>"``: one value, so one atomic write."""
META_EVT_PUBLISHED_SEQ = "nats.evt_published_seq"

_LIST_OF_BYTES = msgspec.msgpack.Decoder(list[bytes])


def cmd_subject(shard: str) -> str:
    return f"cmd.{shard}"


def evt_subject(shard: str) -> str:
    return f"evt.{shard}"


async def _log_nats_error(exc: Exception) -> None:
    """nats-py's default error callback logs every failed attempt with a traceback; one line is enough."""
    log.warning("nats: %s", exc or type(exc).__name__)


async def connect(url: str, **options: Any) -> tuple[NatsClient, JetStreamContext]:
    options.setdefault("error_cb", _log_nats_error)
    nc = await nats.connect(url, **options)
    return nc, nc.jetstream()


CONNECT_ATTEMPTS = 5
CONNECT_FIRST_WAIT_S = 0.5
CONNECT_MAX_WAIT_S = 4.0


async def connect_with_backoff(
    url: str, *, attempts: int = CONNECT_ATTEMPTS, first_wait_s: float = CONNECT_FIRST_WAIT_S,
    max_wait_s: float = CONNECT_MAX_WAIT_S, stop: asyncio.Event | None = None,
) -> tuple[NatsClient, JetStreamContext] | None:
    """Connect at start-up with a bounded, logged backoff; None if ``stop`` is set meanwhile.

    Left to itself nats-py retries a missing server 60 times, two seconds apart, logging a
    traceback each time and deaf to SIGTERM. Here each attempt is one try (no reconnect loop),
    a failure is one log line, the waits double up to ``max_wait_s``, a stop request ends the
    wait at once, and after ``attempts`` the server is reported missing (`ServiceUnavailable`).
    Once a server answers, the returned connection reconnects as usual if it drops later."""
    wait = first_wait_s
    reason = ""
    for attempt in range(1, attempts + 1):
        seen: list[Exception] = []

        async def note(exc: Exception, seen: list[Exception] = seen) -> None:
            seen.append(exc)

        try:  # one try (nats-py's smallest bound is two, back to back), its errors noted, not logged
            probe = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0, connect_timeout=2, error_cb=note)
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            reason = str(seen[-1] if seen else exc) or type(exc).__name__
        else:
            await probe.close()
            return await connect(url)
        if attempt == attempts:
            break
        log.warning("no NATS server at %s (attempt %d of %d): %s; retrying in %.1f s", url, attempt, attempts, reason, wait)
        if stop is None:
            await asyncio.sleep(wait)
        else:
            try:
                await asyncio.wait_for(stop.wait(), wait)
                return None
            except TimeoutError:
                pass
        wait = min(wait * 2, max_wait_s)
    raise ServiceUnavailable(f"no NATS server answers at {url} after {attempts} attempt(s) ({reason})", hint="Start one (nats-server -js) or pass --nats URL.")


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1, duplicate_window_s: float = 120.0) -> None:
    """Create the command and event streams if missing (file storage, ``replicas`` Raft copies)."""
    for name, subjects in ((CMD_STREAM, ["cmd.>"]), (EVT_STREAM, ["evt.>"])):
        try:
            await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=name,
                    subjects=subjects,
                    storage=StorageType.FILE,
                    num_replicas=replicas,
                    duplicate_window=duplicate_window_s,
                )
            )


def default_key(command: Command, at_ns: int, body: bytes) -> str:
    """A client key when the caller gives none: the participant's own order key if the command has
    one, else a digest of the encoded command and its time (the same command at the same time is a
    retry)."""
    participant = getattr(command, "participant", None)
    client_order_id = getattr(command, "client_order_id", None)
    if isinstance(participant, str) and isinstance(client_order_id, str) and client_order_id:
        return f"{type(command).__name__}:{participant}:{client_order_id}"
    return hashlib.blake2b(body + at_ns.to_bytes(8, "little", signed=True), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Published:
    """Where the stream put one command: its shard, stream sequence, and whether it was a retry."""

    shard: str
    stream_seq: int
    duplicate: bool


class CommandProducer:
    """Publishes commands to their shards' subjects with deduplication by client key."""

    def __init__(self, js: JetStreamContext, shard_map: ShardMap, *, timeout_s: float = 10.0) -> None:
        self.js = js
        self.shard_map = shard_map
        self.timeout_s = timeout_s
        self._codec = Codec()

    def _messages(self, command: Command, at_ns: int, key: str | None) -> list[tuple[str, bytes, dict[str, str]]]:
        body = self._codec.encode(command)
        key = key or default_key(command, at_ns, body)
        return [
            (shard, body, {H_MSG_ID: f"{key}@{shard}", H_AT_NS: str(at_ns)})
            for shard in self.shard_map.route(command)
        ]

    async def publish(self, command: Command, at_ns: int, key: str | None = None) -> list[Published]:
        """Publish one command and wait for the stream's acknowledgement."""
        out = []
        for shard, body, headers in self._messages(command, at_ns, key):
            ack = await self.js.publish(cmd_subject(shard), body, stream=CMD_STREAM, headers=headers, timeout=self.timeout_s)
            out.append(Published(shard, ack.seq, bool(ack.duplicate)))
        return out

    async def publish_many(self, items: Iterable[tuple[Command, int, str | None]]) -> list[Published]:
        """Pipelined publishing: messages go on the wire in input order (so each shard's stream
        order is the input order) and the acknowledgements are awaited together."""
        pending: list[tuple[str, asyncio.Future[Any]]] = []
        for command, at_ns, key in items:
            for shard, body, headers in self._messages(command, at_ns, key):
                future = await self.js.publish_async(cmd_subject(shard), body, stream=CMD_STREAM, headers=headers)
                pending.append((shard, future))
        acks = await asyncio.wait_for(asyncio.gather(*(f for _, f in pending)), self.timeout_s + len(pending) * 0.001)
        return [Published(shard, ack.seq, bool(ack.duplicate)) for (shard, _), ack in zip(pending, acks, strict=True)]


async def _consumer_from(
    js: JetStreamContext, stream: str, durable: str, subject: str, start_seq: int, *, ack_wait_s: float, max_ack_pending: int
) -> JetStreamContext.PullSubscription:
    """(Re)create the durable pull consumer so it delivers ``subject`` from ``start_seq`` in order.

    Re-creating rather than relying on redelivery keeps the stream order: the server would send
    fresh messages before an unacknowledged one whose ack timer has not yet expired."""
    try:
        await js.delete_consumer(stream, durable)
    except nats.js.errors.NotFoundError:
        pass
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=subject,
        ack_policy=AckPolicy.ALL,  # acknowledging a message acknowledges every earlier one
        ack_wait=ack_wait_s,
        max_ack_pending=max_ack_pending,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start_seq > 1 else DeliverPolicy.ALL,
        opt_start_seq=start_seq if start_seq > 1 else None,
    )
    await js.add_consumer(stream, config)
    return await js.pull_subscribe_bind(durable, stream)


@dataclass
class ShardStats:
    applied: int = 0
    skipped_journaled: int = 0
    skipped_redelivered: int = 0
    poison: int = 0
    events_published: int = 0
    relays_published: int = 0
    batches: int = 0
    started: float = field(default_factory=time.perf_counter)


class ShardEngine:
    """One shard engine: consume ``cmd.<shard>`` in order, journal, publish events, acknowledge.

    ``crash_hook(point)`` (tests only) is called at ``"after_submit"``, ``"after_journal_flush"``
    (journal durable, stream position not yet recorded), ``"after_flush"``,
    ``"after_publish"`` and ``"after_ack"`` of each batch; raising from it simulates a crash."""

    def __init__(
        self,
        js: JetStreamContext,
        shard: str,
        shard_map: ShardMap,
        journal_path: str | Path,
        *,
        batch: int = 256,
        fetch_timeout_s: float = 0.5,
        ack_wait_s: float = 300.0,
        relay: bool = True,
        crash_hook: Callable[[str], None] | None = None,
        snapshot_every: int = 0,
    ) -> None:
        self.js = js
        self.shard = shard
        self.shard_map = shard_map
        self.role = shard_map.role_of(shard)
        self.journal_path = Path(journal_path)
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.ack_wait_s = ack_wait_s
        self.relay = relay
        self.crash_hook = crash_hook
        self.snapshot_every = snapshot_every
        self.stats = ShardStats()
        self.codec = Codec()
        self.engine: Engine | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self.stream_seq = 0  # last stream sequence consumed
        self._mapped_seq = 0  # engine sequence of that message
        self._evt_published = 0
        self.final_hash = ""
        self.final_seq = 0

    # -- start-up --------------------------------------------------------------------------
    async def start(self) -> ShardEngine:
        journal = SqliteJournal(self.journal_path, "group:60000")
        engine = Engine(shard_contexts(self.role), journal, snapshot_every=self.snapshot_every)
        stream_seq, _, engine_seq = (journal.get_meta(META_POSITION) or "0:0").partition(":")
        self.stream_seq, self._mapped_seq = int(stream_seq), int(engine_seq)
        self._evt_published = int(journal.get_meta(META_EVT_PUBLISHED_SEQ) or 0)
        backlog: list[tuple[Stamp, Command, list[Event]]] = []
        recovering = True

        def keep_unpublished(stamp: Stamp, command: Command, events: list[Event]) -> None:
            if recovering and events and stamp.seq > self._evt_published:
                backlog.append((stamp, command, list(events)))

        engine.subscribe(keep_unpublished)
        snap = journal.latest_snapshot()
        engine.recover(use_snapshot=snap is not None and snap.seq <= self._evt_published)
        recovering = False
        self.engine = engine
        if backlog:
            log.info("shard %s: publishing %d outcome(s) left unpublished by the last run", self.shard, len(backlog))
            await self._publish_outcomes([(s.seq, s.at_ns, c, e) for s, c, e in backlog])
        ack_floor = await self._ack_floor()
        if ack_floor > self.stream_seq:
            log.warning(
                "shard %s: the consumer acknowledged up to stream seq %d but the journal holds only up to %d; "
                "rebuilding from the stream", self.shard, ack_floor, self.stream_seq,
            )
        self._sub = await _consumer_from(
            self.js, CMD_STREAM, self.durable, cmd_subject(self.shard), self.stream_seq + 1,
            ack_wait_s=self.ack_wait_s, max_ack_pending=max(self.batch * 4, 1024),
        )
        return self

    @property
    def durable(self) -> str:
        return f"shard-{self.shard}"

    async def _ack_floor(self) -> int:
        try:
            info = await self.js.consumer_info(CMD_STREAM, self.durable)
        except nats.js.errors.NotFoundError:
            return 0
        return int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0

    # -- the loop --------------------------------------------------------------------------
    async def step(self, timeout_s: float | None = None) -> int:
        """Fetch and process one batch; returns the number of messages taken (0 when idle)."""
        assert self._sub is not None and self.engine is not None, "start() first"
        try:
            msgs = await self._sub.fetch(self.batch, timeout=timeout_s or self.fetch_timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            return 0
        await self._process(msgs)
        return len(msgs)

    async def run(self, stop: asyncio.Event | None = None, *, idle_exit_s: float | None = None) -> None:
        """Process until ``stop`` is set, or until nothing arrived for ``idle_exit_s`` seconds."""
        idle_since = time.monotonic()
        while stop is None or not stop.is_set():
            if await self.step():
                idle_since = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                return

    async def _process(self, msgs: Sequence[Msg]) -> None:
        engine = self.engine
        assert engine is not None
        hook = self.crash_hook or (lambda point: None)
        outcomes: list[tuple[int, int, Command, list[Event]]] = []
        for msg in msgs:
            sseq = msg.metadata.sequence.stream
            if sseq <= self.stream_seq:
                self.stats.skipped_redelivered += 1
                continue
            command, at_ns = self._decode(msg)
            self.stream_seq = sseq
            if command is None:
                continue
            self._mapped_seq += 1
            if self._mapped_seq <= engine.seq:
                self._check_journaled(self._mapped_seq, msg.data)
                continue
            outcome: Outcome = engine.submit(command, at_ns)
            self.stats.applied += 1
            if outcome.events:
                outcomes.append((outcome.seq, outcome.at_ns, command, outcome.events))
        hook("after_submit")
        engine.flush()
        hook("after_journal_flush")
        journal = engine.journal
        journal.set_meta(META_POSITION, f"{self.stream_seq}:{self._mapped_seq}")
        hook("after_flush")
        await self._publish_outcomes(outcomes)
        hook("after_publish")
        if msgs:
            await msgs[-1].ack()  # AckPolicy.ALL: the whole batch, in one message
        self.stats.batches += 1
        hook("after_ack")

    def _decode(self, msg: Msg) -> tuple[Command | None, int]:
        try:
            command = self.codec.decode_command(msg.data)
            at_ns = int((msg.headers or {})[H_AT_NS])
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError) as exc:
            # Deterministic: the same bytes fail the same way on every replay, so skipping them
            # keeps every replica of the shard identical. Logged loudly; never applied.
            log.error("shard %s: stream seq %d is not a command (%s); skipped", self.shard, msg.metadata.sequence.stream, exc)
            self.stats.poison += 1
            return None, 0
        return command, at_ns

    def _check_journaled(self, seq: int, body: bytes) -> None:
        assert self.engine is not None
        record = next(iter(self.engine.journal.records(seq - 1)), None)
        if record is None or record.seq != seq or record.body != body:
            raise DeterminismError(
                f"shard {self.shard}: stream seq {self.stream_seq} should be journal record {seq}, and is not"
            )
        self.stats.skipped_journaled += 1

    # -- events out ------------------------------------------------------------------------
    async def _publish_outcomes(self, outcomes: list[tuple[int, int, Command, list[Event]]]) -> None:
        if not outcomes:
            return
        futures: list[asyncio.Future[Any]] = []
        for seq, at_ns, command, events in outcomes:
            bodies = [self.codec.encode(e) for e in events]
            relayed = len(command.events) if isinstance(command, RelayShardEvents) else 0
            headers = {
                H_MSG_ID: f"{self.shard}:{seq}",
                H_SEQ: str(seq),
                H_AT_NS: str(at_ns),
                H_COMMAND: type(command).__name__,
            }
            if relayed:
                headers[H_RELAYED] = str(relayed)
            futures.append(await self.js.publish_async(evt_subject(self.shard), msgspec.msgpack.encode(bodies), stream=EVT_STREAM, headers=headers))
            self.stats.events_published += 1
            if self.relay:
                futures.extend(await self._relay(seq, at_ns, events[relayed:], bodies[relayed:]))
        await asyncio.wait_for(asyncio.gather(*futures), 30.0)
        self._evt_published = outcomes[-1][0]
        assert self.engine is not None
        self.engine.journal.set_meta(META_EVT_PUBLISHED_SEQ, str(self._evt_published))

    async def _relay(self, seq: int, at_ns: int, events: list[Event], bodies: list[bytes]) -> list[asyncio.Future[Any]]:
        by_target: dict[str, list[bytes]] = {}
        for event, body in zip(events, bodies, strict=True):
            for target in self.shard_map.relay_targets(self.shard, event):
                by_target.setdefault(target, []).append(body)
        futures = []
        for target, carried in by_target.items():
            command = RelayShardEvents(source_shard=self.shard, source_seq=seq, events=carried)
            headers = {H_MSG_ID: f"relay:{self.shard}:{seq}@{target}", H_AT_NS: str(at_ns)}
            futures.append(await self.js.publish_async(cmd_subject(target), self.codec.encode(command), stream=CMD_STREAM, headers=headers))
            self.stats.relays_published += 1
        return futures

    # -- state -----------------------------------------------------------------------------
    def state_hash(self) -> str:
        assert self.engine is not None
        return self.engine.state_hash()

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except (nats.errors.Error, nats.js.errors.Error):
                pass
            self._sub = None
        if self.engine is not None:
            self.final_hash, self.final_seq = self.engine.state_hash(), self.engine.seq
            self.engine.close()
            self.engine = None


@dataclass(frozen=True)
class ShardOutcome:
    """One published outcome as a projection reads it from ``evt.<shard>``."""

    shard: str
    seq: int
    at_ns: int
    command: str
    relayed: int
    events: list[Event]


async def read_events(js: JetStreamContext, shard: str, *, codec: Codec | None = None, timeout_s: float = 1.0) -> list[ShardOutcome]:
    """Every outcome published so far on ``evt.<shard>``, in order (an ephemeral ordered read for
    projections and tests; a long-running projection would keep a durable consumer instead)."""
    codec = codec or Codec()
    sub = await js.pull_subscribe(evt_subject(shard), stream=EVT_STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=30.0))
    out: list[ShardOutcome] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(1024, timeout=timeout_s)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            for msg in msgs:
                h = msg.headers or {}
                events = [codec.decode_event(b) for b in _LIST_OF_BYTES.decode(msg.data)]
                out.append(ShardOutcome(shard, int(h[H_SEQ]), int(h[H_AT_NS]), h[H_COMMAND], int(h.get(H_RELAYED, 0)), events))
    finally:
        await sub.unsubscribe()
    return out


async def run_shard(
    url: str,
    shard: str,
    shard_map: ShardMap,
    journal_path: str | Path,
    *,
    replicas: int = 1,
    batch: int = 256,
    idle_exit_s: float | None = None,
    stop: asyncio.Event | None = None,
    on_started: Callable[[ShardEngine], Awaitable[None] | None] | None = None,
    snapshot_every: int = 0,
    connect_attempts: int = CONNECT_ATTEMPTS,
) -> ShardEngine | None:
    """Connect, make sure the streams exist, run one shard engine until stopped or idle (None if
    stopped before a server answered)."""
    connected = await connect_with_backoff(url, attempts=connect_attempts, stop=stop)
    if connected is None:
        return None
    nc, js = connected
    try:
        await ensure_streams(js, replicas=replicas)
        runner = await ShardEngine(js, shard, shard_map, journal_path, batch=batch, snapshot_every=snapshot_every).start()
        if on_started is not None:
            result = on_started(runner)
            if asyncio.iscoroutine(result):
                await result
        try:
            await runner.run(stop, idle_exit_s=idle_exit_s)
        finally:
            await runner.close()
        return runner
    finally:
        await nc.drain()


__all__ = [
    "CMD_STREAM",
    "EVT_STREAM",
    "CommandProducer",
    "Published",
    "ShardEngine",
    "ShardOutcome",
    "ShardStats",
    "cmd_subject",
    "connect",
    "connect_with_backoff",
    "default_key",
    "ensure_streams",
    "evt_subject",
    "read_events",
    "run_shard",
]
