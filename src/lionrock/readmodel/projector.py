"""Read models: the engine's events folded into tables the API and dashboard query.

Reads never touch the engine. The projector writes each batch while the writer makes it durable
(`EngineRunner.add_staged_listener`: one read-model transaction per batch, committed only after
the journal's flush, and before any caller gets its answer, so a caller reads its own writes) and, at start-up, during journal replay, skipping what it has
already applied (``meta.projected_seq``), so the read models survive restarts and can be rebuilt
by deleting them.

Tables: ``events`` (every event, as JSON, with its parties for tenancy filters), ``orders``
(status, filled and remaining per order), ``trades``, ``balances`` (the clearing ledger: every
event's ``postings`` folded into a balance per account and asset; the source of truth for
positions), ``holdings`` (shares and cash moved by executed trades, per account: trade flow
awaiting settlement, for display only), ``rejections``, ``bars`` (one-minute OHLCV per
instrument, aligned to Hong Kong time; longer intervals are added up from them when read). Everything else (offerings, issuers, quota) is read from
``events`` by key, so the read side works for any context's events without a schema change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import msgspec

from lionrock.engine import Outcome
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.price import consideration_minor
from lionrock.readmodel import derived
from lionrock.storage.migrations import Migration, has_column, migrate
from lionrock.storage.sql import SqlStore
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


def parties_of(message: Any, depth: int = 0) -> set[str]:
    """Accounts and participants named by an event (or a nested order inside it)."""
    out: set[str] = set()
    for name in getattr(message, "__struct_fields__", ()):
        value = getattr(message, name)
        if isinstance(value, str) and value:
            if name in PARTY_FIELDS or name.endswith("_account"):
                out.add(value)
            elif name == "participant" or name.endswith("_participant"):
                out.add(f"P:{value}")
        elif depth < 2 and isinstance(value, msgspec.Struct):
            out |= parties_of(value, depth + 1)
        elif depth < 2 and isinstance(value, list) and name in ("holds", "allotments", "refunds", "results", "allocations"):
            for item in value:
                if isinstance(item, (tuple, list)) and item and isinstance(item[0], str):
                    out.add(item[0])
                elif isinstance(item, msgspec.Struct):
                    out |= parties_of(item, depth + 1)
    return out


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

    @staticmethod
    def _backfill_bars(store: SqlStore) -> None:
        """A read model written before ``bars`` existed gets them from its ``trades`` once."""
        if not store.one("SELECT 1 FROM trades LIMIT 1") or store.one("SELECT 1 FROM bars LIMIT 1"):
            return
        bars: dict[tuple[str, int], list[int]] = {}
        for instrument, price, quantity, at_ns in store.execute("SELECT instrument, price, quantity, at_ns FROM trades ORDER BY seq, trade_id"):
            cash = consideration_minor(price, quantity)
            bar = bars.get((instrument, bar_start(at_ns, BAR_SECONDS)))
            if bar is None:
                bars[(instrument, bar_start(at_ns, BAR_SECONDS))] = [price, price, price, price, quantity, cash, 1]
            else:
                bar[1], bar[2], bar[3] = max(bar[1], price), min(bar[2], price), price
                bar[4], bar[5], bar[6] = bar[4] + quantity, bar[5] + cash, bar[6] + 1
        with store.transaction():
            store.executemany(
                "INSERT INTO bars (instrument, start_ns, open, high, low, close, volume, turnover, trades) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(i, start, *bar) for (i, start), bar in sorted(bars.items())],
            )

    # -- feeding -------------------------------------------------------------------------
    REPLAY_BATCH = 1_000
    """Records projected per read-model transaction during replay."""

    def on_batch(self, batch: Sequence[tuple[Command, Outcome]]) -> None:
        """`EngineRunner` listener: one read-model transaction per durable batch."""
        self._project([(Stamp(outcome.seq, outcome.at_ns), command, outcome.events) for command, outcome in batch])

    def on_batch_staged(self, batch: Sequence[tuple[Command, Outcome]], durable: Future[None]) -> None:
        """`EngineRunner` staged listener: the batch's read-model transaction is written while
        the journal's fsync is in flight and committed only once ``durable`` says the batch is
        durable (rolled back if the flush failed), so the SQL overlaps the fsync."""
        self._project([(Stamp(outcome.seq, outcome.at_ns), command, outcome.events) for command, outcome in batch], durable=durable)

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

    def _project(self, records: Sequence[tuple[Stamp, Command, list[Event]]], *, check: bool = False, durable: Future[None] | None = None) -> None:
        """Project ``records`` and save ``projected_seq`` in one transaction; on failure nothing
        of it stays (the in-memory ``projected_seq`` included). ``check``: skip a record whose
        events are already in ``events`` (a read model written before projection was atomic).
        ``durable``: commit only once it resolves (roll back if it raises)."""
        before = self.projected_seq
        try:
            with self.store.transaction():
                for stamp, command, events in records:
                    if check and stamp.seq > self.projected_seq and events and self.store.one("SELECT 1 FROM events WHERE seq = ? LIMIT 1", (stamp.seq,)):
                        self.projected_seq = stamp.seq
                        continue
                    self._apply(stamp, command, events)
                self._save_seq()
                if durable is not None:
                    durable.result()
        except BaseException:
            self.projected_seq = before
            raise

    def _save_seq(self) -> None:
        self.store.execute(
            "INSERT INTO rm_meta (key, value) VALUES ('projected_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(self.projected_seq),),
        )

    def _apply(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        if stamp.seq <= self.projected_seq:
            return
        ctype = type(command).__name__
        rows, party_rows = [], []
        delta: dict[tuple[str, str], int] = {}
        for idx, event in enumerate(events):
            etype = type(event).__name__
            rows.append(
                (
                    stamp.seq, idx, stamp.at_ns, etype, self._json.encode(event).decode(),
                    _get(event, "offering_id"), _get(event, "issuer_id"), _get(event, "instrument"), ctype,
                )
            )
            parties = parties_of(event) | ({p for p in parties_of(command)} if etype == "CommandRejected" else set())
            party_rows.extend((p, stamp.seq, idx) for p in parties)
            postings = _get(event, "postings")
            if postings:
                _add_postings(delta, postings)
            if etype in derived.STAGE_RANK:
                self._derive_stage(event, etype, stamp)
            handler = getattr(self, f"_on_{etype}", None)
            if handler is not None:
                handler(event, stamp, command, idx)
            elif etype != "CommandRejected":
                self._generic_order_update(event, stamp)
        self._fold_postings(delta, stamp.seq)
        self.store.executemany(
            "INSERT INTO events (seq, idx, at_ns, type, body, offering_id, issuer_id, instrument, command_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self.store.executemany("INSERT INTO event_parties (party, seq, idx) VALUES (?, ?, ?)", party_rows)
        self.projected_seq = stamp.seq

    # -- rows derived once, when their event arrives (lionrock.readmodel.derived) ------------------
    def _derive_stage(self, e: Any, etype: str, stamp: Stamp) -> None:
        rank, stage = derived.STAGE_RANK[etype]
        self.store.execute(
            """INSERT INTO offering_stages (offering_id, stage, rank, updated_seq) VALUES (?, ?, ?, ?)
               ON CONFLICT (offering_id) DO UPDATE SET stage = excluded.stage, rank = excluded.rank, updated_seq = excluded.updated_seq
               WHERE offering_stages.rank < excluded.rank""",
            (e.offering_id, stage, rank, stamp.seq),
        )

    def _on_OfferingAllocated(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        if self._offering_context is None:
            return
        ctx = self._offering_context()
        rows = derived.allocation_rows(ctx, e.offering_id)
        self.store.execute("DELETE FROM allocations WHERE offering_id = ?", (e.offering_id,))
        self.store.executemany(
            f"INSERT INTO allocations (offering_id, {', '.join(derived.ALLOCATION_COLUMNS)}) VALUES (?, {', '.join('?' * len(derived.ALLOCATION_COLUMNS))})",
            [(e.offering_id, *(r[c] for c in derived.ALLOCATION_COLUMNS)) for r in rows],
        )
        priced = self.store.one("SELECT body FROM events WHERE offering_id = ? AND type = 'OfferPriceFixed' ORDER BY seq DESC, idx DESC LIMIT 1", (e.offering_id,))
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
            """INSERT INTO issuer_profiles (issuer_id, profile, assessed_on, route, filed_on, updated_seq) VALUES (?, ?, ?, '', NULL, ?)
               ON CONFLICT (issuer_id) DO UPDATE SET profile = excluded.profile, assessed_on = excluded.assessed_on, updated_seq = excluded.updated_seq""",
            (e.issuer_id, self._json.encode(profile).decode(), e.assessed_on.isoformat(), stamp.seq),
        )

    def _on_ListingApplicationFiled(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        self.store.execute("UPDATE issuer_profiles SET route = ?, filed_on = ?, updated_seq = ? WHERE issuer_id = ?",
                           (e.route, e.filed_on.isoformat(), stamp.seq, e.issuer_id))

    # -- the clearing ledger ------------------------------------------------------------------
    def _fold_postings(self, delta: dict[tuple[str, str], int], seq: int) -> None:
        """Add one record's net postings to ``balances``; a balance already at ``seq`` or later
        is left alone, so folding a record twice never double-counts."""
        self.store.executemany(
            """INSERT INTO balances (account, asset, amount, updated_seq) VALUES (?, ?, ?, ?)
               ON CONFLICT (account, asset) DO UPDATE SET amount = balances.amount + excluded.amount, updated_seq = excluded.updated_seq
               WHERE balances.updated_seq < excluded.updated_seq""",
            [(account, asset, amount, seq) for (account, asset), amount in sorted(delta.items()) if amount],
        )

    # -- trading events (cross-context contract) -------------------------------------------
    def _on_OrderAccepted(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        self.store.execute(
            """INSERT INTO orders (order_id, instrument, participant, account, client_order_id, side, order_type,
                 price, quantity, filled, status, channel, reason, created_seq, updated_seq, at_ns, short_sell)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'new', ?, '', ?, ?, ?, ?)
               ON CONFLICT (order_id) DO NOTHING""",
            (
                e.order_id, e.instrument, e.participant, e.account, e.client_order_id, e.side, e.order_type,
                e.price, e.quantity, _get(e, "channel", ""), stamp.seq, stamp.seq, stamp.at_ns, int(bool(_get(e, "short_sell", False))),
            ),
        )

    def _on_TradeExecuted(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        self.store.execute(
            """INSERT INTO trades (instrument, trade_id, price, quantity, currency, buyer, buyer_participant, buy_order_id,
                 seller, seller_participant, sell_order_id, aggressor, seq, at_ns)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instrument, trade_id) DO NOTHING""",
            (
                e.instrument, e.trade_id, e.price, e.quantity, _get(e, "currency", "HKD"), e.buyer, e.buyer_participant,
                e.buy_order_id, e.seller, e.seller_participant, e.sell_order_id, _get(e, "aggressor", ""), stamp.seq, stamp.at_ns,
            ),
        )
        for order_id in (e.buy_order_id, e.sell_order_id):
            self.store.execute(
                """UPDATE orders SET filled = filled + ?, updated_seq = ?,
                     status = CASE WHEN filled + ? >= quantity THEN 'filled' ELSE 'partially_filled' END
                   WHERE order_id = ?""",
                (e.quantity, stamp.seq, e.quantity, order_id),
            )
        from lionrock.kernel.price import consideration_minor

        try:
            cash = consideration_minor(e.price, e.quantity)
        except Exception:  # noqa: BLE001 - a display figure; the ledger is clearing's
            cash = 0
        self.store.execute(
            """INSERT INTO bars (instrument, start_ns, open, high, low, close, volume, turnover, trades)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
               ON CONFLICT (instrument, start_ns) DO UPDATE SET
                 high = CASE WHEN excluded.high > bars.high THEN excluded.high ELSE bars.high END,
                 low = CASE WHEN excluded.low < bars.low THEN excluded.low ELSE bars.low END,
                 close = excluded.close, volume = bars.volume + excluded.volume,
                 turnover = bars.turnover + excluded.turnover, trades = bars.trades + 1""",
            (e.instrument, bar_start(stamp.at_ns, BAR_SECONDS), e.price, e.price, e.price, e.price, e.quantity, cash),
        )
        currency = _get(e, "currency", "HKD")
        self._add_holding(e.buyer, f"SEC:{e.instrument}", e.quantity)
        self._add_holding(e.seller, f"SEC:{e.instrument}", -e.quantity)
        self._add_holding(e.buyer, f"CASH:{currency}", -cash)
        self._add_holding(e.seller, f"CASH:{currency}", cash)

    def _add_holding(self, account: str, asset: str, amount: int) -> None:
        self.store.execute(
            """INSERT INTO holdings (account, asset, amount) VALUES (?, ?, ?)
               ON CONFLICT (account, asset) DO UPDATE SET amount = holdings.amount + excluded.amount""",
            (account, asset, amount),
        )

    def _on_OrderCancelled(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        self.store.execute(
            "UPDATE orders SET status = 'cancelled', reason = ?, updated_seq = ? WHERE order_id = ?",
            (_get(e, "reason", ""), stamp.seq, e.order_id),
        )

    def _on_OrderAmended(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        """``quantity`` is the new outstanding quantity; ``price`` the (possibly unchanged) price."""
        self.store.execute(
            "UPDATE orders SET price = CASE WHEN ? > 0 THEN ? ELSE price END, quantity = filled + ?, updated_seq = ? WHERE order_id = ?",
            (e.price, e.price, e.quantity, stamp.seq, e.order_id),
        )

    def _on_OrderRejected(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        r = e.rejection
        self.store.execute(
            """INSERT INTO rejections (seq, idx, command_type, code, reason, field, message, rule, participant, account, client_order_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (stamp.seq, idx, type(command).__name__, r.code, r.reason, r.field, r.message, r.rule,
             _get(e, "participant"), _get(e, "account"), _get(e, "client_order_id")),
        )

    def _on_CommandRejected(self, e: Any, stamp: Stamp, command: Command, idx: int) -> None:
        r = e.rejection
        order = _get(command, "order", command)
        self.store.execute(
            """INSERT INTO rejections (seq, idx, command_type, code, reason, field, message, rule, participant, account, client_order_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (stamp.seq, idx, e.command_type, r.code, r.reason, r.field, r.message, r.rule,
             _get(order, "participant"), _get(order, "account"), _get(order, "client_order_id")),
        )

    def _generic_order_update(self, e: Any, stamp: Stamp) -> None:
        """Amendments and other order-level events: update price / quantity when they carry them."""
        order_id = _get(e, "order_id")
        if not isinstance(order_id, int) or "Order" not in type(e).__name__:
            return
        price, quantity = _get(e, "new_price", _get(e, "price")), _get(e, "new_quantity", _get(e, "quantity"))
        if isinstance(price, int) and price > 0:
            self.store.execute("UPDATE orders SET price = ?, updated_seq = ? WHERE order_id = ?", (price, stamp.seq, order_id))
        if isinstance(quantity, int) and quantity > 0:
            self.store.execute("UPDATE orders SET quantity = ?, updated_seq = ? WHERE order_id = ?", (quantity, stamp.seq, order_id))


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
    Migration(4, "rows derived once per event: stages, allocations, announcements, issuer profiles", derived.DDL, run=_reproject_for_derived_rows),
    Migration(5, "offering mechanism comparisons, derived once when an offering is allocated", derived.COMPARISON_DDL,
              run=_reproject_for_derived_rows),
)
"""The read model's schema steps (`lionrock.storage.migrations`); a new table or column is a new step."""


__all__ = ["OPEN_STATUSES", "READ_MODEL_MIGRATIONS", "PARTY_FIELDS", "Projector", "parties_of"]
