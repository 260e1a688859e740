"""The whole scaled-out platform on one machine's loopback (`make cluster`, `make cluster-stop`).

Three ``nats-server`` nodes with JetStream and cluster routes (streams with 3 replicas), a
PostgreSQL server for the read models and the edge's users, one ``lionrock shard`` process per
trading shard and the primary, ``lionrock project`` and ``lionrock serve --nats`` (the edge). Ports
and store directories live under one directory (default ``out/cluster``): ``nats/n0..n2`` (the
JetStream stores), ``pg/`` (PostgreSQL), ``<shard>.sqlite`` (each shard's journal), ``logs/``,
``run/*.pid``. Each process runs in its own session, so stopping signals its whole group.

    python -m lionrock.scale.localcluster up   [--root out/cluster] [--http 8000] [--fix 9878]
    python -m lionrock.scale.localcluster stop [--root out/cluster]
    python -m lionrock.scale.localcluster demo [--root out/cluster-demo] [--scale small] [--seed 7]

``up`` stays in the foreground until Ctrl-C or SIGTERM (``stop`` sends it one), then stops the
edge, the projector, the shards, the NATS nodes and PostgreSQL, in that order. Starting again on
the same directory resumes: journals, streams and the read model are kept (delete the directory
for a fresh platform). The same commands on several hosts are in docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NATS_SERVER = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)


@dataclass(frozen=True)
class Layout:
    """Where everything of one local cluster lives: ports and directories."""

    root: Path
    trading: tuple[str, ...] = ("t0", "t1")
    nats_port: int = 14222
    """Client ports nats_port, +1, +2; route ports nats_port + 2000, +1, +2."""
    pg_port: int = 15432
    http_port: int = 8000
    fix_port: int = 9878

    @property
    def shards(self) -> tuple[str, ...]:
        return (*self.trading, "primary")

    @property
    def nats_url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{self.nats_port + i}" for i in range(3))

    @property
    def pg_url(self) -> str:
        return f"postgresql://lionrock@127.0.0.1:{self.pg_port}/postgres?schema=lionrock"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.root / "run" / f"{name}.pid"


def _wait_port(port: int, what: str, timeout_s: float = 30.0, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            died = proc is not None and proc.poll() is not None
            if died or time.monotonic() > deadline:
                tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
                raise RuntimeError(f"{what} did not start on port {port}{': ' + tail if tail else ''}") from None
            time.sleep(0.1)


def _spawn(layout: Layout, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
    log = layout.log(name)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(args), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    layout.pid_file(name).write_text(str(proc.pid))
    return proc


def _lionrock(*args: str) -> list[str]:
    return [sys.executable, "-m", "lionrock.cli", *args]


# -- PostgreSQL ------------------------------------------------------------------------------
def _pg_bin() -> Path:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            return Path(d)
    raise SystemExit("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)")


def _pg_run(layout: Layout, *args: str) -> None:
    runas: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        owner = "postgres" if _has_user("postgres") else "nobody"
        runas = ["runuser", "-u", owner, "--"]
        shutil.chown(layout.root / "pg", user=owner)
    done = subprocess.run([*runas, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        hint = f" (PostgreSQL runs as {runas[2]}: every directory above {layout.root} must be searchable by it)" if runas else ""
        raise SystemExit(f"{Path(args[0]).name} failed{hint}: {(done.stderr or done.stdout).strip()[-1500:]}")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def start_postgres(layout: Layout) -> None:
    bindir, pg = _pg_bin(), layout.root / "pg"
    pg.mkdir(parents=True, exist_ok=True)
    data = pg / "data"
    if not (data / "PG_VERSION").exists():
        _pg_run(layout, f"{bindir}/initdb", "-D", str(data), "-U", "lionrock", "--auth=trust", "-E", "UTF8")
    opts = f"-p {layout.pg_port} -k {pg} -c listen_addresses=127.0.0.1 -c max_connections=200"
    _pg_run(layout, f"{bindir}/pg_ctl", "-D", str(data), "-o", opts, "-l", str(pg / "postgres.log"), "-w", "-t", "60", "start")
    _wait_port(layout.pg_port, "PostgreSQL")


def stop_postgres(layout: Layout) -> None:
    data = layout.root / "pg" / "data"
    if (data / "postmaster.pid").exists():
        _pg_run(layout, f"{_pg_bin()}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


# -- NATS ------------------------------------------------------------------------------------
def start_nats(layout: Layout) -> None:
    if NATS_SERVER is None:
        raise SystemExit("nats-server not found (apt-get install nats-server)")
    for i in range(3):
        store = layout.root / "nats" / f"n{i}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{layout.nats_port + 2000 + j}" for j in range(3) if j != i)
        proc = _spawn(
            layout,
            f"nats-n{i}",
            [
                NATS_SERVER,
                "-a",
                "127.0.0.1",
                "-p",
                str(layout.nats_port + i),
                "-n",
                f"n{i}",
                "-js",
                "-sd",
                str(store),
                "--cluster_name",
                "lionrock",
                "--cluster",
                f"nats://127.0.0.1:{layout.nats_port + 2000 + i}",
                "--routes",
                routes,
            ],
        )
        _wait_port(layout.nats_port + i, f"nats-server n{i}", proc=proc, log=layout.log(f"nats-n{i}"))
    asyncio.run(_streams(layout.nats_url))


async def _streams(url: str) -> None:
    """Until the cluster's JetStream answers, then the streams with 3 replicas."""
    from lionrock.scale.nats import connect_with_backoff, ensure_streams

    connected = await connect_with_backoff(url, attempts=20)
    assert connected is not None
    nc, js = connected
    try:
        await ensure_streams(js, replicas=3)
    finally:
        await nc.drain()


