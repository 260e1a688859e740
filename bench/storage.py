"""The service on its two stores, in one run: SQLite (embedded) and PostgreSQL (production).

For each store the benchmark prepares a database (brokers with API keys, the trading day open,
one instrument listed), starts ``lionrock serve --db …`` as a subprocess and drives it with
``wrk`` in its own process (2 threads, 16 connections, ``LIONROCK_BENCH_SECONDS`` seconds, 15 by
default): every request is ``POST /v1/orders`` with a unique client order id, buys and sells at
one price so they cross. Both runs share the machine and the run, so the ratio is what to read.

PostgreSQL is a throwaway server from Debian's packages, started by the benchmark in a temporary
directory with its defaults for durability (``fsync=on``, ``synchronous_commit=on``): a commit
the service acknowledges has reached the disk, as SQLite's ``synchronous=FULL`` journal has.

``python -m bench storage`` prints ``sqlite_*`` and ``postgresql_*`` figures
(``rest_orders_per_s``, ``rest_latency_ms_p50``, ``rest_latency_ms_p99``, errors, orders in the
read model afterwards) and ``ratio_postgresql_vs_sqlite_rest``. `PostgresServer` is what other
benchmarks reuse to run against PostgreSQL; the load is `bench.load.wrk_orders`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from datetime import time as dtime
from pathlib import Path

import httpx

from bench.load import CONNECTIONS, THREADS, wrk_orders

SECONDS = int(os.environ.get("LIONROCK_BENCH_SECONDS", "15"))
BROKERS = THREADS
PASSWORD = "bench password 1"
MARKET_START = "2025-11-24T10:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` in a temporary directory, on a free loopback port, with
    PostgreSQL's default durability (fsync and synchronous_commit on). As root, the server runs
    as ``postgres`` (or ``nobody``)."""

    def __init__(self) -> None:
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
        usable = [d for d in bindirs if os.access(d / "initdb", os.X_OK) and os.access(d / "pg_ctl", os.X_OK)]
        if not usable:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
        self.bindir = usable[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="lionrock-bench-pg-"))
        self.port = free_port()
        self._runas: list[str] = []
        if os.geteuid() == 0:
            owner = "postgres" if _has_user("postgres") else "nobody"
            self._runas = ["runuser", "-u", owner, "--"]
            shutil.chown(self.dir, user=owner)
        self.data = self.dir / "data"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._runas, *args], check=True, capture_output=True, timeout=180)

    def start(self) -> PostgresServer:
        self._run(f"{self.bindir}/initdb", "-D", str(self.data), "-U", "lionrock", "--auth=trust", "-E", "UTF8")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=100"
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "60", "start")
        return self

    @property
    def url(self) -> str:
        return f"postgresql://lionrock@127.0.0.1:{self.port}/postgres"

    def settings(self) -> dict[str, str]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            return {
                name: str(db.execute(f"SHOW {name}").fetchone()[0])
                for name in ("fsync", "synchronous_commit", "wal_sync_method", "server_version")
            }  # type: ignore[index]

    def stop(self) -> None:
        try:
            self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def prepare(db: str, brokers: int = BROKERS) -> list[str]:
    """Brokers ``b0…`` with one API key each, the trading day open and ``09999`` listed; the keys."""
    from lionrock.kernel.xhkg import hk_ns
    from lionrock.service.contexts import default_contexts
    from lionrock.service.root import Service, market_clock
    from lionrock.trading.commands import ListInstrument, StartTradingDay

    service = Service(db, contexts=default_contexts(), clock=market_clock(hk_ns(date(2025, 11, 24), dtime(10, 0)), speed=0.0))
    try:
        op = service.auth.create_user("op", PASSWORD, "operator")
        keys = []
        for k in range(brokers):
            service.auth.create_user(f"b{k}", PASSWORD, "broker", participant=f"B{k}", accounts=[f"C:B{k}:X"])
            keys.append(service.auth.create_api_key(f"b{k}", "bench"))
        service.submit_sync(op, StartTradingDay(day="2025-11-24"))
        service.submit_sync(op, ListInstrument(instrument="09999", board_lot=100, nominal_price=50_000))
    finally:
        service.close()
    return keys


class Served:
    """``lionrock serve --db DB`` in its own process on a free loopback port."""

    def __init__(self, db: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        argv = [
            sys.executable,
            "-m",
            "lionrock.cli",
            "serve",
            "--db",
            db,
            "--port",
            str(self.port),
            "--fix-port",
            "0",
            "--market-start",
            MARKET_START,
            "--rate-limit",
            "1000000",
            "--snapshot-every",
            "100000",
        ]
        self.proc = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lionrock serve exited {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"lionrock serve did not answer in 120 s: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def warm_up(url: str, keys: list[str]) -> None:
    """One order per key, one at a time, before the load: the first use of an API key verifies its
    secret with argon2 (deliberately slow) and caches the result; sixteen connections arriving at
    once would each run argon2 before the first had cached it, and time out in the measured run."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for k, key in enumerate(keys):
            body = {"instrument": "09999", "side": "B", "quantity": 100, "price": "49.60", "client_order_id": f"warm-{k}"}
            r = client.post("/v1/orders", json=body, headers={"Authorization": f"Bearer {key}"})
            if r.status_code != 201:
                raise RuntimeError(f"warm-up order refused: {r.status_code} {r.text}")


def _orders_in_read_model(db: str) -> int:
    from lionrock.storage.locations import StorageSpec
    from lionrock.storage.sql import SqlStore

    store = SqlStore(StorageSpec(db).read_model_url)
    try:
        row = store.one("SELECT COUNT(*) FROM orders")
        return int(row[0]) if row else 0
    finally:
        store.close()


def measure(db: str, label: str, workdir: Path, progress: Callable[[str], None]) -> dict[str, object]:
    """Prepare ``db``, serve it, load it with wrk; the figures under ``label_``."""
    progress(f"{label}: preparing {db.split('?')[0]}")
    keys = prepare(db)
    served = Served(db, workdir / f"{label}.log")
    try:
        warm_up(served.url, keys)
        progress(f"{label}: wrk {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s")
        w = wrk_orders(served.url, "lionrock", f"{label}-", keys, SECONDS)
    finally:
        served.stop()
    return {
        f"{label}_rest_orders_per_s": w.orders_per_s,
        f"{label}_rest_latency_ms_p50": w.p50_ms,
        f"{label}_rest_latency_ms_p99": w.p99_ms,
        f"{label}_rest_latency_ms_mean": w.mean_ms,
        f"{label}_rest_errors": w.errors,
        f"{label}_orders_in_read_model": _orders_in_read_model(db),
    }


def run(progress: Callable[[str], None]) -> dict[str, object]:
    figures: dict[str, object] = {
        "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s, POST /v1/orders, crossing pairs",
        "transport": "loopback TCP",
    }
    server = PostgresServer().start()
    try:
        figures["postgresql_settings"] = server.settings()
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            figures.update(measure(str(work / "bench.db"), "sqlite", work, progress))
            figures.update(measure(f"{server.url}?schema=bench", "postgresql", work, progress))
    finally:
        server.stop()
    figures["ratio_postgresql_vs_sqlite_rest"] = round(
        float(figures["postgresql_rest_orders_per_s"]) / float(figures["sqlite_rest_orders_per_s"]), 3
    )  # type: ignore[arg-type]
    figures["targets"] = {"ratio_postgresql_vs_sqlite_rest": 0.8, "postgresql_rest_latency_ms_p99": 15}
    return figures
