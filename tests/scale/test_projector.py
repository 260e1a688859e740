"""The projector over the event streams (`lionrock project`): every shard's outcomes into the
PostgreSQL read models, exactly once by (shard, seq), resuming after a kill, rebuilt from the streams."""

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
from _workload import MAP, workload

from lionrock.kernel.messages import Codec, CommandRejected
from lionrock.scale.nats import (
    EVT_STREAM,
    H_AT_NS,
    H_CMD_SEQ,
    H_KEY,
    H_SEQ,
    CommandProducer,
    OutcomeEntry,
    ShardEngine,
    ShardOutcome,
    connect,
    encode_outcome_batch,
    ensure_streams,
    evt_subject,
    read_events,
)
from lionrock.scale.projector import StreamProjector, run_projector
from lionrock.storage.locations import StorageSpec
from lionrock.storage.sql import SqlStore
from lionrock.trading.commands import PlaceOrder
from lionrock.trading.events import OrderAccepted, TradeExecuted
from testkit.bus_world import fresh_streams

CONTENT = {
    "orders": (
        "SELECT order_id, instrument, participant, account, client_order_id, side, order_type, price, quantity, filled, status "
        "FROM orders ORDER BY order_id"
    ),
    "trades": (
        "SELECT instrument, trade_id, price, quantity, buyer, seller, buy_order_id, sell_order_id FROM trades ORDER BY instrument, trade_id"
    ),
    "balances": "SELECT account, asset, amount FROM balances ORDER BY account, asset",
    "holdings": "SELECT account, asset, amount FROM holdings ORDER BY account, asset",
    "rejections": "SELECT command_type, code, participant, client_order_id FROM rejections ORDER BY participant, client_order_id, code",
    "events": "SELECT type, COUNT(*) FROM events GROUP BY type ORDER BY type",
}


