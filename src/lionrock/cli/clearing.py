"""``lionrock audit JOURNAL``: replay a journal and check every ledger invariant after each event."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def audit(
    journal: Path = typer.Argument(..., exists=True, dir_okay=False, help="A journal.sqlite written by lionrock."),
) -> None:
    """Replay JOURNAL through a fresh engine, check the ledger after each event, print balances by
    account type; exit 1 naming the first violating event."""
    from lionrock.clearing.audit import LedgerAuditor
    from lionrock.engine import Engine, SqliteJournal
    from lionrock.engine.registry import default_contexts

    auditor = LedgerAuditor()
    engine = Engine(default_contexts(), SqliteJournal(journal, readonly=True))
    engine.subscribe(auditor)
    try:
        engine.recover(use_snapshot=False)
    finally:
        engine.close()
    clearing = engine.contexts.get("clearing")
    print_balances(auditor)
    console.print(f"{auditor.commands} commands, {auditor.postings} postings replayed")
    if auditor.violation is not None:
        console.print(f"[bold red]FIRST VIOLATION[/]: {auditor.violation}")
        raise typer.Exit(1)
    if clearing is not None and getattr(clearing, "ledger", None) is not None and clearing.ledger.balances != auditor.ledger.balances:  # type: ignore[attr-defined]
        console.print("[bold red]VIOLATION[/]: the clearing context's balances differ from the postings it published")
        raise typer.Exit(1)
    console.print("[bold green]ledger OK[/]: balanced, conserved, no forbidden negative balance")


def print_balances(auditor: object) -> None:
    from lionrock.clearing.ledger import CASH_ASSETS, is_security
    from lionrock.kernel.money import Currency, format_minor

    ledger = auditor.ledger  # type: ignore[attr-defined]
    accounts: dict[str, int] = {}
    for account in ledger.balances:
        kind = account.split(":")[0]
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
