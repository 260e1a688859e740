"""The event hub: durable events fanned out to asyncio subscribers (WebSockets, FIX sessions)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lionrock.engine import Outcome
from lionrock.kernel.messages import Command, Event
from lionrock.readmodel.projector import parties_of


@dataclass(frozen=True)
class Published:
    """One event as the hub hands it to subscribers."""

    seq: int
    at_ns: int
    index: int
    event: Event
    parties: frozenset[str]
    instrument: str | None


class EventHub:
    """Fans durable events out to asyncio subscribers (WebSockets, FIX sessions).

    The engine thread calls `publish`; each subscriber has a bounded queue on its own loop. A
    subscriber that falls 10,000 events behind is dropped (its queue gets ``None``) rather than
    slowing the engine.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._subs: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue[Published | None], Callable[[Published], bool]]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self.limit = limit

    def subscribe(self, accept: Callable[[Published], bool]) -> tuple[int, asyncio.Queue[Published | None]]:
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[Published | None] = asyncio.Queue(self.limit)
        with self._lock:
            self._next += 1
            self._subs[self._next] = (loop, q, accept)
            return self._next, q

    def unsubscribe(self, sub_id: int) -> None:
        with self._lock:
            self._subs.pop(sub_id, None)

    def publish(self, batch: Sequence[tuple[Command, Outcome]]) -> None:
        with self._lock:
            subs = list(self._subs.items())
        if not subs:
            return
        accepted: list[list[Published]] = [[] for _ in subs]
        for _, outcome in batch:
            for i, event in enumerate(outcome.events):
                pub = Published(outcome.seq, outcome.at_ns, i, event, frozenset(parties_of(event)), getattr(event, "instrument", None))
                for k, (_, (_, _, accept)) in enumerate(subs):
                    if accept(pub):
                        accepted[k].append(pub)
        for (sub_id, (loop, q, _)), pubs in zip(subs, accepted, strict=True):
            if pubs:  # one wake-up of the subscriber's loop per batch, not one per event
                loop.call_soon_threadsafe(self._put, sub_id, q, pubs)

    def _put(self, sub_id: int, q: asyncio.Queue[Published | None], pubs: list[Published]) -> None:
        for pub in pubs:
            try:
                q.put_nowait(pub)
            except asyncio.QueueFull:
                self.unsubscribe(sub_id)
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(None)
                return


__all__ = ["EventHub", "Published"]
