"""REST orders per second against a peer gateway, and FIX pipelined, each server in its own process.

The load generator is `wrk` (its own process, 2 threads, 16 keep-alive connections, 15 s; the
Lua script `bench/wrk/orders.lua` makes unique client order ids and crossing buy/sell pairs from
alternating users, so every pair trades). Loopback only, one run of each server, in this order:

1. **Lion Rock**: a throwaway ``lionrock serve`` subprocess over a SQLite store in a temporary
   folder (journal with group commit and fsync, ``synchronous=FULL``; read model updated before
   each answer; auth on: every order carries the API key of one of four broker users). The
   per-user rate limit is raised explicitly (``--rate-limit``, see `RATE_LIMIT_PER_USER`): the
   default of 1,000 requests/s per user would cap four users at 4,000 orders/s, which would
   measure the limit, not the gateway. Then the FIX legs on the same server: one session
   sequential (NewOrderSingle -> ExecutionReport), and pipelined from a client process of its own
   (`bench.fix_client`: 20,000 NewOrderSingles sent at once on a second session, answers counted
   in the bytes, so the client's own parsing is not what is measured).
2. **The framework floor**: a bare FastAPI endpoint that returns a constant, on uvicorn with the
   same settings (httptools, uvloop), under the same wrk load: what no FastAPI service can beat.
3. **The peer**: ``matching-engine serve`` (PyPI ``matching-engine``; FastAPI and uvicorn with
   httptools; its own write-ahead log with group commit and ``ME_FSYNC=1``), as its README
   starts it, same wrk load against ``POST /markets/BTC-USDT/orders``. It has no
   authentication and no read model; what it does per order is less than Lion Rock does.

``python -m bench api --db postgresql`` runs leg 1 on PostgreSQL instead: a throwaway server from
Debian's packages (`bench.storage.PostgresServer`: ``initdb`` in a temporary folder, loopback, its
default durability, ``fsync`` and ``synchronous_commit`` on), the journal and the read models in
it; the figures keep their names, and the same run first loads the SQLite service the same way for
the reference (``sqlite_rest_*``, ``ratio_postgresql_vs_sqlite_rest``; targets 0.8x and p99 15 ms).
It then measures recovery from PostgreSQL: a journal of ``--recovery-commands`` commands (crossing
orders, 1,000,000 by default; 0 skips it) written through the engine with group commit and a
snapshot every 100,000 commands (``lionrock serve``'s default) except the last (so the journal ends
just before a snapshot: the longest tail, 100,000 commands after the snapshot at 900,000), then
recovered as start-up does (latest snapshot + the tail after it: ``recovery_seconds``) and with the chain verification
``lionrock replay`` adds (``recovery_verify_seconds``: every block's CRC and BLAKE2b chain up to
the snapshot), and from the first record without the snapshot (``recovery_from_scratch_seconds``,
the worst case: a lost snapshot). ``--db sqlite`` (the default) is the run described above.

Figures: ``rest_orders_per_s`` (2xx answers per second), ``rest_p50_ms``/``rest_p99_ms``
(wrk's latency percentiles), the peer's, ``ratio_vs_peer_gateway``, the floor's, and the FIX
figures. ``LIONROCK_BENCH_API_SECONDS`` shortens the wrk runs (default 15);
``LIONROCK_BENCH_API_PYSPY=FILE.svg`` records a py-spy flame graph of the Lion Rock server
during its wrk run (``FILE.txt``: collapsed stacks; ``LIONROCK_BENCH_API_PYSPY_GIL=1``: only
samples holding the GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx
import simplefix

from bench.load import CONNECTIONS, THREADS, wrk_orders
from lionrock.gateways.fix.framing import FixFramer

WRK_SECONDS = int(os.environ.get("LIONROCK_BENCH_API_SECONDS", "15"))
USERS = 4
"""Broker users whose API keys the wrk script takes in turn (an even number: buys and sells alternate)."""
RECOVERY_COMMANDS = 1_000_000
"""``--recovery-commands``: the journal recovered from PostgreSQL (issue 19 asks for one million)."""
RECOVERY_SNAPSHOT_EVERY = 100_000
"""A snapshot every this many commands, as ``lionrock serve --snapshot-every`` by default."""
RATE_LIMIT_PER_USER = 100_000
"""``lionrock serve --rate-limit``: raised from the default 1,000/s per user (see the module docstring)."""
FIX_SEQ = 1000
FIX_PIPE = 20_000
PASSWORD = "bench password 1"
MARKET_START = "2025-11-24T10:00"
_FLOOR_APP = """
import sys, uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
app = FastAPI()
BODY = b'{"order":{"order_id":1,"status":"filled"},"seq":1,"events":[]}'
@app.post("/v1/orders", status_code=201)
async def order() -> Response:
    return Response(BODY, status_code=201, media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, http="httptools", loop="uvloop")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 3)


