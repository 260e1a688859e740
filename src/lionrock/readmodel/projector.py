"""Read models: the engine's events folded into tables the API and dashboard query.

Reads never touch the engine. The projector writes each batch while the writer makes it durable
(`EngineRunner.add_staged_listener`: one read-model transaction per batch, committed only after
the journal's flush, and before any caller gets its answer, so a caller reads its own writes) and,
at start-up, during journal replay, skipping what it has
already applied (``meta.projected_seq``), so the read models survive restarts and can be rebuilt
by deleting them.

A batch's rows are gathered first and written with one statement per table (`_Batch`; on
PostgreSQL one multi-row ``INSERT … SELECT … FROM jsonb_array_elements(…)`` each, in pipeline mode,
run by the server while the journal's flush is in flight), so a batch of
sixteen orders is about ten statements and one commit, not a dozen statements per order. On
PostgreSQL the read-model transaction commits with ``synchronous_commit`` off: it does not wait for
its own WAL flush (the journal's commit did). A server crash can lose the last read-model
transactions, never part of one, and ``projected_seq`` goes with them, so start-up projects those
records again from the journal, as SQLite's ``synchronous=NORMAL`` read model does.

Tables: ``events`` (every event, as JSON, with its parties for tenancy filters), ``orders``
(status, filled and remaining per order), ``trades``, ``balances`` (the clearing ledger: every
event's ``postings`` folded into a balance per account and asset; the source of truth for
positions), ``holdings`` (shares and cash moved by executed trades, per account: trade flow
awaiting settlement, for display only), ``rejections``, ``bars`` (one-minute OHLCV per
instrument, aligned to Hong Kong time; longer intervals are added up from them when read).
Everything else (offerings, issuers, quota) is read from
``events`` by key, so the read side works for any context's events without a schema change.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, NamedTuple

import msgspec

from lionrock.connect.events import SouthboundOrderAdmitted
from lionrock.engine import Outcome
from lionrock.kernel.account import house_account
from lionrock.kernel.messages import Command, CommandRejected, Event, Stamp
from lionrock.kernel.price import consideration_minor
from lionrock.listing.events import IssuerProfileSubmitted, ListingApplicationFiled
from lionrock.offering.events import OfferingAllocated
from lionrock.readmodel import derived
from lionrock.storage.migrations import Migration, has_column, migrate
from lionrock.storage.sql import SqlStore
from lionrock.trading.events import (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    OrderRetryAcknowledged,
    TradeExecuted,
)
from lionrock.trading.marketdata import bar_start

BAR_SECONDS = 60

_DDL = [
    "CREATE TABLE IF NOT EXISTS rm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS events (
         seq BIGINT NOT NULL, idx BIGINT NOT NULL, at_ns BIGINT NOT NULL, type TEXT NOT NULL,
         body TEXT NOT NULL, offering_id TEXT, issuer_id TEXT, instrument TEXT, command_type TEXT,
         PRIMARY KEY (seq, idx))""",
    "CREATE INDEX IF NOT EXISTS events_offering ON events (offering_id, seq)",
    "CREATE INDEX IF NOT EXISTS events_issuer ON events (issuer_id, seq)",
    "CREATE INDEX IF NOT EXISTS events_type ON events (type, seq)",
    """CREATE TABLE IF NOT EXISTS event_parties (
         party TEXT NOT NULL, seq BIGINT NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY (party, seq, idx))""",
    """CREATE TABLE IF NOT EXISTS orders (
         order_id BIGINT PRIMARY KEY, instrument TEXT NOT NULL, participant TEXT NOT NULL,
         account TEXT NOT NULL, client_order_id TEXT NOT NULL, side TEXT NOT NULL,
         order_type TEXT NOT NULL, price BIGINT NOT NULL, quantity BIGINT NOT NULL,
         filled BIGINT NOT NULL, status TEXT NOT NULL, channel TEXT NOT NULL,
         reason TEXT NOT NULL, created_seq BIGINT NOT NULL, updated_seq BIGINT NOT NULL,
         at_ns BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS orders_account ON orders (account, order_id)",
    "CREATE INDEX IF NOT EXISTS orders_participant ON orders (participant, client_order_id)",
    "CREATE INDEX IF NOT EXISTS orders_book ON orders (instrument, status, side, price)",
    """CREATE TABLE IF NOT EXISTS trades (
         instrument TEXT NOT NULL, trade_id BIGINT NOT NULL, price BIGINT NOT NULL,
         quantity BIGINT NOT NULL, currency TEXT NOT NULL, buyer TEXT NOT NULL,
         buyer_participant TEXT NOT NULL, buy_order_id BIGINT NOT NULL, seller TEXT NOT NULL,
         seller_participant TEXT NOT NULL, sell_order_id BIGINT NOT NULL, aggressor TEXT NOT NULL,
         seq BIGINT NOT NULL, at_ns BIGINT NOT NULL, PRIMARY KEY (instrument, trade_id))""",
    """CREATE TABLE IF NOT EXISTS bars (
         instrument TEXT NOT NULL, start_ns BIGINT NOT NULL, open BIGINT NOT NULL, high BIGINT NOT NULL,
         low BIGINT NOT NULL, close BIGINT NOT NULL, volume BIGINT NOT NULL, turnover BIGINT NOT NULL,
         trades BIGINT NOT NULL, PRIMARY KEY (instrument, start_ns))""",
    """CREATE TABLE IF NOT EXISTS holdings (
         account TEXT NOT NULL, asset TEXT NOT NULL, amount BIGINT NOT NULL,
         PRIMARY KEY (account, asset))""",
    """CREATE TABLE IF NOT EXISTS balances (
         account TEXT NOT NULL, asset TEXT NOT NULL, amount BIGINT NOT NULL, updated_seq BIGINT NOT NULL,
         PRIMARY KEY (account, asset))""",
    """CREATE TABLE IF NOT EXISTS rejections (
         seq BIGINT NOT NULL, idx BIGINT NOT NULL, command_type TEXT NOT NULL, code BIGINT NOT NULL,
         reason TEXT NOT NULL, field TEXT NOT NULL, message TEXT NOT NULL, rule TEXT NOT NULL,
         participant TEXT, account TEXT, client_order_id TEXT, PRIMARY KEY (seq, idx))""",
]

OPEN_STATUSES = ("new", "partially_filled")
PARTY_FIELDS = ("account", "buyer", "seller", "applicant", "investor", "placee", "owner", "holder", "debit", "credit")
"""Event fields naming an account (tenancy: an investor sees the events naming its accounts)."""


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return getattr(obj, name, default)


def _add_postings(delta: dict[tuple[str, str], int], postings: Any) -> None:
    """Each posting moves ``amount`` of ``asset`` from ``source`` to ``destination``."""
    for p in postings:
        source, destination, asset, amount = (p.source, p.destination, p.asset, p.amount) if hasattr(p, "source") else p
        delta[(source, asset)] = delta.get((source, asset), 0) - amount
        delta[(destination, asset)] = delta.get((destination, asset), 0) + amount


_PARTY, _PARTICIPANT, _LISTED, _NESTED = range(4)
_PARTY_LISTS = frozenset(("holds", "allotments", "refunds", "results", "allocations"))
_PLANS: dict[type, tuple[tuple[str, int, bool], ...]] = {}


def _may_hold_struct(tp: Any) -> bool:
    """Whether a field of this (resolved) type can hold a nested message."""
    if tp is Any or tp is object:
        return True
    if isinstance(tp, type):
        return issubclass(tp, msgspec.Struct)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_may_hold_struct(arg) for arg in typing.get_args(tp))
    return False


def _plan(cls: type) -> tuple[tuple[str, int, bool], ...]:
    """The fields of a message type that can name a party, read once per type: (name, what its
    name says it holds, whether it can hold a nested message). Fields that can do neither (prices,
    quantities, most of them) are not in the plan, so `parties_of` never reads them."""
    plan: list[tuple[str, int, bool]] = []
    for f in msgspec.structs.fields(cls):
        name, nested = f.name, _may_hold_struct(f.type)
        if name in PARTY_FIELDS or name.endswith("_account"):
            plan.append((name, _PARTY, nested))
        elif name == "participant" or name.endswith("_participant"):
            plan.append((name, _PARTICIPANT, nested))
        elif name in _PARTY_LISTS:
            plan.append((name, _LISTED, nested))
        elif nested:
            plan.append((name, _NESTED, True))
    _PLANS[cls] = found = tuple(plan)
    return found


def parties_of(message: Any, depth: int = 0) -> set[str]:
    """Accounts and participants named by an event (or a nested order inside it): fields named for
    an account (`PARTY_FIELDS`, ``*_account``) or a participant (its house account), nested
    messages two levels down, and the first element (or nested message) of the listed results."""
    cls = type(message)
    plan = _PLANS.get(cls)
    if plan is None:
        if not isinstance(message, msgspec.Struct):
            return set()
        plan = _plan(cls)
    out: set[str] = set()
    for name, kind, nested in plan:
        value = getattr(message, name)
        if isinstance(value, str):
            if value and kind == _PARTY:
                out.add(value)
            elif value and kind == _PARTICIPANT:
                out.add(house_account(value))
        elif depth < 2 and nested and isinstance(value, msgspec.Struct):
            out |= parties_of(value, depth + 1)
        elif depth < 2 and kind == _LISTED and isinstance(value, list):
            for item in value:
                if isinstance(item, (tuple, list)) and item and isinstance(item[0], str):
                    out.add(item[0])
                elif isinstance(item, msgspec.Struct):
                    out |= parties_of(item, depth + 1)
    return out


class _EventPlan(NamedTuple):
    """What projecting an event of one type involves (its columns, postings, stage), looked up
    once per type."""

    name: str
    offering_id: bool
    issuer_id: bool
    instrument: bool
    postings: bool
    rejected: bool
    stage: tuple[int, str] | None


_EVENT_PLANS: dict[type, _EventPlan] = {}


def _event_plan(etype: type) -> _EventPlan:
    fields = set(getattr(etype, "__struct_fields__", ()))
    plan = _EVENT_PLANS[etype] = _EventPlan(
        etype.__name__,
        "offering_id" in fields,
        "issuer_id" in fields,
        "instrument" in fields,
        "postings" in fields,
        issubclass(etype, CommandRejected),
        derived.STAGE_RANK.get(etype),
    )
    return plan


class Projector:
    """Folds outcomes into the read-model tables (idempotent by sequence number)."""

    def __init__(self, store: SqlStore, offering_context: Callable[[], Any] | None = None) -> None:
        """``offering_context`` gives the engine's offering context (on the writer thread, where
        the projector runs): the allocation rows and the announcement are computed from it once,
        when ``OfferingAllocated`` is projected (`lionrock.readmodel.derived`). Without it those
        rows are not written (a projector over event streams, away from the engine)."""
        self.store = store
        self._offering_context = offering_context
        migrate(store, "readmodel", READ_MODEL_MIGRATIONS)
        row = store.one("SELECT value FROM rm_meta WHERE key = 'projected_seq'")
        self.projected_seq = int(row[0]) if row else 0
        self._json = msgspec.json.Encoder()
        self._pending: list[tuple[Stamp, Command, list[Event]]] = []
        self._open_orders: dict[int, list[Any]] = {}
        """The rows of open orders as committed (`_Batch.remember_open_orders`): the projector is
        the read model's one writer, so a batch that names them need not read them back."""
        self._batch = _Batch(store, (), self._open_orders)

    @staticmethod
    def _backfill_bars(store: SqlStore) -> None:
        """A read model written before ``bars`` existed gets them from its ``trades`` once."""
        if not store.one("SELECT 1 FROM trades LIMIT 1") or store.one("SELECT 1 FROM bars LIMIT 1"):
            return
        bars: dict[tuple[str, int], list[int]] = {}
        for instrument, price, quantity, at_ns in store.execute(
            "SELECT instrument, price, quantity, at_ns FROM trades ORDER BY seq, trade_id"
        ):
            cash = consideration_minor(price, quantity)
            bar = bars.get((instrument, bar_start(at_ns, BAR_SECONDS)))
            if bar is None:
                bars[(instrument, bar_start(at_ns, BAR_SECONDS))] = [price, price, price, price, quantity, cash, 1]
            else:
                bar[1], bar[2], bar[3] = max(bar[1], price), min(bar[2], price), price
                bar[4], bar[5], bar[6] = bar[4] + quantity, bar[5] + cash, bar[6] + 1
        with store.transaction():
            store.executemany(
                "INSERT INTO bars (instrument, start_ns, open, high, low, close, volume, turnover, trades) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(i, start, *bar) for (i, start), bar in sorted(bars.items())],
            )

    # -- feeding -------------------------------------------------------------------------
    REPLAY_BATCH = 1_000
    """Records projected per read-model transaction during replay."""

    def on_batch(self, batch: Sequence[tuple[Command, Outcome]]) -> None:
        """`EngineRunner` listener: one read-model transaction per durable batch."""
        self._project([(Stamp(outcome.seq, outcome.at_ns), command, outcome.events) for command, outcome in batch], live=True)

    def on_batch_staged(self, batch: Sequence[tuple[Command, Outcome]], durable: Future[None]) -> None:
        """`EngineRunner` staged listener: the batch's read-model transaction is written while
        the journal's fsync is in flight and committed only once ``durable`` says the batch is
        durable (rolled back if the flush failed), so the SQL overlaps the fsync."""
        records = [(Stamp(outcome.seq, outcome.at_ns), command, outcome.events) for command, outcome in batch]
        self._project(records, durable=durable, live=True)

    def on_replay(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        """Engine subscriber during recovery (call `finish_replay` after). Records are projected
        in batches, each batch and the saved ``projected_seq`` in one transaction, so a kill
        mid-replay leaves the read models exactly at a batch boundary."""
        if stamp.seq <= self.projected_seq:
            return
        self._pending.append((stamp, command, events))
        if len(self._pending) >= self.REPLAY_BATCH:
            self._flush_replay()

    def finish_replay(self) -> None:
        self._flush_replay()
        self._save_seq()

    def _flush_replay(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self._project(pending, check=True)

    def _project(
        self,
        records: Sequence[tuple[Stamp, Command, list[Event]]],
        *,
        check: bool = False,
        durable: Future[None] | None = None,
        live: bool = False,
    ) -> None:
        """Project ``records`` and save ``projected_seq`` in one transaction; on failure nothing
        of it stays (the in-memory ``projected_seq`` included). The records' rows are gathered in
        a `_Batch` and written with one statement per table (`_Batch.write`). ``check``: skip a
        record whose events are already in ``events`` (a read model written before projection was
        atomic). ``durable``: commit only once it resolves (roll back if it raises). ``live``: the
        writer's own batches, next after the read model (`_order_ids`)."""
        before = self.projected_seq
        joined = self.store.in_transaction  # a caller's transaction (the stream projector's): it may yet roll back
        try:
            with self.store.transaction():
                if self.store.postgres:  # the read model is rebuilt from the journal: its commit need not wait for a WAL flush
                    self.store.execute("SET LOCAL synchronous_commit TO off")
                self._batch = _Batch(self.store, _order_ids(records, live=live), self._open_orders)
                for stamp, command, events in records:
                    if (
                        check
                        and stamp.seq > self.projected_seq
                        and events
                        and self.store.one("SELECT 1 FROM events WHERE seq = ? LIMIT 1", (stamp.seq,))
                    ):
                        self.projected_seq = stamp.seq
                        continue
                    self._apply(stamp, command, events)
                self._batch.write()
                self._save_seq()
                if durable is not None:
                    self.store.sync()  # the server runs the rows while the journal's flush is in flight
                    durable.result()
        except BaseException:
            self.projected_seq = before
            self._open_orders.clear()  # rows changed in place, rolled back in the store
            raise
        if joined:
            self._open_orders.clear()  # not committed yet: nothing to remember
        else:
            self._batch.remember_open_orders()

    def _save_seq(self) -> None:
        self.store.execute(
            "INSERT INTO rm_meta (key, value) VALUES ('projected_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(self.projected_seq),),
        )

    def _apply(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        if stamp.seq <= self.projected_seq:
            return
        ctype = type(command).__name__
        batch = self._batch
        delta: dict[tuple[str, str], int] = {}
        encode = self._json.encode
        for idx, event in enumerate(events):
            plan = _EVENT_PLANS.get(type(event)) or _event_plan(type(event))
            batch.events.append(
                (
                    stamp.seq,
                    idx,
                    stamp.at_ns,
                    plan.name,
                    encode(event).decode(),
                    event.offering_id if plan.offering_id else None,  # type: ignore[attr-defined]
                    event.issuer_id if plan.issuer_id else None,  # type: ignore[attr-defined]
                    event.instrument if plan.instrument else None,  # type: ignore[attr-defined]
                    ctype,
                )
            )
            parties = parties_of(event)
            if plan.rejected:
                parties |= parties_of(command)
            if parties:
                batch.parties.extend((p, stamp.seq, idx) for p in parties)
            if plan.postings and (postings := event.postings):  # type: ignore[attr-defined]
                _add_postings(delta, postings)
            if plan.stage is not None:
                self._derive_stage(event, plan.stage, stamp)
            handler = _HANDLERS.get(type(event))  # read each time: the dispatch table is the one place
            if handler is not None:
                handler(self, event, stamp, command, idx)
            elif not plan.rejected:
                self._generic_order_update(event, stamp)
        batch.add_postings(delta, stamp.seq)
        self.projected_seq = stamp.seq

    # -- rows derived once, when their event arrives (lionrock.readmodel.derived) ------------------
    def _derive_stage(self, e: Any, rank_stage: tuple[int, str], stamp: Stamp) -> None:
        rank, stage = rank_stage
        self.store.execute(
            """INSERT INTO offering_stages (offering_id, stage, rank, updated_seq) VALUES (?, ?, ?, ?)
               ON CONFLICT (offering_id) DO UPDATE SET stage = excluded.stage, rank = excluded.rank, updated_seq = excluded.updated_seq
               WHERE offering_stages.rank < excluded.rank""",
            (e.offering_id, stage, rank, stamp.seq),
        )

    def _on_OfferingAllocated(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        if self._offering_context is None:
            return
        self._batch.write()  # the price event may be in this batch: written before it is read
        ctx = self._offering_context()
        rows = derived.allocation_rows(ctx, e.offering_id)
        self.store.execute("DELETE FROM allocations WHERE offering_id = ?", (e.offering_id,))
        self.store.executemany(
            f"INSERT INTO allocations (offering_id, {', '.join(derived.ALLOCATION_COLUMNS)}) "
            f"VALUES (?, {', '.join('?' * len(derived.ALLOCATION_COLUMNS))})",
            [(e.offering_id, *(r[c] for c in derived.ALLOCATION_COLUMNS)) for r in rows],
        )
        priced = self.store.one(
            "SELECT body FROM events WHERE offering_id = ? AND type = 'OfferPriceFixed' ORDER BY seq DESC, idx DESC LIMIT 1",
            (e.offering_id,),
        )
        if priced is not None:
            markdown = derived.announcement_of(ctx, e.offering_id, msgspec.json.decode(priced[0]))
            self.store.execute(
                """INSERT INTO announcements (offering_id, allotment_digest, markdown) VALUES (?, ?, ?)
                   ON CONFLICT (offering_id) DO UPDATE SET allotment_digest = excluded.allotment_digest, markdown = excluded.markdown""",
                (e.offering_id, str(e.summary.allotment_digest), markdown),
            )
        self.store.execute(
            """INSERT INTO offering_comparisons (offering_id, allotment_digest, body) VALUES (?, ?, ?)
               ON CONFLICT (offering_id) DO UPDATE SET allotment_digest = excluded.allotment_digest, body = excluded.body""",
            (e.offering_id, str(e.summary.allotment_digest), self._json.encode(derived.comparison_of(ctx, e.offering_id)).decode()),
        )

    def _on_IssuerProfileSubmitted(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        profile = _get(command, "profile")
        if profile is None:
            return
        self.store.execute(
            "INSERT INTO issuer_profiles (issuer_id, profile, assessed_on, route, filed_on, updated_seq) "
            "VALUES (?, ?, ?, '', NULL, ?)\n"
            "               ON CONFLICT (issuer_id) DO UPDATE SET profile = excluded.profile, "
            "assessed_on = excluded.assessed_on, updated_seq = excluded.updated_seq",
            (e.issuer_id, self._json.encode(profile).decode(), e.assessed_on.isoformat(), stamp.seq),
        )

    def _on_ListingApplicationFiled(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        self.store.execute(
            "UPDATE issuer_profiles SET route = ?, filed_on = ?, updated_seq = ? WHERE issuer_id = ?",
            (e.route, e.filed_on.isoformat(), stamp.seq, e.issuer_id),
        )

    # -- trading events (cross-context contract) -------------------------------------------
    def _on_OrderAccepted(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        self._batch.accept_order(
            [
                e.order_id,
                e.instrument,
                e.participant,
                e.account,
                e.client_order_id,
                e.side,
                e.order_type,
                e.price,
                e.quantity,
                0,
                "new",
                _get(e, "channel", ""),
                "",
                stamp.seq,
                stamp.seq,
                stamp.at_ns,
                int(bool(_get(e, "short_sell", False))),
            ]
        )

    def _on_TradeExecuted(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        batch = self._batch
        batch.trades.append(
            (
                e.instrument,
                e.trade_id,
                e.price,
                e.quantity,
                _get(e, "currency", "HKD"),
                e.buyer,
                e.buyer_participant,
                e.buy_order_id,
                e.seller,
                e.seller_participant,
                e.sell_order_id,
                _get(e, "aggressor", ""),
                stamp.seq,
                stamp.at_ns,
            )
        )
        for order_id in (e.buy_order_id, e.sell_order_id):
            row = batch.order(order_id)
            if row is not None:
                row[_FILLED] += e.quantity
                row[_UPDATED_SEQ] = stamp.seq
                row[_STATUS] = "filled" if row[_FILLED] >= row[_QUANTITY] else "partially_filled"
        try:
            cash = consideration_minor(e.price, e.quantity)
        except Exception:  # noqa: BLE001 - a display figure; the ledger is clearing's
            cash = 0
        batch.add_trade_to_bar(e.instrument, bar_start(stamp.at_ns, BAR_SECONDS), e.price, e.quantity, cash)
        currency = _get(e, "currency", "HKD")
        for account, asset, amount in (
            (e.buyer, f"SEC:{e.instrument}", e.quantity),
            (e.seller, f"SEC:{e.instrument}", -e.quantity),
            (e.buyer, f"CASH:{currency}", -cash),
            (e.seller, f"CASH:{currency}", cash),
        ):
            batch.holdings[(account, asset)] = batch.holdings.get((account, asset), 0) + amount

    def _on_OrderCancelled(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        row = self._batch.order(e.order_id)
        if row is not None:
            row[_STATUS], row[_REASON], row[_UPDATED_SEQ] = "cancelled", _get(e, "reason", ""), stamp.seq

    def _on_OrderAmended(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        """``quantity`` is the new outstanding quantity; ``price`` the (possibly unchanged) price."""
        row = self._batch.order(e.order_id)
        if row is not None:
            if e.price > 0:
                row[_PRICE] = e.price
            row[_QUANTITY], row[_UPDATED_SEQ] = row[_FILLED] + e.quantity, stamp.seq

    def _on_OrderRejected(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        r = e.rejection
        self._batch.rejections.append(
            (
                stamp.seq,
                idx,
                type(command).__name__,
                r.code,
                r.reason,
                r.field,
                r.message,
                r.rule,
                _get(e, "participant"),
                _get(e, "account"),
                _get(e, "client_order_id"),
            ),
        )

    def _on_CommandRejected(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        r = e.rejection
        order = _get(command, "order", command)
        self._batch.rejections.append(
            (
                stamp.seq,
                idx,
                e.command_type,
                r.code,
                r.reason,
                r.field,
                r.message,
                r.rule,
                _get(order, "participant"),
                _get(order, "account"),
                _get(order, "client_order_id"),
            ),
        )

    def _generic_order_update(self, e: Any, stamp: Stamp) -> None:
        """Amendments and other order-level events: update price / quantity when they carry them."""
        order_id = _get(e, "order_id")
        if not isinstance(order_id, int) or not isinstance(e, _GENERIC_ORDER_EVENTS):
            return
        row = self._batch.order(order_id)
        if row is None:
            return
        price, quantity = _get(e, "new_price", _get(e, "price")), _get(e, "new_quantity", _get(e, "quantity"))
        if isinstance(price, int) and price > 0:
            row[_PRICE], row[_UPDATED_SEQ] = price, stamp.seq
        if isinstance(quantity, int) and quantity > 0:
            row[_QUANTITY], row[_UPDATED_SEQ] = quantity, stamp.seq


_HANDLERS: dict[type[Event], Callable[[Projector, Any, Stamp, Command, int], None]] = {
    OfferingAllocated: Projector._on_OfferingAllocated,
    IssuerProfileSubmitted: Projector._on_IssuerProfileSubmitted,
    ListingApplicationFiled: Projector._on_ListingApplicationFiled,
    OrderAccepted: Projector._on_OrderAccepted,
    TradeExecuted: Projector._on_TradeExecuted,
    OrderCancelled: Projector._on_OrderCancelled,
    OrderAmended: Projector._on_OrderAmended,
    OrderRejected: Projector._on_OrderRejected,
    CommandRejected: Projector._on_CommandRejected,
}
"""The projector's dispatch by event class; any other event goes to `_generic_order_update`."""
_GENERIC_ORDER_EVENTS: tuple[type[Event], ...] = (OrderRetryAcknowledged, SouthboundOrderAdmitted)
"""The order-level events without a handler of their own (those with "Order" in their name)."""


# -- one batch's rows ----------------------------------------------------------------------------
_B, _T = "BIGINT", "TEXT"
_EVENT_COLUMNS = (
    ("seq", _B),
    ("idx", _B),
    ("at_ns", _B),
    ("type", _T),
    ("body", _T),
    ("offering_id", _T),
    ("issuer_id", _T),
    ("instrument", _T),
    ("command_type", _T),
)
_PARTY_COLUMNS = (("party", _T), ("seq", _B), ("idx", _B))
_ORDER_COLUMNS = (
    ("order_id", _B),
    ("instrument", _T),
    ("participant", _T),
    ("account", _T),
    ("client_order_id", _T),
    ("side", _T),
    ("order_type", _T),
    ("price", _B),
    ("quantity", _B),
    ("filled", _B),
    ("status", _T),
    ("channel", _T),
    ("reason", _T),
    ("created_seq", _B),
    ("updated_seq", _B),
    ("at_ns", _B),
    ("short_sell", _B),
)
_PRICE, _QUANTITY, _FILLED, _STATUS, _REASON, _UPDATED_SEQ = (7, 8, 9, 10, 12, 14)
"""Positions in an order row (`_ORDER_COLUMNS`) of the columns events change."""
_ORDER_CHANGES = ("price", "quantity", "filled", "status", "reason", "updated_seq")
_TRADE_COLUMNS = (
    ("instrument", _T),
    ("trade_id", _B),
    ("price", _B),
    ("quantity", _B),
    ("currency", _T),
    ("buyer", _T),
    ("buyer_participant", _T),
    ("buy_order_id", _B),
    ("seller", _T),
    ("seller_participant", _T),
    ("sell_order_id", _B),
    ("aggressor", _T),
    ("seq", _B),
    ("at_ns", _B),
)
_BAR_COLUMNS = (
    ("instrument", _T),
    ("start_ns", _B),
    ("open", _B),
    ("high", _B),
    ("low", _B),
    ("close", _B),
    ("volume", _B),
    ("turnover", _B),
    ("trades", _B),
)
_HOLDING_COLUMNS = (("account", _T), ("asset", _T), ("amount", _B))
_BALANCE_COLUMNS = (("account", _T), ("asset", _T), ("amount", _B), ("updated_seq", _B))
_REJECTION_COLUMNS = (
    ("seq", _B),
    ("idx", _B),
    ("command_type", _T),
    ("code", _B),
    ("reason", _T),
    ("field", _T),
    ("message", _T),
    ("rule", _T),
    ("participant", _T),
    ("account", _T),
    ("client_order_id", _T),
)
_ORDER_REFERENCES = ("order_id", "buy_order_id", "sell_order_id")


def _order_ids(records: Sequence[tuple[Stamp, Command, list[Event]]], *, live: bool = False) -> list[int]:
    """The order ids the records' events name (the rows `_Batch` reads before folding). ``live``:
    the records come straight from the writer, after everything the read model holds, so an order
    they accept is new to it and is not read (in a batch of new orders, nothing is: on PostgreSQL
    that saves the batch a round trip). A replay may meet orders the read model already has, and
    a stream projector orders from other shards: they read every order named."""
    ids: set[int] = set()
    accepted: set[int] = set()
    for _, _, events in records:
        for event in events:
            if live and type(event) is OrderAccepted:
                accepted.add(event.order_id)
                continue
            for name in _ORDER_REFERENCES:
                value = getattr(event, name, None)
                if isinstance(value, int) and value > 0:
                    ids.add(value)
    return sorted(ids - accepted)


class _Batch:
    """The read-model rows of one batch of records, gathered while it is projected and written
    with one statement per table (`write`): on PostgreSQL a multi-row statement per table
    (`SqlStore.insert_rows`: one JSON array of rows), so a batch of orders costs a handful of statements, not a dozen per
    order. Rows that several records change are folded here first, so the rows written are those
    record-at-a-time projection would leave, whatever the batch size (a rebuild, projecting the
    journal in batches of `Projector.REPLAY_BATCH`, equals the live read model):

    - orders: the rows the batch names are taken from the open orders the projector remembers,
      the others read with one query before the batch (`_order_ids`); changed in memory event by
      event, and written back with one upsert;
    - balances: each record's net postings, its zero nets dropped, added up per (account, asset)
      with the last record's seq (a balance already at that seq is left alone, as before);
    - holdings and one-minute bars: added up per key (open the first trade's, close the last's).
    """

    OPEN_ORDERS_REMEMBERED = 200_000
    """At most this many open orders' rows kept between batches (beyond it, forgotten and read)."""

    def __init__(self, store: SqlStore, order_ids: Sequence[int], open_orders: dict[int, list[Any]]) -> None:
        self.store = store
        self.events: list[tuple[Any, ...]] = []
        self.parties: list[tuple[Any, ...]] = []
        self.trades: list[tuple[Any, ...]] = []
        self.rejections: list[tuple[Any, ...]] = []
        self.holdings: dict[tuple[str, str], int] = {}
        self.balances: dict[tuple[str, str], list[int]] = {}
        self.bars: dict[tuple[str, int], list[int]] = {}
        names = ", ".join(name for name, _ in _ORDER_COLUMNS)
        self._open_orders = open_orders
        self._orders: dict[int, list[Any]] = {i: open_orders[i] for i in order_ids if i in open_orders}
        unknown = [i for i in order_ids if i not in self._orders]
        self._orders.update((int(r[0]), list(r)) for r in store.select_keys(f"SELECT {names} FROM orders", "order_id", unknown))
        self._changed: set[int] = set()

    def order(self, order_id: int) -> list[Any] | None:
        """The order's row, to change in place (None if the read model has no such order)."""
        row = self._orders.get(order_id)
        if row is not None:
            self._changed.add(order_id)
        return row

    def accept_order(self, row: list[Any]) -> None:
        if row[0] not in self._orders:  # an order projected already stays as it is
            self._orders[row[0]] = row
            self._changed.add(row[0])

    def add_postings(self, delta: dict[tuple[str, str], int], seq: int) -> None:
        for key, amount in delta.items():
            if amount:
                balance = self.balances.setdefault(key, [0, seq])
                balance[0] += amount
                balance[1] = seq

    def add_trade_to_bar(self, instrument: str, start_ns: int, price: int, quantity: int, cash: int) -> None:
        bar = self.bars.get((instrument, start_ns))
        if bar is None:
            self.bars[(instrument, start_ns)] = [price, price, price, price, quantity, cash, 1]
        else:
            bar[1], bar[2], bar[3] = max(bar[1], price), min(bar[2], price), price
            bar[4], bar[5], bar[6] = bar[4] + quantity, bar[5] + cash, bar[6] + 1

    def write(self) -> None:
        """Everything gathered so far, one statement per table; then empty (the order rows read
        stay, with their changes: a later `write` of the same batch continues from them)."""
        store = self.store
        store.insert_rows("events", _EVENT_COLUMNS, self.events)
        store.insert_rows("event_parties", _PARTY_COLUMNS, self.parties)
        store.insert_rows(
            "orders",
            _ORDER_COLUMNS,
            [self._orders[i] for i in sorted(self._changed)],
            "ON CONFLICT (order_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _ORDER_CHANGES),
        )
        store.insert_rows("trades", _TRADE_COLUMNS, self.trades, "ON CONFLICT (instrument, trade_id) DO NOTHING")
        store.insert_rows(
            "bars",
            _BAR_COLUMNS,
            [(i, start, *bar) for (i, start), bar in sorted(self.bars.items())],
            """ON CONFLICT (instrument, start_ns) DO UPDATE SET
                               high = CASE WHEN excluded.high > bars.high THEN excluded.high ELSE bars.high END,
                               low = CASE WHEN excluded.low < bars.low THEN excluded.low ELSE bars.low END,
                               close = excluded.close, volume = bars.volume + excluded.volume,
                               turnover = bars.turnover + excluded.turnover, trades = bars.trades + excluded.trades""",
        )
        store.insert_rows(
            "holdings",
            _HOLDING_COLUMNS,
            [(a, asset, n) for (a, asset), n in sorted(self.holdings.items())],
            "ON CONFLICT (account, asset) DO UPDATE SET amount = holdings.amount + excluded.amount",
        )
        store.insert_rows(
            "balances",
            _BALANCE_COLUMNS,
            [(a, asset, n, seq) for (a, asset), (n, seq) in sorted(self.balances.items())],
            """ON CONFLICT (account, asset) DO UPDATE SET amount = balances.amount + excluded.amount, updated_seq = excluded.updated_seq
                             WHERE balances.updated_seq < excluded.updated_seq""",
        )
        store.insert_rows("rejections", _REJECTION_COLUMNS, self.rejections)
        for gathered in (self.events, self.parties, self.trades, self.rejections):
            gathered.clear()
        for folded in (self.holdings, self.balances, self.bars):
            folded.clear()
        self._changed.clear()

    def remember_open_orders(self) -> None:
        """After the commit: the batch's open orders are remembered as written, closed ones
        forgotten (an event naming one later reads it)."""
        remembered = self._open_orders
        if len(remembered) > self.OPEN_ORDERS_REMEMBERED:
            remembered.clear()
        for order_id, row in self._orders.items():
            if row[_STATUS] in OPEN_STATUSES:
                remembered[order_id] = row
            else:
                remembered.pop(order_id, None)


_TABLES = ("events", "event_parties", "orders", "trades", "bars", "holdings", "balances", "rejections")


def _add_short_sell(store: SqlStore) -> None:
    if not has_column(store, "orders", "short_sell"):
        store.execute("ALTER TABLE orders ADD COLUMN short_sell BIGINT NOT NULL DEFAULT 0")


def _reproject_for_derived_rows(store: SqlStore) -> None:
    """A read model projected before the derived rows existed lacks them for offerings already
    allocated: empty it, so the service replays the journal into it (projected_seq 0)."""
    if store.one("SELECT 1 FROM events LIMIT 1") is None:
        return
    for table in _TABLES:
        store.execute(f"DELETE FROM {table}")
    store.execute("DELETE FROM rm_meta WHERE key = 'projected_seq'")


READ_MODEL_MIGRATIONS = (
    Migration(1, "the tables of the first read model", _DDL),
    Migration(2, "orders.short_sell (short sales, Schedule 11): 0 for orders before it", run=_add_short_sell),
    Migration(3, "one-minute bars, from the trades already projected", run=Projector._backfill_bars),
    Migration(
        4, "rows derived once per event: stages, allocations, announcements, issuer profiles", derived.DDL, run=_reproject_for_derived_rows
    ),
    Migration(
        5,
        "offering mechanism comparisons, derived once when an offering is allocated",
        derived.COMPARISON_DDL,
        run=_reproject_for_derived_rows,
    ),
    Migration(
        6,
        "events by offering and by issuer: partial indexes over the events that name one (trading events name neither, "
        "and each of them paid for two index entries on every insert)",
        [
            "DROP INDEX IF EXISTS events_offering",
            "CREATE INDEX events_offering ON events (offering_id, seq) WHERE offering_id IS NOT NULL",
            "DROP INDEX IF EXISTS events_issuer",
            "CREATE INDEX events_issuer ON events (issuer_id, seq) WHERE issuer_id IS NOT NULL",
        ],
    ),
)
"""The read model's schema steps (`lionrock.storage.migrations`); a new table or column is a new step."""


__all__ = ["OPEN_STATUSES", "READ_MODEL_MIGRATIONS", "PARTY_FIELDS", "Projector", "parties_of"]
