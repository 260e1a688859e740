"""Shards over a real nats-server with JetStream: routing, dedup, per-shard determinism, crash resume.

DESIGN.md "Persistence and scale": order books shard by instrument; each shard's commands are
sequenced through a JetStream stream; each shard engine consumes its stream, journals, publishes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _workload import MAP, reference_hashes, replay_hash, stream_commands, workload

from lionrock.clearing.commands import DepositCash
from lionrock.kernel.messages import Codec, Stamp
from lionrock.scale.nats import (
    CMD_STREAM,
    EVT_STREAM,
    CommandProducer,
    ShardEngine,
    connect,
    ensure_streams,
    read_events,
)
from lionrock.scale.sharding import RelayContext, RelayShardEvents, ShardMap
from lionrock.trading.commands import (
    CancelOrder,
    ListInstrument,
    PlaceOrder,
    StartTradingDay,
    TradingTick,
)
from lionrock.trading.events import OrderAccepted, OrderCancelled, TradeExecuted
from testkit.bus_world import fresh_streams


class Crash(Exception):
    pass


# -- pure: routing and relay ------------------------------------------------------------------
TRADE = TradeExecuted(
    instrument="00700",
    trade_id=1,
    price=10_000,
    quantity=100,
    currency="HKD",
    buyer="C:P1:A",
    buyer_participant="P1",
    buy_order_id=1,
    seller="C:P2:A",
    seller_participant="P2",
    sell_order_id=2,
    aggressor="B",
)
"""A trade on 00700 between two participants' clients (the relay tests)."""


def test_route_instrument_commands_go_to_one_stable_trading_shard() -> None:
    m = ShardMap(("t0", "t1", "t2"))
    order = PlaceOrder(
        instrument="00700",
        participant="P1",
        account="C:P1:A",
        client_order_id="x",
        side="B",
        order_type="LIMIT",
        price=10_000,
        quantity=100,
    )
    cancel = CancelOrder(instrument="00700", participant="P1", client_order_id="x")
    assert m.route(order) == m.route(cancel) == m.route(ListInstrument(instrument="00700", board_lot=100, nominal_price=1))
    assert ShardMap(("t0", "t1", "t2")).route(order) == m.route(order)  # no salted hash
    assert m.shard_of_instrument("82525") == m.shard_of_instrument("02525")  # dual counters together
    assert m.route(StartTradingDay(day="2025-11-24")) == ("t0", "t1", "t2")
    assert m.route(TradingTick()) == ("t0", "t1", "t2")
    assert m.route(DepositCash(account="C:P1:A", currency="HKD", amount=1)) == ("primary",)
    assert ShardMap(("t0", "t1"), pinned={"00700": "t1"}).shard_of_instrument("00700") == "t1"
    spread = {m.shard_of_instrument(f"{i:05d}") for i in range(1, 200)}
    assert spread == {"t0", "t1", "t2"}


def test_route_sends_every_trading_command_to_a_trading_shard() -> None:
    """No trading command falls through to the primary, where no context executes it (the edge
    answered DesignateShortSelling "no context executes" until 8 Dec 2026): every command of the
    trading context names its instrument's shard, or every trading shard (the session's)."""
    from typing import get_args

    from lionrock.scale import sharding
    from lionrock.trading.commands import DesignateShortSelling, TradingCommand

    routed = set(sharding._INSTRUMENT_COMMANDS) | set(sharding._BROADCAST_COMMANDS)
    assert {c.__name__ for c in get_args(TradingCommand)} == routed
    m = ShardMap(("t0", "t1"))
    assert m.route(DesignateShortSelling(instrument="00700", designated=True)) == (m.shard_of_instrument("00700"),)


