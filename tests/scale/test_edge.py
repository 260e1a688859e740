"""`lionrock serve --nats`: the REST order flow through the edge over a three-node cluster.

The service's composition root sends every command through `BusRunner` (CommandProducer to the
shards, answer from the outcome on evt.<shard> by key); two trading shards, the primary and the
projector run as processes on the cluster; reads come from the PostgreSQL read model the
projector keeps."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from datetime import time as clock_time
from pathlib import Path

import httpx

from cluster import NatsCluster, Process
from lionrock.gateways.rest.app import create_app
from lionrock.kernel.xhkg import hk_ns
from lionrock.scale.edge import BusRunner
from lionrock.scale.sharding import ShardMap
from lionrock.service.root import Service, market_clock

DAY = date(2025, 11, 24)
MAP = ShardMap(("t0", "t1"))


def test_rest_orders_through_the_edge_over_the_cluster(nats_cluster: NatsCluster, pg_url: str, tmp_path: Path) -> None:
    url = nats_cluster.url
    processes = [
        Process(
            s,
            [
                "shard",
                "--nats",
                url,
                "--shard",
                s,
                "--journal",
                str(tmp_path / f"{s}.sqlite"),
                "--trading",
                "t0,t1",
                "--replicas",
                "3",
                "--connect-attempts",
                "20",
            ],
            tmp_path,
        )
        for s in MAP.shards
    ] + [Process("projector", ["project", "--nats", url, "--db", pg_url, "--trading", "t0,t1", "--connect-attempts", "20"], tmp_path)]
    for p in processes:
        p.start()
    service = Service(pg_url, durability="group:2")
    try:
        service.use_bus(BusRunner(url, MAP, clock=market_clock(hk_ns(DAY, clock_time(9, 31))), replicas=3, timeout_s=30.0))
        service.auth.create_user("op", "pw-operator-1", "operator")
        service.auth.create_user("b1", "pw-broker-1", "broker", participant="B1", accounts=["C:B1:I1"])
        service.auth.create_user("b2", "pw-broker-2", "broker", participant="B2", accounts=["C:B2:I1"])
        op = {"X-API-Key": service.auth.create_api_key("op")}
        b1 = {"X-API-Key": service.auth.create_api_key("b1")}
        b2 = {"X-API-Key": service.auth.create_api_key("b2")}
        asyncio.run(_flow(service, op, b1, b2))
    finally:
        service.close()
        for p in processes:
            p.kill()


async def _flow(service: Service, op: dict[str, str], b1: dict[str, str], b2: dict[str, str]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(service)), base_url="http://edge") as client:
        for body in (
            {"type": "ListInstrument", "instrument": "00700", "board_lot": 100, "nominal_price": 400_000},
            {"type": "StartTradingDay", "day": DAY.isoformat(), "seed": 1},
        ):
            r = await client.post("/v1/commands", json=body, headers=op)
            assert r.status_code == 200, r.text
        for _ in range(6):  # the day's timers are due (the clock is past 09:30): each tick moves one session on
            r = await client.post("/v1/commands", json={"type": "TradingTick"}, headers=op)
            assert r.status_code == 200, r.text
        sell = await client.post(
            "/v1/orders", json={"instrument": "00700", "side": "S", "quantity": 300, "price": "400.00", "client_order_id": "s1"}, headers=b2
        )
        assert sell.status_code == 201, sell.text
        buy = await client.post(
            "/v1/orders", json={"instrument": "00700", "side": "B", "quantity": 200, "price": "400.00", "client_order_id": "b1"}, headers=b1
        )
        assert buy.status_code == 201, buy.text
        assert [e["type"] for e in buy.json()["events"]].count("TradeExecuted") == 1
        deadline = time.monotonic() + 30
        while True:  # reads come from the projector's read model
            orders = (await client.get("/v1/orders", headers=b1)).json()
            rows = orders.get("orders", orders) if isinstance(orders, dict) else orders
            if rows and rows[0].get("filled") == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert len(rows) == 1 and rows[0]["filled"] == 200, orders
