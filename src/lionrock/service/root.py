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
from lionrock.kernel.messages import Command
from lionrock.readmodel.projector import Projector
from lionrock.readmodel.queries import projected_seq
from lionrock.service.auth import AuthStore, LoginThrottle, Principal, Role
from lionrock.service.contexts import default_contexts
from lionrock.service.core import MarketClock, WriterCore, market_clock, trading_ticker
from lionrock.service.hub import EventHub, Published
from lionrock.service.policy import Denied, Policy, ServiceLimits
from lionrock.service.writer_process import RemoteRunner
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
    """Everything ``lionrock serve`` runs, minus the network listeners.

    ``writer="thread"`` (the default) runs the `WriterCore` (journal, engine, projector) in this
    process; ``writer="process"`` runs it in a child process (`lionrock.service.writer_process`)
    and keeps here what the gateways need (read store, auth, policy, event hub): the two halves
    then have an interpreter each instead of sharing one GIL (bench api)."""

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
        writer: str = "thread",
    ) -> None:
        spec = StorageSpec(db)
        self.limits = limits or ServiceLimits()  # login throttle here; rates and body sizes at the HTTP edge
        self.spec = spec
        self.hub = EventHub()
        self.clock = clock
        """The sequencer's clock: a `MarketClock` can be moved forward by an operator (demo venues)."""
        self.policy = Policy(self.order_owner, self.known_id, extra_role_contexts)
        context_list = list(contexts) if contexts is not None else default_contexts()
        self.command_types: frozenset[type[Command]] = frozenset(t for c in context_list for t in c.command_types)
        """Every command type some context of this service executes."""
        self.core: WriterCore | None = None
        """The writer in this process (None with ``writer="process"``, or over the bus)."""
        if writer == "process":
            if contexts is not None:
                raise ValueError("writer='process' runs the default contexts (the child builds its own)")
            self.runner: Any = RemoteRunner(spec.db, durability=durability, snapshot_every=snapshot_every, clock=clock)
            self.runner.add_listener(self.hub.publish)
            try:
                self.runner.start()
            except BaseException:
                self.runner.stop()
                raise
            if self.runner.clock is not None:  # the venue reads the writer's market clock through a mirror
                self.clock = self.runner.clock
            self.read = SqlStore(spec.read_model_url)  # after the child made (or migrated) the read models
        elif writer == "thread":
            self.read = SqlStore(spec.read_model_url)
            self.core = WriterCore(
                spec, read=self.read, contexts=context_list, durability=durability, snapshot_every=snapshot_every, clock=clock
            )
            self.runner = self.core.runner
            self.runner.add_listener(self.hub.publish)
        else:
            raise ValueError(f"writer must be 'thread' or 'process', not {writer!r}")
        auth_store = self.read if spec.db == "memory:" else SqlStore(_auth_url(spec))
        self.auth = AuthStore(auth_store, throttle=_login_throttle(self.limits))
        if session_secret:
            self.auth.session_secret = session_secret
        if self.core is not None:
            try:
                self.core.start()
            except BaseException:
                self._close_stores()
                raise
        self.started_ns = time.time_ns()

    @property
    def projector(self) -> Projector:
        """The in-process read-model projector (``writer="thread"`` only)."""
        if self.core is None:
            raise AttributeError("the projector runs in the writer process")
        return self.core.projector

    @property
    def engine(self) -> Engine:
        """The in-process engine (``writer="thread"`` only): tests and tools, never a gateway."""
        if self.core is None:
            raise AttributeError("the engine runs in the writer process")
        return self.core.engine

    @property
    def journal(self) -> Any:
        if self.core is None:
            raise AttributeError("the journal is the writer process's")
        return self.core.journal

    def projected_seq(self) -> int:
        """The last sequence number the read models hold, from the read store itself (inside a read
        transaction: consistent with the rows it reads), wherever the projector runs."""
        return projected_seq(self.read)

    def journal_messages(self) -> list[str]:
        """What recovery reported about the journal (repairs, a torn tail), for the operator."""
        if self.core is not None:
            return list(self.core.journal.report.messages)
        return list(getattr(self.runner, "journal_messages", []))

    def use_bus(self, runner: Any) -> None:
        """Send every command through ``runner`` instead of the in-process engine: the shards over
        NATS JetStream (`lionrock.scale.edge.BusRunner`, ``lionrock serve --nats``). The read models
        are then the stream projector's (``lionrock project``), so only the event hub listens here.
        The in-process engine is stopped at once: its journal, and the writer's lock on it, are
        released, so any number of edges share one ``--db``."""
        runner.add_listener(self.hub.publish)
        runner.answer_when_readable = True  # the reads are the read model's: an answer is readable when given
        self.runner.stop()
        runner.start()
        self.runner = runner

    def start(self) -> Service:
        """The engine starts in the constructor (recovery included); kept for call sites' clarity."""
        return self

    def close(self) -> None:
        self.runner.stop()  # closes the engine and its journal on the writer thread (or process)
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
        if self.core is not None:
            seq, durable, contexts = self.core.engine.seq, self.core.journal.durable_seq, list(self.core.engine.contexts)
        else:
            seq, durable, contexts = self.runner.seq, self.runner.durable_seq, list(self.runner.contexts)
        return {
            "running": self.runner.running,
            "failure": repr(self.runner.failure) if self.runner.failure else None,
            "seq": seq,
            "durable_seq": durable,
            "projected_seq": self.projected_seq(),
            "contexts": contexts,
            "storage": "postgresql" if is_postgres(self.spec.db) else ("memory" if self.spec.db == "memory:" else "sqlite"),
            "writer": "thread" if self.core is not None else ("process" if hasattr(self.runner, "seq") else "bus"),
            "group_commits": getattr(self.runner, "batches", None),
            "commands_committed": getattr(self.runner, "commands", None),
        }


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