def test_route_trades_relay_to_primary_and_southbound_admission_to_the_book_shard() -> None:
    trade = TRADE
    assert MAP.relay_targets("t0", trade) == ("primary",)
    assert MAP.relay_targets("primary", trade) == ()
    from lionrock.connect.events import SouthboundOrderAdmitted

    order = PlaceOrder(
        instrument="00700",
        participant="P1",
        account="C:P1:A",
        client_order_id="x",
        side="B",
        order_type="LIMIT",
        price=10_000,
        quantity=100,
    )
    admitted = SouthboundOrderAdmitted(link="SH", order=order, quota_used=0, quota_balance=0)
    assert MAP.relay_targets("primary", admitted) == (MAP.shard_of_instrument("00700"),)
    # an order's acceptance goes to the primary only when connect acts on it: a southbound order's
    accepted = OrderAccepted(
        order_id=1,
        instrument="00700",
        participant="P1",
        account="C:P1:A",
        client_order_id="x",
        side="B",
        order_type="LIMIT",
        price=10_000,
        quantity=100,
        channel="REST",
    )
    assert MAP.relay_targets("t0", accepted) == ()
    assert MAP.relay_targets("t0", msgspec.structs.replace(accepted, channel="SB-SH")) == ("primary",)
    cancelled = OrderCancelled(order_id=1, instrument="00700", participant="P1", client_order_id="x", remaining=100, reason="client")
    assert MAP.relay_targets("t0", cancelled) == ("primary",)  # names no channel: connect decides


def test_relay_context_duplicate_batch_applied_once() -> None:
    codec = Codec()
    trade = TRADE
    ctx = RelayContext()
    batch = RelayShardEvents(source_shard="t0", source_seq=5, events=[codec.encode(trade)])
    assert ctx.execute(batch, Stamp(1, 1)) == [trade]
    assert ctx.execute(batch, Stamp(2, 2)) == []
    assert codec.decode_command(codec.encode(batch)) == batch


# -- against nats-server -----------------------------------------------------------------------
def test_producer_retry_with_same_key_is_stored_once(nats_url: str) -> None:
    async def go() -> None:
        nc, js = await connect(nats_url)
        await fresh_streams(js)
        await ensure_streams(js)
        producer = CommandProducer(js, MAP)
        command = DepositCash(account="C:P1:A", currency="HKD", amount=5)
        first = await producer.publish(command, 1, key="dep-1")
        again = await producer.publish(command, 1, key="dep-1")
        other = await producer.publish(command, 1, key="dep-2")
        assert [p.duplicate for p in first + again + other] == [False, True, False]
        assert first[0].stream_seq == again[0].stream_seq != other[0].stream_seq
        info = await js.stream_info(CMD_STREAM)
        assert info.state.messages == 2
        tick = await producer.publish(TradingTick(), 2, key="tick")  # broadcast: one per trading shard
        assert [p.shard for p in tick] == ["t0", "t1"]
        await nc.drain()

    asyncio.run(go())


async def _published(nats_url: str, items: list[tuple[Any, int, str]]) -> tuple[Any, Any]:
    """A connection to fresh streams holding ``items`` as the producer publishes them."""
    nc, js = await connect(nats_url)
    await fresh_streams(js)
    await ensure_streams(js)
    await CommandProducer(js, MAP).publish_many(items)
    return nc, js


async def _run_until_idle(runners: list[ShardEngine], idle_rounds: int = 3) -> None:
    idle = 0
    while idle < idle_rounds:
        taken = await asyncio.gather(*(r.step(0.2) for r in runners))
        idle = idle + 1 if not any(taken) else 0


async def _crashed(js: Any, journal: Path, point: str, **options: Any) -> ShardEngine:
    """Shard t0 run until it crashes at ``point`` of its second batch (64 commands a batch), then
    closed as a crash leaves it: what was appended but not flushed, and the meta staged with it,
    is lost."""
    batches = 0

    def hook(at: str) -> None:
        nonlocal batches
        if at == point:
            batches += 1
            if batches == 2:
                raise Crash(at)

    first = await ShardEngine(js, "t0", MAP, journal, batch=64, crash_hook=hook, **options).start()
    with pytest.raises(Crash):
        await _run_until_idle([first])
    assert first.engine is not None
    first.engine.journal.discard_pending()
    await first.close()
    return first