# -- the platform --------------------------------------------------------------------------------
def start_shards(layout: Layout) -> None:
    """One `lionrock shard` process per shard (trading shards and the primary), streams with 3 replicas."""
    trading = ",".join(layout.trading)
    for shard in layout.shards:
        journal = str(layout.root / f"{shard}.sqlite")
        argv = ["shard", "--nats", layout.nats_url, "--shard", shard, "--journal", journal, "--trading", trading]
        _spawn(layout, f"shard-{shard}", _lionrock(*argv, "--replicas", "3", "--connect-attempts", "20"))


def start_platform(layout: Layout, *, market_start: str = "", demo_users: bool = True) -> None:
    trading = ",".join(layout.trading)
    start_shards(layout)
    _spawn(
        layout,
        "projector",
        _lionrock("project", "--nats", layout.nats_url, "--db", layout.pg_url, "--trading", trading, "--connect-attempts", "20"),
    )
    edge = [
        "serve",
        "--nats",
        layout.nats_url,
        "--db",
        layout.pg_url,
        "--trading",
        trading,
        "--replicas",
        "3",
        "--port",
        str(layout.http_port),
        "--fix-port",
        str(layout.fix_port),
    ]
    edge += ["--market-start", market_start] if market_start else []
    edge += ["--demo-users"] if demo_users else []
    proc = _spawn(layout, "edge", _lionrock(*edge))
    _wait_port(layout.http_port, "the edge (lionrock serve --nats)", timeout_s=120.0, proc=proc, log=layout.log("edge"))


STOP_ORDER = ("edge", "projector", "shard-", "nats-")


