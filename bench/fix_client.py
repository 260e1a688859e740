"""FIX pipelined order entry on one session, with the client in its own process.

``python -m bench.fix_client [--orders N] [--runs R] [--writer process|thread]`` starts a service
(SQLite journal with group commit in a temporary folder, the default storage, read models updated;
the writer in a child process as ``lionrock serve`` runs it, or in this process) and its FIX
gateway on a free loopback port in this process, then starts ``python -m bench.fix_client --client PORT N``: a
separate process (its own interpreter, so it never takes the gateway's GIL) that logs on, writes N
NewOrderSingles back to back (crossing pairs: buy then sell at the same price, so every pair
trades) from a second thread while its main thread reads, and counts the answers to the orders
(ExecutionReports with ExecType New or Rejected). The figure is N over the time from the first
byte written to the last answer read; the order messages are built before the clock starts.

Prints one JSON line: ``fix_pipelined_orders_per_s`` (the best of the runs: each run a fresh
service), every run's figure, the trades reported (ExecType Trade) and the rejects seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import threading
import time
from datetime import date
from datetime import time as dtime
from pathlib import Path

PASSWORD = "bench password 1"
NEW, REJECTED, TRADE = b"\x01150=0\x01", b"\x01150=8\x01", b"\x01150=F\x01"


# -- the client process ------------------------------------------------------------------------------
def _frame(msg_type: bytes, seq: int, body: bytes, sender: bytes = b"BENCH") -> bytes:
    inner = b"35=%s\x0149=%s\x0156=LIONROCK\x0134=%d\x0152=20251124-02:00:00.000\x01" % (msg_type, sender, seq) + body
    head = b"8=FIX.4.4\x019=" + str(len(inner)).encode() + b"\x01" + inner
    return head + b"10=" + f"{sum(head) % 256:03d}".encode() + b"\x01"


def _orders(count: int, sender: bytes) -> bytes:
    return b"".join(
        _frame(
            b"D",
            2 + i,
            b"11=fp%d\x0155=09999\x0154=%d\x0138=100\x0140=2\x0144=49.90\x0160=20251124-02:00:00\x01" % (i, 1 if i % 2 == 0 else 2),
            sender,
        )
        for i in range(count)
    )


def client(port: int, count: int, user: str, sender: str = "BENCH") -> dict[str, object]:
    """Log on as ``user`` with SenderCompID ``sender`` (a new pair: its numbers start at 1), send
    ``count`` NewOrderSingles at once and count the answers."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    comp = sender.encode()
    sock.sendall(_frame(b"A", 1, b"98=0\x01108=30\x01553=%s\x01554=%s\x01" % (user.encode(), PASSWORD.encode()), comp))
    logon = b""
    while b"\x0135=A\x01" not in logon:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise SystemExit(f"logon refused: {logon!r}")
        logon += chunk
    payload = _orders(count, comp)
    answered = trades = rejected = 0
    tail = b""
    started = time.perf_counter()
    sender = threading.Thread(target=sock.sendall, args=(payload,))
    sender.start()
    while answered < count:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        data = tail + chunk  # a marker split over two reads is counted once: the tail is shorter than a marker
        new, rej = data.count(NEW), data.count(REJECTED)
        answered += new + rej
        rejected += rej
        trades += data.count(TRADE)
        tail = data[-(len(NEW) - 1) :]
    elapsed = time.perf_counter() - started
    sender.join()
    sock.close()
    return {
        "orders": count,
        "answered": answered,
        "rejected": rejected,
        "trades_reported": trades,
        "seconds": round(elapsed, 3),
        "orders_per_s": round(answered / elapsed, 1),
    }


# -- the server process ------------------------------------------------------------------------------
async def _serve_and_measure(count: int, profile: str | None, writer: str) -> dict[str, object]:
    from lionrock.gateways.fix.gateway import FixGateway
    from lionrock.kernel.xhkg import hk_ns
    from lionrock.service.contexts import default_contexts
    from lionrock.service.root import Service, market_clock
    from lionrock.trading.commands import ListInstrument, StartTradingDay

    with tempfile.TemporaryDirectory() as tmp:
        service = Service(
            str(Path(tmp) / "bench.db"),
            contexts=default_contexts() if writer == "thread" else None,
            clock=market_clock(hk_ns(date(2025, 11, 24), dtime(10, 0)), speed=0.0),
            writer=writer,
        )
        try:
            op = service.auth.create_user("op", PASSWORD, "operator")
            service.auth.create_user("b0", PASSWORD, "broker", participant="B0", accounts=["C:B0:X"])
            service.submit_sync(op, StartTradingDay(day="2025-11-24"))
            service.submit_sync(op, ListInstrument(instrument="09999", board_lot=100, nominal_price=50_000))
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
            gateway = FixGateway(service, port=port, throttle_per_second=1_000_000)
            await gateway.start()
            try:
                spy = None
                if profile:
                    import os

                    spy = await asyncio.create_subprocess_exec(
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "-o",
                        profile,
                        "-r",
                        "200",
                        "-p",
                        str(os.getpid()),
                        "-f",
                        "flamegraph" if profile.endswith(".svg") else "raw",
                        "--nonblocking",
                        "--threads",
                        "--subprocesses",
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                    await asyncio.sleep(1.0)
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.fix_client",
                    "--client",
                    str(port),
                    "--orders",
                    str(count),
                    stdout=asyncio.subprocess.PIPE,
                    cwd=str(Path(__file__).resolve().parents[1]),
                )
                out, _ = await proc.communicate()
                if spy is not None:
                    spy.send_signal(2)
                    await spy.wait()
                if proc.returncode != 0:
                    raise RuntimeError(f"FIX client failed with status {proc.returncode}")
                result: dict[str, object] = json.loads(out)
            finally:
                await gateway.stop()
            health = service.health()
            result["engine_batches"] = health["group_commits"]
            result["engine_commands"] = health["commands_committed"]
            return result
        finally:
            service.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fix_client", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000, help="NewOrderSingles pipelined on the one session")
    parser.add_argument("--runs", type=int, default=3, help="fresh services measured; the best is reported")
    parser.add_argument("--writer", choices=("process", "thread"), default="process", help="where the journal, engine and projector run")
    parser.add_argument("--client", type=int, metavar="PORT", help="(internal) be the client process for the gateway on PORT")
    parser.add_argument("--user", default="b0", help="(with --client) the user to log on as")
    parser.add_argument("--sender", default="BENCH", help="(with --client) the SenderCompID")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="record the gateway process with py-spy (first run): a flame graph for .svg, else collapsed stacks",
    )
    args = parser.parse_args(argv)
    if args.client is not None:
        print(json.dumps(client(args.client, args.orders, args.user, args.sender)))
        return 0
    runs = []
    for k in range(args.runs):
        runs.append(asyncio.run(_serve_and_measure(args.orders, args.profile if k == 0 else None, args.writer)))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    best = max(runs, key=lambda r: float(r["orders_per_s"]))  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "benchmark": "fix_pipelined",
                "storage": "sqlite (group commit)",
                "writer": args.writer,
                "transport": "loopback TCP, client in its own process",
                "fix_pipelined_orders_per_s": best["orders_per_s"],
                "runs_orders_per_s": [r["orders_per_s"] for r in runs],
                "orders": args.orders,
                "rejected": best["rejected"],
                "trades_reported": best["trades_reported"],
                "engine_batches": best["engine_batches"],
                "engine_commands": best["engine_commands"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