def test_shards_each_match_a_single_engine_fed_their_commands(nats_url: str, tmp_path: Path) -> None:
    items = workload(1200)
    expected = reference_hashes(items)

    async def go() -> None:
        nc, js = await connect(nats_url)
        await fresh_streams(js)
        await ensure_streams(js)
        started = time.perf_counter()
        await CommandProducer(js, MAP).publish_many(items)
        published_s = time.perf_counter() - started
        runners = [await ShardEngine(js, s, MAP, tmp_path / f"{s}.sqlite").start() for s in MAP.shards]
        started = time.perf_counter()
        await _run_until_idle(runners)
        consumed_s = time.perf_counter() - started
        hashes = {r.shard: r.state_hash() for r in runners}
        applied = sum(r.stats.applied for r in runners)
        print(f"\n{len(items)} commands published in {published_s:.2f}s; {applied} applied by 3 shards in {consumed_s:.2f}s")
        for shard in ("t0", "t1"):
            assert hashes[shard] == expected[shard], shard
        # the primary: its stream (own commands plus relayed trading events) replayed in one engine
        primary_stream = await stream_commands(js, "primary")
        assert hashes["primary"] == replay_hash("primary", primary_stream)
        relayed = [c for c, _ in primary_stream if isinstance(c, RelayShardEvents)]
        trades_relayed = sum(1 for c in relayed for b in c.events if isinstance(Codec().decode_event(b), TradeExecuted))
        trades = 0
        for shard in ("t0", "t1"):
            outcomes = await read_events(js, shard)
            assert [o.seq for o in outcomes] == sorted({o.seq for o in outcomes})  # once each, in order
            trades += sum(isinstance(e, TradeExecuted) for o in outcomes for e in o.events)
        assert trades > 50 and trades_relayed == trades  # clearing saw every trade exactly once
        for r in runners:
            await r.close()
        await nc.drain()

    asyncio.run(go())


@pytest.mark.parametrize("point", ["after_submit", "after_flush", "after_events_stored", "after_publish"])
def test_shard_crash_at_each_point_resumes_without_double_apply(nats_url: str, tmp_path: Path, point: str) -> None:
    items = workload(600, seed=11)
    expected = reference_hashes(items)
    journal = tmp_path / "t0.sqlite"

    async def go() -> None:
        nc, js = await _published(nats_url, items)
        first = await _crashed(js, journal, point)
        second = await ShardEngine(js, "t0", MAP, journal, batch=64).start()
        await _run_until_idle([second])
        assert second.state_hash() == expected["t0"]
        assert second.stats.skipped_journaled == 0  # the stream position is committed with the block: nothing journaled is redelivered
        outcomes = await read_events(js, "t0")
        # one event message per batch. That a batch was published is committed with the next batch's block, so a
        # crash anywhere but after that commit publishes one batch again: the same message, stored once
        stored = (await js.stream_info(EVT_STREAM)).state.messages
        republished = point != "after_flush"
        assert stored == first.stats.event_messages + second.stats.event_messages - republished < len(outcomes) / 10
        # the trades reach the primary once each, one relay per batch, whatever the crash republished
        relays = [c for c, _ in await stream_commands(js, "primary") if isinstance(c, RelayShardEvents)]
        applied, last = 0, 0
        for relay in relays:  # as the primary's RelayContext applies them
            if relay.source_seq > last:
                applied += sum(isinstance(Codec().decode_event(b), TradeExecuted) for b in relay.events)
                last = relay.source_seq
        trades = [o for o in outcomes if any(isinstance(e, TradeExecuted) for e in o.events)]
        assert applied == sum(isinstance(e, TradeExecuted) for o in trades for e in o.events) > 0
        assert len(relays) < len(trades)  # batched: fewer relays than outcomes with a trade
        seqs = [o.seq for o in outcomes]
        assert seqs == sorted(set(seqs))  # every outcome published once, in order
        cmd_seqs = [o.cmd_seq for o in outcomes]  # each names its command (an edge answers by it), republished ones too
        assert all(cmd_seqs) and cmd_seqs == sorted(set(cmd_seqs)) and all(o.key for o in outcomes)
        await second.close()
        await nc.drain()

    asyncio.run(go())


