"""The load generator every server benchmark uses: ``wrk`` in its own process.

`wrk_orders` runs ``bench/wrk/orders.lua`` (2 threads, 16 keep-alive connections): crossing
limit orders, a sell then a buy from the next credential at one price on one instrument, so every
pair trades and never with itself, each with a client order id unique to the run. It returns the
figures the benchmarks report (2xx answers per second, latency percentiles, error counts).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

THREADS = 2
CONNECTIONS = 16
LUA = Path(__file__).with_name("wrk") / "orders.lua"


@dataclass(frozen=True)
class WrkRun:
    """One wrk run's summary (``done()`` in the Lua script)."""

    requests: int
    non_2xx: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: dict[str, int]
    """Non-2xx answers and socket errors (connect, read, write, timeout), by kind."""

    @property
    def orders_per_s(self) -> float:
        return round((self.requests - self.non_2xx) / self.duration_s, 1)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def wrk_orders(
    url: str,
    mode: str,
    prefix: str,
    credentials: Sequence[str],
    seconds: int,
    *,
    instruments: Sequence[str] = ("09999",),
    price: str = "49.90",
) -> WrkRun:
    """``wrk`` against ``url`` for ``seconds``. ``mode``: ``lionrock`` (``POST /v1/orders`` with
    the API keys in ``credentials``, pairs walking ``instruments``) or ``peer`` (matching-engine's
    ``POST /markets/BTC-USDT/orders``, ``credentials`` its account numbers)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found (apt-get install wrk)")
    argv = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        mode,
        prefix,
        ",".join(credentials),
        ",".join(instruments),
        price,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return WrkRun(
        requests=report["requests"],
        non_2xx=report["non_2xx"],
        duration_s=report["duration_us"] / 1e6,
        p50_ms=round(report["latency_us_p50"] / 1000, 2),
        p99_ms=round(report["latency_us_p99"] / 1000, 2),
        mean_ms=round(report["latency_us_mean"] / 1000, 2),
        errors={k: report[k] for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts")},
    )


__all__ = ["CONNECTIONS", "LUA", "THREADS", "WrkRun", "wrk_orders"]
