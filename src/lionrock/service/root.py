"""The service: journal, engine, runner, read models, auth and the event hub, wired together.

`Service` is what ``lionrock serve`` runs and what the REST API and the FIX gateway share. Start-up
is recovery: open the journal, replay it (the projector catches the read models up on the way),
then start the writer thread. Every command from outside goes through `Service.submit`, which
checks the caller's role and tenancy, audits the attempt, and waits for the durable outcome.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec

from lionrock.engine import Engine, Origin, Outcome
from lionrock.kernel.context import Context
from lionrock.kernel.errors import InvariantError
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.readmodel.projector import Projector
from lionrock.service.auth import AuthStore, LoginThrottle, Principal, Role
from lionrock.service.contexts import default_contexts
from lionrock.service.hub import EventHub, Published
from lionrock.service.policy import Denied, Policy, ServiceLimits
from lionrock.service.writer import EngineRunner
from lionrock.storage.locations import StorageSpec, is_postgres
from lionrock.storage.sql import SqlStore


def _auth_url(spec: StorageSpec) -> str:
    if spec.db == "memory:":
        return ":memory:"
    if is_postgres(spec.db):
        return spec.read_model_url.replace("_read", "_auth")
    path = Path(spec.db)
    return str(path.with_name(path.stem + ".auth.db"))


def auth_store_url(db: str) -> str:
    """Where the users, keys and audit log of the ``--db`` store ``db`` live (``lionrock users``
    opens them without starting a service): ``<path minus .db>.auth.db`` beside a SQLite store,
    schema ``NAME_auth`` on PostgreSQL; ``memory:`` keeps them with the read models."""
    return _auth_url(StorageSpec(db))


class Service:
    """Everything ``lionrock serve`` runs, minus the network listeners."""

    def __init__(
        self,
        db: str = "memory:",
        *,
        contexts: Iterable[Context] | None = None,
        durability: str = "group:2",
        snapshot_every: int = 0,
        clock: Callable[[], int] = time.time_ns,
        session_secret: bytes | None = None,
        extra_role_contexts: dict[Role, set[str]] | None = None,
        limits: ServiceLimits | None = None,
    ) -> None:
        spec = StorageSpec(db)
        self.limits = limits or ServiceLimits()  # login throttle here; rates and body sizes at the HTTP edge
        self.spec = spec
        self.read = SqlStore(spec.read_model_url)
        self._contexts: dict[str, Context] = {}
        self.projector = Projector(self.read, offering_context=lambda: self._contexts["offering"])
        auth_store = self.read if spec.db == "memory:" else SqlStore(_auth_url(spec))
        self.auth = AuthStore(auth_store, throttle=_login_throttle(self.limits))
        if session_secret:
            self.auth.session_secret = session_secret
        self.hub = EventHub()
        self.clock = clock
        """The sequencer's clock: a `MarketClock` can be moved forward by an operator (demo venues)."""
        self.policy = Policy(self.order_owner, self.known_id, extra_role_contexts)
        context_list = list(contexts) if contexts is not None else default_contexts()
        self.command_types: frozenset[type[Command]] = frozenset(t for c in context_list for t in c.command_types)
        """Every command type some context of this service executes."""
        self._replaying = True

        def build_engine() -> Engine:  # runs on the writer thread (SQLite connections are per thread)
            journal = spec.open_journal(durability)
            try:
                engine = Engine(context_list, journal, snapshot_every=snapshot_every)
                self._contexts = engine.contexts  # read by the projector on this thread only
                engine.subscribe(self._replay_feed)
                self._recover(engine)
                if isinstance(clock, MarketClock):  # not behind the journal's last command time
                    clock.resume_after(engine.last_at_ns)
                self._replaying = False
                self.projector.finish_replay()
            except BaseException:
                journal.close()
                raise
            return engine

        ticker = trading_ticker if any(c.name == "trading" for c in context_list) else None
        self.runner = EngineRunner(build_engine, clock=clock, ticker=ticker)
        self.runner.add_staged_listener(self.projector.on_batch_staged)  # its SQL overlaps the fsync, committed after it
        self.runner.add_listener(self.hub.publish)
        try:
            self.runner.start()
        except BaseException:
            self._close_stores()
            raise
        self.engine = self.runner.engine
        self.journal = self.engine.journal
        self.started_ns = time.time_ns()

    def use_bus(self, runner: Any) -> None:
        """Send every command through ``runner`` instead of the in-process engine: the shards over
        NATS JetStream (`lionrock.scale.edge.BusRunner`, ``lionrock serve --nats``). The read models
        are then the stream projector's (``lionrock project``), so only the event hub listens here."""
        runner.add_listener(self.hub.publish)
        runner.replaces(self.runner)
        runner.start()
        self.runner = runner

    def _recover(self, engine: Engine) -> None:
        """Recovery restores the engine from the latest snapshot and replays only the records after
        it, so a read model behind the snapshot (deleted, or an older copy) would never see the
        records in between. Then replay the whole journal instead, without the snapshot: the
        projector gets every record it lacks (it skips up to ``projected_seq``), the state ends the
        same, and on the way the state at the snapshot's seq is checked against its hash."""
        snap = engine.journal.latest_snapshot()
        if snap is None or self.projector.projected_seq >= snap.seq:
            engine.recover()
            return

        def check(seq: int) -> None:
            if seq == snap.seq and engine.state_hash() != snap.state_hash:
                raise InvariantError(f"Invariant: replay reaches a different state at snapshot seq {snap.seq}")

        every, engine.snapshot_every = engine.snapshot_every, 0  # replaying records takes no new snapshots
        try:
            engine.recover(use_snapshot=False, on_record=check)
        finally:
            engine.snapshot_every = every

    def _replay_feed(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        if self._replaying:
            self.projector.on_replay(stamp, command, events)

    def start(self) -> Service:
        """The engine starts in the constructor (recovery included); kept for call sites' clarity."""
        return self

    def close(self) -> None:
        self.runner.stop()  # closes the engine and its journal on the writer thread
        self._close_stores()

    def _close_stores(self) -> None:
        self.read.close()
        if self.auth.store is not self.read:
            self.auth.store.close()

    # -- commands ---------------------------------------------------------------------------------
    def authorize(self, principal: Principal, command: Command) -> list[tuple[str, str]]:
        """Raise `Denied` (audited) or return the grants to apply if the command is accepted."""
        try:
            return self.policy.check(principal, command)
        except Denied as d:
            self._audit_denied(principal, command, d)
            raise

    def _audit_denied(self, principal: Principal, command: Command, denied: Denied) -> None:
        self.auth.audit(
            principal.username,
            str(principal.role),
            principal.via,
            f"command:{type(command).__name__}",
            _target(command),
            "denied",
            denied.message,
        )

    async def submit(self, principal: Principal, command: Command) -> Outcome:
        """Authorise, queue behind the commands before it, wait for the durable outcome. The
        journal records the command with who sent it and through which channel (`Origin`), so
        nothing else is written per command; a policy check that reads the read model (an order's
        owner, a known id) runs off the event loop."""
        if _reads_store(type(command)):
            grants = await asyncio.to_thread(self.authorize, principal, command)
        else:
            try:
                grants = self.policy.check(principal, command)
            except Denied as d:  # the audit row is SQL: off the loop
                await asyncio.to_thread(self._audit_denied, principal, command, d)
                raise
        outcome = await self.runner.submit_async(command, origin_of(principal))
        if outcome.rejection is None and grants:
            await asyncio.to_thread(self._grant, principal, grants)
        return outcome

    def enqueue(self, principal: Principal, command: Command) -> tuple[asyncio.Future[Outcome], list[tuple[str, str]]]:
        """`submit` without waiting, for a gateway on the event loop that pipelines a session's
        orders: authorise (raises `Denied`) and queue ``command`` behind those queued before it;
        the caller passes each outcome, in order, to `settle`."""
        grants = self.authorize(principal, command)
        return self.runner.submit_on_loop(command, origin_of(principal)), grants

    def settle(self, principal: Principal, command: Command, outcome: Outcome, grants: list[tuple[str, str]]) -> None:
        """What `submit` does once the outcome is durable (the grants of a creating command), for `enqueue`."""
        if outcome.rejection is None and grants:
            self._grant(principal, grants)

    def submit_sync(self, principal: Principal, command: Command, timeout: float = 30.0) -> Outcome:
        grants = self.authorize(principal, command)
        outcome = self.runner.submit_wait(command, timeout, origin_of(principal))
        self.settle(principal, command, outcome, grants)
        return outcome

    async def read_async(self, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``query(read store, *args, **kwargs)`` in a worker thread: no SQL on the event loop that
        also runs every FIX session."""
        return await asyncio.to_thread(functools.partial(query, self.read, *args, **kwargs))

    def _grant(self, principal: Principal, grants: list[tuple[str, str]]) -> None:
        self.auth.grant(
            principal.username,
            offerings=[v for k, v in grants if k == "offering"],
            issuers=[v for k, v in grants if k == "issuer"],
        )

    # -- read-model lookups used by the policy --------------------------------------------------
    def order_owner(self, order_id: int, participant: str = "", client_order_id: str = "") -> str | None:
        """The account of an order, by venue id or (id 0) by participant and client order id."""
        if order_id:
            row = self.read.one("SELECT account FROM orders WHERE order_id = ?", (order_id,))
        else:
            row = self.read.one(
                "SELECT account FROM orders WHERE participant = ? AND client_order_id = ? ORDER BY order_id DESC LIMIT 1",
                (participant, client_order_id),
            )
        return None if row is None else str(row[0])

    def known_id(self, kind: str, value: str) -> bool:
        column = {"offering": "offering_id", "issuer": "issuer_id"}[kind]
        return self.read.one(f"SELECT 1 FROM events WHERE {column} = ? LIMIT 1", (value,)) is not None

    def health(self) -> dict[str, Any]:
        return {
            "running": self.runner.running,
            "failure": repr(self.runner.failure) if self.runner.failure else None,
            "seq": self.engine.seq,
            "durable_seq": self.journal.durable_seq,
            "projected_seq": self.projector.projected_seq,
            "contexts": list(self.engine.contexts),
            "storage": "postgresql" if is_postgres(self.spec.db) else ("memory" if self.spec.db == "memory:" else "sqlite"),
        }


def trading_ticker(engine: Engine, at_ns: int) -> Command | None:
    """A `TradingTick` when one of the trading venue's timers is due at ``at_ns`` (the venue
    refuses other commands while a timer is overdue; timers arrive as commands, never by clock)."""
    ctx: Any = engine.contexts.get("trading")
    timers = getattr(ctx, "timers", None)
    index = getattr(ctx, "timer_index", None)
    if not timers or index is None or index >= len(timers) or timers[index][0] > at_ns:
        return None
    from lionrock.trading.commands import TradingTick

    return TradingTick()


class MarketClock:
    """A clock that starts at ``start_ns`` (e.g. a trading day's 09:30 HKT) and runs at ``speed``.

    After a restart the journal already holds commands stamped up to some moment, which may be
    past the configured start: a clock started there again would run behind the journal, the
    sequencer would stamp every command with the journal's last time (time never goes back) and
    the venue's timers would never come due. `resume_after` (called once recovery is done)
    moves the clock's origin to the later of the start and the journal's last time, and it runs
    on from there."""

    def __init__(self, start_ns: int, speed: float = 1.0) -> None:
        self.start_ns = start_ns
        self.speed = speed
        self._base_ns = start_ns
        self._origin = time.monotonic_ns()

    def __call__(self) -> int:
        return self._base_ns + int((time.monotonic_ns() - self._origin) * self.speed)

    def advance_to(self, at_ns: int) -> bool:
        """Move the clock forward to ``at_ns`` and run on from there (a demo venue's operator
        skipping to the next session or to T+2); never back, so the sequencer's stamps stay in
        order. True if it moved."""
        if at_ns <= self():
            return False
        self._base_ns = at_ns
        self._origin = time.monotonic_ns()
        return True

    def resume_after(self, last_ns: int) -> None:
        """Continue from the journal's last command time if the clock is behind it (never back)."""
        if last_ns > self():
            self._base_ns = last_ns
            self._origin = time.monotonic_ns()


def market_clock(start_ns: int, speed: float = 1.0) -> MarketClock:
    """A `MarketClock` from ``start_ns``; the service resumes it from the journal after recovery."""
    return MarketClock(start_ns, speed)


def _login_throttle(limits: ServiceLimits) -> LoginThrottle:
    return LoginThrottle(
        failures_per_user=limits.login_failures_per_user,
        failures_per_address=limits.login_failures_per_address,
        backoff_s=limits.login_backoff_s,
        backoff_max_s=limits.login_backoff_max_s,
        forget_s=limits.login_forget_s,
    )


def origin_of(principal: Principal) -> Origin:
    """Who sent a command and through which channel, as the server authenticated it (never a
    field the client sets): the journal records it with the command."""
    return Origin(principal.username, _CHANNELS.get(principal.via, principal.via))


_CHANNELS = {"session": "REST", "api_key": "REST", "web": "WEB", "fix": "FIX"}
"""`Principal.via` (how the caller signed in) -> the channel recorded in the journal."""
_STORE_FIELDS = frozenset({"order_id", "offering_id", "issuer_id"})


@functools.cache
def _reads_store(command_type: type[Command]) -> bool:
    """Whether the policy's check of this command type may read the read model (an order's owner,
    whether an offering or issuer id is known), so it must run off the event loop."""
    return bool(_STORE_FIELDS & set(command_type.__struct_fields__)) or any(
        "Struct" in str(f.type) or "list" in str(f.type)
        for f in msgspec.structs.fields(command_type)
        if f.name not in ("price", "quantity")
    )


def _target(command: Command) -> str:
    for name in ("order_id", "client_order_id", "offering_id", "issuer_id", "account", "instrument"):
        value = getattr(command, name, None)
        if value not in (None, ""):
            return f"{name}={value}"
    inner = getattr(command, "order", None)
    return _target(inner) if isinstance(inner, Command) else type(command).__name__


__all__ = ["EventHub", "MarketClock", "Published", "Service", "auth_store_url", "market_clock", "trading_ticker"]