def test_shard_crash_inside_a_batch_after_a_snapshot_republishes_its_durable_part_named(nats_url: str, tmp_path: Path) -> None:
    """A batch split across a crash: a snapshot inside the batch (``--snapshot-every``) makes the
    outcomes before it durable, then the shard dies before the batch's end. The restarted shard
    publishes that durable part as one message, each outcome naming its command (stream seq and
    message id: an edge waiting for it, or a retry, must find it), then applies the rest of the
    batch from the stream; every outcome once, the same hash as one engine."""
    items = workload(600, seed=17)
    expected = reference_hashes(items)
    journal = tmp_path / "t0.sqlite"

    async def go() -> None:
        nc, js = await _published(nats_url, items)
        await _crashed(js, journal, "after_submit", snapshot_every=100)  # in seqs 65-128, after the snapshot at 100
        second = await ShardEngine(js, "t0", MAP, journal, batch=64, snapshot_every=100).start()
        assert second.stats.event_messages == 1 and second.stats.events_published == 36  # 65-100, at start-up
        await _run_until_idle([second])
        assert second.state_hash() == expected["t0"]
        assert second.stats.skipped_journaled == 36  # redelivered, checked against the journal, not applied again
        outcomes = await read_events(js, "t0")
        assert [o.seq for o in outcomes] == list(range(1, len(outcomes) + 1))
        cmd_seqs = [o.cmd_seq for o in outcomes]
        assert all(cmd_seqs) and cmd_seqs == sorted(set(cmd_seqs)) and all(o.key for o in outcomes)
        for o in outcomes[60:110]:  # each names the very message it answers, across the split
            msg = await js.get_msg(CMD_STREAM, o.cmd_seq)
            assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == o.key
            assert msg.data is not None and Codec().decode_command(msg.data) == o.body
        await second.close()
        await nc.drain()

    asyncio.run(go())


