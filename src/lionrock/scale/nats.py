"""Scale-out over NATS JetStream: commands sequenced per shard, one engine per shard, events out.

* `CommandProducer` publishes typed commands (MessagePack, the journal's encoding) to stream
  ``LIONROCK_CMDS`` on subject ``cmd.<shard>`` (`ShardMap.route` picks the shard). The edge stamps
  the time in header ``Lionrock-At-Ns``, so a replay of the stream gives the same times, and who
  sent the command through which channel (``Lionrock-Sender``, ``Lionrock-Channel``: the
  `Origin` the server authenticated), which the shard records in its journal beside the command.
  Header ``Nats-Msg-Id`` is the client key with a digest of the command (`message_id`): an exact
  retry inside the stream's duplicate window is answered "duplicate" with the first copy's stream
  sequence and stored once; a different command under the same client key is not a retry, is
  stored, and the venue refuses it naming the field that differs (idempotency by client order id
  is the shard's own too, beyond the window).
* `ShardEngine` runs one shard: a durable pull consumer on ``cmd.<shard>`` feeds `Engine.submit`
  in stream-sequence order; each fetched batch is journaled to the shard's own SQLite journal and
  flushed (fsync) before its outcomes are published to stream ``LIONROCK_EVTS`` on subject
  ``evt.<shard>`` and before any command of it is acknowledged. Events another shard observes are
  sent to that shard's command subject as `RelayShardEvents` (see `lionrock.scale.sharding`).
* One event message per processed batch (`encode_outcome_batch`): its body is every outcome of
  the batch (`OutcomeEntry`: engine seq, time, the command's stream seq and message id, the
  command and its events), header ``Lionrock-Seqs`` ``<first>-<last>`` (consecutive engine
  sequences), ``Nats-Msg-Id`` ``<shard>:<first>-<last>``. nats-py's cost is per message, and a
  shard used to pay it per command. Consumers deduplicate per outcome by ``(shard, seq)``, not per
  message: a batch republished after a crash is the same batch under the same message id, but a
  consumer must still skip the outcomes of a message it has already applied, whatever the
  message's boundaries (`outcome_entries` also reads the one-outcome messages published before
  batches, so streams written by an older shard stay readable).
* Restart is the ordinary start-up path: the engine recovers from its journal; the journal's meta
  records the last stream sequence journaled with the engine sequence it ended at, in one value
  (``nats.position``, committed with the batch's block), and the consumer is re-created to
  deliver from the next stream sequence, so delivery resumes in order without waiting for the
  server's redelivery timer. Commands journaled without their stream position (a snapshot inside
  a batch makes its first commands durable before the batch ends) are re-delivered, checked byte for byte
  against the journal and not applied again. Outcome events not known to be published when it
  died (engine sequence above ``nats.evt_published_seq``, which is committed with the next
  batch's block: at most the last batch) are rebuilt by the recovery replay and
  published again under the same message ids, with the command's key and stream sequence (kept
  in the journal's meta, ``nats.batch``, before the batch is flushed).
* A command or an outcome whose body is over `INLINE_MAX_BYTES` (an offering's ballot, a file of
  applications: megabytes, over the server's 1 MB ``max_payload``) travels in the replicated
  object store ``LIONROCK_BODIES`` (JetStream chunks it) under a deterministic name; the message
  carries header ``Lionrock-Body`` with that name and an empty body, and every consumer fetches
  the body before decoding (`resolve_bodies`). The object is stored before the message is
  published, so a message never names a missing body.
* Each outcome names the command it answers: its ``cmd_seq`` is the command's sequence in
  ``LIONROCK_CMDS``, which is what a publish acknowledgement returns (for a duplicate, the first
  copy's): the edge matches answers by it, so a retry through any edge, even one started after
  the first answer, finds the first outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    ObjectStoreConfig,
    StorageType,
    StreamConfig,
)

from lionrock.engine import Engine, Origin, Outcome
from lionrock.engine.engine import DeterminismError
from lionrock.kernel.errors import invariant
from lionrock.kernel.messages import Codec, Command, Event, Stamp
from lionrock.kernel.user_errors import ServiceUnavailable
from lionrock.kernel.xhkg import hk_date
from lionrock.scale.sharding import RelayShardEvents, ShardMap
from lionrock.storage.sqlite_journal import SqliteJournal

log = logging.getLogger("lionrock.nats")

CMD_STREAM = "LIONROCK_CMDS"
EVT_STREAM = "LIONROCK_EVTS"
READ_STREAM = "LIONROCK_READ"
READ_SUBJECT = "read.outcomes"
"""What the projector has committed to the read model, each outcome under its read-model sequence:
the edges' event hubs take it from here, so WebSocket streams and FIX sessions see one order of
events, the read model's (their snapshots and recovery read the same numbers)."""
READ_MAX_AGE_S = 3600.0
H_READ_POSITIONS = "Lionrock-Read-Positions"
"""On `READ_SUBJECT` messages: each shard's last outcome in the read model once the message's
outcomes are, ``t0=12,t1=9,primary=30`` (an edge answers a command once its outcome is readable)."""
H_MSG_ID = "Nats-Msg-Id"
H_AT_NS = "Lionrock-At-Ns"
H_SEQ = "Lionrock-Seq"
H_COMMAND = "Lionrock-Command"
H_RELAYED = "Lionrock-Relayed"
H_KEY = "Lionrock-Key"
"""On a one-outcome message (before batches): the ``Nats-Msg-Id`` of the command it answers."""
H_CMD_SEQ = "Lionrock-Cmd-Seq"
"""On a one-outcome message (before batches): the stream sequence of its command in ``LIONROCK_CMDS``."""
H_SEQS = "Lionrock-Seqs"
"""On an outcome batch: ``<first>-<last>``, the consecutive engine sequences of the outcomes it carries."""
H_NEXT_TIMER = "Lionrock-Next-Timer"
"""On a trading shard's outcome batch: ``<due ns>:<timer index>`` of its venue's next timer (absent: none). The venue
refuses orders while a timer is overdue and timers arrive only as `TradingTick` commands, so the
edge sends one when this time has come (`BusRunner`'s ticker): a read of the shard's state after
the batch, never a clock."""
H_SENDER = "Lionrock-Sender"
H_CHANNEL = "Lionrock-Channel"
"""On a command: its `Origin` (percent-encoded: a header value is one line)."""
H_BODY = "Lionrock-Body"
"""On a message whose body is in the object store: the object's name (the message's body is empty)."""
BODY_BUCKET = "LIONROCK_BODIES"
INLINE_MAX_BYTES = 512 * 1024
"""Bodies up to this size travel in the message itself; larger ones in `BODY_BUCKET` (the server's
default ``max_payload`` is 1 MB, headers included)."""
META_BATCH = "nats.batch"
"""``[[engine seq, command stream seq, message id], ...]`` of the batch being journaled, committed
with its block (`Journal.stage_meta`): recovery republishes an unpublished outcome with what
identifies its command."""
META_POSITION = "nats.position"
"""``"<last stream seq journaled>:<engine seq it ended at>"``: one value, committed with the
batch's block, so the records and the stream position they reach are durable together (before,
two more fsync'd commits per batch of their own)."""
META_EVT_PUBLISHED_SEQ = "nats.evt_published_seq"


