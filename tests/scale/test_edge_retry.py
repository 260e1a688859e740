"""A retried order over the bus (same client order id sent again, e.g. after a 504) trades once and
is answered with the first outcome: whether the retry comes through the same edge, through an
edge started afterwards (the first one killed), after a timeout while the shards were down, or
after the stream's duplicate window (then the venue's own idempotency by client order id answers
"exists"). A retry that differs from the first order is not a retry: it is refused, naming the
field. The command's origin travels with it and lands in the shard's journal."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from datetime import date
from datetime import time as clock_time
from pathlib import Path

import pytest

from lionrock.engine import Origin, Outcome
from lionrock.kernel.messages import CommandRejected
from lionrock.kernel.xhkg import hk_ns
from lionrock.scale.edge import BusRunner, OutcomeTimeout
from lionrock.scale.nats import connect, read_events
from lionrock.service.writer import RunnerStopped
from lionrock.storage.sqlite_journal import SqliteJournal
from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay, TradingTick
from lionrock.trading.events import (
    OrderAccepted,
    OrderRejected,
    OrderRetryAcknowledged,
    TradeExecuted,
)
from testkit.bus_world import MAP, Shards, fresh

DAY = date(2025, 11, 24)
SHARD = MAP.shard_of_instrument("00700")


def _edge(url: str, timeout_s: float = 20.0) -> BusRunner:
    times = itertools.count(hk_ns(DAY, clock_time(9, 31)), 1_000_000)
    return BusRunner(url, MAP, clock=lambda: next(times), timeout_s=timeout_s).start()


def _order(coid: str, side: str, quantity: int, price: int = 400_000, participant: str = "B1") -> PlaceOrder:
    return PlaceOrder(
        instrument="00700",
        participant=participant,
        account=f"C:{participant}:I1",
        client_order_id=coid,
        side=side,
        order_type="LIMIT",
        price=price,
        quantity=quantity,
        channel="REST",
    )


def _open_market(edge: BusRunner) -> None:
    for command in (ListInstrument(instrument="00700", board_lot=100, nominal_price=400_000), StartTradingDay(day=DAY.isoformat(), seed=1)):
        assert edge.submit_wait(command).rejection is None
    for _ in range(6):  # the day's timers are due (the clock is past 09:30): each tick moves one session on
        edge.submit_wait(TradingTick())
    assert edge.submit_wait(_order("s1", "S", 300, participant="B2")).rejection is None


def _trades(url: str) -> list[TradeExecuted]:
    async def go() -> list[TradeExecuted]:
        nc, js = await connect(url)
        outcomes = await read_events(js, SHARD)
        await nc.drain()
        return [e for o in outcomes for e in o.own_events if isinstance(e, TradeExecuted)]

    return asyncio.run(go())


def _stored_orders(url: str, coid: str) -> int:
    from _workload import stream_commands

    async def go() -> int:
        nc, js = await connect(url)
        commands = await stream_commands(js, SHARD)
        await nc.drain()
        return sum(1 for c, _ in commands if isinstance(c, PlaceOrder) and c.client_order_id == coid)

    return asyncio.run(go())


@pytest.fixture
def shards(nats_url: str, tmp_path: Path) -> Iterator[Shards]:
    fresh(nats_url)
    running = Shards(nats_url, tmp_path).start()
    try:
        yield running
    finally:
        running.stop()


def _same(first: Outcome, again: Outcome) -> None:
    assert (again.seq, again.at_ns, again.events) == (first.seq, first.at_ns, first.events)


def test_edge_order_retry_same_or_new_edge_answers_first_outcome_trades_once(nats_url: str, shards: Shards) -> None:
    edge = _edge(nats_url)
    try:
        _open_market(edge)
        buy = _order("b1", "B", 200)
        first = edge.submit_wait(buy)
        assert [type(e) for e in first.events].count(TradeExecuted) == 1
        _same(first, edge.submit_wait(buy))  # the same edge, after its answer
    finally:
        edge.stop()
    later = _edge(nats_url, timeout_s=10.0)  # a new edge (the first one gone): it never saw the outcome
    try:
        _same(first, later.submit_wait(buy))
    finally:
        later.stop()
    assert len(_trades(nats_url)) == 1
    assert _stored_orders(nats_url, "b1") == 1


def test_edge_order_retry_after_timeout_answers_first_outcome_trades_once(nats_url: str, shards: Shards) -> None:
    opener = _edge(nats_url)
    try:
        _open_market(opener)
    finally:
        opener.stop()
    shards.stop()
    edge = _edge(nats_url, timeout_s=2.0)
    try:
        buy = _order("b1", "B", 200)
        with pytest.raises(OutcomeTimeout):
            edge.submit_wait(buy)  # stored, not yet applied: 504
        with pytest.raises(OutcomeTimeout):
            edge.submit_wait(buy)  # the client retries too soon: still 504, still stored once
    finally:
        edge.stop()
    shards.start()
    later = _edge(nats_url, timeout_s=20.0)
    try:
        again = later.submit_wait(buy)
        assert [type(e) for e in again.events].count(TradeExecuted) == 1
        _same(again, later.submit_wait(buy))
    finally:
        later.stop()
    assert len(_trades(nats_url)) == 1
    assert _stored_orders(nats_url, "b1") == 1


def test_edge_order_retry_after_duplicate_window_answers_exists_trades_once(nats_url: str, tmp_path: Path) -> None:
    fresh(nats_url, duplicate_window_s=1.0)
    running = Shards(nats_url, tmp_path).start()
    edge = _edge(nats_url)
    try:
        _open_market(edge)
        buy = _order("b1", "B", 200)
        first = edge.submit_wait(buy)
        accepted = next(e for e in first.events if isinstance(e, OrderAccepted))
        time.sleep(1.5)  # the stream has forgotten the message id: the retry is stored again ...
        again = edge.submit_wait(buy)  # ... and the venue knows the client order id
        retry = [e for e in again.events if isinstance(e, OrderRetryAcknowledged)]
        assert len(retry) == 1 and retry[0].order_id == accepted.order_id and again.rejection is None
        assert not any(isinstance(e, TradeExecuted) for e in again.events)
    finally:
        edge.stop()
        running.stop()
    assert len(_trades(nats_url)) == 1
    assert _stored_orders(nats_url, "b1") == 2


def test_edge_conflicting_retry_is_refused_naming_the_field(nats_url: str, shards: Shards) -> None:
    edge = _edge(nats_url)
    try:
        _open_market(edge)
        first = edge.submit_wait(_order("b1", "B", 200))
        assert first.rejection is None
        other = edge.submit_wait(_order("b1", "B", 200, price=399_800))  # same client order id, another price
        refused = [e for e in other.events if isinstance(e, (OrderRejected, CommandRejected))]
        assert refused and refused[0].rejection.code == 2033 and refused[0].rejection.field == "price", other.events
    finally:
        edge.stop()
    assert len(_trades(nats_url)) == 1


def test_edge_origin_travels_to_the_shard_journal(nats_url: str, tmp_path: Path) -> None:
    fresh(nats_url)
    running = Shards(nats_url, tmp_path).start()
    edge = _edge(nats_url)
    try:
        _open_market(edge)
        placed = edge.submit_wait(_order("b1", "B", 200), origin=Origin("broker-1", "FIX"))
        edge.submit_wait(TradingTick(), origin=Origin("op", "CLI"))
    finally:
        edge.stop()
        running.stop()
    journal = SqliteJournal(tmp_path / f"{SHARD}.sqlite", "every")
    try:
        origins = dict(journal.origins())
    finally:
        journal.close()
    assert origins[placed.seq] == Origin("broker-1", "FIX")
    assert Origin("op", "CLI") in origins.values()


def test_edge_ticker_moves_the_sessions_on_once_per_timer_with_two_edges(nats_url: str, shards: Shards) -> None:
    """No TradingTick sent by hand: each edge's ticker sends one when a shard's next timer is due
    by its clock (the venue refuses orders while a timer is overdue), so the day opens and the
    orders trade; two edges tick under the same keys, so the stream stores one tick per timer."""
    from lionrock.scale.nats import EVT_STREAM, H_NEXT_TIMER, evt_subject

    first, second = _edge(nats_url), _edge(nats_url)
    try:
        for command in (
            ListInstrument(instrument="00700", board_lot=100, nominal_price=400_000),
            StartTradingDay(day=DAY.isoformat(), seed=1),
        ):
            assert first.submit_wait(command).rejection is None
        deadline = time.monotonic() + 30
        for attempt in itertools.count():  # both clocks are past 09:31: every timer up to the morning session fires
            sell = first.submit_wait(
                _order(f"s{attempt}", "S", 300, participant="B2")
            )  # a new order each time (a retry would answer the same)
            if sell.rejection is None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sell.rejection is None, (sell.rejection, first.ticks_sent, second.ticks_sent, first._next_due)
        buy = second.submit_wait(_order("b1", "B", 200))
        assert [type(e) for e in buy.events].count(TradeExecuted) == 1
        assert first.ticks_sent + second.ticks_sent >= 1  # one tick fires every timer already due
    finally:
        first.stop()
        second.stop()

    async def consumed() -> tuple[int, int]:
        nc, js = await connect(nats_url)
        try:
            from _workload import stream_commands

            ticks = sum(1 for c, _ in await stream_commands(js, SHARD) if isinstance(c, TradingTick))
            timers = 0
            for shard in MAP.trading_shards:
                last = await js.get_last_msg(EVT_STREAM, evt_subject(shard))
                timers += int((last.headers or {}).get(H_NEXT_TIMER, "0:0").split(":")[1])
            return ticks, timers
        finally:
            await nc.drain()

    ticks, timers = asyncio.run(consumed())
    assert 0 < ticks <= timers  # one stored tick per timer fired, not one per edge


class _Msg:
    """What the edge's subscription hands it: subject, headers, body."""

    def __init__(self, subject: str, headers: dict[str, str], data: bytes) -> None:
        self.subject, self.headers, self.data = subject, headers, data