def test_shard_process_killed_mid_stream_restarts_to_the_same_hash(nats_url: str, tmp_path: Path) -> None:
    """`lionrock shard` killed with SIGKILL while consuming, then restarted: same final hash."""
    items = workload(6000, seed=5)  # about 1,050 for t1: a fast shard cannot finish them between two polls
    expected = reference_hashes(items)
    journal = tmp_path / "t1.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "lionrock.cli",
        "shard",
        "--nats",
        nats_url,
        "--shard",
        "t1",
        "--journal",
        str(journal),
        "--trading",
        "t0,t1",
        "--batch",
        "32",
    ]

    async def publish() -> int:
        nc, js = await _published(nats_url, items)
        await nc.drain()
        return 0

    asyncio.run(publish())
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _journal_records(journal) < 100:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _journal_records(journal)
    assert 0 < done_before < len([1 for c, _, _ in items if "t1" in MAP.route(c)])  # killed mid-stream
    result = subprocess.run([*cmd, "--idle-exit", "1.5"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"state_hash {expected['t1']}" in result.stdout


def _journal_records(path: Path) -> int:
    import sqlite3
    from contextlib import closing

    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            row: Any = db.execute("SELECT COALESCE(MAX(last_seq), 0) FROM blocks").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


async def _restarted_counting_replays(js: Any, journal: Path, **options: Any) -> tuple[ShardEngine, list[int]]:
    """Shard t0 started on ``journal`` (batches of 64), and the records its recovery replayed."""
    from lionrock.engine import Engine

    replayed: list[int] = []
    real = Engine._replay_record

    def counted(engine: Engine, rec: Any) -> None:
        replayed.append(rec.seq)
        real(engine, rec)

    Engine._replay_record = counted  # type: ignore[method-assign]
    try:
        return await ShardEngine(js, "t0", MAP, journal, batch=64, **options).start(), replayed
    finally:
        Engine._replay_record = real  # type: ignore[method-assign]


def test_shard_crash_after_publishing_a_batch_that_snapshotted_restarts_from_the_snapshot(nats_url: str, tmp_path: Path) -> None:
    """That a batch was published is committed with the next batch's block, except after a batch
    that took a snapshot: then at once, so a crash after publishing it still restarts from that
    snapshot (a restart uses a snapshot only once every outcome before it is known to be published)
    instead of replaying the whole journal."""

    items = workload(600, seed=17)
    expected = reference_hashes(items)
    journal = tmp_path / "t0.sqlite"

    async def go() -> None:
        nc, js = await _published(nats_url, items)
        await _crashed(js, journal, "after_publish", snapshot_every=100)  # batch 2 is seqs 65-128, the snapshot at 100
        second, replayed = await _restarted_counting_replays(js, journal, snapshot_every=100)
        assert replayed == list(range(101, 129))  # the tail after the snapshot, not records 1-128
        await _run_until_idle([second])
        assert second.state_hash() == expected["t0"]
        await second.close()
        await nc.drain()

    asyncio.run(go())


def test_shard_snapshots_and_a_restart_resumes_from_the_latest(nats_url: str, tmp_path: Path) -> None:
    """`--snapshot-every`: the shard engine snapshots its state every N records (the snapshot
    flushes the records before it), so a restart restores the snapshot and replays only the tail,
    to the same state hash as a single engine fed the shard's commands."""
    from lionrock.storage.sqlite_journal import SqliteJournal

    items = workload(600, seed=13)
    expected = reference_hashes(items)
    journal = tmp_path / "t0.sqlite"

    async def go() -> None:
        nc, js = await _published(nats_url, items)
        first = await ShardEngine(js, "t0", MAP, journal, batch=64, relay=False, snapshot_every=100).start()
        await _run_until_idle([first])
        assert first.engine is not None
        total = first.engine.seq
        await first.close()
        stored = SqliteJournal(journal, "every")
        snap = stored.latest_snapshot()
        stored.close()
        assert snap is not None and snap.seq == total // 100 * 100 and snap.seq >= 200
        second, replayed = await _restarted_counting_replays(js, journal, relay=False, snapshot_every=100)
        assert replayed == list(range(snap.seq + 1, total + 1))  # only the tail after the snapshot
        assert second.engine is not None and second.engine.seq == total
        assert second.state_hash() == expected["t0"]
        await second.close()
        await nc.drain()

    asyncio.run(go())


def test_bodies_over_the_inline_limit_travel_in_the_object_store(nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An offering's ballot or a file of applications is megabytes, over the server's 1 MB
    max_payload (found by make demo-cluster: the primary could not publish a ClosePublicOffer
    outcome and restarted for ever). With the inline limit at 64 bytes every command, relay and
    outcome travels in the object store: same hashes, every outcome decodes, none inline."""
    import lionrock.scale.nats as bus

    monkeypatch.setattr(bus, "INLINE_MAX_BYTES", 64)
    items = workload(150, seed=3)
    expected = reference_hashes(items)

    async def go() -> None:
        nc, js = await _published(nats_url, items)
        raw = await js.get_msg(CMD_STREAM, 1)
        assert raw.headers and bus.H_BODY in raw.headers and not raw.data  # the body is not in the message
        runners = [await ShardEngine(js, s, MAP, tmp_path / f"{s}.sqlite").start() for s in MAP.shards]
        await _run_until_idle(runners)
        for shard in ("t0", "t1"):
            assert runners[MAP.shards.index(shard)].state_hash() == expected[shard]
            outcomes = await read_events(js, shard)
            assert [o.seq for o in outcomes] == list(range(1, len(outcomes) + 1)) and all(o.body is not None for o in outcomes)
        primary = await stream_commands(js, "primary")
        assert runners[MAP.shards.index("primary")].state_hash() == replay_hash("primary", primary)
        for r in runners:
            await r.close()
        await nc.drain()

    asyncio.run(go())