class OutcomeEntry(msgspec.Struct, array_like=True, frozen=True):
    """One outcome in an outcome batch, as the shard publishes it (the journal's encodings: a
    projector needs the command too, e.g. the submitted issuer profile or the order a rejection
    refused)."""

    seq: int
    """The shard's engine sequence."""
    at_ns: int
    cmd_seq: int
    """The command's stream sequence in ``LIONROCK_CMDS`` (0 if unknown): what the edge matches by."""
    key: str
    """The command's ``Nats-Msg-Id`` (`message_id`); empty for a relay."""
    relayed: int
    """How many of the first events are echoes of a relayed batch (`RelayShardEvents`)."""
    command: bytes
    events: list[bytes]


_BATCH_BODY = msgspec.msgpack.Decoder(list[OutcomeEntry])
_BATCH_ENCODER = msgspec.msgpack.Encoder()
_OUTCOME_BODY = msgspec.msgpack.Decoder(tuple[bytes, list[bytes]])
"""A one-outcome message's body (published before batches): the command, then each event."""
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (nats.errors.Error, nats.js.errors.Error, TimeoutError, asyncio.TimeoutError, OSError)
"""What a lost node or a leader election looks like to a client: retried, never fatal."""


_STARTING_ERRORS: tuple[type[BaseException], ...] = (nats.js.errors.BadRequestError, *TRANSIENT_ERRORS)
"""What stream creation meets while a cluster forms (no suitable peers yet) or elects."""


class ProjectedEntry(msgspec.Struct, array_like=True, frozen=True):
    """One outcome as the projector committed it (`READ_SUBJECT`): its read-model sequence."""

    seq: int
    at_ns: int
    command: bytes
    events: list[bytes]


_PROJECTED_BODY = msgspec.msgpack.Decoder(list[ProjectedEntry])


def encode_projected(batch: Sequence[tuple[Command, Outcome]], codec: Codec) -> bytes:
    entries = [ProjectedEntry(o.seq, o.at_ns, codec.encode(c), [codec.encode(e) for e in o.events]) for c, o in batch]
    return _BATCH_ENCODER.encode(entries)