def stop_processes(layout: Layout, timeout_s: float = 30.0, order: Sequence[str] = STOP_ORDER) -> None:
    """SIGTERM each process group in ``order`` (name prefixes) and wait; SIGKILL what is still there."""
    files = sorted((layout.root / "run").glob("*.pid"))
    for prefix in order:
        group = [f for f in files if f.stem.startswith(prefix)]
        pids = [int(f.read_text()) for f in group]
        for pid in pids:
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids:
            _signal_group(pid, signal.SIGKILL)
        for f in group:
            f.unlink(missing_ok=True)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # reap our own children; others' exit is seen by kill(0) failing
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def up(layout: Layout, *, market_start: str = "") -> None:
    for d in ("logs", "run"):
        (layout.root / d).mkdir(parents=True, exist_ok=True)
    if layout.pid_file("cluster").exists() and _alive(int(layout.pid_file("cluster").read_text())):
        raise SystemExit(f"a cluster already runs on {layout.root} (make cluster-stop)")
    layout.pid_file("cluster").write_text(str(os.getpid()))
    stopping = False

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        start_postgres(layout)
        start_nats(layout)
        start_platform(layout, market_start=market_start)
        print(
            f"Lion Rock cluster on loopback ({layout.root}):\n"
            f"  NATS     {layout.nats_url} (3 nodes, streams with 3 replicas)\n"
            f"  shards   {', '.join(layout.shards)} (journals {layout.root}/<shard>.sqlite)\n"
            f"  read model and users  {layout.pg_url}\n"
            f"  edge     http://127.0.0.1:{layout.http_port} (REST, WebSocket, dashboard)"
            + (f", FIX on {layout.fix_port}" if layout.fix_port else "")
            + "\n"
            f"  logs     {layout.root}/logs/ (demo users' passwords: logs/edge.log)\n"
            "Ctrl-C or `make cluster-stop` stops it.",
            flush=True,
        )
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        stopping = True
    finally:
        print("stopping the cluster ...", flush=True)
        stop_processes(layout)
        stop_postgres(layout)
        layout.pid_file("cluster").unlink(missing_ok=True)
        if stopping:
            print("stopped.", flush=True)


