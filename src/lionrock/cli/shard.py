"""``lionrock shard``: run one shard engine against NATS JetStream (docs/scale-out.md)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer
from rich.console import Console

from lionrock.kernel.user_errors import InputError

console = Console(stderr=True)


def shard(
    nats_url: str = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS server URL (JetStream enabled)."),
    name: str = typer.Option(..., "--shard", help="This shard's name: one of --trading, or the primary."),
    journal: Path = typer.Option(..., "--journal", dir_okay=False, help="This shard's SQLite journal (created if missing)."),
    trading: str = typer.Option("t0,t1", "--trading", help="Comma-separated trading shard names (the routing map)."),
    primary: str = typer.Option("primary", "--primary", help="Name of the primary shard (listing, offering, clearing, connect)."),
    batch: int = typer.Option(256, "--batch", min=1, max=65_536, help="Commands fetched, journaled and acknowledged together."),
    replicas: int = typer.Option(1, "--replicas", min=1, max=5, help="Stream replicas if this process creates the streams."),
    idle_exit: float = typer.Option(0.0, "--idle-exit", min=0.0, help="Exit after this many idle seconds (0: run until SIGINT/SIGTERM)."),
    snapshot_every: int = typer.Option(
        50_000, "--snapshot-every", min=0, help="Snapshot the shard's state every N records, so a restart replays at most N (0: never)."
    ),
    connect_attempts: int = typer.Option(
        5,
        "--connect-attempts",
        min=1,
        max=100,
        help="Tries to reach NATS at start-up (waits 0.5 s doubling to 4 s; SIGINT/SIGTERM stop at once).",
    ),
) -> None:
    """Consume cmd.<shard> from stream LIONROCK_CMDS in order, journal, publish evt.<shard>, acknowledge."""
    from lionrock.scale.nats import run_shard
    from lionrock.scale.sharding import ShardMap

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        shard_map = ShardMap.parse(trading, primary)
        shard_map.role_of(name)
    except ValueError as exc:
        raise InputError(str(exc), hint="Check --shard, --trading and --primary.") from exc

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def started(runner: object) -> None:
            engine = runner.engine  # type: ignore[attr-defined]
            console.print(f"shard {name} ({shard_map.role_of(name)}): recovered to seq {engine.seq}; consuming cmd.{name}")

        runner = await run_shard(
            nats_url,
            name,
            shard_map,
            journal,
            replicas=replicas,
            batch=batch,
            idle_exit_s=idle_exit or None,
            stop=stop,
            on_started=started,
            snapshot_every=snapshot_every,
            connect_attempts=connect_attempts,
        )
        if runner is None:
            console.print(f"shard {name}: stopped before NATS answered")
            return
        s = runner.stats
        console.print(
            f"shard {name}: seq {runner.final_seq}, applied {s.applied}, re-delivered journaled {s.skipped_journaled}, "
            f"poison {s.poison}, outcomes published {s.events_published}, relays {s.relays_published}"
        )
        typer.echo(f"state_hash {runner.final_hash}")

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    app.command("shard")(shard)


__all__ = ["register", "shard"]