def decode_projected(data: bytes, codec: Codec) -> list[tuple[Command, Outcome]]:
    return [
        (codec.decode_command(e.command), Outcome(e.seq, e.at_ns, [codec.decode_event(b) for b in e.events]))
        for e in _PROJECTED_BODY.decode(data)
    ]


def cmd_subject(shard: str) -> str:
    return f"cmd.{shard}"


def evt_subject(shard: str) -> str:
    return f"evt.{shard}"


def encode_outcome_batch(shard: str, entries: Sequence[OutcomeEntry], next_timer: str = "") -> tuple[bytes, dict[str, str]]:
    """The body and headers of one message carrying ``entries`` (consecutive engine sequences).

    Named ``<shard>:<first>-<last>``: a batch republished after a crash is the same batch (the
    outcomes above ``nats.evt_published_seq``), so inside the duplicate window the stream stores
    it once; outside it, consumers drop the outcomes they have by ``(shard, seq)``."""
    first, last = entries[0].seq, entries[-1].seq
    invariant(last - first + 1 == len(entries), "outcome batch %d-%d of shard %s is not consecutive", first, last, shard)
    headers = {H_MSG_ID: f"{shard}:{first}-{last}", H_SEQS: f"{first}-{last}"}
    if next_timer:
        headers[H_NEXT_TIMER] = next_timer
    return _BATCH_ENCODER.encode(entries), headers


async def _log_nats_error(exc: Exception) -> None:
    """nats-py's default error callback logs every failed attempt with a traceback; one line is enough."""
    log.warning("nats: %s", str(exc) or type(exc).__name__)


async def offload_body(js: JetStreamContext, name: str, body: bytes, headers: dict[str, str]) -> bytes:
    """``body`` as a message carries it: itself if small; else stored in `BODY_BUCKET` under
    ``name`` (replacing an earlier copy: a republish stores the same bytes) and ``b""``, with
    header ``Lionrock-Body`` set in ``headers``."""
    if len(body) <= INLINE_MAX_BYTES:
        return body
    store = await js.object_store(BODY_BUCKET)
    await store.put(name, body)
    headers[H_BODY] = name
    return b""


async def resolve_bodies(js: JetStreamContext, msgs: Iterable[Msg]) -> None:
    """Give each message whose body is in the object store its body back (``msg.data``)."""
    store = None
    for msg in msgs:
        name = (msg.headers or {}).get(H_BODY)
        if name:
            store = store or await js.object_store(BODY_BUCKET)
            result = await store.get(name)
            msg.data = result.data or b""


def server_list(url: str) -> list[str]:
    """``"nats://a:4222,nats://b:4222"`` -> each server of a cluster (a client fails over among them)."""
    return [u.strip() for u in url.split(",") if u.strip()]


async def connect(url: str, **options: Any) -> tuple[NatsClient, JetStreamContext]:
    """Connect to ``url`` (one server, or a comma-separated list of a cluster's servers), reconnecting
    for ever if the connection drops: a node's death must not end a shard, the edge or the projector."""
    options.setdefault("error_cb", _log_nats_error)
    options.setdefault("max_reconnect_attempts", -1)
    options.setdefault("reconnect_time_wait", 0.25)
    nc = await nats.connect(servers=server_list(url), **options)
    return nc, nc.jetstream()


CONNECT_ATTEMPTS = 5
CONNECT_FIRST_WAIT_S = 0.5
CONNECT_MAX_WAIT_S = 4.0


