"""``lionrock eligibility`` and ``lionrock timetable``: listing routes with reasons, and the
timetable from filing to dealings."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from lionrock.kernel.user_errors import InputError

if TYPE_CHECKING:
    from lionrock.listing.commands import IssuerProfile
    from lionrock.listing.eligibility import Assessment

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


def _load(path: Path) -> IssuerProfile:
    from lionrock.files.profiles import load_profile
    from lionrock.listing.profile import ProfileError

    try:
        return load_profile(path)
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(
            f"no such file: {path}", hint="Give an issuer profile (.toml or .json), e.g. examples/issuers/hanxin_compute.toml."
        ) from None
    except ProfileError as exc:
        raise InputError(
            f"invalid profile {path}: {exc.field}: {exc.message}", hint="Fix the profile (fields: docs/listing.md) and run again."
        ) from None


ROUTE_SHORT = {
    "main_board_profit": "MB 8.05(1)",
    "main_board_mcap_revenue_cash_flow": "MB 8.05(2)",
    "main_board_mcap_revenue": "MB 8.05(3)",
    "18c_commercial": "18C commercial",
    "18c_pre_commercial": "18C pre-commercial",
    "18a": "18A",
}
"""Route labels short enough for an 80-column screening table."""

NO_ROUTE_OPEN_EXIT = 1
"""Exit status when the screen finds nothing: the one issuer given (or every issuer of many) has
no open route. 0 means at least one issuer has a route; 2 is a user error (see cli.main)."""

PROFILE_SUFFIXES = (".toml", ".json")


def profile_paths(inputs: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its ``*.toml`` and ``*.json`` profiles, sorted."""
    out: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in PROFILE_SUFFIXES and p.is_file())
            if not found:
                raise InputError(f"no issuer profile (.toml or .json) in folder {path}", hint="")
            out.extend(found)
        else:
            out.append(path)
    return out


def _console(wide: bool) -> Console:
    """80 columns when not on a terminal (rich's default), the terminal's width on one; --wide
    lets a table grow past either so nothing folds."""
    return Console(width=max(console.width, 200)) if wide else console


def eligibility(
    issuers: list[Path] = typer.Argument(..., help="Issuer profiles (.toml or .json), or folders of them."),
    on: str = typer.Option("", "--on", help="Assess under the rules in force on YYYY-MM-DD (default: today)."),
    as_json: bool = typer.Option(False, "--json", help="Print the assessment as JSON: text and numbers (cents, years, exact ratios)."),
    all_tests: bool = typer.Option(False, "--all", help="Show every test (default: the tests of each route once)."),
    wide: bool = typer.Option(False, "--wide", help="One wide table with every column (default: fits 80 columns)."),
) -> None:
    """Which listing routes are open for each issuer, each test with its figures, threshold and rule.

    One profile: every test and route. Several profiles or a folder: a screening table, one row
    per issuer (routes open, or the binding shortfall of the route nearest to opening). Exit
    status 1 when no route is open for the one issuer, or for none of several; 0 otherwise.
    """
    from lionrock.listing.eligibility import assess

    _fresh_console()
    paths = profile_paths(issuers)
    profiles = [_load(path) for path in paths]
    day = _date(on, "--on") if on else date.today()  # the CLI is an edge: the core never reads the clock
    results = [assess(profile, day) for profile in profiles]
    single = len(paths) == 1 and not issuers[0].is_dir()
    if as_json:
        payload: object = (
            results[0] if single else {"on": day, "issuers": [_screen_entry(p, r) for p, r in zip(paths, results, strict=True)]}
        )
        typer.echo(msgspec.json.format(msgspec.json.encode(payload).decode()))
    elif single:
        _print_assessment(profiles[0], results[0], day, all_tests=all_tests, out=_console(wide), wide=wide)
    else:
        _print_screen(paths, results, day, out=_console(wide))
    if not any(r.open_routes for r in results):
        raise typer.Exit(NO_ROUTE_OPEN_EXIT)


def _screen_entry(path: Path, result: Assessment) -> dict[str, object]:
    from lionrock.listing.eligibility import closest_route

    closest = closest_route(result)
    binding = [t for t in result.tests if closest is not None and t.id in closest.tests and t.passed is False]
    return {
        "file": str(path),
        "issuer_id": result.issuer_id,
        "name": result.name,
        "open_routes": result.open_routes,
        "closest_route": closest.route if closest else None,
        "binding_shortfall": [{"test": t.id, "shortfall": t.shortfall or t.reason, "figures": t.figures} for t in binding],
        "assessment": result,
    }


