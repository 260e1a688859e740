"""``lionrock project``: the projector over the event streams (docs/scale-out.md)."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer
from rich.console import Console

from lionrock.kernel.user_errors import InputError

console = Console(stderr=True)


def project(
    nats_url: str = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS server URL, or a cluster's URLs separated by commas."),
    db: str = typer.Option(
        ...,
        "--db",
        help="The --db of the edge (lionrock serve --nats): postgresql://…[?schema=NAME] (read models in NAME_read) or a SQLite path.",
    ),
    trading: str = typer.Option(
        "t0,t1", "--trading", help="Comma-separated trading shard names (the routing map, as every shard is given)."
    ),
    primary: str = typer.Option("primary", "--primary", help="Name of the primary shard."),
    batch: int = typer.Option(512, "--batch", min=1, max=65_536, help="Outcomes fetched and projected per read-model transaction."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Empty the read model first and project the streams from their start."),
    idle_exit: float = typer.Option(0.0, "--idle-exit", min=0.0, help="Exit after this many idle seconds (0: run until SIGINT/SIGTERM)."),
    connect_attempts: int = typer.Option(5, "--connect-attempts", min=1, max=100, help="Tries to reach NATS at start-up."),
) -> None:
    """Consume every shard's evt.<shard> into the read models, exactly once by (shard, seq)."""
    from lionrock.scale.projector import StreamProjector, run_projector
    from lionrock.scale.sharding import ShardMap

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        shard_map = ShardMap.parse(trading, primary)
    except ValueError as exc:
        raise InputError(str(exc), hint="Check --trading and --primary.") from exc

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def started(projector: StreamProjector) -> None:
            where = ", ".join(f"{s} {projector.position(s)}" for s in shard_map.shards)
            console.print(f"projector: resuming at {where}; read-model seq {projector.projector.projected_seq}")

        projector = await run_projector(
            nats_url,
            shard_map,
            db,
            rebuild=rebuild,
            batch=batch,
            idle_exit_s=idle_exit or None,
            stop=stop,
            on_started=started,
            connect_attempts=connect_attempts,
        )
        if projector is None:
            console.print("projector: stopped before NATS answered")
            return
        s = projector.stats
        console.print(f"projector: projected {s.projected}, duplicates skipped {s.duplicates}, consumers re-created {s.resubscribed}")
        typer.echo("positions " + " ".join(f"{shard}={projector.position(shard)}" for shard in shard_map.shards))

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    app.command("project")(project)


__all__ = ["project", "register"]
