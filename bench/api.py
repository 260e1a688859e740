"""Orders per second and p50/p99 latency through REST and through FIX, on loopback.

One in-process service (SQLite journal with group commit, the default storage) on free loopback
ports. Each leg sends pairs of crossing limit orders (buy then sell at the same price, so every
pair trades), bounded counts:

- REST sequential: one client, one order at a time -> per-order latency (request to 201 with the
  durable outcome, projections updated);
- REST concurrent: 8 threads with their own keep-alive connections -> throughput;
- FIX sequential: one session, NewOrderSingle -> ExecutionReport(New) latency;
- FIX pipelined: one session sends everything, then reads every ExecutionReport -> throughput.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx
import simplefix

from lionrock.gateways.fix.gateway import FixFramer

REST_SEQ = 1000
REST_CONC = 2000
FIX_SEQ = 1000
FIX_PIPE = 4000
THREADS = 8
PASSWORD = "bench password 1"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 3)


def _order_body(i: int, prefix: str) -> dict[str, Any]:
    return {"instrument": "09999", "side": "B" if i % 2 == 0 else "S", "quantity": 100, "price": "49.90", "client_order_id": f"{prefix}{i}"}


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
        return self.encode(b"D", [(11, f"{prefix}{i}"), (55, "09999"), (54, 1 if i % 2 == 0 else 2), (38, 100), (40, 2), (44, "49.90"), (60, "20251124-02:00:00")])


def run(progress: Callable[[str], None]) -> dict[str, object]:
    from lionrock.gateways.server import BackgroundServer
    from lionrock.kernel.xhkg import hk_ns
    from lionrock.service.contexts import default_contexts
    from lionrock.service.root import Service, market_clock
    from lionrock.trading.commands import ListInstrument, StartTradingDay

    figures: dict[str, object] = {"storage": "sqlite (group commit)", "transport": "loopback TCP"}
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(str(Path(tmp) / "bench.db"), contexts=default_contexts(), clock=market_clock(hk_ns(date(2025, 11, 24), dtime(10, 0)), speed=0.0))
        op = service.auth.create_user("op", PASSWORD, "operator")
        for k in range(THREADS + 1):
            service.auth.create_user(f"b{k}", PASSWORD, "broker", participant=f"B{k}", accounts=[f"C:B{k}:X"])
        service.submit_sync(op, StartTradingDay(day="2025-11-24"))
        service.submit_sync(op, ListInstrument(instrument="09999", board_lot=100, nominal_price=50_000))
        srv = BackgroundServer(service, fix=True).start()
        try:
            figures.update(_rest(srv, progress))
            figures.update(_fix(srv, progress))
        finally:
            srv.stop()
            figures["engine_batches"] = service.runner.batches
            figures["engine_commands"] = service.runner.commands
            service.close()
    return figures


def _rest(srv: Any, progress: Callable[[str], None]) -> dict[str, object]:
    c = httpx.Client(base_url=srv.url, timeout=30)
    c.post("/v1/session", json={"username": "b0", "password": PASSWORD})
    lat: list[float] = []
    progress(f"REST sequential: {REST_SEQ} orders")
    t0 = time.perf_counter()
    for i in range(REST_SEQ):
        s = time.perf_counter()
        r = c.post("/v1/orders", json=_order_body(i, "rs"))
        lat.append(time.perf_counter() - s)
        assert r.status_code == 201, r.text
    seq_rate = REST_SEQ / (time.perf_counter() - t0)
    c.close()
    progress(f"REST concurrent: {REST_CONC} orders over {THREADS} clients")
    per = REST_CONC // THREADS
    errors: list[str] = []

    def worker(k: int) -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as w:
            w.post("/v1/session", json={"username": f"b{k + 1}", "password": PASSWORD})
            for i in range(per):
                r = w.post("/v1/orders", json=_order_body(i, f"rc{k}-"))
                if r.status_code != 201:
                    errors.append(r.text)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conc_rate = per * THREADS / (time.perf_counter() - t0)
    return {
        "rest_sequential_orders_per_s": round(seq_rate, 1),
        "rest_latency_ms_p50": _pct(lat, 0.5),
        "rest_latency_ms_p99": _pct(lat, 0.99),
        "rest_latency_ms_mean": round(statistics.fmean(lat) * 1000, 3),
        f"rest_concurrent_{THREADS}_clients_orders_per_s": round(conc_rate, 1),
        "rest_errors": len(errors),
    }


def _fix(srv: Any, progress: Callable[[str], None]) -> dict[str, object]:
    f = _Fix(srv.fix_port, "b0")
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
    progress(f"FIX pipelined: {FIX_PIPE} NewOrderSingle")
    payload = b"".join(f.nos(i, "fp") for i in range(FIX_PIPE))
    t0 = time.perf_counter()
    sender = threading.Thread(target=f.sock.sendall, args=(payload,))
    sender.start()
    for _ in range(FIX_PIPE):
        f.recv_new()
    pipe_rate = FIX_PIPE / (time.perf_counter() - t0)
    sender.join()
    f.sock.close()
    return {
        "fix_sequential_orders_per_s": round(seq_rate, 1),
        "fix_latency_ms_p50": _pct(lat, 0.5),
        "fix_latency_ms_p99": _pct(lat, 0.99),
        "fix_pipelined_orders_per_s": round(pipe_rate, 1),
    }
