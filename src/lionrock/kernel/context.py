"""The port every bounded context implements so the engine can drive it.

A context owns its state. ``execute`` validates a command completely (raising `Reject` before any
change), then mutates its state and returns the events; ``observe`` reacts to events published by
other contexts (clearing settles the trades that trading reports) and must not reject: a failure
it sees is itself an event. Nothing here may read the clock, draw unseeded randomness or do I/O.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from lionrock.kernel.messages import Command, Event, Stamp


@runtime_checkable
class Context(Protocol):
    name: ClassVar[str]
    command_types: ClassVar[tuple[type[Command], ...]]
    """The commands this context executes (each type belongs to exactly one context)."""
    observed_event_types: ClassVar[tuple[type[Event], ...]]
    """Events of other contexts this context reacts to."""

    def execute(self, command: Command, stamp: Stamp) -> list[Event]: ...

    def observe(self, event: Event, stamp: Stamp) -> list[Event]: ...

    def snapshot(self) -> Any:
        """State as MessagePack-encodable builtins or Structs, enough for `restore`."""
        ...

    def restore(self, data: Any) -> None: ...

    def canonical_state(self) -> Any:
        """State in a form that does not depend on the implementation, for `state_hash`."""
        ...


__all__ = ["Context"]
