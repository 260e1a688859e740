"""Fixtures for the service tests: a throwaway PostgreSQL and nats-server (once per worker), storage URLs."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.service_pgserver import PgServer, pg_bin
from testkit.system import missing

_counter = itertools.count()
NATS_SERVER = shutil.which("nats-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server():
    if pg_bin() is None:
        missing("PostgreSQL (/usr/lib/postgresql/*/bin/initdb)", "apt-get install postgresql")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh schema in the throwaway server for each test."""
    return f"{pg_server.url}?schema=t{os.getpid()}_{next(_counter)}"


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
