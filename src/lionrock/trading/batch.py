"""The batch path of the trading venue: orders and cancels in columns in, an event tape out.

Why: while the venue answers every command with a list of msgspec Structs, the Python objects
alone cap it near the speed of much simpler books (docs/trading.md, "The batch path"). A batch
carries its commands as numpy columns (`OrderBatch`); the compiled venue decides each one (the
common refusals included) and writes what happened into a preallocated `Tape`: one record of
twelve int64 fields per event (`TAPE_FIELDS`), the strings staying in the batch and the records
of the orders involved. Python events are built only when someone asks (`Tape.events`,
`Tape.rejection`, `Tape.trades`): the engine asks for the trades (clearing observes them) and
subscribers ask for what they read.

Commands the compiled path does not take (another session's logic, VCM, retries, short sales,
amends of nothing: anything unusual) run the Python path and their events are kept on the tape as
objects (``K_EVENT``, ``K_REJECTED``), so the tape of a batch equals, event for event, what the
same commands submitted one by one return (tests/trading/test_batch.py).

Record layout (`TAPE_FIELDS`, all int64): ``row`` (the command's index in the batch), ``kind``
(``K_*``), ``side`` (0 buy, 1 sell: the order's, a trade's aggressor's, a level's), then by kind:

- ``K_ACCEPTED``: ``order_id``, ``price``, ``quantity``;
- ``K_TRADE``: ``order_id`` buy order, ``other_id`` sell order, ``trade_id``, ``price``, ``quantity``,
  ``left`` buy remaining, ``other_left`` sell remaining, ``md_seq``, ``ref`` the resting order;
- ``K_CANCELLED``: ``order_id``, ``quantity`` remaining, ``trade_id`` reason (0 CLIENT, 1
  SPECIAL_LIMIT_REMAINDER), ``ref`` the cancelled order (CLIENT);
- ``K_LEVEL``: a price level the command touched: ``price``, ``quantity``, ``left`` its order count;
- ``K_DEPTH``: ``md_seq``, ``price``/``quantity`` best bid, ``other_id``/``left`` best ask,
  ``trade_id`` how many ``K_LEVEL`` records just before it belong to it;
- ``K_REFUSED``: ``trade_id`` the refusal kind (`_refusals`), ``price``/``quantity``/``left``/
  ``other_left`` its figures;
- ``K_EVENT`` / ``K_REJECTED``: ``ref`` an event / a `Rejection` from the Python path.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lionrock.kernel.errors import Reject, Rejection
from lionrock.kernel.messages import Command, CommandRejected, Event, Stamp
from lionrock.trading._codes import unknown_client_order
from lionrock.trading._refusals import R_UNKNOWN_CLIENT_ORDER, Refusals
from lionrock.trading.commands import ORDER_TYPES, SIDES, CancelOrder, PlaceOrder
from lionrock.trading.events import MarketDepthUpdated, OrderAccepted, OrderCancelled, TradeExecuted

if TYPE_CHECKING:
    from lionrock.trading._venue import TradingContext

PLACE = 0
CANCEL = 1
TAPE_FIELDS = ("row", "kind", "side", "order_id", "other_id", "trade_id", "price", "quantity", "left", "other_left", "md_seq", "ref")
TAPE_DTYPE = np.dtype([(name, np.int64) for name in TAPE_FIELDS])
K_ACCEPTED, K_TRADE, K_CANCELLED, K_LEVEL, K_DEPTH, K_REFUSED, K_EVENT, K_REJECTED = range(1, 9)
_CANCEL_REASONS = ("CLIENT", "SPECIAL_LIMIT_REMAINDER")
KIND_EVENT_TYPES: dict[int, type] = {
    K_ACCEPTED: OrderAccepted, K_TRADE: TradeExecuted, K_CANCELLED: OrderCancelled, K_DEPTH: MarketDepthUpdated,
    K_REFUSED: CommandRejected, K_REJECTED: CommandRejected,
}  # fmt: skip
"""The event type a compiled record stands for (a level belongs to its depth record's event)."""
_COLUMNS = {
    "kind": np.uint8, "side": np.uint8, "order_type": np.uint8, "short_sell": np.uint8, "price": np.int64, "quantity": np.int64,
    "order_id": np.int64, "instrument": np.int32, "participant": np.int32, "account": np.int32, "channel": np.int32,
}  # fmt: skip


class OrderBatch:
    """PlaceOrder and CancelOrder commands as columns (one row per command).

    ``kind`` PLACE or CANCEL; ``side`` 0 B / 1 S; ``order_type`` the index in
    `commands.ORDER_TYPES`; ``price``, ``quantity`` (PlaceOrder), ``order_id`` (CancelOrder; 0 =
    by ``client_order_id``); ``instrument``, ``participant``, ``account``, ``channel`` index
    ``strings``; ``client_order_ids`` one string per row. Build one with `BatchBuilder`,
    `from_commands`, or from numpy columns directly."""

    __slots__ = (
        "_commands",
        "_lists",
        "account",
        "channel",
        "client_order_ids",
        "instrument",
        "kind",
        "order_id",
        "order_type",
        "participant",
        "price",
        "quantity",
        "short_sell",
        "side",
        "strings",
    )
    kind: np.ndarray
    side: np.ndarray
    order_type: np.ndarray
    price: np.ndarray
    quantity: np.ndarray
    order_id: np.ndarray
    short_sell: np.ndarray
    instrument: np.ndarray
    participant: np.ndarray
    account: np.ndarray
    channel: np.ndarray
    strings: list[str]
    client_order_ids: list[str]

    def __init__(
        self, columns: dict[str, Any], strings: list[str], client_order_ids: list[str], commands: list[Command] | None = None
    ) -> None:
        n = len(client_order_ids)
        for name, dtype in _COLUMNS.items():
            column = np.ascontiguousarray(columns[name], dtype=dtype)
            if column.shape != (n,):
                raise ValueError(f"Condition failed: column {name} has shape {column.shape}, expected ({n},)")
            setattr(self, name, column)
        self.strings = list(strings)
        self.client_order_ids = list(client_order_ids)
        top = len(self.strings)
        for name in ("instrument", "participant", "account", "channel"):
            column = getattr(self, name)
            if n and (int(column.min()) < 0 or int(column.max()) >= top):
                raise ValueError(f"Condition failed: column {name} indexes outside the {top} strings")
        if n and (int(self.order_type.max()) >= len(ORDER_TYPES) or int(self.side.max()) > 1 or int(self.kind.max()) > CANCEL):
            raise ValueError("Condition failed: kind, side or order_type out of range")
        if commands is not None and len(commands) != n:
            raise ValueError(f"Condition failed: {len(commands)} commands for {n} rows")
        self._commands = commands
        """The commands the rows were built from (`from_commands`), when they were: `command` gives
        them back as they are instead of rebuilding them from the columns."""
        self._lists: dict[str, list[Any]] = {}

    def column(self, name: str) -> list[Any]:
        """Column ``name`` as a list of Python ints (made once; reading a numpy array element by
        element costs a scalar object per read)."""
        values = self._lists.get(name)
        if values is None:
            values = self._lists[name] = getattr(self, name).tolist()
        return values

    def __len__(self) -> int:
        return len(self.client_order_ids)

    def command(self, i: int) -> Command:
        """Row ``i`` as the command the per-command path takes (what the journal stores)."""
        if self._commands is not None:
            return self._commands[i]
        s = self.strings
        if self.kind[i] == PLACE:
            return PlaceOrder(
                instrument=s[self.instrument[i]], participant=s[self.participant[i]], account=s[self.account[i]],
                client_order_id=self.client_order_ids[i], side=SIDES[self.side[i]], order_type=ORDER_TYPES[self.order_type[i]],
                price=int(self.price[i]), quantity=int(self.quantity[i]), channel=s[self.channel[i]], short_sell=bool(self.short_sell[i]),
            )  # fmt: skip
        return CancelOrder(
            instrument=s[self.instrument[i]],
            participant=s[self.participant[i]],
            order_id=int(self.order_id[i]),
            client_order_id=self.client_order_ids[i],
        )

    def commands(self) -> list[Command]:
        if self._commands is not None:
            return list(self._commands)
        return [self.command(i) for i in range(len(self))]

    @classmethod
    def from_commands(cls, commands: Iterable[Command]) -> OrderBatch:
        """The batch of ``commands``, which it keeps: `command` and `commands` give these objects
        back (the journal encodes them as `Engine.submit` would)."""
        builder = BatchBuilder()
        kept = list(commands)
        for command in kept:
            builder.add(command)
        return builder.build(kept)


class BatchBuilder:
    """Collects commands row by row (``place`` / ``cancel``) into an `OrderBatch`."""

    def __init__(self) -> None:
        self._strings: dict[str, int] = {"": 0}
        self._rows: list[tuple[int, int, int, int, int, int, int, int, int, int, int]] = []
        self._coids: list[str] = []

    def _string(self, text: str) -> int:
        index = self._strings.get(text)
        if index is None:
            index = self._strings[text] = len(self._strings)
        return index

    def place(
        self,
        instrument: str,
        participant: str,
        account: str,
        client_order_id: str,
        side: str,
        order_type: str,
        price: int,
        quantity: int,
        channel: str = "",
        short_sell: bool = False,
    ) -> None:  # noqa: PLR0913 - the fields of PlaceOrder
        string = self._string
        self._rows.append(
            (
                PLACE,
                SIDES.index(side),
                ORDER_TYPES.index(order_type),
                int(short_sell),
                price,
                quantity,
                0,
                string(instrument),
                string(participant),
                string(account),
                string(channel),
            )
        )
        self._coids.append(client_order_id)

    def cancel(self, instrument: str, participant: str, order_id: int = 0, client_order_id: str = "") -> None:
        string = self._string
        self._rows.append((CANCEL, 0, 0, 0, 0, 0, order_id, string(instrument), string(participant), 0, 0))
        self._coids.append(client_order_id)

    def add(self, command: Command) -> None:
        """A PlaceOrder or CancelOrder (a side or order type the batch cannot carry: ValueError;
        send such a command through `Engine.submit`, which refuses it with its code)."""
        if type(command) is PlaceOrder:
            if command.side not in SIDES or command.order_type not in ORDER_TYPES:
                raise ValueError(f"Condition failed: side {command.side!r} / order type {command.order_type!r} cannot go in a batch")
            self.place(command.instrument, command.participant, command.account, command.client_order_id, command.side, command.order_type,
                       command.price, command.quantity, command.channel, command.short_sell)  # fmt: skip
        elif type(command) is CancelOrder:
            self.cancel(command.instrument, command.participant, command.order_id, command.client_order_id)
        else:
            raise TypeError(f"Condition failed: a batch carries PlaceOrder and CancelOrder, not {type(command).__name__}")

    def __len__(self) -> int:
        return len(self._rows)

    def build(self, commands: list[Command] | None = None) -> OrderBatch:
        names = (
            "kind",
            "side",
            "order_type",
            "short_sell",
            "price",
            "quantity",
            "order_id",
            "instrument",
            "participant",
            "account",
            "channel",
        )
        table = np.array(self._rows, dtype=np.int64).reshape(len(self._rows), len(names))
        columns = {name: table[:, j] for j, name in enumerate(names)}
        return OrderBatch(columns, list(self._strings), self._coids, commands)


class Tape:
    """The event tape of one batch (see the module docstring for the record layout).

    ``records`` is the filled part as a numpy structured array; ``starts[i]:starts[i + 1]`` are
    the records of command ``i``. ``refs`` holds the order records trades and cancels refer to,
    ``objects`` the Python path's events and rejections; ``refusals`` the texts' rules."""

    __slots__ = ("_lists", "batch", "buffer", "count", "currencies", "objects", "refs", "refusals", "starts")

    def __init__(self, ctx: TradingContext, batch: OrderBatch) -> None:
        self.batch = batch
        self.buffer = np.zeros((max(4 * len(batch), 16), len(TAPE_FIELDS)), dtype=np.int64)
        self.count = 0
        self.starts = np.zeros(len(batch) + 1, dtype=np.int64)
        self.refs: list[Any] = []
        self.objects: list[Any] = []
        self.refusals: Refusals = ctx.refusals()
        self.currencies = {code: inst.currency for code, inst in ctx.instruments.items()}
        self._lists: tuple[int, list[list[int]], list[int]] | None = None

    # -- written by the venue ----------------------------------------------------------------
    def _begin(self, n: int) -> None:
        if self.starts.shape[0] != n + 1:
            raise ValueError("Invariant: a tape serves the batch it was made for")

    def _end(self) -> None:
        """Nothing to finish (the records are already in place); kept as the writer's bracket."""

    def _grow(self) -> None:
        grown = np.zeros((self.buffer.shape[0] * 2, self.buffer.shape[1]), dtype=np.int64)
        grown[: self.count] = self.buffer[: self.count]
        self.buffer = grown

    def _append(self, row: int, kind: int, ref: int) -> None:
        if self.count == self.buffer.shape[0]:
            self._grow()
        record = self.buffer[self.count]
        record[:] = 0
        record[0], record[1], record[11] = row, kind, ref
        self.count += 1

    def _fallback(self, ctx: TradingContext, command: Command, row: int, stamp: Stamp) -> None:
        """Run one command on the Python path and keep its events (or rejection) as objects."""
        try:
            events = ctx.execute_python(command, stamp)
        except Reject as r:
            self._append(row, K_REJECTED, len(self.objects))
            self.objects.append(r.rejection)
            return
        for event in events:
            self._append(row, K_EVENT, len(self.objects))
            self.objects.append(event)

    # -- read side -----------------------------------------------------------------------------
    # The readers work on the records as lists of Python ints (`_read`: one `tolist` of the filled
    # part, made on the first read after the venue wrote them): element reads from numpy arrays
    # cost a scalar object each, which for a small batch cost more than the venue's work.
    def _read(self) -> tuple[list[list[int]], list[int]]:
        cache = self._lists
        if cache is None or cache[0] != self.count:
            cache = self._lists = (self.count, self.buffer[: self.count].tolist(), self.starts.tolist())
        return cache[1], cache[2]

    @property
    def records(self) -> np.ndarray:
        return self.buffer[: self.count].view(TAPE_DTYPE).reshape(self.count)

    def __len__(self) -> int:
        return len(self.batch)

    def rows(self, i: int) -> np.ndarray:
        return self.buffer[int(self.starts[i]) : int(self.starts[i + 1])]

    def _rows(self, i: int) -> list[list[int]]:
        records, starts = self._read()
        return records[starts[i] : starts[i + 1]]

    def rejection(self, i: int) -> Rejection | None:
        """Why command ``i`` was refused, or None (built now, with the texts of the Python path)."""
        for record in self._rows(i):
            kind = record[1]
            if kind == K_REJECTED:
                rejection: Rejection = self.objects[record[11]]
                return rejection
            if kind == K_REFUSED:
                return self._refusal(i, record).rejection
        return None

    def _refusal(self, i: int, record: list[int]) -> Reject:
        batch, strings = self.batch, self.batch.strings
        refusal = record[5]
        if refusal == R_UNKNOWN_CLIENT_ORDER:
            return unknown_client_order(strings[batch.column("participant")[i]], batch.client_order_ids[i])
        side = SIDES[batch.column("side")[i]]
        return self.refusals.make(
            refusal, strings[batch.column("instrument")[i]], side, ORDER_TYPES[batch.column("order_type")[i]], *record[6:10]
        )

    def events(self, i: int) -> list[Event]:
        """The events command ``i`` produced, as the per-command path returns them (a refused
        command: none; see `rejection`)."""
        out: list[Event] = []
        levels: list[list[int]] = []
        for record in self._rows(i):
            kind = record[1]
            if kind == K_EVENT:
                out.append(self.objects[record[11]])
            elif kind == K_LEVEL:
                levels.append(record)
            elif kind == K_DEPTH:
                out.append(self._depth(i, record, levels))
                levels = []
            elif kind in (K_ACCEPTED, K_TRADE, K_CANCELLED):
                out.append(self._event(i, kind, record))
        return out

    def kinds(self, i: int) -> set[int]:
        """The kinds (``K_*``) of command ``i``'s records."""
        return {record[1] for record in self._rows(i)}

    def _event(self, i: int, kind: int, record: Sequence[int]) -> Event:
        batch = self.batch
        strings, column = batch.strings, batch.column
        instrument, participant = strings[column("instrument")[i]], strings[column("participant")[i]]
        _, _, side, order_id, other_id, trade_id, price, quantity, left, other_left, md_seq, ref = record
        if kind == K_ACCEPTED:
            return OrderAccepted(
                order_id=order_id, instrument=instrument, participant=participant, account=strings[column("account")[i]],
                client_order_id=batch.client_order_ids[i], side=SIDES[side], order_type=ORDER_TYPES[column("order_type")[i]], price=price,
                quantity=quantity, channel=strings[column("channel")[i]], short_sell=False,
            )  # fmt: skip
        if kind == K_TRADE:
            resting = self.refs[ref]
            account = strings[column("account")[i]]
            own, other = (account, participant), (resting.account, resting.participant)
            buyer, seller = (own, other) if side == 0 else (other, own)
            return TradeExecuted(
                instrument=instrument, trade_id=trade_id, price=price, quantity=quantity, currency=self.currencies[instrument],
                buyer=buyer[0], buyer_participant=buyer[1], buy_order_id=order_id, seller=seller[0], seller_participant=seller[1],
                sell_order_id=other_id, aggressor=SIDES[side], buy_remaining=left, sell_remaining=other_left, md_seq=md_seq,
            )  # fmt: skip
        reason = _CANCEL_REASONS[trade_id]
        coid = self.refs[ref].client_order_id if trade_id == 0 else batch.client_order_ids[i]
        return OrderCancelled(
            order_id=order_id, instrument=instrument, participant=participant, client_order_id=coid, remaining=quantity, reason=reason
        )

    def _depth(self, i: int, record: Sequence[int], levels: Sequence[Sequence[int]]) -> MarketDepthUpdated:
        instrument = self.batch.strings[self.batch.column("instrument")[i]]
        bids = [(r[6], r[7], r[8]) for r in levels if r[2] == 0]
        asks = [(r[6], r[7], r[8]) for r in levels if r[2] == 1]
        return MarketDepthUpdated(
            instrument=instrument, md_seq=record[10], bid_price=record[6], bid_quantity=record[7],
            ask_price=record[4], ask_quantity=record[8], bids=bids, asks=asks,
        )  # fmt: skip

    def trades(self) -> list[tuple[int, TradeExecuted]]:
        """Every trade on the tape with its command's row, in order (clearing's observe path),
        those of the Python path included."""
        out: list[tuple[int, TradeExecuted]] = []
        records, _ = self._read()
        for record in records:
            kind = record[1]
            if kind == K_TRADE:
                event: Event = self._event(record[0], K_TRADE, record)
            elif kind == K_EVENT:
                event = self.objects[record[11]]
                if type(event) is not TradeExecuted:
                    continue
            else:
                continue
            assert isinstance(event, TradeExecuted)
            out.append((record[0], event))
        return out

    def rows_with_objects(self) -> set[int]:
        """The commands that ran on the Python path and produced events (any type may be among
        them: the engine's observers look at those commands' events whole)."""
        records, _ = self._read()
        return {record[0] for record in records if record[1] == K_EVENT}

    def rows_observed(self, observed: Container[type]) -> set[int]:
        """The commands an observer of the event types ``observed`` must see: those with an event
        of such a type on the tape (a compiled record's event, or a refusal's `CommandRejected`)
        and every command that ran on the Python path (its events may be of any type)."""
        wanted = {kind for kind, event_type in KIND_EVENT_TYPES.items() if event_type in observed}
        wanted.add(K_EVENT)
        records, _ = self._read()
        return {record[0] for record in records if record[1] in wanted}

    def counts(self) -> dict[str, int]:
        """How many records of each kind (a summary for benchmarks and logs)."""
        kinds = self.buffer[: self.count, 1]
        names = ("accepted", "trade", "cancelled", "level", "depth", "refused", "event", "rejected")
        return {name: int((kinds == k).sum()) for k, name in enumerate(names, start=1)}


__all__ = ["CANCEL", "KIND_EVENT_TYPES", "PLACE", "TAPE_DTYPE", "TAPE_FIELDS", "BatchBuilder", "OrderBatch", "Tape"]
