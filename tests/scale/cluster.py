"""A real three-node NATS JetStream cluster on loopback, and the platform's processes on it.

Each node is Debian's ``nats-server`` with its own client and route ports, its own store
directory and server name, routes to the other two (``--cluster``/``--routes``): JetStream's
own Raft groups replicate the streams (replicas=3), nothing here copies data. Every process is
started in its own session so a finaliser (or a chaos step) can SIGKILL its whole group.
`make cluster` starts the same commands from the Makefile.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

NATS_SERVER = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.05)


def kill_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None, sig: int = signal.SIGKILL) -> None:
    """Signal the process group of ``proc`` (started with ``start_new_session``) and reap it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class NatsCluster:
    """Three (``size``) nats-server nodes with JetStream, routed to each other, on loopback."""

    def __init__(self, root: Path, size: int = 3, name: str = "lionrock") -> None:
        if NATS_SERVER is None:
            raise RuntimeError("nats-server binary not found (apt-get install -y nats-server)")
        self.root = root
        self.name = name
        self.client_ports = [free_port() for _ in range(size)]
        self.route_ports = [free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what --nats takes: a client fails over)."""
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.client_ports)

    def node_url(self, i: int) -> str:
        return f"nats://127.0.0.1:{self.client_ports[i]}"

    def start_node(self, i: int) -> None:
        assert NATS_SERVER is not None
        store = self.root / f"n{i}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(self.route_ports) if j != i)
        log = self.root / f"n{i}.log"
        with log.open("ab") as out:
            self.procs[i] = subprocess.Popen(
                [
                    NATS_SERVER,
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.client_ports[i]),
                    "-n",
                    f"n{i}",
                    "-js",
                    "-sd",
                    str(store),
                    "--cluster_name",
                    self.name,
                    "--cluster",
                    f"nats://127.0.0.1:{self.route_ports[i]}",
                    "--routes",
                    routes,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = self.procs[i]
        assert proc is not None
        _wait_port(self.client_ports[i], proc, log)

    def start(self, timeout_s: float = 30.0) -> NatsCluster:
        for i in range(len(self.procs)):
            self.start_node(i)
        asyncio.run(self.wait_jetstream(timeout_s))
        return self

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (no shutdown: what a crash or a pulled cable looks like)."""
        kill_group(self.procs[i])
        self.procs[i] = None

    async def wait_jetstream(self, timeout_s: float = 30.0) -> None:
        """Until the cluster's JetStream answers (its meta leader is elected)."""
        import nats

        deadline = time.monotonic() + timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                nc = await nats.connect(servers=self.url.split(","), connect_timeout=1, allow_reconnect=False)
                try:
                    await nc.jetstream().account_info()
                    return
                finally:
                    await nc.close()
            except Exception as exc:  # noqa: BLE001 - not up yet; retried until the deadline
                last = exc
                await asyncio.sleep(0.2)
        raise RuntimeError(f"JetStream cluster not ready after {timeout_s} s: {last!r}")

    def stop(self) -> None:
        for i in range(len(self.procs)):
            self.kill(i)


class Process:
    """One platform process (``python -m lionrock.cli …``) in its own session, output to a log."""

    def __init__(self, name: str, args: Sequence[str], log_dir: Path) -> None:
        self.name = name
        self.args = list(args)
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lionrock.cli", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def kill(self) -> None:
        kill_group(self.proc)

    def stop(self, timeout_s: float = 30.0) -> str:
        """SIGTERM and wait; the log's text."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
        return self.log.read_text()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


__all__ = ["NATS_SERVER", "NatsCluster", "Process", "free_port", "kill_group"]
