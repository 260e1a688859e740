"""Chaos on a real three-node JetStream cluster (streams with 3 replicas): NATS nodes, shard
processes and the projector are killed with SIGKILL mid-stream, alone and together, and restarted.

Afterwards: every acknowledged command is in its shard's stream once and applied once (each
shard's state hash equals an in-process engine fed that stream), every outcome is published and
projected once, the read model equals a rebuild from the streams, and no fill counts twice.
Seeded (``LIONROCK_CHAOS_SEED``); a failure names its seed."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import nats.js.errors
import pytest
from _workload import MAP, replay_shard_hash, stream_commands, workload
from test_projector import content

from cluster import NatsCluster, Process
from lionrock.scale.nats import (
    CMD_STREAM,
    EVT_STREAM,
    CommandProducer,
    connect,
    ensure_streams,
    read_events,
)
from lionrock.scale.projector import run_projector
from lionrock.storage.locations import StorageSpec
from lionrock.storage.sql import SqlStore
from lionrock.trading.commands import PlaceOrder
from lionrock.trading.events import OrderAccepted, TradeExecuted
from testkit.bus_world import fresh_streams

SEED = int(os.environ.get("LIONROCK_CHAOS_SEED", "17"))
CHUNKS = 20
ORDERS_PER_CHUNK = max(100, int(os.environ.get("LIONROCK_CHAOS_ORDERS", "0")) // CHUNKS)
"""2,000 orders in the suite; ``make chaos`` (LIONROCK_CHAOS_ORDERS) more."""


def _shard(name: str, cluster: NatsCluster, tmp: Path) -> Process:
    return Process(
        name,
        [
            "shard",
            "--nats",
            cluster.url,
            "--shard",
            name,
            "--journal",
            str(tmp / f"{name}.sqlite"),
            "--trading",
            "t0,t1",
            "--replicas",
            "3",
            "--batch",
            "64",
            "--connect-attempts",
            "20",
        ],
        tmp,
    )


def _projector(cluster: NatsCluster, db: str, tmp: Path) -> Process:
    return Process(
        "projector", ["project", "--nats", cluster.url, "--db", db, "--trading", "t0,t1", "--batch", "64", "--connect-attempts", "20"], tmp
    )


async def _quiet(js: Any, rounds: int = 3, timeout_s: float = 180.0) -> None:
    """Until every shard's and the projector's consumers have nothing pending, ``rounds`` checks in a row."""
    durables = [(CMD_STREAM, f"shard-{s}") for s in MAP.shards] + [(EVT_STREAM, f"project-{s}") for s in MAP.shards]
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < rounds:
        assert time.monotonic() < deadline, f"seed {SEED}: the cluster never went quiet"
        await asyncio.sleep(0.5)
        try:
            infos = [await js.consumer_info(stream, durable) for stream, durable in durables]
        except (nats.js.errors.Error, nats.errors.Error, TimeoutError):
            quiet = 0
            continue
        busy = any(i.num_pending or i.num_ack_pending for i in infos)
        quiet = 0 if busy else quiet + 1


def _state_hash(log: str) -> str:
    lines = [line for line in log.splitlines() if line.startswith("state_hash ")]
    assert lines, log[-2000:]
    return lines[-1].split()[1]


def test_cluster_survives_nodes_shards_and_projector_killed(nats_cluster: NatsCluster, pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    cluster = nats_cluster
    items = workload(CHUNKS * ORDERS_PER_CHUNK, seed=SEED)
    head = [i for i, (c, _, _) in enumerate(items) if isinstance(c, PlaceOrder)][0]
    size = -(-(len(items) - head) // CHUNKS)
    chunks = [items[:head]] + [items[head + k * size : head + (k + 1) * size] for k in range(CHUNKS)]
    assert sum(map(len, chunks)) == len(items)
    node_a, node_b = rng.sample(range(3), 2)
    shard_a, shard_b = rng.choice(MAP.shards), rng.choice(MAP.shards)
    # chunk index -> what happens before it is published (alone, then together)
    plan: dict[int, list[str]] = {
        3: [f"kill node {node_a}"],
        6: [f"kill shard {shard_a}"],
        7: [f"start shard {shard_a}"],
        9: ["kill projector"],
        10: ["start projector"],
        12: [f"start node {node_a}"],
        15: [f"kill node {node_b}", f"kill shard {shard_b}", "kill projector"],
        18: [f"start node {node_b}", f"start shard {shard_b}", "start projector"],
    }
    shards = {s: _shard(s, cluster, tmp_path) for s in MAP.shards}
    projector = _projector(cluster, pg_url, tmp_path)

    def act(step: str) -> None:
        verb, kind, *name = step.split()
        target: Any = projector if kind == "projector" else shards[name[0]] if kind == "shard" else int(name[0])
        if kind == "node":
            (cluster.kill if verb == "kill" else cluster.start_node)(target)
        else:
            (target.kill if verb == "kill" else target.start)()

    async def go() -> dict[str, Any]:
        nc, js = await connect(cluster.url)
        await fresh_streams(js)
        await ensure_streams(js, replicas=3)
        info = await js.stream_info(CMD_STREAM)
        assert info.config.num_replicas == 3 and len(info.cluster.replicas or []) == 2  # a leader and two replicas
        for process in (*shards.values(), projector):
            process.start()
        producer = CommandProducer(js, MAP, timeout_s=60.0)
        acknowledged = 0
        for k, chunk in enumerate(chunks):
            for step in plan.get(k, []):
                act(step)
            acknowledged += len(await producer.publish_many(chunk))
            await asyncio.sleep(0.1)
        for process in (*shards.values(), projector):
            assert process.alive, f"seed {SEED}: {process.name} died: {process.log.read_text()[-3000:]}"
        await _quiet(js)
        streams = {s: await stream_commands(js, s) for s in MAP.shards}
        outcomes = {s: await read_events(js, s) for s in MAP.shards}
        await nc.drain()
        return {"acknowledged": acknowledged, "streams": streams, "outcomes": outcomes}

    try:
        got = asyncio.run(go())
        logs = {s: p.stop() for s, p in shards.items()}
        projector_log = projector.stop()
    finally:
        for process in (*shards.values(), projector):
            process.kill()
    streams, outcomes = got["streams"], got["outcomes"]
    where = f"seed {SEED}, plan {plan}"

    # every acknowledged command is in its shard's stream exactly once
    orders = [c for c, _, _ in items if isinstance(c, PlaceOrder)]
    for shard in MAP.trading_shards:
        mine = sorted(c.client_order_id for c in orders if MAP.route(c) == (shard,))
        stored = sorted(c.client_order_id for c, _ in streams[shard] if isinstance(c, PlaceOrder))
        assert stored == mine, where
    # ... and applied exactly once: each shard's hash equals one engine fed its stream as stored
    for shard in MAP.shards:
        assert _state_hash(logs[shard]) == replay_shard_hash(shard, streams[shard]), f"{where}: {shard}"
    # every outcome published (duplicates dropped by their message id) and projected once
    last = {}
    for shard in MAP.shards:
        seqs = [o.seq for o in outcomes[shard]]
        assert set(seqs) == set(range(1, max(seqs) + 1)), f"{where}: {shard}"
        last[shard] = max(seqs)
    assert f"positions t0={last['t0']} t1={last['t1']} primary={last['primary']}" in projector_log, where
    # the read model: no fill twice, ids unique across shards, equal to a rebuild from the streams
    accepted = {e.order_id for s in MAP.trading_shards for o in outcomes[s] for e in o.own_events if isinstance(e, OrderAccepted)}
    trades = {
        (e.instrument, e.trade_id) for s in MAP.trading_shards for o in outcomes[s] for e in o.own_events if isinstance(e, TradeExecuted)
    }
    store = SqlStore(StorageSpec(pg_url).read_model_url)
    try:
        rows = content(store)
    finally:
        store.close()
    assert {r[0] for r in rows["orders"]} == accepted and len(rows["trades"]) == len(trades), where
    assert sum(r[9] for r in rows["orders"]) == 2 * sum(r[3] for r in rows["trades"]), where
    rebuilt_db = pg_url.replace("?schema=", "?schema=rebuilt_")
    asyncio.run(run_projector(cluster.url, MAP, rebuilt_db, rebuild=True, idle_exit_s=1.0))
    rebuilt = SqlStore(StorageSpec(rebuilt_db).read_model_url)
    try:
        assert content(rebuilt) == rows, where
    finally:
        rebuilt.close()
    print(f"\n{where}: {got['acknowledged']} messages acknowledged; outcomes {last}")


@pytest.fixture(autouse=True)
def _seed_in_report(request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append(("chaos_seed", SEED))