async def connect_with_backoff(
    url: str,
    *,
    attempts: int = CONNECT_ATTEMPTS,
    first_wait_s: float = CONNECT_FIRST_WAIT_S,
    max_wait_s: float = CONNECT_MAX_WAIT_S,
    stop: asyncio.Event | None = None,
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

        for server in server_list(url):  # one try per server of a cluster (a dead node must not hide the live ones)
            try:  # nats-py's smallest bound is two tries, back to back; errors noted, not logged
                probe = await nats.connect(
                    server, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0, connect_timeout=2, error_cb=note
                )
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
    raise ServiceUnavailable(
        f"no NATS server answers at {url} after {attempts} attempt(s) ({reason})", hint="Start one (nats-server -js) or pass --nats URL."
    )


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1, duplicate_window_s: float = 120.0, wait_s: float = 60.0) -> None:
    """Create the command and event streams if missing (file storage, ``replicas`` Raft copies).

    A cluster that is still forming (its nodes not yet all known to the meta leader: "no
    suitable peers for placement") or electing is waited for, up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            await _ensure_streams(js, replicas, duplicate_window_s)
            return
        except _STARTING_ERRORS as exc:
            placement = isinstance(exc, nats.js.errors.BadRequestError) and getattr(exc, "err_code", 0) == 10005
            if isinstance(exc, nats.js.errors.BadRequestError) and not placement or time.monotonic() > deadline:
                raise
            log.info("streams not ready yet (%s); waiting", str(exc) or type(exc).__name__)
            await asyncio.sleep(0.5)


async def _ensure_streams(js: JetStreamContext, replicas: int, duplicate_window_s: float) -> None:
    try:
        await js.object_store(BODY_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        await js.create_object_store(
            BODY_BUCKET,
            config=ObjectStoreConfig(
                storage=StorageType.FILE, replicas=replicas, description="Lion Rock command and outcome bodies over 512 KiB"
            ),
        )
    for name, subjects, max_age in (
        (CMD_STREAM, ["cmd.>"], None),
        (EVT_STREAM, ["evt.>"], None),
        (READ_STREAM, ["read.>"], READ_MAX_AGE_S),
    ):
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
                    max_age=max_age,
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


def message_id(key: str, body: bytes, shard: str) -> str:
    """``<client key>#<digest of the command>@<shard>``: the same command under the same key is a
    retry (deduplicated by the stream); another command under that key is not (stored, and the
    venue answers which field differs)."""
    return f"{key}#{hashlib.blake2b(body, digest_size=6).hexdigest()}@{shard}"


def origin_headers(origin: Origin | None) -> dict[str, str]:
    if origin is None:
        return {}
    return {H_SENDER: quote(origin.sender, safe=""), H_CHANNEL: quote(origin.channel, safe="")}


def origin_of_headers(headers: dict[str, str]) -> Origin | None:
    sender = headers.get(H_SENDER)
    if sender is None:
        return None
    return Origin(unquote(sender), unquote(headers.get(H_CHANNEL, "")))


@dataclass(frozen=True)
class Published:
    """Where the stream put one command: its shard, stream sequence (for a duplicate, the first
    copy's), whether it was a retry, and its message id."""

    shard: str
    stream_seq: int
    duplicate: bool
    msg_id: str = ""


class CommandProducer:
    """Publishes commands to their shards' subjects with deduplication by client key."""

    def __init__(self, js: JetStreamContext, shard_map: ShardMap, *, timeout_s: float = 10.0) -> None:
        self.js = js
        self.shard_map = shard_map
        self.timeout_s = timeout_s
        self._codec = Codec()

    def _messages(
        self, command: Command, at_ns: int, key: str | None, origin: Origin | None = None
    ) -> list[tuple[str, bytes, dict[str, str]]]:
        body = self._codec.encode(command)
        key = key or default_key(command, at_ns, body)
        extra = origin_headers(origin)
        return [
            (shard, body, {H_MSG_ID: message_id(key, body, shard), H_AT_NS: str(at_ns), **extra}) for shard in self.shard_map.route(command)
        ]

    async def _offloaded(self, messages: list[tuple[str, bytes, dict[str, str]]]) -> list[tuple[str, bytes, dict[str, str]]]:
        return [
            (shard, await offload_body(self.js, f"cmd.{headers[H_MSG_ID]}", body, headers), headers) for shard, body, headers in messages
        ]

    async def publish(self, command: Command, at_ns: int, key: str | None = None, origin: Origin | None = None) -> list[Published]:
        """Publish one command and wait for the stream's acknowledgement."""
        messages = await self._offloaded(self._messages(command, at_ns, key, origin))
        return [await self._publish_one(shard, body, headers) for shard, body, headers in messages]

    async def _publish_one(self, shard: str, body: bytes, headers: dict[str, str]) -> Published:
        """Publish until the stream acknowledges, for at most ``timeout_s``: while a cluster elects a
        new leader the stream does not answer; the retry carries the same ``Nats-Msg-Id``, so a
        message the first attempt stored is answered "duplicate" and stored once."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                ack = await self.js.publish(cmd_subject(shard), body, stream=CMD_STREAM, headers=headers, timeout=max(0.1, min(left, 2.0)))
                return Published(shard, ack.seq, bool(ack.duplicate), headers[H_MSG_ID])
            except TRANSIENT_ERRORS as exc:
                if time.monotonic() >= deadline:
                    raise ServiceUnavailable(
                        f"the command stream did not acknowledge within {self.timeout_s:.0f} s ({str(exc) or type(exc).__name__})",
                        hint="Check that a majority of the NATS cluster is up.",
                    ) from exc
                log.warning("publish to %s not acknowledged (%s); retrying", cmd_subject(shard), str(exc) or type(exc).__name__)
                await asyncio.sleep(0.1)

    async def publish_many(self, items: Iterable[tuple[Command, int, str | None]]) -> list[Published]:
        """Pipelined publishing: messages go on the wire in input order (so each shard's stream
        order is the input order) and the acknowledgements are awaited together."""
        messages = await self._offloaded([m for command, at_ns, key in items for m in self._messages(command, at_ns, key)])
        pending: list[asyncio.Future[Any]] = []
        try:
            for shard, body, headers in messages:
                pending.append(await self.js.publish_async(cmd_subject(shard), body, stream=CMD_STREAM, headers=headers))
            acks = await asyncio.wait_for(asyncio.gather(*pending), self.timeout_s + len(pending) * 0.001)
        except TRANSIENT_ERRORS as exc:
            # Some were stored, some perhaps not: publish all again one by one, in order, under the
            # same message ids (the stored ones answer "duplicate"). The stream's order is then the
            # order in which each was first stored.
            log.warning(
                "pipelined publish failed (%s); publishing %d message(s) again one by one", str(exc) or type(exc).__name__, len(messages)
            )
            for future in pending:
                future.cancel()
            return [await self._publish_one(shard, body, headers) for shard, body, headers in messages]
        return [
            Published(shard, ack.seq, bool(ack.duplicate), headers[H_MSG_ID])
            for (shard, _, headers), ack in zip(messages, acks, strict=True)
        ]


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


@dataclass(frozen=True, slots=True)
class _Applied:
    """One command applied by a shard engine, as its outcome is published."""

    seq: int
    at_ns: int
    command: Command
    events: list[Event]
    cmd_seq: int
    key: str
    body: bytes
    """The command as received (and journaled)."""

    @property
    def relayed(self) -> int:
        """How many of the first events echo a relayed batch (not relayed back)."""
        return len(self.command.events) if isinstance(self.command, RelayShardEvents) else 0


def _batch_meta(batch: list[tuple[int, int, str]]) -> str:
    return json.dumps(batch, separators=(",", ":"))


@dataclass
class ShardStats:
    applied: int = 0
    skipped_journaled: int = 0
    skipped_redelivered: int = 0
    poison: int = 0
    events_published: int = 0
    """Outcomes published."""
    event_messages: int = 0
    """Messages they travelled in (one per batch)."""
    relays_published: int = 0
    batches: int = 0
    started: float = field(default_factory=time.perf_counter)


class ShardEngine:
    """One shard engine: consume ``cmd.<shard>`` in order, journal, publish events, acknowledge.

    ``crash_hook(point)`` (tests only) is called at ``"after_submit"``, ``"after_flush"`` (the
    batch's block and stream position durable, together),
    ``"after_events_stored"`` (the batch's outcome message and relays acknowledged by the stream,
    not yet recorded as published), ``"after_publish"`` and ``"after_ack"`` of each batch;
    raising from it simulates a crash."""

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
        self._delivered = 0  # consumer sequence of the last message delivered by the current consumer
        self.stream_seq = 0  # last stream sequence consumed
        self._mapped_seq = 0  # engine sequence of that message
        self._evt_published = 0
        self.final_hash = ""
        self.final_seq = 0

    # -- start-up --------------------------------------------------------------------------
    async def start(self) -> ShardEngine:
        journal = SqliteJournal(self.journal_path, "group:60000")
        engine = Engine(self.shard_map.contexts(self.shard), journal, snapshot_every=self.snapshot_every)
        stream_seq, _, engine_seq = (journal.get_meta(META_POSITION) or "0:0").partition(":")
        self.stream_seq, self._mapped_seq = int(stream_seq), int(engine_seq)
        self._evt_published = int(journal.get_meta(META_EVT_PUBLISHED_SEQ) or 0)
        backlog: list[tuple[Stamp, Command, list[Event]]] = []
        recovering = True

        def keep_unpublished(stamp: Stamp, command: Command, events: list[Event]) -> None:
            if recovering and stamp.seq > self._evt_published:
                backlog.append((stamp, command, list(events)))

        engine.subscribe(keep_unpublished)
        snap = journal.latest_snapshot()
        engine.recover(use_snapshot=snap is not None and snap.seq <= self._evt_published)
        recovering = False
        self.engine = engine
        if backlog:
            log.info("shard %s: publishing %d outcome(s) left unpublished by the last run", self.shard, len(backlog))
            known = {int(seq): (int(cmd_seq), str(key)) for seq, cmd_seq, key in json.loads(journal.get_meta(META_BATCH) or "[]")}
            again = []
            for stamp, command, events in backlog:
                cmd_seq, key = known.get(stamp.seq, (0, ""))
                again.append(_Applied(stamp.seq, stamp.at_ns, command, events, cmd_seq, key, self.codec.encode(command)))
            await self._publish_outcomes(again)
            self._record_published(again[-1].seq, at_once=True)
        ack_floor = await self._ack_floor()
        if ack_floor > self.stream_seq:
            log.warning(
                "shard %s: the consumer acknowledged up to stream seq %d but the journal holds only up to %d; rebuilding from the stream",
                self.shard,
                ack_floor,
                self.stream_seq,
            )
        await self._subscribe()
        return self

    async def _subscribe(self) -> None:
        self._sub = await _consumer_from(
            self.js,
            CMD_STREAM,
            self.durable,
            cmd_subject(self.shard),
            self.stream_seq + 1,
            ack_wait_s=self.ack_wait_s,
            max_ack_pending=max(self.batch * 4, 1024),
        )
        self._delivered = 0

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
        msgs, gap = contiguous(msgs, self._delivered)
        if msgs:
            self._delivered = msgs[-1].metadata.sequence.consumer
            await resolve_bodies(self.js, msgs)
            await self._process(msgs)
        if gap:
            await self._resubscribe("a delivery was lost")
        return len(msgs) + gap

    async def _resubscribe(self, why: str) -> None:
        log.warning("shard %s: %s; re-creating the consumer from stream seq %d", self.shard, why, self.stream_seq + 1)
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except TRANSIENT_ERRORS:
                pass
        await self._subscribe()

    async def restart(self) -> None:
        """Crash-only recovery in place: close the engine and start again from the journal (the
        ordinary start-up path: unpublished outcomes published again, consumer re-created)."""
        await self.close()
        await self.start()

    async def run(self, stop: asyncio.Event | None = None, *, idle_exit_s: float | None = None, outage_s: float = 120.0) -> None:
        """Process until ``stop`` is set, or until nothing arrived for ``idle_exit_s`` seconds.

        A transient NATS failure (a node lost, a leader being elected) restarts the shard from its
        journal, after a short wait, for at most ``outage_s`` seconds in a row; then it is fatal."""
        idle_since = time.monotonic()
        failing_since: float | None = None
        while stop is None or not stop.is_set():
            try:
                if self.engine is None:
                    await self.start()
                taken = await self.step()
                failing_since = None
            except TRANSIENT_ERRORS as exc:
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > outage_s:
                    raise
                log.warning("shard %s: %s; restarting from the journal", self.shard, str(exc) or type(exc).__name__)
                await self.close()
                await asyncio.sleep(0.5)
                idle_since = time.monotonic()
                continue
            if taken:
                idle_since = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                return

    async def _process(self, msgs: Sequence[Msg]) -> None:
        engine = self.engine
        assert engine is not None
        hook = self.crash_hook or (lambda point: None)
        journal = engine.journal
        outcomes: list[_Applied] = []
        batch: list[tuple[int, int, str]] = []  # (engine seq, command stream seq, message id): nats.batch
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
            headers = msg.headers or {}
            batch.append((engine.seq + 1, sseq, headers.get(H_MSG_ID, "")))
            if self.snapshot_every and batch[-1][0] % self.snapshot_every == 0:
                # the engine snapshots after this command, which makes the batch so far durable: say
                # first which command each of those outcomes answers, or a crash before the batch's
                # end would republish them unnamed (an edge could not match them)
                journal.stage_meta(META_BATCH, _batch_meta(batch))
            journal.stamp_origin(origin_of_headers(headers))  # who sent it, recorded with the record
            outcome: Outcome = engine.submit(command, at_ns)
            journal.stamp_origin(None)
            self.stats.applied += 1
            # every outcome, empty ones too: the edge awaits each of its own, a projector checks seqs are contiguous
            outcomes.append(_Applied(outcome.seq, outcome.at_ns, command, outcome.events, sseq, batch[-1][2], msg.data))
        hook("after_submit")
        if batch:
            journal.stage_meta(META_BATCH, _batch_meta(batch))
        journal.stage_meta(META_POSITION, f"{self.stream_seq}:{self._mapped_seq}")
        engine.flush()  # the block, which commands it answers and the stream position: one commit
        hook("after_flush")
        if outcomes:
            await self._publish_outcomes(outcomes)
            hook("after_events_stored")
            every = self.snapshot_every
            snapshotted = bool(every) and (outcomes[0].seq - 1) // every != outcomes[-1].seq // every
            self._record_published(outcomes[-1].seq, at_once=snapshotted)
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
            raise DeterminismError(f"shard {self.shard}: stream seq {self.stream_seq} should be journal record {seq}, and is not")
        self.stats.skipped_journaled += 1

    # -- events out ------------------------------------------------------------------------
    async def _publish_outcomes(self, outcomes: Sequence[_Applied]) -> None:
        """Publish the outcomes of one batch to ``evt.<shard>`` as one message
        (`encode_outcome_batch`; the next timer read after the whole batch) and the relays they
        make, and await the stream's acknowledgements."""
        encoded = [[self.codec.encode(e) for e in o.events] for o in outcomes]
        entries = [
            OutcomeEntry(o.seq, o.at_ns, o.cmd_seq, o.key, o.relayed, o.body, bodies) for o, bodies in zip(outcomes, encoded, strict=True)
        ]
        body, headers = encode_outcome_batch(self.shard, entries, self._next_timer())
        body = await offload_body(self.js, f"evt.{self.shard}.{headers[H_SEQS]}", body, headers)
        futures = [await self.js.publish_async(evt_subject(self.shard), body, stream=EVT_STREAM, headers=headers)]
        self.stats.events_published += len(entries)
        self.stats.event_messages += 1
        if self.relay:
            futures.extend(await self._relay(outcomes, encoded))
        await asyncio.wait_for(asyncio.gather(*futures), 30.0)

    def _record_published(self, seq: int, *, at_once: bool) -> None:
        """Every outcome up to ``seq`` is in the event stream (a restart publishes only those
        after it). Staged: committed with the next batch's block (or alone when the journal
        closes), not in a commit of its own; a crash before then publishes this batch again on
        restart, the same batch under the same message id, as a crash before this line always did.
        ``at_once`` after a batch that took a snapshot (a restart starts from a snapshot only once
        the outcomes before it are known to be published, `start`) and after the start-up's
        republishing."""
        assert self.engine is not None
        self._evt_published = seq
        journal = self.engine.journal
        (journal.set_meta if at_once else journal.stage_meta)(META_EVT_PUBLISHED_SEQ, str(seq))

    async def _relay(self, outcomes: Sequence[_Applied], encoded: list[list[bytes]]) -> list[asyncio.Future[Any]]:
        """One `RelayShardEvents` per target for the whole batch (per Hong Kong day within it: the
        destination stamps the relay with its last outcome's time, and clearing dates a trade by
        that stamp), not one per outcome: the primary, which every trading shard relays to, pays
        per command. Exactly once holds as before: the relay names the batch's last sequence
        number (`RelayContext` skips one at or below what it applied), and a batch republished after
        a crash is the same batch (the outcomes above ``nats.evt_published_seq``: one batch at
        most), so the same relay under the same message id."""
        runs: list[tuple[int, int, int, dict[str, list[bytes]]]] = []  # (first seq, last seq, last at_ns, bodies by target)
        day = None
        for o, bodies in zip(outcomes, encoded, strict=True):
            if (today := hk_date(o.at_ns)) != day or not runs:
                day = today
                runs.append((o.seq, o.seq, o.at_ns, {}))
            first, _, _, by_target = runs[-1]
            runs[-1] = (first, o.seq, o.at_ns, by_target)
            for event, body in zip(o.events[o.relayed :], bodies[o.relayed :], strict=True):  # echoes: not sent back
                for target in self.shard_map.relay_targets(self.shard, event):
                    by_target.setdefault(target, []).append(body)
        futures = []
        for first, last, at_ns, by_target in runs:
            for target, carried in by_target.items():
                command = RelayShardEvents(source_shard=self.shard, source_seq=last, events=carried)
                headers = {H_MSG_ID: f"relay:{self.shard}:{first}-{last}@{target}", H_AT_NS: str(at_ns)}
                body = await offload_body(self.js, f"cmd.{headers[H_MSG_ID]}", self.codec.encode(command), headers)
                futures.append(await self.js.publish_async(cmd_subject(target), body, stream=CMD_STREAM, headers=headers))
                self.stats.relays_published += 1
        return futures

    def _next_timer(self) -> str:
        """``<due ns>:<index>`` of this shard's trading venue's next timer ("": none, or not a
        trading shard); the index tells two timers due at the same time apart."""
        trading: Any = self.engine.contexts.get("trading") if self.engine is not None else None
        timers, index = getattr(trading, "timers", None), getattr(trading, "timer_index", None)
        if not timers or index is None or index >= len(timers):
            return ""
        return f"{int(timers[index][0])}:{int(index)}"

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
    body: Command | None = None
    """The command itself (None only for outcomes published before the body carried it)."""
    key: str = ""
    """The ``Nats-Msg-Id`` of the command (`message_id`); empty for a relay."""
    stream_seq: int = 0
    """The event stream sequence of the message that carried it (a batch's outcomes share one)."""
    cmd_seq: int = 0
    """The command's stream sequence in ``LIONROCK_CMDS`` (0 if unknown)."""

    @property
    def own_events(self) -> list[Event]:
        """The events this shard produced: without the first `relayed` (echoes of another shard's
        events, which a projection takes from that shard)."""
        return self.events[self.relayed :]


def outcome_entries(msg: Msg) -> list[OutcomeEntry]:
    """The outcomes a message on ``evt.<shard>`` carries, still encoded: every outcome of a batch
    (header ``Lionrock-Seqs``), or the one outcome of a message published before batches (its
    fields in headers), so a stream written by an older shard stays readable."""
    h = msg.headers or {}
    if H_SEQS in h:
        return _BATCH_BODY.decode(msg.data)
    command, events = _OUTCOME_BODY.decode(msg.data)
    seq, at_ns, cmd_seq, relayed = int(h[H_SEQ]), int(h[H_AT_NS]), int(h.get(H_CMD_SEQ, 0)), int(h.get(H_RELAYED, 0))
    return [OutcomeEntry(seq, at_ns, cmd_seq, h.get(H_KEY, ""), relayed, command, events)]


def shard_outcome(entry: OutcomeEntry, shard: str, codec: Codec, stream_seq: int = 0) -> ShardOutcome:
    """``entry`` decoded (``stream_seq``: the event stream sequence of the message that carried it)."""
    body = codec.decode_command(entry.command)
    events = [codec.decode_event(b) for b in entry.events]
    name = type(body).__name__
    return ShardOutcome(shard, entry.seq, entry.at_ns, name, entry.relayed, events, body, entry.key, stream_seq, entry.cmd_seq)


def decode_outcomes(msg: Msg, shard: str, codec: Codec) -> list[ShardOutcome]:
    """Every outcome a message on ``evt.<shard>`` carries, decoded, in sequence order."""
    stream_seq = msg.metadata.sequence.stream
    return [shard_outcome(entry, shard, codec, stream_seq) for entry in outcome_entries(msg)]


def contiguous(msgs: Sequence[Msg], delivered: int) -> tuple[list[Msg], int]:
    """The messages of a fetch that follow ``delivered`` (the consumer sequence last seen) without a
    gap, and 1 if a gap follows them. A consumer numbers its deliveries 1, 2, 3…; a jump means a
    delivery was lost on the way (a node died between the server and this client) and the consumer
    must be re-created from the last position applied, or a message would be skipped."""
    out: list[Msg] = []
    for msg in msgs:
        if msg.metadata.sequence.consumer != delivered + 1:
            return out, 1
        out.append(msg)
        delivered += 1
    return out, 0


async def read_events(js: JetStreamContext, shard: str, *, codec: Codec | None = None, timeout_s: float = 1.0) -> list[ShardOutcome]:
    """Every outcome published so far on ``evt.<shard>``, in order, as published: an outcome
    republished outside the duplicate window appears twice (an ephemeral ordered read for
    projections and tests; a long-running projection would keep a durable consumer instead)."""
    codec = codec or Codec()
    sub = await js.pull_subscribe(
        evt_subject(shard), stream=EVT_STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=30.0)
    )
    out: list[ShardOutcome] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(1024, timeout=timeout_s)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            await resolve_bodies(js, msgs)
            out.extend(o for msg in msgs for o in decode_outcomes(msg, shard, codec))
    finally:
        await sub.unsubscribe()
    return out


async def _retrying(step: Callable[[], Awaitable[Any]], what: str, outage_s: float = 120.0) -> Any:
    """``step()`` again after transient NATS failures (a node lost, a leader being elected), for at
    most ``outage_s`` seconds; then the failure is fatal."""
    deadline = time.monotonic() + outage_s
    while True:
        try:
            return await step()
        except TRANSIENT_ERRORS as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("%s: %s; retrying", what, str(exc) or type(exc).__name__)
            await asyncio.sleep(0.5)


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
        runner = ShardEngine(js, shard, shard_map, journal_path, batch=batch, snapshot_every=snapshot_every)
        await _retrying(runner.restart, f"shard {shard}: start")  # restart: close what a failed try opened, start
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
    "BODY_BUCKET",
    "CMD_STREAM",
    "INLINE_MAX_BYTES",
    "EVT_STREAM",
    "TRANSIENT_ERRORS",
    "CommandProducer",
    "OutcomeEntry",
    "ProjectedEntry",
    "Published",
    "H_READ_POSITIONS",
    "READ_STREAM",
    "READ_SUBJECT",
    "ShardEngine",
    "ShardOutcome",
    "ShardStats",
    "cmd_subject",
    "connect",
    "connect_with_backoff",
    "contiguous",
    "decode_outcomes",
    "decode_projected",
    "encode_projected",
    "encode_outcome_batch",
    "default_key",
    "message_id",
    "offload_body",
    "resolve_bodies",
    "origin_headers",
    "outcome_entries",
    "origin_of_headers",
    "ensure_streams",
    "evt_subject",
    "read_events",
    "run_shard",
    "server_list",
    "shard_outcome",
]
