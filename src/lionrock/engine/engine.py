"""The sequencer: stamps, journals, applies and publishes; recovery is the ordinary start-up path.

``submit(command, at_ns)`` gives the command the next sequence number and a time no earlier than
the previous command's, appends it to the journal, routes it to the one context that executes its
type, lets other contexts observe the events it produced, and publishes the lot to subscribers
(projections). Everything the contexts do is deterministic, so replaying the journal rebuilds the
same state, and `state_hash` proves it.

``submit_batch(batch, at_ns)`` is the batch path (DESIGN.md, "The batch path"): a
`lionrock.trading.batch.OrderBatch` of orders and cancels, one sequence number each, all stamped
``at_ns``. Each command is journaled as its own record (the body `submit` would write, so the CRC,
the hash chain, replay and `catch_up` are the per-command ones); the venue writes what they did
into an event tape; the contexts that observe trades (clearing) get the tape's trades, and
subscribers get each command's events, built from the tape only because they ask. With no
subscriber and no observer of a command's events, no Python event object is made for it.

A command the journal cannot hold (an integer outside signed 64 bits, which MessagePack, SQLite and
PostgreSQL all refuse somewhere) is refused before it is sequenced: `submit` answers an `Outcome`
with ``seq`` 0, no events and a ``COMMAND_NOT_ENCODABLE`` rejection, and nothing (sequence number,
clock, journal, state) moves. The edges' parsers should have refused it already; this is the
backstop that keeps one hostile command from stopping the engine for everyone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from lionrock.engine.journal import Journal, JournalRecord, MemoryJournal
from lionrock.kernel.context import Context
from lionrock.kernel.errors import (
    EngineCode,
    InvariantError,
    LionRockError,
    Reject,
    Rejection,
    invariant,
)
from lionrock.kernel.messages import Codec, Command, CommandRejected, Event, Stamp

try:  # the batch path routes to the context that executes PlaceOrder (trading, when built)
    from lionrock.trading.commands import PlaceOrder as _PLACE_ORDER
except ImportError:  # pragma: no cover - a build without the trading context
    _PLACE_ORDER = None  # type: ignore[misc,assignment]

MAX_EVENTS_PER_COMMAND = 10_000_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The integers every store can hold; a command with another integer is refused unsequenced."""
_UINT64_HIGH = re.compile(rb"\xcf[\x80-\xff]")
"""MessagePack's uint64 marker followed by a top byte with the high bit set: an integer of 2**63 or
more. Ints below are encoded otherwise, so an ordinary body (timestamps near 1.7e18 included) never
pays for the exact walk; a match inside a string's bytes only costs that walk."""


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """What one command did: its stamp, the events (its own and the reactions), any rejection.

    ``seq`` 0 means the command was refused before sequencing (`EngineCode.COMMAND_NOT_ENCODABLE`):
    it is not in the journal and changed nothing."""

    seq: int
    at_ns: int
    events: list[Event]
    rejection: Rejection | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None

    @property
    def sequenced(self) -> bool:
        return self.seq > 0


class BatchOutcome:
    """What a batch did: command ``i`` has sequence number ``first_seq + i``; its events
    (`events`, built from the tape when first asked, observers' reactions included) and its
    rejection (`rejection`); `outcome` gives the `Outcome` `submit` would have returned."""

    __slots__ = ("_built", "at_ns", "commands", "first_seq", "tape")

    def __init__(self, first_seq: int, at_ns: int, tape: Any, commands: list[Command]) -> None:
        self.first_seq = first_seq
        self.at_ns = at_ns
        self.tape = tape
        self.commands = commands
        self._built: dict[int, list[Event]] = {}

    def __len__(self) -> int:
        return len(self.commands)

    def rejection(self, i: int) -> Rejection | None:
        rejection: Rejection | None = self.tape.rejection(i)
        return rejection

    def events(self, i: int) -> list[Event]:
        built = self._built.get(i)
        if built is None:
            rejection = self.tape.rejection(i)
            if rejection is not None:
                built = [CommandRejected(command_type=type(self.commands[i]).__name__, rejection=rejection)]
            else:
                built = self.tape.events(i)
            self._built[i] = built
        return built

    def outcome(self, i: int) -> Outcome:
        return Outcome(self.first_seq + i, self.at_ns, self.events(i), self.rejection(i))