def content(store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    """The read model without its sequence columns (which number outcomes in arrival order)."""
    return {name: store.execute(sql) for name, sql in CONTENT.items()}


async def _sharded_run(nats_url: str, tmp_path: Path, items: list[Any]) -> dict[str, list[ShardOutcome]]:
    """Publish ``items``, run the three shards until idle, return what each published."""
    nc, js = await connect(nats_url)
    await fresh_streams(js)
    await ensure_streams(js)
    await CommandProducer(js, MAP).publish_many(items)
    runners = [await ShardEngine(js, s, MAP, tmp_path / f"{s}.sqlite").start() for s in MAP.shards]
    idle = 0
    while idle < 3:
        taken = await asyncio.gather(*(r.step(0.2) for r in runners))
        idle = idle + 1 if not any(taken) else 0
    for r in runners:
        await r.close()
    published = {s: await read_events(js, s) for s in MAP.shards}
    await nc.drain()
    return published


def _expected_counts(published: dict[str, list[ShardOutcome]]) -> tuple[int, int, int]:
    trading = [o for s in MAP.trading_shards for o in published[s]]
    accepted = sum(isinstance(e, OrderAccepted) for o in trading for e in o.own_events)
    trades = sum(isinstance(e, TradeExecuted) for o in trading for e in o.own_events)
    rejected = sum(isinstance(e, CommandRejected) for s in MAP.shards for o in published[s] for e in o.own_events)
    return accepted, trades, rejected


def test_projector_folds_every_shard_once_and_resumes_after_a_kill(nats_url: str, pg_url: str, tmp_path: Path) -> None:
    items = workload(1200, seed=21)
    published = asyncio.run(_sharded_run(nats_url, tmp_path, items))
    accepted, trades, rejected = _expected_counts(published)
    assert accepted > 600 and trades > 100
    last = {s: published[s][-1].seq for s in MAP.shards}
    assert all([o.seq for o in published[s]] == list(range(1, last[s] + 1)) for s in MAP.shards)  # every outcome, once, in order

    # 1. `lionrock project` killed with SIGKILL mid-stream, then restarted to the end
    cmd = [sys.executable, "-m", "lionrock.cli", "project", "--nats", nats_url, "--db", pg_url, "--trading", "t0,t1", "--batch", "8"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True
    )
    read_url = StorageSpec(pg_url).read_model_url
    try:
        deadline = time.monotonic() + 60
        # kill at the first sign of progress: waiting for 400 once let the whole stream (2,183) through first
        while time.monotonic() < deadline and _projected(read_url) == 0:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _projected(read_url)
    assert 0 < before < sum(last.values())  # killed mid-stream
    result = subprocess.run([*cmd, "--idle-exit", "1.5"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"positions t0={last['t0']} t1={last['t1']} primary={last['primary']}" in result.stdout

    resumed = SqlStore(read_url)
    try:
        got = content(resumed)
        assert len(got["orders"]) == accepted and len({r[0] for r in got["orders"]}) == accepted  # ids unique across shards
        assert len(got["trades"]) == trades
        assert sum(n for _, n in got["events"] if _ == "CommandRejected") == rejected
        filled = sum(r[9] for r in got["orders"])
        assert filled == 2 * sum(r[3] for r in got["trades"])  # each fill once on each side: no fill applied twice

        # 2. rebuilt from the streams into a fresh read model, in process: the same rows
        rebuilt_db = pg_url.replace("?schema=", "?schema=rebuilt_")
        projector = asyncio.run(run_projector(nats_url, MAP, rebuilt_db, rebuild=True, idle_exit_s=1.0))
        assert projector is not None and {s: projector.position(s) for s in MAP.shards} == last
        rebuilt = SqlStore(StorageSpec(rebuilt_db).read_model_url)
        try:
            assert content(rebuilt) == got
        finally:
            rebuilt.close()
    finally:
        resumed.close()


def _projected(read_url: str) -> int:
    """Outcomes the read model holds, summed over shards (0 before the projector made its tables)."""
    try:
        store = SqlStore(read_url)
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return 0
    try:
        rows = store.execute("SELECT value FROM rm_meta WHERE key LIKE ?", ("stream.%",))
    except Exception:  # noqa: BLE001 - the tables may not exist yet
        return 0
    finally:
        store.close()
    return sum(int(str(v).partition(":")[2]) for (v,) in rows)


# -- exactly once by (shard, seq), without a server ---------------------------------------------
def _outcome(shard: str, seq: int, stream_seq: int, order_id: int) -> ShardOutcome:
    command = PlaceOrder(
        instrument="00700",
        participant="P1",
        account="C:P1:A",
        client_order_id=f"o{order_id}",
        side="B",
        order_type="LIMIT",
        price=10_000,
        quantity=100,
    )
    event = OrderAccepted(
        order_id=order_id,
        instrument="00700",
        participant="P1",
        account="C:P1:A",
        client_order_id=f"o{order_id}",
        side="B",
        order_type="LIMIT",
        price=10_000,
        quantity=100,
        channel="",
    )
    return ShardOutcome(shard, seq, 1_000 + seq, "PlaceOrder", 0, [event], command, "", stream_seq)


def test_projector_skips_duplicates_and_holds_an_early_outcome_until_the_missing_one(tmp_path: Path) -> None:
    store = SqlStore(str(tmp_path / "read.db"))
    projector = StreamProjector(None, MAP, store)  # type: ignore[arg-type]  # no server: _project only
    projector._project("t0", [_outcome("t0", 1, 1, 1), _outcome("t0", 3, 3, 3)])  # 2 lost on the way
    assert projector.position("t0") == 1 and projector.positions["t0"][0] == 0  # resume before the held one
    projector._project("t0", [_outcome("t0", 3, 4, 3), _outcome("t0", 1, 5, 1)])  # duplicates
    projector._project("t0", [_outcome("t0", 2, 6, 2)])  # published again by the restarted shard
    assert projector.position("t0") == 3 and projector.positions["t0"] == (6, 3)
    assert store.execute("SELECT order_id FROM orders ORDER BY order_id") == [(1,), (2,), (3,)]
    assert projector.stats.duplicates == 2 and projector.projector.projected_seq == 3
    store.close()
    again = StreamProjector(None, MAP, SqlStore(str(tmp_path / "read.db")))  # type: ignore[arg-type]
    assert again.positions["t0"] == (6, 3)  # stored with the rows
    again.store.close()


def test_projector_holds_a_relayed_outcome_until_its_source_outcome_is_in(tmp_path: Path) -> None:
    """The primary's reaction to t0's batch (a relay of its events) can reach the projector before
    t0's own outcome: it waits, so the read model (and what the edges announce from it) has the
    cause before the effect, as one process does; it is projected as soon as t0 catches up."""
    from lionrock.scale.sharding import RelayShardEvents

    announced: list[tuple[str, dict[str, str]]] = []

    class Announcements:  # what the projector publishes, kept instead of sent (no server here)
        async def publish(self, subject: str, body: bytes, stream: str, headers: dict[str, str]) -> None:
            announced.append((subject, headers))

    store = SqlStore(str(tmp_path / "read.db"))
    projector = StreamProjector(Announcements(), MAP, store)  # type: ignore[arg-type]
    cause = _outcome("t0", 1, 1, 1)
    relay = RelayShardEvents(source_shard="t0", source_seq=1, events=[Codec().encode(e) for e in cause.events])
    effect = ShardOutcome("primary", 1, 2_000, "RelayShardEvents", 1, [*cause.events, *_outcome("t0", 1, 1, 7).events], relay, "", 1)
    assert projector._project("primary", [effect]) == []  # t0's outcome 1 is not in yet
    assert projector.position("primary") == 0
    first = projector._project("t0", [cause])
    asyncio.run(projector._release_relays())  # what run_shard does after t0 moved on
    assert [o.seq for _, o in first] == [1] and projector.position("primary") == 1
    assert projector.projector.projected_seq == 2  # t0's outcome numbered first, the primary's after it
    ((_, headers),) = announced  # the released relay (t0's own outcome is run_shard's to announce)
    assert headers["Nats-Msg-Id"] == "read-2-2-2" and headers["Lionrock-Read-Positions"] == "t0=1,t1=0,primary=1"
    store.close()


def _entry(seq: int, cmd_seq: int) -> OutcomeEntry:
    """Outcome ``seq`` of shard t0 as its batch message carries it: order ``o<seq>`` accepted."""
    codec, o = Codec(), _outcome("t0", seq, 0, seq)
    assert o.body is not None
    return OutcomeEntry(seq, o.at_ns, cmd_seq, f"k{seq}", 0, codec.encode(o.body), [codec.encode(e) for e in o.events])


async def _publish_batch(js: Any, entries: list[OutcomeEntry]) -> None:
    body, headers = encode_outcome_batch("t0", entries)
    await js.publish(evt_subject("t0"), body, stream=EVT_STREAM, headers=headers)


async def _publish_single(js: Any, entry: OutcomeEntry) -> None:
    """One outcome in one message, as a shard published them before batches."""
    headers = {H_SEQ: str(entry.seq), H_AT_NS: str(entry.at_ns), H_CMD_SEQ: str(entry.cmd_seq), H_KEY: entry.key}
    await js.publish(evt_subject("t0"), msgspec.msgpack.encode((entry.command, entry.events)), stream=EVT_STREAM, headers=headers)


def test_projector_skips_the_outcomes_of_a_batch_it_already_applied_and_reads_older_messages(nats_url: str, tmp_path: Path) -> None:
    """Exactly once per (shard, seq), never per message: an older shard published outcomes 1 and 2
    one per message and died inside its batch; upgraded, it republished the batch 1-5 as one
    message (outside the duplicate window, or under another id: stored); then 7-8 arrived before 6
    (lost on the way and published again). The projector applies 1-8 once each, and its stream
    position moves past a message only when every outcome of it is in."""
    entries = [_entry(seq, 100 + seq) for seq in range(1, 9)]

    async def go() -> tuple[StreamProjector, list[ShardOutcome]]:
        nc, js = await connect(nats_url)
        await fresh_streams(js)
        await ensure_streams(js)
        await _publish_single(js, entries[0])
        await _publish_single(js, entries[1])
        await _publish_batch(js, entries[0:5])
        await _publish_batch(js, entries[6:8])
        await _publish_batch(js, entries[5:6])
        projector = StreamProjector(js, MAP, SqlStore(str(tmp_path / "read.db")), batch=2)  # two messages per fetch
        await projector.start()
        positions = []
        while await projector.step("t0", 0.3):
            positions.append(projector.positions["t0"])
        # 1, 2; then 3-5 applied and 7-8 held: resume before the message holding them; then 6, 7, 8
        assert positions == [(2, 2), (2, 5), (5, 8)]
        await projector.close()
        published = await read_events(js, "t0")
        await nc.drain()
        return projector, published

    projector, published = asyncio.run(go())
    assert [o.seq for o in published] == [1, 2, 1, 2, 3, 4, 5, 7, 8, 6]  # as published
    assert [o.stream_seq for o in published] == [1, 2, 3, 3, 3, 3, 3, 4, 4, 5]  # a batch's outcomes share its message
    assert [o.cmd_seq for o in published] == [101, 102, 101, 102, 103, 104, 105, 107, 108, 106]
    assert projector.positions["t0"] == (5, 8) and projector.stats.duplicates == 2
    assert projector.store.execute("SELECT order_id FROM orders ORDER BY order_id") == [(n,) for n in range(1, 9)]
    assert projector.projector.projected_seq == 8
    projector.store.close()


@pytest.mark.parametrize("shard", ["t0", "t1"])
def test_trading_shards_number_orders_in_disjoint_ranges(shard: str) -> None:
    from lionrock.scale.sharding import ORDER_ID_SPAN

    assert MAP.order_id_base(shard) == MAP.trading_shards.index(shard) * ORDER_ID_SPAN
