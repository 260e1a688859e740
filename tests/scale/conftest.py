"""A throwaway nats-server with JetStream on a free loopback port, per test session (per worker)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.system import missing

NATS_SERVER = shutil.which("nats-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if NATS_SERVER is None:
        missing("nats-server (the JetStream scale-out tests)", "apt-get install -y nats-server")
    store = tmp_path_factory.mktemp("jetstream")
    port = _free_port()
    log = Path(store) / "nats.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nats-server did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Three nats-server nodes with JetStream and cluster routes on loopback (tests/scale/cluster.py);
    every node is SIGKILLed at the end, whatever the test did to them."""
    if NATS_SERVER is None:
        missing("nats-server (the cluster tests)", "apt-get install -y nats-server")
    from cluster import NatsCluster

    cluster = NatsCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()