def test_edge_answers_each_outcome_of_a_batch_and_a_retry_from_a_republished_batch() -> None:
    """One event message carries a shard's whole batch: the edge answers every command of it that
    waits, by (shard, command stream seq), remembers the others for a retry, takes the batch's
    next timer, and treats a batch republished with other boundaries (after a crash, outside the
    duplicate window) as the same outcomes. No server: the edge's handler on its own."""
    from lionrock.kernel.messages import Codec
    from lionrock.scale.nats import OutcomeEntry, encode_outcome_batch, evt_subject, shard_outcome

    codec = Codec()

    def entry(seq: int, cmd_seq: int) -> OutcomeEntry:
        order = _order(f"b{seq}", "B", 100)
        accepted = OrderAccepted(
            order_id=seq, instrument="00700", participant="B1", account="C:B1:I1", client_order_id=f"b{seq}",
            side="B", order_type="LIMIT", price=400_000, quantity=100, channel="REST",
        )  # fmt: skip
        return OutcomeEntry(seq, 1_000 + seq, cmd_seq, f"k{cmd_seq}", 0, codec.encode(order), [codec.encode(accepted)])

    edge = BusRunner("nats://127.0.0.1:1", MAP, remember=4)  # never started

    async def go() -> None:
        loop = asyncio.get_running_loop()
        waiting = {cmd_seq: edge._waiting.setdefault((SHARD, cmd_seq), loop.create_future()) for cmd_seq in (10, 12)}
        body, headers = encode_outcome_batch(SHARD, [entry(5, 10), entry(6, 11), entry(7, 12)], next_timer="9000:4")
        await edge._on_outcome(_Msg(evt_subject(SHARD), headers, body))  # type: ignore[arg-type]
        assert (waiting[10].result().seq, waiting[12].result().seq) == (5, 7)
        assert waiting[12].result().body == _order("b7", "B", 100) and waiting[12].result().key == "k12"
        assert not edge._waiting and edge._next_due[SHARD] == (9000, 4)
        body, headers = encode_outcome_batch(SHARD, [entry(6, 11), entry(7, 12), entry(8, 13), entry(9, 14)])
        await edge._on_outcome(_Msg(evt_subject(SHARD), headers, body))  # type: ignore[arg-type]
        assert list(edge._seen) == [(SHARD, 11), (SHARD, 12), (SHARD, 13), (SHARD, 14)]  # the oldest forgotten (remember=4)
        assert shard_outcome(edge._seen[(SHARD, 11)], SHARD, codec).seq == 6  # a retry of command 11 gets outcome 6
        assert edge._next_due[SHARD] == (0, 0)  # the latest batch: no timer left

    asyncio.run(go())


