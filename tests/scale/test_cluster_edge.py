"""Chaos at the edge: `lionrock serve --nats` SIGKILLed mid-load (alone, with a NATS node, with a
shard) on the three-node cluster while REST clients place crossing orders over loopback TCP.

Clients behave as a careful client does: a connection lost or a 503/504 is retried with the same
client order id until answered, and after each edge restart the last answered order is sent once
more. Afterwards: every order is applied once (one `OrderAccepted` per client order id), every
answer for an order names the order the venue made, no trade is published or projected twice,
each order's fills in the read model equal its trades, and each shard's state hash equals an
engine fed its stream. Seeded (``LIONROCK_CHAOS_SEED``); size ``LIONROCK_CHAOS_ORDERS`` (the
suite runs a short one, ``make chaos`` a long one); a failure names its seed."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from _workload import MAP, replay_shard_hash, stream_commands
from test_cluster import _projector, _quiet, _shard, _state_hash
from test_projector import content

from cluster import NatsCluster, Process, free_port
from lionrock.scale.nats import connect, ensure_streams, read_events
from lionrock.service.root import Service
from lionrock.storage.locations import StorageSpec
from lionrock.storage.sql import SqlStore
from lionrock.trading.events import OrderAccepted, TradeExecuted
from testkit.bus_world import fresh_streams

SEED = int(os.environ.get("LIONROCK_CHAOS_SEED", "17"))
ORDERS = int(os.environ.get("LIONROCK_CHAOS_ORDERS", "240"))
CLIENTS = 4
INSTRUMENTS = ("00700", "01024")  # one on each trading shard
DAY = "2025-11-24"


def _edge(cluster: NatsCluster, db: str, port: int, tmp: Path) -> Process:
    return Process(
        "edge",
        [
            "serve",
            "--nats",
            cluster.url,
            "--db",
            db,
            "--trading",
            "t0,t1",
            "--replicas",
            "3",
            "--port",
            str(port),
            "--fix-port",
            "0",
            "--market-start",
            f"{DAY}T09:31",
        ],
        tmp,
    )


def _wait_listening(port: int, edge: Process, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert edge.alive, f"seed {SEED}: the edge died: {edge.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"seed {SEED}: the edge did not listen"
            time.sleep(0.1)


def _orders(rng: random.Random) -> list[list[dict[str, Any]]]:
    """Each client's orders: buys and sells at one price (a limit order may not go through the best), so many trade."""
    per = -(-ORDERS // CLIENTS)
    return [
        [
            {
                "instrument": rng.choice(INSTRUMENTS),
                "side": "B" if (c + i) % 2 else "S",
                "quantity": 100 * rng.randint(1, 3),
                "price": "400.00",
                "client_order_id": f"c{c}-{i}",
            }
            for i in range(per)
        ]
        for c in range(CLIENTS)
    ]


class Clients:
    """REST clients that retry until answered; what they were answered."""

    def __init__(self, port: int, keys: list[str]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.keys = keys
        self.answers: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
        self.retried = 0
        self.unexpected: list[str] = []
        self.done = 0
        self.restarts = 0

    async def post(self, http: httpx.AsyncClient, c: int, order: dict[str, Any]) -> None:
        while True:
            try:
                r = await http.post("/v1/orders", json=order, headers={"X-API-Key": self.keys[c]})
            except httpx.TransportError:
                self.retried += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code in (503, 504):
                self.retried += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code != 201:
                self.unexpected.append(f"{order['client_order_id']}: {r.status_code} {r.text[:300]}")
                return
            self.answers[(c, order["client_order_id"])].append(r.json())
            return

    async def run(self, c: int, orders: list[dict[str, Any]]) -> None:
        seen_restarts = 0
        async with httpx.AsyncClient(base_url=self.base, timeout=60.0) as http:
            for i, order in enumerate(orders):
                if i and self.restarts != seen_restarts:  # "did my last order arrive?": the same order again
                    seen_restarts = self.restarts
                    await self.post(http, c, orders[i - 1])
                await self.post(http, c, order)
                self.done += 1


def test_cluster_edge_killed_mid_load_orders_applied_once_no_duplicate_fill(nats_cluster: NatsCluster, pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    cluster = nats_cluster
    node, shard = rng.randrange(3), rng.choice(MAP.trading_shards)
    plan = {
        ORDERS // 4: ["kill edge"],
        ORDERS // 2: ["kill edge", f"kill node {node}"],
        3 * ORDERS // 4: ["kill edge", f"kill shard {shard}"],
    }
    where = f"seed {SEED}, plan {plan}"
    service = Service(pg_url, durability="group:2")  # users and API keys in the shared PostgreSQL store
    try:
        service.auth.create_user("op", "pw-operator-1", "operator")
        keys = []
        for c in range(CLIENTS):
            service.auth.create_user(f"b{c}", f"pw-broker-{c}", "broker", participant=f"B{c}", accounts=[f"C:B{c}:I1"])
            keys.append(service.auth.create_api_key(f"b{c}"))
        op = service.auth.create_api_key("op")
    finally:
        service.close()
    port = free_port()
    shards = {s: _shard(s, cluster, tmp_path) for s in MAP.shards}
    projector = _projector(cluster, pg_url, tmp_path)
    edge = _edge(cluster, pg_url, port, tmp_path)
    clients = Clients(port, keys)
    orders = _orders(rng)

    async def chaos() -> None:
        for at, steps in sorted(plan.items()):
            while clients.done < at:
                await asyncio.sleep(0.05)
            killed = []
            for step in steps:
                _, kind, *name = step.split()
                if kind == "edge":
                    edge.kill()
                elif kind == "node":
                    cluster.kill(int(name[0]))
                    killed.append(lambda i=int(name[0]): cluster.start_node(i))
                else:
                    shards[name[0]].kill()
                    killed.append(shards[name[0]].start)
            await asyncio.sleep(0.5)
            edge.start()
            clients.restarts += 1
            await asyncio.to_thread(_wait_listening, port, edge)
            for restart in killed:
                restart()

    async def go() -> dict[str, Any]:
        nc, js = await connect(cluster.url)
        await fresh_streams(js)
        await ensure_streams(js, replicas=3)
        for process in (*shards.values(), projector, edge):
            process.start()
        await asyncio.to_thread(_wait_listening, port, edge)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as http:
            setup = [{"type": "ListInstrument", "instrument": code, "board_lot": 100, "nominal_price": 400_000} for code in INSTRUMENTS]
            setup += [{"type": "StartTradingDay", "day": DAY, "seed": SEED}] + [{"type": "TradingTick"}] * 6
            for body in setup:
                r = await http.post("/v1/commands", json=body, headers={"X-API-Key": op})
                assert r.status_code == 200, r.text
        started = time.perf_counter()
        await asyncio.gather(chaos(), *(clients.run(c, mine) for c, mine in enumerate(orders)))
        elapsed = time.perf_counter() - started
        for process in (*shards.values(), projector, edge):
            assert process.alive, f"{where}: {process.name} died: {process.log.read_text()[-3000:]}"
        await _quiet(js)
        streams = {s: await stream_commands(js, s) for s in MAP.shards}
        outcomes = {s: await read_events(js, s) for s in MAP.shards}
        await nc.drain()
        return {"streams": streams, "outcomes": outcomes, "elapsed": elapsed}

    try:
        got = asyncio.run(go())
        edge.stop()
        logs = {s: p.stop() for s, p in shards.items()}
        projector.stop()
    finally:
        for process in (*shards.values(), projector, edge):
            process.kill()
    streams, outcomes = got["streams"], got["outcomes"]
    assert not clients.unexpected, f"{where}: {clients.unexpected[:5]}"

    # every order applied once: one OrderAccepted per client order id, and every answer names it
    accepted: dict[tuple[str, str], list[OrderAccepted]] = defaultdict(list)
    trades: dict[tuple[str, int], TradeExecuted] = {}
    for s in MAP.trading_shards:
        for o in outcomes[s]:
            for e in o.own_events:
                if isinstance(e, OrderAccepted):
                    accepted[(e.participant, e.client_order_id)].append(e)
                elif isinstance(e, TradeExecuted):
                    assert (e.instrument, e.trade_id) not in trades, f"{where}: trade {e.trade_id} published twice"
                    trades[(e.instrument, e.trade_id)] = e
    assert all(len(v) == 1 for v in accepted.values()), f"{where}: {[k for k, v in accepted.items() if len(v) > 1][:5]}"
    assert len(accepted) == sum(map(len, orders)), where
    for (c, coid), answers in clients.answers.items():
        order_id = accepted[(f"B{c}", coid)][0].order_id
        assert {a["order"]["order_id"] for a in answers} == {order_id}, f"{where}: {coid} answered as {answers}"
        for a in answers:  # the fills a client was shown are the venue's, never another trade
            for e in a["events"]:
                if e["type"] == "TradeExecuted":
                    assert trades[(e["instrument"], e["trade_id"])].quantity == e["quantity"], where
    # each shard's state hash equals an engine fed its stream as stored (applied exactly once)
    for s in MAP.shards:
        assert _state_hash(logs[s]) == replay_shard_hash(s, streams[s]), f"{where}: {s}"
    # the read model: each order's fills equal its trades, no trade twice
    filled: dict[int, int] = defaultdict(int)
    for t in trades.values():
        filled[t.buy_order_id] += t.quantity
        filled[t.sell_order_id] += t.quantity
    store = SqlStore(StorageSpec(pg_url).read_model_url)
    try:
        rows = content(store)
    finally:
        store.close()
    assert len(rows["trades"]) == len(trades), where
    assert {r[0]: r[9] for r in rows["orders"]} == {e[0].order_id: filled[e[0].order_id] for e in accepted.values()}, where
    print(
        f"\n{where}: {sum(map(len, orders))} orders in {got['elapsed']:.1f} s through an edge killed {len(plan)} times; "
        f"{clients.retried} retries, {sum(len(a) for a in clients.answers.values())} answers, {len(trades)} trades"
    )
