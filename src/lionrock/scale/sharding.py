"""Sharding: which shard engine runs a command, and which events cross from one shard to another.

The scale-out topology (docs/scale-out.md) has two kinds of shard:

* **trading shards** (any names, e.g. ``t0``, ``t1``): each runs a `TradingContext` holding the
  order books of the instruments routed to it;
* one **primary shard** (``primary``): listing, offering, clearing and connect.

`ShardMap.route` is a pure, deterministic function of the command (a CRC-32 of the instrument
code, never Python's salted ``hash``). Session commands that are not about one instrument
(`StartTradingDay`, `TradingTick`) go to every trading shard. The two counters of a dual-counter
stock (``82525`` and ``02525``) always share a shard, because the venue pairs them.

Reactions across contexts on different shards travel as commands: a shard's outcome events that a
context on another shard observes (clearing observes `TradeExecuted` and `InstrumentListed`;
connect observes order events; trading observes `SouthboundOrderAdmitted`) are carried to that
shard's command stream as one `RelayShardEvents` command per source batch (`ShardEngine._relay`,
named by the batch's last sequence number). The destination's
`RelayContext` hands the events to the engine, which offers them to its observers exactly as if
they had been produced locally, in the destination stream's order, so each shard stays a
deterministic fold over its own command stream. The relay context remembers the last source
sequence number applied per source shard, so a relayed batch delivered twice is applied once.

Only events that can change the destination are relayed: a context may narrow what it observes
with a pure ``observes(event)`` (connect acts on the acceptance or rejection of southbound orders
only), so a trading shard does not relay every order's acceptance to the primary, which is the
first process to saturate as shards are added (``bench cluster``: CPU per order).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lionrock.kernel.context import Context
from lionrock.kernel.messages import Codec, Command, Event, Stamp

PRIMARY = "primary"
PRIMARY_ROLE = "primary"
TRADING_ROLE = "trading"

# Trading commands addressed to one instrument's book, and session commands every book needs.
_INSTRUMENT_COMMANDS = ("ListInstrument", "DesignateShortSelling", "PlaceOrder", "CancelOrder", "AmendOrder")
_BROADCAST_COMMANDS = ("StartTradingDay", "TradingTick")
ORDER_ID_SPAN = 1 << 40
"""Order ids each trading shard may hand out (about 1.1 trillion); 8,192 shards stay below 2**53,
the largest integer a JSON client reads exactly."""


class RelayShardEvents(Command, frozen=True):
    """Events another shard published, offered to this shard's observers: those of one batch of
    its outcomes (``source_seq``: the batch's last engine sequence number). ``events`` are the
    journal encoding of each event (MessagePack)."""

    source_shard: str
    source_seq: int
    events: list[bytes]


class RelayContext:
    """Applies `RelayShardEvents`: returns the carried events so the engine offers them to this
    shard's observers. A batch at or below the last applied ``source_seq`` of its source is a
    duplicate and changes nothing (no events)."""

    name: ClassVar[str] = "relay"
    command_types: ClassVar[tuple[type[Command], ...]] = (RelayShardEvents,)
    observed_event_types: ClassVar[tuple[type[Event], ...]] = ()

    def __init__(self) -> None:
        self.last_seq: dict[str, int] = {}
        self._codec = Codec()

    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        assert isinstance(command, RelayShardEvents)
        if command.source_seq <= self.last_seq.get(command.source_shard, 0):
            return []
        events = [self._codec.decode_event(body) for body in command.events]
        self.last_seq[command.source_shard] = command.source_seq
        return events

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        return []

    def snapshot(self) -> Any:
        return {"last_seq": dict(self.last_seq)}

    def restore(self, data: Any) -> None:
        self.last_seq = {str(k): int(v) for k, v in data["last_seq"].items()}

    def canonical_state(self) -> Any:
        return {"last_seq": dict(self.last_seq)}


def instrument_key(instrument: str) -> str:
    """The routing key of an instrument: the RMB counter ``8xxxx`` of a dual-counter stock routes
    with its HKD counter ``0xxxx``, so the venue's counter pairing stays on one shard."""
    if len(instrument) == 5 and instrument.isdigit() and instrument[0] == "8":
        return "0" + instrument[1:]
    return instrument


def _instrument_of(message: Any) -> str | None:
    instrument = getattr(message, "instrument", None)
    if isinstance(instrument, str):
        return instrument
    order = getattr(message, "order", None)  # SouthboundOrderAdmitted(order: PlaceOrder)
    instrument = getattr(order, "instrument", None)
    return instrument if isinstance(instrument, str) else None


@dataclass(frozen=True)
class ShardMap:
    """The shard names and the routing function. ``pinned`` places an instrument on a named
    trading shard explicitly (hot stocks get a shard of their own)."""

    trading_shards: tuple[str, ...]
    primary: str = PRIMARY
    pinned: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.trading_shards:
            raise ValueError("a shard map needs at least one trading shard")
        names = (*self.trading_shards, self.primary)
        if len(set(names)) != len(names):
            raise ValueError(f"shard names must be distinct: {names}")
        for name in names:
            if not name or not all(c.isalnum() or c in "-_" for c in name):
                raise ValueError(f"shard name {name!r}: use letters, digits, '-' or '_' (it is a NATS subject token)")
        for instrument, shard in self.pinned.items():
            if shard not in self.trading_shards:
                raise ValueError(f"instrument {instrument} pinned to {shard!r}, which is not a trading shard")

    @property
    def shards(self) -> tuple[str, ...]:
        return (*self.trading_shards, self.primary)

    def role_of(self, shard: str) -> str:
        if shard == self.primary:
            return PRIMARY_ROLE
        if shard in self.trading_shards:
            return TRADING_ROLE
        raise ValueError(f"unknown shard {shard!r}; shards are {self.shards}")

    def shard_of_instrument(self, instrument: str) -> str:
        key = instrument_key(instrument)
        pinned = self.pinned.get(instrument) or self.pinned.get(key)
        if pinned is not None:
            return pinned
        return self.trading_shards[zlib.crc32(key.encode()) % len(self.trading_shards)]

    def route(self, command: Command) -> tuple[str, ...]:
        """The shard(s) whose stream carries ``command``, in a fixed order."""
        kind = type(command).__name__
        if kind in _INSTRUMENT_COMMANDS:
            instrument = _instrument_of(command)
            assert instrument is not None, f"{kind} without an instrument"
            return (self.shard_of_instrument(instrument),)
        if kind in _BROADCAST_COMMANDS:
            return self.trading_shards
        if isinstance(command, RelayShardEvents):
            raise ValueError("RelayShardEvents is addressed by the relay, not routed")
        return (self.primary,)

    def relay_targets(self, source_shard: str, event: Event) -> tuple[str, ...]:
        """The other shards with a context that observes ``event`` (published by ``source_shard``)."""
        if self.role_of(source_shard) == TRADING_ROLE:
            return (self.primary,) if observes(PRIMARY_ROLE, event) else ()
        if not observes(TRADING_ROLE, event):
            return ()
        instrument = _instrument_of(event)
        return self.trading_shards if instrument is None else (self.shard_of_instrument(instrument),)

    def order_id_base(self, shard: str) -> int:
        """Where a trading shard's order ids start (exclusive): ``index * ORDER_ID_SPAN``, so the
        ids two shards hand out never collide (a client, the read model's ``orders`` table and
        the clearing ledger see one venue-wide id space); the first trading shard starts at 0,
        as a single-process venue does."""
        return self.trading_shards.index(shard) * ORDER_ID_SPAN

    def contexts(self, shard: str) -> list[Context]:
        """Fresh contexts for ``shard``: `shard_contexts` of its role, a trading shard numbering
        its orders from `order_id_base` (part of its state, so part of its state hash)."""
        role = self.role_of(shard)
        contexts = shard_contexts(role)
        if role == TRADING_ROLE:
            base = self.order_id_base(shard)
            for ctx in contexts:
                if ctx.name == "trading":
                    ctx.next_order_id = base + 1  # type: ignore[attr-defined]
        return contexts

    @classmethod
    def parse(cls, trading: str, primary: str = PRIMARY) -> ShardMap:
        """``"t0,t1,t2"`` -> a map with those trading shards."""
        return cls(tuple(s.strip() for s in trading.split(",") if s.strip()), primary)


def shard_contexts(role: str) -> list[Context]:
    """Fresh contexts for a shard of ``role``, in a fixed order (part of the state hash)."""
    from lionrock.service.contexts import default_contexts

    if role == TRADING_ROLE:
        chosen = [c for c in default_contexts() if c.name == "trading"]
    elif role == PRIMARY_ROLE:
        chosen = [c for c in default_contexts() if c.name != "trading"]
    else:
        raise ValueError(f"unknown shard role {role!r}")
    return [*chosen, RelayContext()]


_OBSERVERS: dict[str, dict[type, tuple[Callable[[Event], bool], ...]]] = {}


def _always(event: Event) -> bool:
    return True


def _observers(role: str) -> dict[type, tuple[Callable[[Event], bool], ...]]:
    """Per event type, the ``observes`` test of each context of ``role`` observing it."""
    if role not in _OBSERVERS:
        tests: dict[type, list[Callable[[Event], bool]]] = {}
        for ctx in shard_contexts(role):
            for kind in ctx.observed_event_types:
                tests.setdefault(kind, []).append(getattr(ctx, "observes", _always))
        _OBSERVERS[role] = {kind: tuple(found) for kind, found in tests.items()}
    return _OBSERVERS[role]


def observed_by(role: str) -> frozenset[type]:
    """Event types some context of ``role`` observes."""
    return frozenset(_observers(role))


def observes(role: str, event: Event) -> bool:
    """Whether ``event`` can change a context of ``role``: its type is observed there, and the
    observing context's ``observes(event)`` (when it has one) says so."""
    return any(test(event) for test in _observers(role).get(type(event), ()))


def split_by_shard(shard_map: ShardMap, commands: Iterable[Command]) -> dict[str, list[Command]]:
    """Each shard's commands in input order (broadcast commands appear in every trading shard)."""
    out: dict[str, list[Command]] = {s: [] for s in shard_map.shards}
    for command in commands:
        for shard in shard_map.route(command):
            out[shard].append(command)
    return out


__all__ = [
    "ORDER_ID_SPAN",
    "PRIMARY",
    "PRIMARY_ROLE",
    "TRADING_ROLE",
    "RelayContext",
    "RelayShardEvents",
    "ShardMap",
    "instrument_key",
    "observed_by",
    "observes",
    "shard_contexts",
    "split_by_shard",
]
