"""``lionrock eligibility`` and ``lionrock timetable``: listing routes with reasons, and the
timetable from filing to dealings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from lionrock.kernel.user_errors import InputError

console = Console()


def _fresh_console() -> None:
    """A console sized for this invocation (COLUMNS may differ between calls in one process)."""
    global console
    console = Console()


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: expected YYYY-MM-DD, got {text!r}", hint="") from None


def _load(path: Path):  # type: ignore[no-untyped-def]
    from lionrock.listing.profile import ProfileError, load_profile

    try:
        return load_profile(path)
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"no such file: {path}", hint="Give an issuer profile (.toml or .json), e.g. examples/issuers/hanxin_compute.toml.") from None
    except ProfileError as exc:
        raise InputError(f"invalid profile {path}: {exc.field}: {exc.message}", hint="Fix the profile (fields: docs/listing.md) and run again.") from None


def eligibility(
    issuer: Path = typer.Argument(..., help="Issuer profile (.toml or .json)."),
    on: str = typer.Option("", "--on", help="Assess under the rules in force on YYYY-MM-DD (default: today)."),
    as_json: bool = typer.Option(False, "--json", help="Print the assessment as JSON."),
    all_tests: bool = typer.Option(False, "--all", help="Show every test (default: the tests of each route once)."),
) -> None:
    """Which listing routes are open for ISSUER, each test with its figures, threshold and rule."""
    from lionrock.listing.eligibility import ROUTES, assess

    _fresh_console()
    profile = _load(issuer)
    day = _date(on, "--on") if on else date.today()  # the CLI is an edge: the core never reads the clock
    result = assess(profile, day)
    if as_json:
        typer.echo(msgspec.json.format(msgspec.json.encode(result).decode()))
        return
    table = Table(title=f"{profile.name} ({profile.issuer_id}) — eligibility on {day}", show_lines=False)
    for col in ("test", "result", "actual", "threshold", "rule", "why / what must change"):
        table.add_column(col, overflow="fold")
    for t in result.tests:
        if t.passed is None and not all_tests and not t.id.startswith(("csrc", "data", "mb.public_float")):
            continue
        mark = "[green]pass[/green]" if t.passed else "[red]fail[/red]" if t.passed is False else "[blue]info[/blue]"
        why = t.shortfall if t.passed is False else t.reason if t.passed is None else ""
        table.add_row(t.name, mark, t.actual, t.threshold, t.rule, why)
    console.print(table)
    routes = Table(title="Routes", show_lines=True)
    routes.add_column("route")
    routes.add_column("open")
    routes.add_column("what would have to change", overflow="fold")
    for r in result.routes:
        routes.add_row(r.title, "[green]open[/green]" if r.open else "[red]closed[/red]", "\n".join(r.changes_needed))
    console.print(routes)
    for note in result.notes:
        console.print(f"• {note}")
    opened = ", ".join(ROUTES[r] for r in result.open_routes) or "none"
    console.print(f"[bold]Open routes:[/bold] {opened}")


def timetable(
    issuer: Path = typer.Argument(..., help="Issuer profile (.toml or .json)."),
    filed: str = typer.Option(..., "--filed", help="Date the listing application (Form A1) is filed, YYYY-MM-DD."),
    route: str = typer.Option("", "--route", help="Route id (default: the first open route on the filing date)."),
    as_json: bool = typer.Option(False, "--json", help="Print the timetable as JSON."),
) -> None:
    """Timetable from filing to dealings: CSRC deadline, vetting, hearing, launch, price, listing."""
    from lionrock.listing.eligibility import ROUTES, assess
    from lionrock.listing.workflow import timetable as build

    _fresh_console()
    profile = _load(issuer)
    day = _date(filed, "--filed")
    result = assess(profile, day)
    chosen = route or (result.open_routes[0] if result.open_routes else "")
    if not chosen:
        console.print(f"[yellow]no route is open on {day}; showing the Main Board profit-test timetable[/yellow]")
        chosen = "main_board_profit"
    if chosen not in ROUTES:
        raise InputError(f"--route: {chosen!r} is not one of {', '.join(ROUTES)}", hint="")
    try:
        milestones = build(profile, chosen, day)
    except (ValueError, LookupError) as exc:  # outside the calendar window, or before a rule existed
        raise InputError(str(exc), hint="Choose another --filed date.") from None
    if as_json:
        typer.echo(msgspec.json.format(msgspec.json.encode(
            {"issuer_id": profile.issuer_id, "route": chosen, "filed_on": day, "milestones": milestones}).decode()))
        return
    table = Table(title=f"{profile.name}: {ROUTES[chosen]}, filed {day}")
    for col in ("date", "milestone", "basis", "reference", "calendar"):
        table.add_column(col, overflow="fold")
    for m in milestones:
        basis = "[bold]rule[/bold]" if m.basis == "rule" else "[dim]indicative[/dim]"
        table.add_row(m.on.isoformat(), m.name, basis, m.reference, m.calendar)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("eligibility")(eligibility)
    app.command("timetable")(timetable)


__all__ = ["register"]
