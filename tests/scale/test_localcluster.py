"""`make cluster` / `make cluster-stop`: the launcher starts the whole platform on loopback under
one directory, the edge answers, and stop leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from cluster import NATS_SERVER, free_port
from lionrock.scale.nats import CMD_STREAM, connect


def _free_block() -> int:
    """A base port with base, +1, +2 and +2000..+2002 free (the layout's NATS client and route ports)."""
    for _ in range(50):
        base = free_port()
        if base + 2002 > 65535:
            continue
        try:
            for port in (base, base + 1, base + 2, base + 2000, base + 2001, base + 2002):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free block of ports")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_local_cluster_up_answers_and_stop_leaves_nothing() -> None:
    from testkit.service_pgserver import pg_bin

    if NATS_SERVER is None or pg_bin() is None:
        pytest.skip("nats-server or PostgreSQL binaries absent")
    root = Path(tempfile.mkdtemp(prefix="lionrock-cluster-"))  # PostgreSQL runs as postgres: not under pytest's private tmp
    root.chmod(0o755)
    base, http = _free_block(), free_port()
    args = ["--root", str(root), "--nats-port", str(base), "--pg-port", str(free_port()), "--http", str(http), "--fix", "0"]
    launcher = subprocess.Popen(
        [sys.executable, "-m", "lionrock.scale.localcluster", "up", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    pids: list[int] = []
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 180
        lines = []
        while not any("cluster-stop" in x for x in lines):
            line = launcher.stdout.readline()
            assert line or launcher.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(line)
        assert httpx.get(f"http://127.0.0.1:{http}/v1/health", timeout=10).json()["running"] is True
        pids = [int(f.read_text()) for f in (root / "run").glob("*.pid")]
        assert len(pids) == 3 + 3 + 2 + 1  # NATS nodes, shards, projector and edge, the launcher

        async def replicas() -> int:
            nc, js = await connect(",".join(f"nats://127.0.0.1:{base + i}" for i in range(3)))
            try:
                return int((await js.stream_info(CMD_STREAM)).config.num_replicas or 0)
            finally:
                await nc.drain()

        assert asyncio.run(replicas()) == 3
        stopped = subprocess.run(
            [sys.executable, "-m", "lionrock.scale.localcluster", "stop", *args], capture_output=True, text=True, timeout=180
        )
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert launcher.wait(60) == 0
        assert not [p for p in pids if _alive(p)] and not list((root / "run").glob("*.pid"))
        assert (root / "t0.sqlite").exists() and (root / "pg" / "data" / "PG_VERSION").exists()  # kept: a restart resumes
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGTERM)
            launcher.wait(60)
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if launcher.stdout is not None:
            launcher.stdout.close()
        shutil.rmtree(root, ignore_errors=True)
