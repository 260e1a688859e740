"""The projector over the event streams: every shard's ``evt.<shard>`` folded into the read models.

`lionrock project --nats URL --db postgresql://…` runs one. The read-model tables and their
folding are the single-process service's (`lionrock.readmodel.projector.Projector`); what this
module adds is the ordering and the exactly-once bookkeeping across shards:

* **Exactly once by (shard, seq).** Each shard numbers its outcomes 1, 2, 3… (its engine
  sequence; every outcome is published, empty ones too, one message per processed batch). The
  read model stores, per shard, the last outcome applied and the stream sequence to resume from
  (``rm_meta`` key ``stream.<shard>`` = ``"<stream seq>:<shard seq>"``), written in the same
  transaction as the rows it covers. Deduplication is per outcome, never per message: an outcome
  at or below the shard's position is a duplicate (published again by a restarted shard outside
  the stream's duplicate window, perhaps in a message whose later outcomes are new) and is
  skipped; one above the next expected is held until the missing one arrives (a shard that lost a
  publish during a leader election publishes it again, after later ones), so the read model never
  skips an outcome. The stream position moves past a message only once all its outcomes are in.
* **One read-model order.** The read model's ``seq`` columns are the projector's own counter
  (``projected_seq``), one per outcome projected, in the order projected: two shards' engine
  sequences overlap, and the projector's balance fold needs one increasing number. Within a shard
  the order is the shard's; across shards it is arrival order. Trading shards number their orders
  in disjoint ranges (`ShardMap.order_id_base`), so order ids do not collide either.
* **Echoes skipped.** A relayed outcome re-emits the carried events first (``Lionrock-Relayed``);
  those are the source shard's events and are projected from the source shard only.
* **Resume and rebuild.** A restart re-creates each shard's consumer from the stored stream
  position; ``rebuild`` empties the read model and projects the streams from their start.

What the event streams cannot give, since no engine runs here: the rows the single-process
projector computes from the engine's offering context when an offering is allocated (the
allocation per account and the allotment announcement). Everything else is the same rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats.errors
from nats.js import JetStreamContext

from lionrock.engine import Outcome
from lionrock.kernel.messages import Codec, Command, Event
from lionrock.readmodel.projector import Projector
from lionrock.scale.nats import (
    EVT_STREAM,
    H_MSG_ID,
    H_READ_POSITIONS,
    READ_STREAM,
    READ_SUBJECT,
    TRANSIENT_ERRORS,
    ShardOutcome,
    _consumer_from,
    _retrying,
    connect_with_backoff,
    contiguous,
    decode_outcomes,
    encode_projected,
    evt_subject,
    resolve_bodies,
)
from lionrock.scale.sharding import RelayShardEvents, ShardMap
from lionrock.storage.sql import SqlStore

log = logging.getLogger("lionrock.project")

POSITION_KEY = "stream.{shard}"
MAX_HELD = 100_000
"""Outcomes held per shard while an earlier one is missing; more is a bug (or a lost shard)."""


@dataclass
class ProjectorStats:
    projected: int = 0
    announced: int = 0
    duplicates: int = 0
    held: int = 0
    resubscribed: int = 0
    started: float = field(default_factory=time.perf_counter)


class StreamProjector:
    """Folds every shard's outcomes into one read model, exactly once by (shard, seq)."""

    def __init__(
        self, js: JetStreamContext, shard_map: ShardMap, store: SqlStore, *, batch: int = 512, fetch_timeout_s: float = 0.5
    ) -> None:
        self.js = js
        self.shard_map = shard_map
        self.store = store
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.projector = Projector(store)
        self.codec = Codec()
        self.stats = ProjectorStats()
        self.positions: dict[str, tuple[int, int]] = {s: self._load_position(s) for s in shard_map.shards}
        self._held: dict[str, dict[int, ShardOutcome]] = {s: {} for s in shard_map.shards}
        self._subs: dict[str, JetStreamContext.PullSubscription] = {}
        self._delivered: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._announced_positions = ""

    # -- positions -----------------------------------------------------------------------------
    def _load_position(self, shard: str) -> tuple[int, int]:
        row = self.store.one("SELECT value FROM rm_meta WHERE key = ?", (POSITION_KEY.format(shard=shard),))
        stream_seq, _, seq = (str(row[0]) if row else "0:0").partition(":")
        return int(stream_seq), int(seq)

    def position(self, shard: str) -> int:
        """The last outcome of ``shard`` in the read model (its engine sequence)."""
        return self.positions[shard][1]

    # -- consuming -----------------------------------------------------------------------------
    def durable(self, shard: str) -> str:
        return f"project-{shard}"

    async def start(self) -> StreamProjector:
        for shard in self.shard_map.shards:
            await self._subscribe(shard)
        return self

    async def _subscribe(self, shard: str) -> None:
        self._subs[shard] = await _consumer_from(
            self.js,
            EVT_STREAM,
            self.durable(shard),
            evt_subject(shard),
            self.positions[shard][0] + 1,
            ack_wait_s=300.0,
            max_ack_pending=max(self.batch * 4, 1024),
        )
        self._delivered[shard] = 0
        self._held[shard].clear()

    async def _resubscribe(self, shard: str, why: str) -> None:
        log.warning(
            "projector: %s on %s; re-creating its consumer from stream seq %d", why, evt_subject(shard), self.positions[shard][0] + 1
        )
        self.stats.resubscribed += 1
        sub = self._subs.pop(shard, None)
        if sub is not None:
            try:
                await sub.unsubscribe()
            except TRANSIENT_ERRORS:
                pass
        await self._subscribe(shard)

    async def step(self, shard: str, timeout_s: float | None = None) -> int:
        """Fetch one batch of ``shard``'s outcomes and project what is new; the number taken.
        Nothing is fetched while the shard's next outcome waits for its source's (a shard far
        ahead of another, as in a rebuild, would otherwise hold without bound)."""
        if self._waiting_for_source(shard):
            await asyncio.sleep(timeout_s or self.fetch_timeout_s)
            return 0
        try:
            msgs = await self._subs[shard].fetch(self.batch, timeout=timeout_s or self.fetch_timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            return 0
        msgs, gap = contiguous(msgs, self._delivered[shard])
        if msgs:
            self._delivered[shard] = msgs[-1].metadata.sequence.consumer
            await resolve_bodies(self.js, msgs)
            outcomes = [o for m in msgs for o in decode_outcomes(m, shard, self.codec)]
            async with self._lock:
                projected = await asyncio.to_thread(self._project, shard, outcomes)
                await self._announce(projected)  # under the lock: announced in the read model's order
                await self._release_relays()
            await msgs[-1].ack()
        if gap:
            await self._resubscribe(shard, "a delivery was lost")
        return len(msgs) + gap

    def _before_its_source(self, outcome: ShardOutcome) -> bool:
        """A relayed batch whose source outcomes are not in the read model yet (the primary
        clearing a trade its trading shard's outcome has not brought in): held, so the read
        model, and the events the edges announce from it, keep cause before effect across shards
        (the primary's TradeCleared after the TradeExecuted it clears), as one process does."""
        body = outcome.body
        return (
            isinstance(body, RelayShardEvents)
            and body.source_shard in self.positions
            and self.positions[body.source_shard][1] < body.source_seq
        )

    def _waiting_for_source(self, shard: str) -> bool:
        head = self._held[shard].get(self.positions[shard][1] + 1)
        return head is not None and self._before_its_source(head)

    async def _release_relays(self) -> None:
        """Project the relayed outcomes held for a source that has caught up since (and, in a
        chain, what waited for those): a shard whose next outcome is held but no longer waits."""
        released = True
        while released:
            released = False
            for shard, held in self._held.items():
                if self.positions[shard][1] + 1 in held and not self._waiting_for_source(shard):
                    await self._announce(await asyncio.to_thread(self._project, shard, []))
                    released = True

    ANNOUNCE_CHUNK = 128
    """Outcomes per `READ_SUBJECT` message (well under the server's message size limit)."""

    async def _announce(self, projected: list[tuple[Command, Outcome]]) -> None:
        """Publish what was just committed, under its read-model sequences, with every shard's
        position in the read model (`H_READ_POSITIONS`), for the edges (`lionrock.scale.edge`):
        their event hubs take the events, their answers wait for the positions. After the commit,
        so nothing is announced that a restart could project differently; nothing is published
        when nothing moved. The message id names the content: announced twice, stored once. A crash
        between the commit and this loses the announcement (the read model has it; a WebSocket
        client's next snapshot and a FIX session's recovery read it there; an edge's waiting
        answer comes with the next announcement, or times out as a 504 that a retry answers)."""
        positions = ",".join(f"{s}={self.positions[s][1]}" for s in self.shard_map.shards)
        if not projected and positions == self._announced_positions:
            return
        self._announced_positions = positions
        moved = sum(p for _, p in self.positions.values())  # grows with every outcome: with the span, a unique id
        chunks = [projected[i : i + self.ANNOUNCE_CHUNK] for i in range(0, len(projected), self.ANNOUNCE_CHUNK)] or [[]]
        for chunk in chunks:
            body = encode_projected(chunk, self.codec)
            span = f"{chunk[0][1].seq}-{chunk[-1][1].seq}" if chunk else str(self.projector.projected_seq)
            headers = {H_MSG_ID: f"read-{span}-{moved}", H_READ_POSITIONS: positions}

            async def publish(body: bytes = body, headers: dict[str, str] = headers) -> None:
                await self.js.publish(READ_SUBJECT, body, stream=READ_STREAM, headers=headers)

            await _retrying(publish, "projector: announcing projected outcomes")
        self.stats.announced += len(projected)

    def _project(self, shard: str, outcomes: list[ShardOutcome]) -> list[tuple[Command, Outcome]]:
        """Project the outcomes that come next for ``shard`` (holding any that arrive early) and
        store its position, in one read-model transaction; the outcomes projected, under their
        read-model sequences."""
        stream_seq, seq = self.positions[shard]
        held = self._held[shard]
        for o in outcomes:
            if o.seq <= seq or o.seq in held:
                self.stats.duplicates += 1
            else:
                held[o.seq] = o
        ready: list[ShardOutcome] = []
        while seq + 1 in held and not self._before_its_source(held[seq + 1]):
            seq += 1
            ready.append(held.pop(seq))
        if len(held) > MAX_HELD:
            raise RuntimeError(f"Invariant: {len(held)} outcomes of shard {shard} wait for seq {seq + 1}, which never came")
        self.stats.held = sum(len(h) for h in self._held.values())
        if not held and outcomes:  # everything delivered so far is applied: resume after the last delivered
            stream_seq = max(stream_seq, outcomes[-1].stream_seq)
        batch: list[tuple[Command, Outcome]] = []
        next_seq = self.projector.projected_seq
        for o in ready:
            events: list[Event] = o.own_events
            if events and o.body is not None:
                next_seq += 1
                batch.append((o.body, Outcome(next_seq, o.at_ns, events)))
        with self.store.transaction():
            self.projector.on_batch(batch)  # joins this transaction; saves projected_seq
            self.store.execute(
                "INSERT INTO rm_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (POSITION_KEY.format(shard=shard), f"{stream_seq}:{seq}"),
            )
        self.positions[shard] = (stream_seq, seq)
        self.stats.projected += len(batch)
        return batch

    async def run_shard(
        self, shard: str, stop: asyncio.Event | None = None, *, idle_exit_s: float | None = None, outage_s: float = 120.0
    ) -> None:
        """Project ``shard`` until ``stop``, or ``idle_exit_s`` without news. A transient NATS
        failure re-creates its consumer from the stored position (fatal after ``outage_s``)."""
        idle_since = time.monotonic()
        failing_since: float | None = None
        while stop is None or not stop.is_set():
            try:
                if shard not in self._subs:
                    await self._subscribe(shard)
                taken = await self.step(shard)
                failing_since = None
            except TRANSIENT_ERRORS as exc:
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > outage_s:
                    raise
                log.warning("projector: %s: %s; re-subscribing", shard, str(exc) or type(exc).__name__)
                self._subs.pop(shard, None)
                await asyncio.sleep(0.5)
                idle_since = time.monotonic()
                continue
            if taken or self._waiting_for_source(shard):  # waiting is not idle: its news is held
                idle_since = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                return

    async def run(self, stop: asyncio.Event | None = None, *, idle_exit_s: float | None = None) -> None:
        """Every shard at once (one task each; one read-model transaction at a time)."""
        await asyncio.gather(*(self.run_shard(s, stop, idle_exit_s=idle_exit_s) for s in self.shard_map.shards))

    async def close(self) -> None:
        for sub in self._subs.values():
            try:
                await sub.unsubscribe()
            except TRANSIENT_ERRORS:
                pass
        self._subs.clear()


def empty_read_model(store: SqlStore) -> None:
    """Drop every read-model table and position, so the projector rebuilds from the streams."""
    if store.postgres:
        store.execute(f"DROP SCHEMA IF EXISTS {store.schema} CASCADE")
        store.execute(f"CREATE SCHEMA {store.schema}")
        return
    for (name,) in store.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        store.execute(f'DROP TABLE IF EXISTS "{name}"')


async def run_projector(
    url: str,
    shard_map: ShardMap,
    db: str,
    *,
    rebuild: bool = False,
    batch: int = 512,
    idle_exit_s: float | None = None,
    stop: asyncio.Event | None = None,
    on_started: Callable[[StreamProjector], Awaitable[None] | None] | None = None,
    connect_attempts: int = 5,
) -> StreamProjector | None:
    """Connect, open the read model of ``db`` (the ``--db`` value ``lionrock serve`` takes: for
    ``postgresql://…?schema=NAME`` the schema ``NAME_read``), project until stopped or idle.
    None if stopped before a server answered."""
    from lionrock.scale.nats import ensure_streams
    from lionrock.storage.locations import StorageSpec

    connected = await connect_with_backoff(url, attempts=connect_attempts, stop=stop)
    if connected is None:
        return None
    nc, js = connected
    store = SqlStore(StorageSpec(db).read_model_url)
    try:
        if rebuild:
            empty_read_model(store)
        await ensure_streams(js)
        projector = StreamProjector(js, shard_map, store, batch=batch)  # each shard subscribes in its own loop, retrying
        if on_started is not None:
            result = on_started(projector)
            if asyncio.iscoroutine(result):
                await result
        try:
            await projector.run(stop, idle_exit_s=idle_exit_s)
        finally:
            await projector.close()
        return projector
    finally:
        store.close()
        await nc.drain()


__all__ = ["POSITION_KEY", "ProjectorStats", "StreamProjector", "empty_read_model", "run_projector"]
