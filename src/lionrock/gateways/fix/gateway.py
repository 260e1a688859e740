"""FIX 4.4 order entry: an asyncio TCP acceptor (loopback by default) on one `Service`.

The gateway is composed of its modules: `framing` (bytes <-> messages, the encoder's control
character guard), `session` (Logon, sequence numbers, resend, heartbeats, throttle, session-level
rejects; `SessionState` per CompID pair, `FixSession` per connection), `orders` (order messages ->
trading commands), `reports` (order events -> ExecutionReports), `store` (the session store) and
`tags` (FIX tag numbers and values by name). `FixGateway` accepts connections, restores every
stored pair at start-up and stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from lionrock.gateways.fix.session import FixSession, SessionState
from lionrock.gateways.fix.store import FixSessionStore, fix_store_url
from lionrock.service.auth import AuthError
from lionrock.service.root import Service

DEFAULT_THROTTLE_PER_SECOND = 10_000
"""Application messages a FIX session may send in one second (`session.FixSession._check_application`).
HKEX sells OCG-C throttles in units of 2 messages per second; a test venue's default is high
enough for the FIX benchmark's pipelined burst and is lowered per gateway (``throttle_per_second``)."""


class FixGateway:
    """Accepts FIX 4.4 sessions on ``host:port`` for one `Service`, with the sessions' state in
    ``store`` (by default the `FixSessionStore` beside the service's storage, see `fix_store_url`),
    each session throttled to ``throttle_per_second`` application messages."""

    def __init__(
        self,
        service: Service,
        host: str = "127.0.0.1",
        port: int = 9878,
        *,
        comp_id: str = "LIONROCK",
        resend_window: int = 100_000,
        logon_timeout_s: float = 10.0,
        store: FixSessionStore | None = None,
        throttle_per_second: int = DEFAULT_THROTTLE_PER_SECOND,
        throttle_clock: Callable[[], float] = time.time,
    ) -> None:
        if throttle_per_second < 1:
            raise ValueError(f"throttle_per_second must be at least 1 message per second, got {throttle_per_second}")
        self.service, self.host, self.port = service, host, port
        self.throttle_per_second = throttle_per_second
        self.throttle_clock = throttle_clock  # wall-clock seconds: windows start at whole seconds (OCG-C)
        self.comp_id = comp_id
        self.comp_id_bytes = comp_id.encode()
        self.logon_timeout_s = logon_timeout_s
        self._owns_store = store is None
        self.store = store if store is not None else FixSessionStore.open(fix_store_url(service.spec), window=resend_window)
        self.resend_window = self.store.window
        self.stopped = False
        self._server: asyncio.Server | None = None
        self.sessions: set[FixSession] = set()
        self.states: dict[tuple[str, str], SessionState] = {}  # (SenderCompID, TargetCompID) -> its state
        self.completers: set[asyncio.Future[None]] = set()  # sessions answering pipelined orders

    async def start(self) -> None:
        self._restore()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)

    def _restore(self) -> None:
        """Every stored pair gets its state back before the first connection: numbers from the
        store, subscribed to the event hub again (so reports produced before its client logs on
        again are numbered and stored), order views rebuilt from the read models."""
        for stored in self.store.sessions():
            st = SessionState(
                self,
                stored.key,
                in_seq=stored.in_seq,
                out_seq=stored.out_seq,
                persistent=True,
                saved_in_seq=stored.in_seq,
                owner=stored.owner,
                position=stored.reported or (0, 0),
                resume_from=stored.reported,
                recovered=False,
            )
            self.states[stored.key] = st
            try:
                st.principal = self.service.auth.principal(stored.owner, via="fix")
            except AuthError:  # the owner is gone or disabled: numbers kept, reported if it logs on again
                continue
            st.subscribe()  # before `recover` reads the read models: see there why nothing is lost or doubled
            st.recover()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = FixSession(self, reader, writer, last_recv=time.monotonic(), last_send=time.monotonic())
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    async def stop(self) -> None:
        self.stopped = True
        if self._server is not None:
            self._server.close()
            for st in self.states.values():
                st.unsubscribe()
            for s in list(self.sessions):
                s.closed = True
                s.writer.close()
            for task in list(self.completers):  # orders still in the engine queue: not answered
                task.cancel()  # (their MsgSeqNums are not saved; the counterparty resends them)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self._owns_store:
            self.store.close()


__all__ = ["DEFAULT_THROTTLE_PER_SECOND", "FixGateway"]