def test_edge_commands_submitted_together_cross_to_the_bus_with_one_wakeup(nats_url: str, shards: Shards) -> None:
    """`submit_on_loop` from a server's loop: the commands submitted while the bus loop is busy
    cross to it together (one wake-up, not one per command), each gets its own answer, and a
    command the stopping edge never published is answered "stopped", not left waiting."""
    edge = _edge(nats_url)
    try:
        _open_market(edge)
        assert edge._loop is not None
        busy, release = threading.Event(), threading.Event()

        def block() -> None:  # the bus loop busy with something else while the orders come in
            busy.set()
            release.wait(10)

        async def burst() -> list[Outcome]:
            edge._loop.call_soon_threadsafe(block)  # type: ignore[union-attr]
            assert busy.wait(10)
            before = (edge.handoffs.commands, edge.handoffs.wakeups_in)
            futures = [edge.submit_on_loop(_order(f"p{i}", "B", 100, price=399_000 - 200 * i)) for i in range(20)]
            release.set()
            answers = await asyncio.gather(*futures)
            assert (edge.handoffs.commands - before[0], edge.handoffs.wakeups_in - before[1]) == (20, 1)
            return answers

        answers = asyncio.run(burst())
        assert all(a.rejection is None for a in answers), [a.rejection for a in answers]
        accepted = [next(e for e in a.events if isinstance(e, OrderAccepted)) for a in answers]
        assert [e.client_order_id for e in accepted] == [f"p{i}" for i in range(20)]
        assert len({a.seq for a in answers}) == 20

        async def at_stop() -> None:
            busy.clear(), release.clear()
            edge._loop.call_soon_threadsafe(block)  # type: ignore[union-attr]
            assert busy.wait(10)
            late = edge.submit_on_loop(_order("late", "B", 100))  # the bus loop cannot take it: still blocked
            threading.Timer(0.5, release.set).start()
            await asyncio.to_thread(edge.stop)
            with pytest.raises(RunnerStopped):
                await asyncio.wait_for(late, 5)
            with pytest.raises(RunnerStopped):
                edge.submit_on_loop(_order("later", "B", 100))

        asyncio.run(at_stop())
    finally:
        edge.stop()
