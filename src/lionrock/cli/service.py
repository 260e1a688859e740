"""``lionrock serve``: the REST/WebSocket API, the web dashboard and the FIX 4.4 gateway.

Binds to 127.0.0.1 by default. ``--db`` picks storage (a SQLite path, ``memory:``, or
``postgresql://…?schema=NAME``). ``--market-start`` runs a market clock from that HKT moment
(e.g. ``2025-11-24T09:30``) instead of the wall clock, so a demo venue can trade at any hour;
``--open-day`` starts that trading day and ``--list CODE`` lists stocks at ``--nominal``.
``--demo-users`` creates one user per role with a printed random password (fresh stores only);
without it, a store with no user gets one operator, ``operator``, whose password is printed once.
``--login-attempts``, ``--rate-limit`` and ``--rate-limit-address`` set the main service limits
(docs/service.md, Limits).
"""

from __future__ import annotations

import secrets
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

DEMO_USERS: dict[str, dict[str, object]] = {
    "operator": {"role": "operator"},
    "regulator": {"role": "regulator"},
    "investor1": {"role": "investor", "participant": "B1", "accounts": ["C:B1:INV1"]},
    "investor2": {"role": "investor", "participant": "B2", "accounts": ["C:B2:INV2"]},
    "broker1": {"role": "broker", "participant": "B1"},
    "sponsor": {"role": "sponsor"},
    "issuer": {"role": "issuer"},
}