def stop(layout: Layout) -> None:
    launcher = layout.pid_file("cluster")
    if launcher.exists():
        pid = int(launcher.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 90
        while launcher.exists() and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    stop_processes(layout)  # whatever a launcher killed with -9 left behind
    stop_postgres(layout)
    launcher.unlink(missing_ok=True)


# -- the demo through the cluster (make demo-cluster) ----------------------------------------------
def demo(layout: Layout, *, scale: str = "small", seed: int = 7) -> dict[str, str]:
    """The hk-ai-wave scenario through a fresh three-node cluster and its shard processes.

    The scenario's driver reacts to each outcome as it comes, so it runs in-process once (as
    ``lionrock demo`` does) to produce its commands and their times; those commands are then
    published, in order, through the edge's `CommandProducer` to the cluster's command stream
    (3 replicas), the shards apply them (cross-shard reactions as relays), each shard's state
    hash is printed and checked against an engine fed that shard's stream, and the report is
    built from the shards' event streams. The cluster's hashes differ from the single-process
    run's: the primary sees trades relayed, interleaved with its own commands in arrival order."""
    from lionrock.sim.runner import RunConfig, run_scenario

    if layout.root.exists():
        shutil.rmtree(layout.root)
    for d in ("logs", "run"):
        (layout.root / d).mkdir(parents=True)
    started = time.perf_counter()
    single = run_scenario(RunConfig(scale=scale, seed=seed), layout.root / "scenario.sqlite")
    print(
        f"scenario hk-ai-wave ({scale}, seed {seed}): {single.commands:,} commands from the driver in "
        f"{time.perf_counter() - started:.0f} s; "
        f"single-process state hash {single.state_hash}",
        flush=True,
    )
    hashes: dict[str, str] = {}
    try:
        start_nats(layout)
        start_shards(layout)
        started = time.perf_counter()
        published = asyncio.run(_publish_journal(layout, layout.root / "scenario.sqlite"))
        print(
            f"published {published:,} messages to LIONROCK_CMDS (3 replicas) in {time.perf_counter() - started:.0f} s; shards applying ...",
            flush=True,
        )
        asyncio.run(_until_applied(layout))
        print(f"all shards idle after {time.perf_counter() - started:.0f} s", flush=True)
        stop_processes(layout, order=("shard-",))  # each shard prints its state hash when stopped
        for shard in layout.shards:
            lines = [x for x in layout.log(f"shard-{shard}").read_text().splitlines() if x.startswith("state_hash ")]
            hashes[shard] = lines[-1].split()[1] if lines else "?"
        report = asyncio.run(_check_and_report(layout, hashes, scale, seed))
    finally:
        stop_processes(layout)
    for line in report:
        print(line)
    return hashes


def _by_client_order_id(journal_path: Path) -> list[tuple[object, int]]:
    """The scenario's commands and times, with cancels and amends by venue order id rewritten to
    name the order by its client order id: each trading shard numbers its orders in its own range
    (`ShardMap.order_id_base`), so the single engine's order ids mean nothing on a shard."""
    import msgspec

    from lionrock.engine import Engine
    from lionrock.kernel.messages import Codec
    from lionrock.service.contexts import default_contexts
    from lionrock.storage.sqlite_journal import SqliteJournal
    from lionrock.trading.commands import AmendOrder, CancelOrder
    from lionrock.trading.events import OrderAccepted

    codec, engine = Codec(), Engine(default_contexts())
    client_ids: dict[int, str] = {}
    out: list[tuple[object, int]] = []
    journal = SqliteJournal(journal_path, "every")
    try:
        for record in journal.records():
            command = codec.decode_command(record.body)
            outcome = engine.submit(command, record.at_ns)
            client_ids.update((e.order_id, e.client_order_id) for e in outcome.events if isinstance(e, OrderAccepted))
            if isinstance(command, (CancelOrder, AmendOrder)) and command.order_id in client_ids:
                command = msgspec.structs.replace(command, order_id=0, client_order_id=client_ids[command.order_id])
            out.append((command, record.at_ns))
    finally:
        journal.close()
    return out


async def _publish_journal(layout: Layout, journal_path: Path) -> int:
    from lionrock.scale.nats import CommandProducer, connect
    from lionrock.scale.sharding import ShardMap

    commands = _by_client_order_id(journal_path)
    nc, js = await connect(layout.nats_url)
    try:
        producer = CommandProducer(js, ShardMap(layout.trading), timeout_s=60.0)
        chunk: list[tuple[object, int, str | None]] = []
        published = 0
        for seq, (command, at_ns) in enumerate(commands, 1):
            chunk.append((command, at_ns, f"demo:{seq}"))
            if len(chunk) == 2000:
                published += len(await producer.publish_many(chunk))  # type: ignore[arg-type]
                chunk = []
        if chunk:
            published += len(await producer.publish_many(chunk))  # type: ignore[arg-type]
        return published
    finally:
        await nc.drain()


async def _until_applied(layout: Layout, timeout_s: float = 1800.0) -> None:
    """Until every shard's consumer has nothing pending three checks in a row."""
    from lionrock.scale.nats import CMD_STREAM, connect

    nc, js = await connect(layout.nats_url)
    deadline, quiet = time.monotonic() + timeout_s, 0
    try:
        while quiet < 3:
            if time.monotonic() > deadline:
                raise SystemExit("the shards did not finish in time (see the logs)")
            await asyncio.sleep(1.0)
            try:
                infos = [await js.consumer_info(CMD_STREAM, f"shard-{s}") for s in layout.shards]
            except Exception:  # noqa: BLE001 - a consumer not yet created, a node electing: not quiet yet
                quiet = 0
                continue
            quiet = 0 if any(i.num_pending or i.num_ack_pending for i in infos) else quiet + 1
    finally:
        await nc.drain()


async def _check_and_report(layout: Layout, hashes: dict[str, str], scale: str, seed: int) -> list[str]:
    """Each shard's hash against an engine fed its stream; the report from the event streams."""
    from nats.js.api import AckPolicy, ConsumerConfig

    from lionrock.analytics.projection import RunProjection
    from lionrock.analytics.report import render_report
    from lionrock.engine import Engine
    from lionrock.kernel.messages import Codec, Stamp
    from lionrock.scale.nats import (
        CMD_STREAM,
        H_AT_NS,
        cmd_subject,
        connect,
        read_events,
        resolve_bodies,
    )
    from lionrock.scale.sharding import ShardMap
    from lionrock.sim.scenario import load_scenario

    codec, shard_map = Codec(), ShardMap(layout.trading)
    nc, js = await connect(layout.nats_url)
    lines = []
    try:
        for shard in layout.shards:
            engine = Engine(shard_map.contexts(shard))
            sub = await js.pull_subscribe(cmd_subject(shard), stream=CMD_STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
            while True:
                try:
                    msgs = await sub.fetch(2048, timeout=1.0)
                except TimeoutError:
                    break
                await resolve_bodies(js, msgs)
                for m in msgs:
                    engine.submit(codec.decode_command(m.data), int((m.headers or {})[H_AT_NS]))
            await sub.unsubscribe()
            same = "equals" if engine.state_hash() == hashes[shard] else "DIFFERS FROM"
            lines.append(f"shard {shard:8} seq {engine.seq:>7,}  state hash {hashes[shard]}  ({same} an engine fed its stream)")
        outcomes = [o for s in layout.shards for o in await read_events(js, s)]
    finally:
        await nc.drain()
    scenario = load_scenario("hk-ai-wave")
    projection = RunProjection(scenario=scenario.name, title=scenario.title, seed=seed, scale=scale)
    order = {s: i for i, s in enumerate(layout.shards)}
    for o in sorted(outcomes, key=lambda o: (o.at_ns, order[o.shard], o.seq)):
        if o.body is not None:
            projection.on_events(Stamp(o.seq, o.at_ns), o.body, o.own_events)
    data = projection.finish(";".join(f"{s}:{h[:12]}" for s, h in hashes.items()))
    report = layout.root / "report.html"
    report.write_text(render_report(data, scenario.trading_days, {}))
    lines += [
        f"outcomes {len(outcomes):,}; issuers {len(data.issuers)}; IPOs priced {sum(1 for x in data.offerings.values() if x.offer_price)}; "
        f"trades {projection.trades:,}; rejected commands {data.rejections:,}",
        f"report: {report}",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lionrock.scale.localcluster", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "stop", "demo"))
    parser.add_argument("--root", type=Path, default=Path("out/cluster"))
    parser.add_argument("--trading", default="t0,t1", help="trading shards")
    parser.add_argument("--nats-port", type=int, default=14222)
    parser.add_argument("--pg-port", type=int, default=15432)
    parser.add_argument("--http", type=int, default=8000)
    parser.add_argument("--fix", type=int, default=9878, help="FIX port (0: none)")
    parser.add_argument("--market-start", default="", help="run the edge's market clock from this HKT moment")
    parser.add_argument("--scale", default="small", help="demo: the scenario's scale")
    parser.add_argument("--seed", type=int, default=7, help="demo: the scenario's seed")
    args = parser.parse_args(argv)
    layout = Layout(args.root.resolve(), tuple(s for s in args.trading.split(",") if s), args.nats_port, args.pg_port, args.http, args.fix)
    if args.action == "up":
        up(layout, market_start=args.market_start)
    elif args.action == "demo":
        demo(layout, scale=args.scale, seed=args.seed)
    else:
        stop(layout)


__all__ = [
    "NATS_SERVER",
    "STOP_ORDER",
    "Layout",
    "demo",
    "main",
    "start_nats",
    "start_platform",
    "start_shards",
    "start_postgres",
    "stop",
    "stop_postgres",
    "stop_processes",
    "up",
]

if __name__ == "__main__":
    main()