Subscriber = Callable[[Stamp, Command, list[Event]], None]


class DeterminismError(LionRockError):
    """A regenerated command differs from the one journaled at the same sequence number."""


class Engine:
    """One shard's sequencer over a set of bounded contexts."""

    def __init__(
        self,
        contexts: Iterable[Context],
        journal: Journal | None = None,
        *,
        snapshot_every: int = 0,
    ) -> None:
        self.contexts: dict[str, Context] = {}
        self._routes: dict[type, Context] = {}
        self._observers: dict[type, list[Context]] = {}
        for ctx in contexts:
            if ctx.name in self.contexts:
                raise InvariantError(f"Invariant: two contexts named {ctx.name}")
            self.contexts[ctx.name] = ctx
            for ctype in ctx.command_types:
                if ctype in self._routes:
                    raise InvariantError(f"Invariant: {ctype.__name__} routed to {self._routes[ctype].name} and {ctx.name}")
                self._routes[ctype] = ctx
            for etype in ctx.observed_event_types:
                self._observers.setdefault(etype, []).append(ctx)
        self.journal: Journal = journal if journal is not None else MemoryJournal()
        self.codec = Codec()
        self.snapshot_every = snapshot_every
        self.seq = 0
        self.last_at_ns = 0
        self._subscribers: list[Subscriber] = []
        self._catch_up: Iterator[JournalRecord] | None = None
        self._catch_up_until = 0
        self._replaying = False

    # -- start-up ----------------------------------------------------------------------------
    def recover(self, *, use_snapshot: bool = True, on_record: Callable[[int], None] | None = None) -> Engine:
        """Rebuild state from the journal: latest snapshot (if any, and wanted) plus the tail.

        ``on_record(seq)`` is called after each replayed record (progress display)."""
        after = 0
        snap = self.journal.latest_snapshot() if use_snapshot else None
        if snap is not None:
            self._restore(snap.state)
            if self.state_hash() != snap.state_hash:
                raise InvariantError(f"Invariant: snapshot at seq {snap.seq} restores to a different state hash")
            after = snap.seq
        self._replaying = True  # no automatic snapshots mid-replay: the journal is ahead of us
        try:
            for rec in self.journal.records(after):
                self._replay_record(rec)
                if on_record is not None:
                    on_record(rec.seq)
        finally:
            self._replaying = False
        return self

    def catch_up(self) -> Engine:
        """Resume a deterministic driver: it re-submits from the start; commands already in the
        journal are checked byte for byte against it and applied without being journaled again."""
        self._catch_up_until = self.journal.last_seq
        self._catch_up = iter(self.journal.records())
        return self

    @property
    def catching_up(self) -> bool:
        return self.seq < self._catch_up_until

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    # -- the command path ----------------------------------------------------------------------
    def submit(self, command: Command, at_ns: int) -> Outcome:
        seq = self.seq + 1
        at = at_ns if at_ns > self.last_at_ns else self.last_at_ns
        try:
            body = self.codec.encode(command)
        except (OverflowError, TypeError, ValueError, msgspec.EncodeError) as exc:
            return self._unencodable(command, at, str(exc))
        if _UINT64_HIGH.search(body) is not None:  # only then can an integer be above INT64_MAX
            field = _out_of_range_field(msgspec.to_builtins(command), "")
            if field is not None:
                return self._unencodable(command, at, "an integer outside signed 64 bits", field)
        self._journal(seq, at, command, body)
        try:
            outcome = self._apply(command, seq, at)
            if self.seq != seq or self.last_at_ns != at:  # (the check inline: `invariant` raises; this runs per command)
                invariant(False, "submit left the engine at seq %d, not %d", self.seq, seq)
            return outcome
        except Exception:
            # A bug (an invariant broke): the engine stops here. Records not yet durable were never
            # acknowledged, so they go too, and the command that crashed does not become durable
            # (with group commit) to crash every restart.
            self.journal.discard_pending()
            raise

    def submit_batch(self, batch: Any, at_ns: int) -> BatchOutcome:
        """Sequence, journal and apply a batch of trading orders and cancels (`OrderBatch`):
        the same records, state and events as `submit` of each command in turn at ``at_ns``."""
        n = len(batch)
        route = self._routes.get(_PLACE_ORDER) if _PLACE_ORDER is not None else None
        if route is None or not hasattr(route, "execute_batch"):
            raise InvariantError("Invariant: no context executes batches of orders")
        first = self.seq + 1
        at = at_ns if at_ns > self.last_at_ns else self.last_at_ns
        commands = batch.commands()
        encode = self.codec.encode
        for i, command in enumerate(commands):  # every int is a column of int64: always encodable
            self._journal(first + i, at, command, encode(command))
        try:
            tape = route.execute_batch(batch, first, at)
            invariant(self.seq == first - 1, "the batch's context moved the engine's seq to %d", self.seq)
            self.seq, self.last_at_ns = first + n - 1, at
            outcome = BatchOutcome(first, at, tape, commands)
            self._observe_batch(outcome)
            if self._subscribers:
                for i, command in enumerate(commands):
                    events = outcome.events(i)
                    for subscriber in self._subscribers:
                        subscriber(Stamp(first + i, at), command, events)
        except Exception:
            self.journal.discard_pending()
            raise
        every = self.snapshot_every
        if n and every and (first - 1) // every != (first + n - 1) // every and not self.catching_up and not self._replaying:
            self.snapshot()
        return outcome

    def _journal(self, seq: int, at: int, command: Command, body: bytes) -> None:
        """Append a sequenced command's record, or while catching up check it against the journal."""
        if seq <= self._catch_up_until:
            assert self._catch_up is not None
            rec = next(self._catch_up)
            if rec.seq != seq or rec.body != body or rec.at_ns != at:
                raise DeterminismError(
                    f"seq {seq}: the driver produced {type(command).__name__} at {at}, "
                    f"the journal has {self.codec.decode_command(rec.body)!r} at {rec.at_ns}"
                )
        else:
            if seq != self.journal.last_seq + 1:
                invariant(False, "journaling seq %d after %d", seq, self.journal.last_seq)
            self.journal.append(seq, at, body)

    def _observe_batch(self, outcome: BatchOutcome) -> None:
        """The observers' reactions to a batch's events, command by command as `_apply` runs
        them; only commands with an event of an observed type (trades for clearing; orders
        accepted and cancelled for Stock Connect, which gives back the quota of a cancelled
        southbound order) are built as events."""
        if not self._observers:
            return
        observed = outcome.tape.rows_observed(self._observers)
        observers = self._observers.get
        for row in sorted(observed):
            events = outcome.events(row)
            stamp = Stamp(outcome.first_seq + row, outcome.at_ns)
            for event in events:  # as `_apply`: the list iterator sees the reactions appended
                handlers = observers(type(event))
                if handlers is not None:
                    for observer in handlers:
                        events.extend(observer.observe(event, stamp))
                    if len(events) > MAX_EVENTS_PER_COMMAND:
                        raise InvariantError(f"Invariant: command {stamp.seq} produced more than {MAX_EVENTS_PER_COMMAND} events")

    def _unencodable(self, command: Command, at: int, why: str, field: str | None = None) -> Outcome:
        """The refusal of a command the journal cannot hold: nothing sequenced, nothing applied."""
        if field is None:
            field = _out_of_range_field(msgspec.to_builtins(command, enc_hook=repr), "") or ""
        rejection = Rejection(
            code=int(EngineCode.COMMAND_NOT_ENCODABLE),
            reason=EngineCode.COMMAND_NOT_ENCODABLE.name,
            field=field,
            message=f"{type(command).__name__} cannot be journaled ({why}); every integer must be within {INT64_MIN}..{INT64_MAX}",
            rule="journal format: MessagePack signed 64-bit integers (docs/architecture.md)",
        )
        return Outcome(0, at, [], rejection)

    def _replay_record(self, rec: JournalRecord) -> None:
        self._apply(self.codec.decode_command(rec.body), rec.seq, rec.at_ns)

    def _apply(self, command: Command, seq: int, at: int) -> Outcome:
        if seq != self.seq + 1:  # (the invariants inline, as in `submit`)
            invariant(False, "applying seq %d after %d", seq, self.seq)
        if at < self.last_at_ns:
            invariant(False, "seq %d stamped %d, before the previous command's %d", seq, at, self.last_at_ns)
        self.seq = seq
        self.last_at_ns = at
        stamp = Stamp(seq, at)
        ctx = self._routes.get(type(command))
        rejection: Rejection | None = None
        if ctx is None:
            rejection = Rejection(
                code=int(EngineCode.UNKNOWN_COMMAND),
                reason=EngineCode.UNKNOWN_COMMAND.name,
                field="type",
                message=f"no context executes {type(command).__name__}",
            )
            events: list[Event] = [CommandRejected(command_type=type(command).__name__, rejection=rejection)]
        else:
            try:
                events = ctx.execute(command, stamp)
            except Reject as r:
                rejection = r.rejection
                events = [CommandRejected(command_type=type(command).__name__, rejection=rejection)]
            if type(events) is not list:
                invariant(False, "%s answered %s with %r, not a list of events", ctx.name, type(command).__name__, events)
        if self._observers:
            observers = self._observers.get
            for event in events:  # a list iterator sees what the loop appends: reactions to reactions
                handlers = observers(type(event))
                if handlers is not None:
                    for observer in handlers:
                        events.extend(observer.observe(event, stamp))
                    if len(events) > MAX_EVENTS_PER_COMMAND:
                        raise InvariantError(f"Invariant: command {seq} produced more than {MAX_EVENTS_PER_COMMAND} events")
        for subscriber in self._subscribers:
            subscriber(stamp, command, events)
        if self.snapshot_every and seq % self.snapshot_every == 0 and not self.catching_up and not self._replaying:
            self.snapshot()
        return Outcome(seq, at, events, rejection)

    def flush(self) -> None:
        """Make every journaled command durable (call before acknowledging outcomes)."""
        journaled = self.journal.last_seq
        self.journal.flush()
        invariant(
            self.journal.durable_seq >= journaled, "flush left seq %d not durable (durable to %d)", journaled, self.journal.durable_seq
        )

    # -- state -----------------------------------------------------------------------------
    def snapshot(self) -> str:
        state = msgspec.msgpack.encode(
            {"seq": self.seq, "at_ns": self.last_at_ns, "contexts": {n: c.snapshot() for n, c in self.contexts.items()}}
        )
        digest = self.state_hash()
        self.journal.save_snapshot(self.seq, self.last_at_ns, state, digest)
        return digest

    def _restore(self, state: bytes) -> None:
        data: dict[str, Any] = msgspec.msgpack.decode(state)
        self.seq, self.last_at_ns = int(data["seq"]), int(data["at_ns"])
        for name, ctx in self.contexts.items():
            ctx.restore(data["contexts"][name])

    def state_hash(self) -> str:
        """SHA-256 over a canonical encoding of the whole state (sorted keys, implementation-free)."""
        return state_hash_of(self.seq, self.last_at_ns, {n: c.canonical_state() for n, c in self.contexts.items()})

    def close(self) -> None:
        self.journal.close()


_CANONICAL = msgspec.msgpack.Encoder(order="sorted")


def _out_of_range_field(value: Any, path: str) -> str | None:
    """The dotted path of the first integer outside signed 64 bits in ``value`` (builtins), if any."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None if INT64_MIN <= value <= INT64_MAX else (path or "(command)")
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _out_of_range_field(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def state_hash_of(seq: int, at_ns: int, contexts: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(_CANONICAL.encode({"seq": seq, "at_ns": at_ns}))
    for name in sorted(contexts):
        h.update(name.encode())
        h.update(_CANONICAL.encode(contexts[name]))
    return h.hexdigest()


__all__ = ["INT64_MAX", "INT64_MIN", "BatchOutcome", "DeterminismError", "Engine", "Outcome", "Subscriber", "state_hash_of"]