def _options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench api", description="REST and FIX order entry, Lion Rock vs the framework floor and a peer."
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the store under lionrock serve (postgresql: a throwaway server, with a SQLite run for the ratio)",
    )
    parser.add_argument(
        "--writer",
        choices=("thread", "process"),
        default="process",
        help="lionrock serve --writer: the journal, engine and projector in a child process (serve's default) or in the server's process",
    )
    parser.add_argument(
        "--recovery-commands",
        type=int,
        default=RECOVERY_COMMANDS,
        metavar="N",
        help="with --db postgresql: recover a journal of N commands (0: skip)",
    )
    return parser.parse_args(list(argv))


def run(progress: Callable[[str], None], argv: Sequence[str] = ()) -> dict[str, object]:
    options = _options(argv)
    if shutil.which("wrk") is None:
        raise RuntimeError("bench api needs wrk (Debian package wrk)")
    figures: dict[str, object] = {
        "load": f"wrk {THREADS} threads, {CONNECTIONS} connections, {WRK_SECONDS} s, own process, loopback",
        "storage": "sqlite, group commit, fsync (synchronous=FULL)",
        "rate_limit_per_user": RATE_LIMIT_PER_USER,
        "writer": options.writer,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lionrock"
        folder.mkdir()
        if options.db == "postgresql":
            figures.update(_postgresql_legs(folder, options.recovery_commands, progress, options.writer))
        else:
            keys = _prepare(str(folder / "bench.db"), progress)
            figures.update(_lionrock_leg(str(folder / "bench.db"), folder, keys, progress, writer=options.writer))
        figures.update(_floor_leg(Path(tmp), progress))
        figures.update(_peer_leg(Path(tmp) / "peer", progress))
    peer = figures.get("peer_rest_orders_per_s")
    if isinstance(peer, float) and peer > 0:
        figures["ratio_vs_peer_gateway"] = round(float(figures["rest_orders_per_s"]) / peer, 2)  # type: ignore[arg-type]
    floor = figures.get("framework_floor_requests_per_s")
    if isinstance(floor, float) and floor > 0:
        figures["ratio_vs_framework_floor"] = round(float(figures["rest_orders_per_s"]) / floor, 2)  # type: ignore[arg-type]
    return figures


def _postgresql_legs(folder: Path, recovery_commands: int, progress: Callable[[str], None], writer: str) -> dict[str, object]:
    """The SQLite service for the reference (REST only), then the PostgreSQL service (REST and
    FIX, the usual keys), then recovery of a journal of ``recovery_commands`` from PostgreSQL."""
    from bench.storage import PostgresServer

    figures: dict[str, object] = {}
    server = PostgresServer().start()
    try:
        settings = server.settings()
        figures["storage"] = (
            f"postgresql {settings['server_version']} (throwaway, loopback; fsync={settings['fsync']}, "
            f"synchronous_commit={settings['synchronous_commit']}), journal blocks per group commit, read models in the same server"
        )
        lite = str(folder / "reference.db")
        progress("reference: the same service on SQLite, REST only")
        reference = _lionrock_leg(lite, folder, _prepare(lite, progress), progress, fix=False, writer=writer)
        figures.update({f"sqlite_{name}": value for name, value in reference.items()})
        db = f"{server.url}?schema=bench"
        figures.update(_lionrock_leg(db, folder, _prepare(db, progress), progress, writer=writer))
        figures["ratio_postgresql_vs_sqlite_rest"] = round(float(figures["rest_orders_per_s"]) / float(reference["rest_orders_per_s"]), 3)  # type: ignore[arg-type]
        figures["targets"] = {"ratio_postgresql_vs_sqlite_rest": 0.8, "rest_p99_ms": 15}
        if recovery_commands > 0:
            figures.update(_recovery(f"{server.url}?schema=recovery", recovery_commands, progress))
    finally:
        server.stop()
    return figures


def _recovery(db: str, commands: int, progress: Callable[[str], None]) -> dict[str, object]:
    """A journal of ``commands`` crossing orders written through the engine (group commit, a
    snapshot every `RECOVERY_SNAPSHOT_EVERY`), then recovered by a fresh engine as start-up does."""
    from lionrock.engine import Engine
    from lionrock.engine.journal import verify_snapshot_chain
    from lionrock.kernel.xhkg import hk_ns
    from lionrock.service.contexts import default_contexts
    from lionrock.storage.postgres_journal import PostgresJournal
    from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay

    at = hk_ns(date(2025, 11, 24), dtime(10, 0))
    engine = Engine(default_contexts(), PostgresJournal(db, "group:5"), snapshot_every=RECOVERY_SNAPSHOT_EVERY)
    progress(f"recovery: writing a journal of {commands:,} commands to PostgreSQL (snapshot every {RECOVERY_SNAPSHOT_EVERY:,})")
    started = time.perf_counter()
    try:
        engine.submit(StartTradingDay(day="2025-11-24"), at)
        engine.submit(ListInstrument(instrument="09999", board_lot=100, nominal_price=50_000), at)
        for n in range(commands - 2):
            if n + 2 == commands - RECOVERY_SNAPSHOT_EVERY + 1:
                engine.snapshot_every = 0  # the last snapshot a whole interval before the end: the longest tail start-up replays
            k = n % 4
            engine.submit(
                PlaceOrder(
                    instrument="09999",
                    participant=f"B{k}",
                    account=f"C:B{k}:X",
                    client_order_id=f"r{n}",
                    side="BS"[n % 2],
                    order_type="LIMIT",
                    price=49_900,
                    quantity=100,
                    channel="rest",
                ),
                at + n * 1000,
            )
            if n % 200_000 == 199_999:
                progress(f"recovery: {n + 3:,} commands written")
        engine.flush()
        written_s = time.perf_counter() - started
        expected_hash, last_seq = engine.state_hash(), engine.seq
    finally:
        engine.close()
    progress("recovery: a fresh engine from the latest snapshot + the tail")
    journal = PostgresJournal(db, readonly=True)
    try:
        snapshot = journal.latest_snapshot()
        started = time.perf_counter()
        recovered = Engine(default_contexts(), journal).recover()
        recovery_s = time.perf_counter() - started
        if (recovered.seq, recovered.state_hash()) != (last_seq, expected_hash):
            raise RuntimeError(f"recovered to seq {recovered.seq} hash {recovered.state_hash()}, wrote seq {last_seq} hash {expected_hash}")
        started = time.perf_counter()
        if snapshot is not None:
            verify_snapshot_chain(journal, snapshot)
        verify_s = time.perf_counter() - started
        progress("recovery: every record, without the snapshot (lionrock replay --from-scratch)")
        started = time.perf_counter()
        scratch = Engine(default_contexts(), journal).recover(use_snapshot=False)
        scratch_s = time.perf_counter() - started
        if scratch.state_hash() != expected_hash:
            raise RuntimeError("replay from the first record reaches a different state hash")
    finally:
        journal.close()
    return {
        "recovery_commands": last_seq,
        "recovery_journal_write_seconds": round(written_s, 1),
        "recovery_snapshot_seq": snapshot.seq if snapshot is not None else 0,
        "recovery_tail_commands": last_seq - (snapshot.seq if snapshot is not None else 0),
        "recovery_seconds": round(recovery_s, 3),
        "recovery_verify_seconds": round(verify_s, 3),
        "recovery_from_scratch_seconds": round(scratch_s, 3),
    }


# -- the servers ----------------------------------------------------------------------------------
def _prepare(db: str, progress: Callable[[str], None]) -> list[str]:
    """A fresh store: an operator, four brokers with API keys, the trading day open, 09999 listed."""
    from lionrock.kernel.xhkg import hk_ns
    from lionrock.service.contexts import default_contexts
    from lionrock.service.root import Service, market_clock
    from lionrock.trading.commands import ListInstrument, StartTradingDay

    progress("preparing the store: users, API keys, trading day, instrument")
    service = Service(db, contexts=default_contexts(), clock=market_clock(hk_ns(date(2025, 11, 24), dtime(10, 0)), speed=0.0))
    try:
        op = service.auth.create_user("op", PASSWORD, "operator")
        keys = []
        for k in range(USERS):
            service.auth.create_user(f"b{k}", PASSWORD, "broker", participant=f"B{k}", accounts=[f"C:B{k}:X"])
            keys.append(service.auth.create_api_key(f"b{k}", "bench"))
        for command in (StartTradingDay(day="2025-11-24"), ListInstrument(instrument="09999", board_lot=100, nominal_price=50_000)):
            outcome = service.submit_sync(op, command)
            assert outcome.rejection is None, outcome.rejection
    finally:
        service.close()
    return keys


class _Server:
    """A server subprocess on loopback, its output in a file, stopped with SIGINT (then killed)."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.port, self.log = name, port, log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()

    def __enter__(self) -> _Server:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _wrk(url: str, mode: str, prefix: str, credentials: list[str], seconds: int = WRK_SECONDS) -> dict[str, Any]:
    run = wrk_orders(url, mode, prefix, credentials, seconds)
    figures = {"orders_per_s": run.orders_per_s, "p50_ms": run.p50_ms, "p99_ms": run.p99_ms}
    return {**figures, "requests": run.requests, "errors": run.error_count}


def _lionrock_leg(
    db: str, folder: Path, keys: list[str], progress: Callable[[str], None], *, fix: bool = True, writer: str = "thread"
) -> dict[str, object]:
    port, fix_port = _free_port(), _free_port()
    argv = [
        sys.executable,
        "-m",
        "lionrock.cli",
        "serve",
        "--db",
        db,
        "--port",
        str(port),
        "--fix-port",
        str(fix_port),
        "--market-start",
        MARKET_START,
        "--rate-limit",
        str(RATE_LIMIT_PER_USER),
        "--writer",
        writer,
    ]
    with _Server("lionrock serve", argv, port, folder / f"serve-{port}.log") as server:
        for k, key in enumerate(keys):  # one order per user: the setup works, and each key is verified once (argon2) before timing
            r = httpx.post(
                f"{server.url}/v1/orders",
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
                json={
                    "instrument": "09999",
                    "side": "B" if k % 2 else "S",
                    "quantity": 100,
                    "price": "49.90",
                    "client_order_id": f"warm{k}",
                },
            )
            assert r.status_code == 201, r.text
        progress(f"Lion Rock REST: wrk {CONNECTIONS} connections, {WRK_SECONDS} s")
        profiler = _pyspy(server.proc.pid)
        rest = _wrk(server.url, "lionrock", "w", keys)
        if profiler is not None:
            profiler.wait(60)
        progress(f"Lion Rock REST: {rest}")
        fix_figures = _fix(fix_port, progress) if fix else {}
        health = httpx.get(f"{server.url}/v1/health", headers={"Authorization": f"Bearer {keys[0]}"}, timeout=30).json()
    return {
        "rest_orders_per_s": rest["orders_per_s"],
        "rest_p50_ms": rest["p50_ms"],
        "rest_p99_ms": rest["p99_ms"],
        "rest_requests": rest["requests"],
        "rest_errors": rest["errors"],
        "durable_seq_after": health.get("durable_seq"),
        "commands_per_group_commit": round(health["commands_committed"] / commits, 1) if (commits := health.get("group_commits")) else None,
        **fix_figures,
    }


def _pyspy(pid: int) -> subprocess.Popen[bytes] | None:
    out = os.environ.get("LIONROCK_BENCH_API_PYSPY", "")
    if not out:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [spy, "record", "-o", out, "--pid", str(pid), "--duration", str(max(1, WRK_SECONDS - 2)), "--rate", "200", "--threads"]
    argv.append("--subprocesses")  # the writer process too (--writer process): its samples name its pid
    if out.endswith(".txt"):  # collapsed stacks, for reading with a script
        argv += ["--format", "raw"]
    if os.environ.get("LIONROCK_BENCH_API_PYSPY_GIL"):  # only samples holding the GIL: where the one core goes
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _floor_leg(folder: Path, progress: Callable[[str], None]) -> dict[str, object]:
    port = _free_port()
    with _Server("framework floor", [sys.executable, "-c", _FLOOR_APP, str(port)], port, folder / "floor.log") as server:
        progress(f"framework floor (FastAPI + uvicorn[httptools, uvloop], constant answer): wrk {WRK_SECONDS} s")
        floor = _wrk(server.url, "lionrock", "f", ["none"])
    progress(f"framework floor: {floor}")
    return {"framework_floor_requests_per_s": floor["orders_per_s"], "framework_floor_p99_ms": floor["p99_ms"]}


def _peer_leg(folder: Path, progress: Callable[[str], None]) -> dict[str, object]:
    exe = Path(sys.executable).with_name("matching-engine")
    if not exe.exists():
        progress("matching-engine not installed (pip install 'matching-engine[gateway]>=0.1'): no peer figures")
        return {}
    port = _free_port()
    env = {"ME_DATA_DIR": str(folder), "ME_FSYNC": "1"}
    with _Server(
        "matching-engine serve", [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)], port, folder.with_suffix(".log"), env
    ) as server:
        r = httpx.post(
            f"{server.url}/markets/BTC-USDT/orders", json={"account": 1, "side": "buy", "price": "1.00", "quantity": "0.001"}, timeout=30
        )
        assert r.status_code == 200, r.text
        progress(f"peer matching-engine (fsync on): wrk {WRK_SECONDS} s")
        peer = _wrk(server.url, "peer", "p", [str(k + 1) for k in range(USERS)])
    progress(f"peer: {peer}")
    return {
        "peer_rest_orders_per_s": peer["orders_per_s"],
        "peer_rest_p50_ms": peer["p50_ms"],
        "peer_rest_p99_ms": peer["p99_ms"],
        "peer_rest_errors": peer["errors"],
    }


# -- FIX --------------------------------------------------------------------------------------------
class _Fix:
    def __init__(self, port: int, user: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = FixFramer()  # linear-time framing: the client's parsing is not what is measured
        self.seq = 1
        self.send(b"A", [(98, 0), (108, 30), (553, user), (554, PASSWORD)])
        assert self.recv().get(35) == b"A"

    def encode(self, msg_type: bytes, fields: list[tuple[int, Any]]) -> bytes:
        m = simplefix.FixMessage()
        for t, v in [(8, b"FIX.4.4"), (35, msg_type), (49, b"BENCH"), (56, b"LIONROCK"), (34, self.seq), (52, b"20251124-02:00:00.000")]:
            m.append_pair(t, v, header=True)
        for t, v in fields:
            m.append_pair(t, v)
        self.seq += 1
        return m.encode()

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]]) -> None:
        self.sock.sendall(self.encode(msg_type, fields))

    def recv(self) -> simplefix.FixMessage:
        while True:
            msg = self.parser.next()
            if msg is not None:
                return msg
            self.parser.feed(self.sock.recv(1 << 16))

    def recv_new(self) -> simplefix.FixMessage:
        while True:
            msg = self.recv()
            if msg.get(35) == b"8" and msg.get(150) in (b"0", b"8"):
                return msg

    def nos(self, i: int, prefix: str) -> bytes:
        return self.encode(
            b"D",
            [
                (11, f"{prefix}{i}"),
                (55, "09999"),
                (54, 1 if i % 2 == 0 else 2),
                (38, 100),
                (40, 2),
                (44, "49.90"),
                (60, "20251124-02:00:00"),
            ],
        )


def _fix(port: int, progress: Callable[[str], None]) -> dict[str, object]:
    f = _Fix(port, "b0")
    progress(f"FIX sequential: {FIX_SEQ} NewOrderSingle")
    lat: list[float] = []
    t0 = time.perf_counter()
    for i in range(FIX_SEQ):
        raw = f.nos(i, "fs")
        s = time.perf_counter()
        f.sock.sendall(raw)
        er = f.recv_new()
        lat.append(time.perf_counter() - s)
        assert er.get(150) == b"0", er
    seq_rate = FIX_SEQ / (time.perf_counter() - t0)
    f.sock.close()
    progress(f"FIX pipelined: {FIX_PIPE} NewOrderSingle from a client process")
    client = subprocess.run(
        [sys.executable, "-m", "bench.fix_client", "--client", str(port), "--orders", str(FIX_PIPE), "--sender", "BENCHP"],
        cwd=str(Path(__file__).resolve().parents[1]),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    pipelined = json.loads(client.stdout.strip().splitlines()[-1])
    assert pipelined["answered"] == FIX_PIPE and not pipelined["rejected"], pipelined
    pipe_rate = float(pipelined["orders_per_s"])
    return {
        "fix_sequential_orders_per_s": round(seq_rate, 1),
        "fix_latency_ms_p50": _pct(lat, 0.5),
        "fix_latency_ms_p99": _pct(lat, 0.99),
        "fix_pipelined_orders_per_s": round(pipe_rate, 1),
    }
