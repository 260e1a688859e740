"""Orders through the edge over NATS JetStream with 1, 2 and 4 trading shards (issue 17).

For each shard count the benchmark starts a fresh ``nats-server`` (JetStream, one node: the
figures are the shards' cost, not Raft's; ``LIONROCK_BENCH_NATS_NODES=3``: a routed three-node
cluster with streams of 3 replicas), one ``lionrock shard`` process per trading shard plus
the primary, ``lionrock project`` into a throwaway PostgreSQL (fsync on) and ``lionrock serve
--nats`` (the edge), lists two instruments per trading shard, opens the day, and loads the edge
with ``wrk`` in its own process (2 threads, 16 connections, ``LIONROCK_BENCH_SECONDS`` seconds,
10 by default): ``POST /v1/orders`` with unique client order ids, buys and sells at one price
across the instruments, so they cross on every shard.

Figures per shard count ``n``: ``shards_<n>_orders_per_s`` (answered 201 per second),
``..._latency_ms_p50/p99`` (end to end: HTTP in, NATS to the shard, journal fsync, outcome back,
HTTP out), ``..._projector_lag_s`` (from the end of the load until the read model holds every
accepted order) and ``..._cpu_ms_per_order`` per component (user+system CPU of each process
over the load, divided by the orders answered). The machine is shared (the load average is
recorded beside the figures): read the ratios and the per-order CPU, not the absolute rates.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.load import CONNECTIONS, THREADS, wrk_orders
from bench.storage import PASSWORD, PostgresServer, free_port

SECONDS = int(os.environ.get("LIONROCK_BENCH_SECONDS", "10"))
SHARD_COUNTS = tuple(int(n) for n in os.environ.get("LIONROCK_BENCH_SHARDS", "1,2,4").split(","))
NATS_NODES = int(os.environ.get("LIONROCK_BENCH_NATS_NODES", "1"))
"""1: one nats-server, streams R1 (the shards' cost); 3: a routed three-node cluster, streams R3."""
BROKERS = 4
MARKET_START = "2025-11-24T10:00"
DAY = "2025-11-24"


def _instruments(shards: tuple[str, ...], per_shard: int = 2) -> list[str]:
    """``per_shard`` instrument codes routed to each trading shard."""
    from lionrock.scale.sharding import ShardMap

    shard_map = ShardMap(shards)
    chosen: dict[str, list[str]] = {s: [] for s in shards}
    code = 1000
    while any(len(v) < per_shard for v in chosen.values()):
        code += 1
        mine = chosen[shard_map.shard_of_instrument(f"{code:05d}")]
        if len(mine) < per_shard:
            mine.append(f"{code:05d}")
    return [c for v in chosen.values() for c in v]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its reaped children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class Platform:
    """nats-server, the shard processes, the projector and the edge for one shard count."""

    def __init__(self, n: int, pg_url: str, work: Path) -> None:
        self.work = work
        self.trading = tuple(f"t{i}" for i in range(n))
        self.nats_ports, self.http_port = [free_port() for _ in range(NATS_NODES)], free_port()
        self.nats_url = ",".join(f"nats://127.0.0.1:{p}" for p in self.nats_ports)
        self.db = pg_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.work / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.procs[name] = proc
        return proc

    def start(self) -> Platform:
        nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
        routes = [free_port() for _ in self.nats_ports]
        for i, port in enumerate(self.nats_ports):
            store = self.work / f"nats{i}"
            store.mkdir()
            cluster = (
                []
                if NATS_NODES == 1
                else [
                    "-n",
                    f"n{i}",
                    "--cluster_name",
                    "bench",
                    "--cluster",
                    f"nats://127.0.0.1:{routes[i]}",
                    "--routes",
                    ",".join(f"nats://127.0.0.1:{r}" for j, r in enumerate(routes) if j != i),
                ]
            )
            self._spawn(
                "nats" if NATS_NODES == 1 else f"nats{i}",
                [nats_server, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store), *cluster],
            )
        trading = ",".join(self.trading)
        replicas = ["--replicas", str(min(NATS_NODES, 3))]
        lionrock = [sys.executable, "-m", "lionrock.cli"]
        for shard in (*self.trading, "primary"):
            self._spawn(
                f"shard-{shard}",
                [
                    *lionrock,
                    "shard",
                    "--nats",
                    self.nats_url,
                    "--shard",
                    shard,
                    "--journal",
                    str(self.work / f"{shard}.sqlite"),
                    "--trading",
                    trading,
                    "--connect-attempts",
                    "20",
                    *replicas,
                ],
            )
        self._spawn(
            "projector", [*lionrock, "project", "--nats", self.nats_url, "--db", self.db, "--trading", trading, "--connect-attempts", "20"]
        )
        self._spawn(
            "edge",
            [
                *lionrock,
                "serve",
                "--nats",
                self.nats_url,
                "--db",
                self.db,
                "--trading",
                trading,
                "--port",
                str(self.http_port),
                "--fix-port",
                "0",
                "--market-start",
                MARKET_START,
                "--rate-limit",
                "1000000",
                *replicas,
            ],
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            dead = [name for name, p in self.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{dead or 'the edge'} did not start: {(self.work / f'{(dead or ["edge"])[0]}.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def cpu(self) -> dict[str, float]:
        return {name: _cpu_s(p.pid) for name, p in self.procs.items() if p.poll() is None}

    def stop(self) -> None:
        for name in ("edge", "projector", *(f"shard-{s}" for s in (*self.trading, "primary")), "nats", "nats0", "nats1", "nats2"):
            p = self.procs.get(name)
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _prepare(db: str) -> tuple[str, list[str]]:
    """The operator and brokers with API keys, in the edge's store; (operator key, broker keys)."""
    from lionrock.service.root import Service

    service = Service(db)
    try:
        service.auth.create_user("op", PASSWORD, "operator")
        keys = []
        for k in range(BROKERS):
            service.auth.create_user(f"b{k}", PASSWORD, "broker", participant=f"B{k}", accounts=[f"C:B{k}:X"])
            keys.append(service.auth.create_api_key(f"b{k}", "bench"))
        return service.auth.create_api_key("op", "bench"), keys
    finally:
        service.close()


def _open_market(url: str, op: str, keys: list[str], instruments: list[str]) -> None:
    """List the instruments, start the day, tick it into continuous trading, one order per key (argon2 once)."""
    with httpx.Client(base_url=url, timeout=60, headers={"X-API-Key": op}) as client:
        bodies: list[dict[str, Any]] = [
            {"type": "ListInstrument", "instrument": c, "board_lot": 100, "nominal_price": 50_000} for c in instruments
        ]
        bodies += [{"type": "StartTradingDay", "day": DAY, "seed": 1}] + [{"type": "TradingTick"}] * 8
        for body in bodies:
            r = client.post("/v1/commands", json=body)
            if r.status_code != 200:
                raise RuntimeError(f"{body['type']}: {r.status_code} {r.text}")
    with httpx.Client(base_url=url, timeout=60) as client:
        for k, key in enumerate(keys):
            body = {"instrument": instruments[0], "side": "B", "quantity": 100, "price": "49.60", "client_order_id": f"warm-{k}"}
            r = client.post("/v1/orders", json=body, headers={"Authorization": f"Bearer {key}"})
            if r.status_code != 201:
                raise RuntimeError(f"warm-up order refused: {r.status_code} {r.text}")


def _accepted(nats_url: str, trading: tuple[str, ...]) -> int:
    """Orders the trading shards accepted (their outcome streams)."""
    from lionrock.scale.nats import connect, read_events
    from lionrock.trading.events import OrderAccepted

    async def go() -> int:
        nc, js = await connect(nats_url)
        try:
            outcomes = [o for s in trading for o in await read_events(js, s)]
            return sum(1 for o in outcomes for e in o.own_events if isinstance(e, OrderAccepted))
        finally:
            await nc.drain()

    return asyncio.run(go())


def _read_model_orders(db: str) -> int:
    from lionrock.storage.locations import StorageSpec
    from lionrock.storage.sql import SqlStore

    store = SqlStore(StorageSpec(db).read_model_url)
    try:
        row = store.one("SELECT COUNT(*) FROM orders")
        return int(row[0]) if row else 0
    finally:
        store.close()


def measure(n: int, pg_url: str, work: Path, progress: Callable[[str], None]) -> dict[str, object]:
    db = f"{pg_url}?schema=cluster{n}"
    op, keys = _prepare(db)
    platform = Platform(n, db, work).start()
    label = f"shards_{n}"
    try:
        instruments = _instruments(platform.trading)
        _open_market(platform.url, op, keys, instruments)
        progress(f"{n} trading shard(s): wrk {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s over {len(instruments)} instruments")
        load_before, cpu_before = os.getloadavg()[0], platform.cpu()
        w = wrk_orders(platform.url, "lionrock", f"c{n}-", keys, SECONDS, instruments=instruments, price="50.00")
        cpu_after, ended = platform.cpu(), time.monotonic()
        accepted = _accepted(platform.nats_url, platform.trading)
        while _read_model_orders(db) < accepted and time.monotonic() - ended < 300:
            time.sleep(0.1)
        lag_s = time.monotonic() - ended
        in_read_model = _read_model_orders(db)
    finally:
        platform.stop()
    ok = w.requests - w.non_2xx
    cpu = {name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(ok, 1), 3) for name in cpu_after if name in cpu_before}
    shards_cpu = sum(v for k, v in cpu.items() if k.startswith("shard-t"))
    nats_cpu = sum(v for k, v in cpu.items() if k.startswith("nats"))
    return {
        f"{label}_orders_per_s": w.orders_per_s,
        f"{label}_latency_ms_p50": w.p50_ms,
        f"{label}_latency_ms_p99": w.p99_ms,
        f"{label}_projector_lag_s": round(lag_s, 2),
        f"{label}_orders_accepted": accepted,
        f"{label}_orders_in_read_model": in_read_model,
        f"{label}_errors": w.errors,
        f"{label}_cpu_ms_per_order": cpu,
        f"{label}_trading_shards_cpu_ms_per_order": round(shards_cpu, 3),
        f"{label}_nats_cpu_ms_per_order": round(nats_cpu, 3),
        f"{label}_load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def run(progress: Callable[[str], None]) -> dict[str, object]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found (apt-get install wrk)")
    figures: dict[str, object] = {
        "load": (
            f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s in its own process, POST /v1/orders, crossing pairs over 2 instruments per shard"
        ),
        "transport": "loopback TCP; "
        + (
            "one nats-server (JetStream, file store, R1)"
            if NATS_NODES == 1
            else f"{NATS_NODES} routed nats-servers (JetStream, file store, R{min(NATS_NODES, 3)})"
        )
        + "; PostgreSQL read model (fsync on)",
        "cpus": os.cpu_count(),
    }
    server = PostgresServer().start()
    try:
        for n in SHARD_COUNTS:
            with tempfile.TemporaryDirectory() as tmp:
                figures.update(measure(n, server.url, Path(tmp), progress))
    finally:
        server.stop()
    base = figures.get("shards_1_orders_per_s")
    for n in SHARD_COUNTS:
        if base and n != 1:
            figures[f"scaling_{n}_vs_1"] = round(float(figures[f"shards_{n}_orders_per_s"]) / float(base), 3)  # type: ignore[arg-type]
    return figures
