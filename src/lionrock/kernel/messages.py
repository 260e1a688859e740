"""Commands and events: frozen, keyword-only, slotted msgspec Structs, tagged by class name.

Each concrete class registers itself, so the engine can decode any journaled command and any
published event without a hand-kept list. The wire form is MessagePack (journal) or JSON (API),
``{"type": "PlaceOrder", ...}``. `SCHEMA_VERSION` and `OUTCOME_VERSION` are stored in every
journal; a journal written under another version of either is refused rather than misread.
"""

from __future__ import annotations

from typing import Any, ClassVar, Union

import msgspec

from lionrock.kernel.errors import InvariantError, Rejection

SCHEMA_VERSION = 2
"""2 (December 2026): an offering's waiver ladder holds exact-rate thresholds, and the offering
spec gained the offer size adjustment split and the basis curves; a schema-1 journal is refused."""

OUTCOME_VERSION = 2
"""What the core computes from the same commands, stored in every journal beside the schema: a
change that gives other outcomes for commands a journal may already hold bumps it, and a journal
written under another outcome version is refused (replaying it would not reach the state its
answers were given from). 1: every journal before this version was stored (none recorded). 2 (7 Dec
2026): the placing fill is exact (Fraction weights) where the float solver's noise could move a
lot; the 10% employee reserved-share cap (Rule 10.01); employee reserved shares count toward the
40% bookbuilding minimum; the reallocation of a placing shortfall stops at the 15% allocation cap
from 4 Aug 2025."""

_COMMANDS: list[type[Command]] = []
_EVENTS: list[type[Event]] = []


class Command(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """An instruction to the core, imperative (``PlaceOrder``). Time comes from the sequencer."""

    context: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _COMMANDS.append(cls)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """A fact the core decided, past tense (``OrderAccepted``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _EVENTS.append(cls)


class Stamp(msgspec.Struct, frozen=True, gc=False):
    """Sequence number and time the sequencer gave a command; every event of it carries these."""

    seq: int
    at_ns: int


class CommandRejected(Event, frozen=True):
    """The command was refused and changed nothing; ``command_type`` names it."""

    command_type: str
    rejection: Rejection


def _concrete(types: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for t in types:
        tag = t.__struct_config__.tag
        other = seen.get(tag)
        if other is not None and other is not t:
            raise InvariantError(f"Invariant: message tag {tag!r} used by {other.__module__} and {t.__module__}")
        seen[tag] = t
    return list(seen.values())


def command_types() -> list[type[Command]]:
    return _concrete(_COMMANDS)


def event_types() -> list[type[Event]]:
    return _concrete(_EVENTS)


class Codec:
    """Encode and decode any registered command or event (MessagePack and JSON)."""

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._built_for = -1
        self._command_decoder: msgspec.msgpack.Decoder[Command] | None = None
        self._event_decoder: msgspec.msgpack.Decoder[Event] | None = None
        self._json_command_decoder: msgspec.json.Decoder[Command] | None = None

    def _build(self) -> None:
        if self._built_for == len(_COMMANDS) + len(_EVENTS):
            return
        commands = Union[tuple(command_types())]  # type: ignore[valid-type]  # noqa: UP007
        events = Union[tuple(event_types())]  # type: ignore[valid-type]  # noqa: UP007
        self._command_decoder = msgspec.msgpack.Decoder(commands)
        self._event_decoder = msgspec.msgpack.Decoder(events)
        self._json_command_decoder = msgspec.json.Decoder(commands)
        self._built_for = len(_COMMANDS) + len(_EVENTS)

    def encode(self, message: Command | Event) -> bytes:
        return self._encoder.encode(message)

    def decode_command(self, data: bytes) -> Command:
        self._build()
        assert self._command_decoder is not None
        return self._command_decoder.decode(data)

    def decode_event(self, data: bytes) -> Event:
        self._build()
        assert self._event_decoder is not None
        return self._event_decoder.decode(data)

    def command_from_json(self, data: bytes | str) -> Command:
        """Decode and type-check a command from JSON (edge validation; errors name the field)."""
        self._build()
        assert self._json_command_decoder is not None
        return self._json_command_decoder.decode(data)


__all__ = ["OUTCOME_VERSION", "SCHEMA_VERSION", "Codec", "Command", "CommandRejected", "Event", "Stamp", "command_types", "event_types"]