def first_operator(service: object, console: Console, login_url: str, db: str = "lionrock.db") -> str:
    """A fresh store has no user, so nobody could sign in to create one (the dashboard opened on a
    login page with no way past it): create the operator ``operator`` with a random password and
    print it once. It is stored only as its hash; a lost one is replaced by another operator made
    with ``lionrock users add NAME --role operator`` while the server is stopped (`lionrock.cli.users`)."""
    password = secrets.token_urlsafe(12)
    service.auth.create_user("operator", password, "operator")  # type: ignore[attr-defined]
    service.auth.audit("operator", "operator", "cli", "user:create", "operator", "ok", "first run")  # type: ignore[attr-defined]
    console.print(
        f"[bold]First run:[/] created the operator [bold]operator[/] with the password [bold]{password}[/] "
        f"(shown only now). Sign in at {login_url}, then create users on the Venue and users page "
        f"(or stop the server and run lionrock users add NAME --role ROLE --db {db})."
    )
    return password


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
        port: int = typer.Option(8000, help="HTTP port (REST, WebSocket, dashboard, /docs)."),
        fix_port: int = typer.Option(9878, help="FIX 4.4 acceptor port; 0 disables FIX."),
        db: str = typer.Option("lionrock.db", help="SQLite path, memory:, or postgresql://user@host:port/db?schema=NAME."),
        durability: str = typer.Option("group:2", help="Journal durability: every | group:<ms>."),
        snapshot_every: int = typer.Option(
            100_000,
            "--snapshot-every",
            min=0,
            help="Snapshot the engine's state every N commands, so a restart replays at most N (0: never).",
        ),
        market_start: str = typer.Option("", help="Run a market clock from this HKT moment, e.g. 2025-11-24T09:30."),
        open_day: bool = typer.Option(False, help="Start the market clock's trading day (needs --market-start)."),
        list_: list[str] = typer.Option([], "--list", help="Stock codes to list when opening the day."),
        nominal: str = typer.Option("50.00", help="Nominal (previous close) price of listed stocks."),
        demo_users: bool = typer.Option(False, help="Create one user per role (passwords printed once)."),
        login_attempts: int = typer.Option(
            5,
            "--login-attempts",
            min=1,
            help="Failed sign-ins per username before the exponential backoff (1 s doubling, up to 15 min); per address: 6x this.",
        ),
        rate_limit: int = typer.Option(
            1000,
            "--rate-limit",
            min=1,
            help="REST requests per second per signed-in user (burst: twice this); beyond: 429 with Retry-After.",
        ),
        rate_limit_address: int = typer.Option(
            100,
            "--rate-limit-address",
            min=1,
            help="REST requests per second per client address without a known credential (burst: twice this).",
        ),
        nats_url: str = typer.Option(
            "",
            "--nats",
            help=(
                "Send commands to the shards over NATS JetStream (URL, or a cluster's URLs separated by commas); "
                "reads come from the read model lionrock project keeps in --db."
            ),
        ),
        trading: str = typer.Option("t0,t1", "--trading", help="With --nats: the trading shards (the routing map every shard is given)."),
        writer: str = typer.Option(
            "auto",
            "--writer",
            help=(
                "Where the journal, engine and read-model projector run: 'process' (a child process: the gateways and the "
                "writer each get a core; a SQLite path or PostgreSQL), 'thread' (in this process), or 'auto' (process, "
                "but thread for memory: and over --nats)."
            ),
        ),
        replicas: int = typer.Option(
            1,
            "--replicas",
            min=1,
            help="With --nats: JetStream replicas of the streams if this process creates them (3 on a three-node cluster).",
        ),
    ) -> None:
        """Run the platform as a service: REST + WebSocket API, web dashboard, FIX 4.4 gateway."""
        from lionrock.gateways.server import run as run_server
        from lionrock.kernel.price import parse_price
        from lionrock.kernel.xhkg import HK_TZ, to_ns
        from lionrock.service.policy import ServiceLimits
        from lionrock.service.root import Service, market_clock

        console = Console()
        clock_kwargs = {}
        day = ""
        if market_start:
            start = datetime.fromisoformat(market_start)
            start = start if start.tzinfo else start.replace(tzinfo=HK_TZ)
            clock_kwargs["clock"] = market_clock(to_ns(start))
            day = start.astimezone(HK_TZ).date().isoformat()
        limits = ServiceLimits(
            login_failures_per_user=login_attempts,
            login_failures_per_address=6 * login_attempts,
            requests_per_s_per_user=rate_limit,
            request_burst_per_user=2 * rate_limit,
            requests_per_s_per_address=rate_limit_address,
            request_burst_per_address=2 * rate_limit_address,
        )
        if writer not in ("auto", "thread", "process"):
            raise typer.BadParameter("'auto', 'thread' or 'process'", param_hint="--writer")
        if writer == "auto":
            writer = "thread" if db == "memory:" or nats_url else "process"
        if writer == "process" and (db == "memory:" or nats_url):
            raise typer.BadParameter(
                "--writer process needs a store both processes open (a SQLite path or PostgreSQL) and no --nats", param_hint="--writer"
            )
        service = Service(db, durability=durability, snapshot_every=snapshot_every, limits=limits, writer=writer, **clock_kwargs)  # type: ignore[arg-type]
        if nats_url:
            from lionrock.scale.edge import BusRunner
            from lionrock.scale.sharding import ShardMap

            service.use_bus(BusRunner(nats_url, ShardMap.parse(trading), replicas=replicas, **clock_kwargs))  # type: ignore[arg-type]
        for line in service.journal_messages():
            console.print(f"[yellow]journal:[/] {line}")
        if not demo_users and not service.auth.users():
            first_operator(service, console, f"http://{host}:{port}/login", db)
        if demo_users:
            table = Table("user", "role", "password", title="Demo users (shown once)")
            for name, spec in DEMO_USERS.items():
                if any(u.username == name for u in service.auth.users()):
                    continue
                password = secrets.token_urlsafe(9)
                service.auth.create_user(name, password, **spec)  # type: ignore[arg-type]
                table.add_row(name, str(spec["role"]), password)
            console.print(table)
        if open_day:
            from lionrock.trading.commands import ListInstrument, StartTradingDay

            if not day:
                raise typer.BadParameter("--open-day needs --market-start", param_hint="--open-day")
            op = service.auth.principal(next((u.username for u in service.auth.users() if u.role == "operator"), "operator"), via="cli")
            for command in [
                StartTradingDay(day=day),
                *(ListInstrument(instrument=c, board_lot=100, nominal_price=parse_price(nominal), name=c) for c in list_),
            ]:
                outcome = service.submit_sync(op, command)
                console.print(f"{type(command).__name__}: " + ("ok" if outcome.rejection is None else str(outcome.rejection)))
        console.print(
            f"Lion Rock on http://{host}:{port} (API docs /docs, dashboard /)"
            + (f", FIX 4.4 on {host}:{fix_port}" if fix_port else "")
            + f"; storage {service.health()['storage']}; recovered to seq {service.health()['seq']}"
        )
        try:
            run_server(service, host=host, port=port, fix_port=fix_port or None)
        except KeyboardInterrupt:
            pass
        finally:
            service.close()
            stopped_at = getattr(service.runner, "stopped_at", None)  # not over the bus
            if stopped_at is not None:  # a replay of the journal must print the same
                seq, state_hash = stopped_at
                typer.echo(f"stopped at seq {seq:,}; state hash: {state_hash}")  # one line, never wrapped
