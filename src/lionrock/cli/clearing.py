"""``lionrock audit JOURNAL``: replay a journal and check every ledger invariant after each command.

The checks are incremental (`LedgerAuditor` sums only what each command touched), so an audit
costs about a replay; progress shows as a bar on a terminal and as plain lines otherwise (a log).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()

PLAIN_PROGRESS_STEPS = 10
"""Without a terminal, one progress line per tenth of the journal."""


def audit(
    journal: str = typer.Argument(
        ..., help="A journal written by lionrock: a journal.sqlite, or the postgresql://…?schema=S URL given to lionrock serve --db."
    ),
) -> None:
    """Replay JOURNAL through a fresh engine, check the ledger after each command, print balances
    by account type; exit 1 naming the first violating event (2 if JOURNAL is not a usable journal)."""
    from lionrock.clearing.audit import LedgerAuditor
    from lionrock.engine import Engine
    from lionrock.service.contexts import default_contexts
    from lionrock.storage.locations import open_existing_journal

    auditor = LedgerAuditor()
    engine = Engine(default_contexts(), open_existing_journal(journal))
    engine.subscribe(auditor)
    started = time.perf_counter()
    try:
        with _progress_reporter(engine.journal.last_seq) as tick:
            engine.recover(use_snapshot=False, on_record=tick)
    finally:
        engine.close()
    violation = auditor.finish()
    clearing = engine.contexts.get("clearing")
    print_balances(auditor)
    console.print(f"{auditor.commands:,} commands, {auditor.postings:,} postings audited in {time.perf_counter() - started:.1f} s")
    if violation is not None:
        console.print(f"[bold red]FIRST VIOLATION[/]: {violation}")
        raise typer.Exit(1)
    if clearing is not None and getattr(clearing, "ledger", None) is not None and clearing.ledger.balances != auditor.ledger.balances:  # type: ignore[attr-defined]
        console.print("[bold red]VIOLATION[/]: the clearing context's balances differ from the postings it published")
        raise typer.Exit(1)
    console.print("[bold green]ledger OK[/]: balanced, conserved, no forbidden negative balance")


class _progress_reporter:
    """A context manager giving ``tick(seq)``: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.progress: Progress | None = None

    def __enter__(self) -> Callable[[int], None]:
        total = self.total
        if console.is_terminal or "--progress" in sys.argv:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            )
            self.progress.__enter__()
            task = self.progress.add_task("auditing", total=total)
            step = max(total // 200, 1)
            bar = self.progress

            def tick(seq: int) -> None:
                if seq % step == 0 or seq == total:
                    bar.update(task, completed=seq)

            return tick
        step = max(total // PLAIN_PROGRESS_STEPS, 1)
        started = time.perf_counter()

        def line(seq: int) -> None:
            if seq % step == 0 or seq == total:
                typer.echo(f"audit: {seq:,} of {total:,} commands ({100 * seq // max(total, 1)}%), {time.perf_counter() - started:.1f} s")

        return line

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)


def print_balances(auditor: object) -> None:
    from lionrock.clearing.ledger import CASH_ASSETS, is_security
    from lionrock.kernel.account import account_prefix
    from lionrock.kernel.money import Currency, format_minor

    ledger = auditor.ledger  # type: ignore[attr-defined]
    accounts: dict[str, int] = {}
    for account in ledger.balances:
        kind = account_prefix(account)
        accounts[kind] = accounts.get(kind, 0) + 1
    table = Table(title="Balances by account type")
    table.add_column("type")
    table.add_column("accounts", justify="right")
    for currency in CASH_ASSETS:
        table.add_column(currency, justify="right")
    table.add_column("shares", justify="right")
    for kind, row in sorted(ledger.by_kind().items()):
        prefix = {"participant": "P", "client": "C", "issuer": "I", "collector": "F", "clearing_house": "H", "external": "X"}.get(kind, "?")
        shares = sum(v for a, v in row.items() if is_security(a))
        table.add_row(kind, str(accounts.get(prefix, 0)), *[format_minor(row.get(c, 0), Currency(c)) for c in CASH_ASSETS], f"{shares:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


__all__ = ["audit", "register"]