def _print_screen(paths: list[Path], results: list[Assessment], day: date, out: Console) -> None:
    from lionrock.listing.eligibility import closest_route

    table = Table(title=f"Eligibility screen on {day}: {len(results)} issuers", show_lines=True)
    table.add_column("issuer", overflow="fold", max_width=24)
    table.add_column("routes open", overflow="fold")
    table.add_column("binding shortfall (nearest route)", overflow="fold")
    for result in results:
        closest = closest_route(result)
        routes = ", ".join(ROUTE_SHORT[r] for r in result.open_routes) or "[red]none[/red]"
        binding = "" if closest is None else f"{ROUTE_SHORT[closest.route]}: " + "; ".join(closest.changes_needed)
        table.add_row(f"{result.name}\n[dim]{result.issuer_id}[/dim]", routes, binding)
    out.print(table)
    opened = sum(1 for r in results if r.open_routes)
    out.print(f"[bold]{opened} of {len(results)} issuers have an open route.[/bold]")


def _print_assessment(profile: IssuerProfile, result: Assessment, day: date, *, all_tests: bool, out: Console, wide: bool) -> None:
    from lionrock.listing.eligibility import ROUTES

    table = Table(title=f"{profile.name} ({profile.issuer_id}) — eligibility on {day}", show_lines=False)
    columns = (
        ("test", "result", "actual", "threshold", "rule", "why / what must change") if wide else ("test", "result", "actual", "threshold")
    )
    for col in columns:
        table.add_column(col, overflow="fold")
    shortfalls: list[str] = []
    for t in result.tests:
        if t.passed is None and not all_tests and not t.id.startswith(("csrc", "data", "mb.public_float")):
            continue
        mark = "[green]pass[/green]" if t.passed else "[red]fail[/red]" if t.passed is False else "[blue]info[/blue]"
        why = t.shortfall if t.passed is False else t.reason if t.passed is None else ""
        if wide:
            table.add_row(t.name, mark, t.actual, t.threshold, t.rule, why)
        else:
            table.add_row(t.name, mark, t.actual, t.threshold)
            if t.passed is False:
                shortfalls.append(f"• {t.name}: {why} ({t.rule})")
    out.print(table)
    if shortfalls:
        out.print("[bold]What must change[/bold]")
        for line in shortfalls:
            out.print(line)
    routes = Table(title="Routes", show_lines=True)
    routes.add_column("route", overflow="fold")
    routes.add_column("open")
    routes.add_column("what would have to change", overflow="fold")
    for r in result.routes:
        routes.add_row(r.title, "[green]open[/green]" if r.open else "[red]closed[/red]", "\n".join(r.changes_needed))
    out.print(routes)
    for note in result.notes:
        out.print(f"• {note}")
    opened = ", ".join(ROUTES[r] for r in result.open_routes) or "none"
    out.print(f"[bold]Open routes:[/bold] {opened}")


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
    _warn_if_not_business_day(day)
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
        typer.echo(
            msgspec.json.format(
                msgspec.json.encode({"issuer_id": profile.issuer_id, "route": chosen, "filed_on": day, "milestones": milestones}).decode()
            )
        )
        return
    table = Table(title=f"{profile.name}: {ROUTES[chosen]}, filed {day}")
    for col in ("date", "milestone", "basis", "reference", "calendar"):
        table.add_column(col, overflow="fold")
    for m in milestones:
        basis = "[bold]rule[/bold]" if m.basis == "rule" else "[dim]indicative[/dim]"
        table.add_row(m.on.isoformat(), m.name, basis, m.reference, m.calendar)
    console.print(table)


def _warn_if_not_business_day(day: date) -> None:
    """An application is lodged on an exchange business day; a Saturday or holiday is accepted
    (the timetable still counts from it) but said, on stderr so ``--json`` stays clean."""
    from lionrock.kernel import xhkg

    try:
        business = xhkg.is_business_day(day)
    except ValueError:  # outside the calendar's window: the timetable itself says so
        return
    if not business:
        following = xhkg.add_business_days(day, 0)  # 0 days on: the next business day
        typer.echo(
            f"lionrock: warning: {day} ({day:%A}) is not an XHKG business day; HKEX would receive the "
            f"application on the next business day, {following}.",
            err=True,
        )


def register(app: typer.Typer) -> None:
    app.command("eligibility")(eligibility)
    app.command("timetable")(timetable)


__all__ = ["register"]
