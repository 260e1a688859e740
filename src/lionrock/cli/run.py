"""``lionrock demo``, ``lionrock simulate`` and ``lionrock replay``: run scenarios, rebuild state."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lionrock.cli._progress import progress_for, progress_option
from lionrock.engine.engine import Engine
from lionrock.engine.journal import Journal, JournalError
from lionrock.kernel.user_errors import InputError
from lionrock.storage.locations import open_existing_journal

console = Console(stderr=False)


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Directory for journal.sqlite and report.html."),
    seed: int = typer.Option(7, "--seed", help="Seed of every random draw in the run (published in the report)."),
    scenario: str = typer.Option("hk-ai-wave", "--scenario", help="Scenario name (scenarios/NAME.toml) or path."),
    scale: str = typer.Option("default", "--scale", help="small | default | large"),
    durability: str = typer.Option("group:50", "--durability", help="Journal fsync policy: every | group:<ms>."),
    fresh: bool = typer.Option(False, "--fresh", help="Discard an earlier run in --out instead of resuming it."),
    progress_mode: str = progress_option(),
) -> None:
    """Run a scenario end to end through the engine and journal; write the HTML report.

    Re-running with the same --out resumes an interrupted run: commands already journaled are
    regenerated, checked against the journal and not written twice.
    """
    from lionrock.sim.many import check_run
    from lionrock.sim.runner import RunConfig, run_scenario

    check_run(scenario, scale)
    journal_path = out / "journal.sqlite"
    if fresh and out.exists():
        for name in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "report.html"):
            (out / name).unlink(missing_ok=True)
    config = RunConfig(scenario=scenario, seed=seed, scale=scale, durability=durability)
    try:
        with progress_for(progress_mode, console) as progress:
            result = run_scenario(config, journal_path, progress)
    except JournalError as exc:  # what to do differs here: the run can start afresh
        raise type(exc)(exc.message, hint="Use --fresh to replace it, or another --out.") from exc
    except ValueError as exc:  # the journal in --out holds another run
        raise InputError(str(exc), hint="") from exc
    report_path = out / "report.html"
    report_path.write_text(result.report_html, encoding="utf-8")
    _print_summary(result.summary)
    console.print(f"journal: {journal_path} ({result.commands:,} commands, {result.events:,} events)")
    console.print(f"report:  {report_path}")
    typer.echo(f"state hash: {result.state_hash}")


def _print_summary(summary: list[tuple[str, str]]) -> None:
    table = Table(title="Lion Rock run", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary:
        table.add_row(key, value)
    console.print(table)


def simulate(
    runs: int = typer.Option(8, "--runs", min=1, help="Number of seeds to run."),
    seed: int = typer.Option(1, "--seed", help="First seed; runs use seed, seed+1, ..."),
    scenario: str = typer.Option("hk-ai-wave", "--scenario"),
    scale: str = typer.Option("small", "--scale"),
    workers: int = typer.Option(2, "--workers", min=1, help="Dask worker processes."),
    out: Path = typer.Option(Path("out/simulate"), "--out"),
    progress_mode: str = progress_option(),
) -> None:
    """Run a scenario under many seeds (fanned out on Dask) and summarise the distributions.

    Writes summary.html (the distributions), results.csv and results.parquet (one row per seed
    and offering) and each seed's journal under --out."""
    from lionrock.sim.many import run_many

    with progress_for(progress_mode, console) as progress:
        summary_html, table_rows = run_many(scenario, scale, list(range(seed, seed + runs)), workers, out, progress)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.html").write_text(summary_html, encoding="utf-8")
    table = Table(title=f"{runs} runs of {scenario} ({scale})")
    for col in ("figure", "mean", "p10", "p50", "p90"):
        table.add_column(col)
    for row in table_rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"summary: {out / 'summary.html'}")
    console.print(f"per-seed results: {out / 'results.csv'}, {out / 'results.parquet'}")


def replay(
    journal: str = typer.Argument(
        ..., help="A journal written by lionrock: a journal.sqlite, or the postgresql://…?schema=S URL given to lionrock serve --db."
    ),
    from_scratch: bool = typer.Option(False, "--from-scratch", help="Ignore snapshots; replay every record."),
    trust_snapshot: bool = typer.Option(
        False, "--trust-snapshot", help="Do not verify the records before the snapshot (their CRCs and hash chain); faster, checks less."
    ),
    repair: bool = typer.Option(False, "--repair", help="Cut a damaged tail off the journal file (otherwise read-only)."),
    report: Path | None = typer.Option(None, "--report", help="Also rebuild the HTML report from the journal."),
    progress_mode: str = progress_option(),
) -> None:
    """Rebuild state from a journal (snapshot + tail, or every record) and print its state hash.

    Every record's CRC and the hash chain are verified, also those before the snapshot (without
    decoding or applying them) unless --trust-snapshot; a damaged record is named by its
    sequence number and the command exits 2."""
    j = open_existing_journal(journal, readonly=not repair)
    try:
        engine = _replay(j, from_scratch=from_scratch, trust_snapshot=trust_snapshot, report=report, progress_mode=progress_mode)
    finally:
        j.close()
    console.print(f"replayed {engine.seq:,} commands")
    typer.echo(f"state hash: {engine.state_hash()}")


def _replay(j: Journal, *, from_scratch: bool, trust_snapshot: bool, report: Path | None, progress_mode: str = "auto") -> Engine:
    from lionrock.engine.journal import verify_snapshot_chain
    from lionrock.service.contexts import default_contexts

    for message in j.report.messages:
        console.print(f"[yellow]{message}[/yellow]")
    engine = Engine(default_contexts(), j)
    projection = None
    if report is not None:
        from lionrock.analytics.projection import RunProjection

        projection = RunProjection.from_journal_meta(j)
        engine.subscribe(projection.on_events)
    use_snapshot = not from_scratch and report is None
    snapshot = j.latest_snapshot() if use_snapshot else None
    if snapshot is not None and not trust_snapshot:
        verify_snapshot_chain(j, snapshot)
        console.print(f"verified records 1-{snapshot.seq:,} before the snapshot (CRC and hash chain)")
    total = j.last_seq
    with progress_for(progress_mode, console) as progress:
        task = progress.add_task("replaying", total=total)
        step = max(total // 200, 1)

        def tick(seq: int) -> None:
            if seq % step == 0 or seq == total:
                progress.update(task, completed=seq)

        engine.recover(use_snapshot=use_snapshot, on_record=tick)
    if projection is not None and report is not None:
        from lionrock.analytics.report import render_report
        from lionrock.sim.runner import journal_scenario_inputs

        horizon = int(j.get_meta("trading_days") or 20)
        data = projection.finish(engine.state_hash())
        data.scenario_inputs = journal_scenario_inputs(j)
        report.write_text(render_report(data, horizon), encoding="utf-8")
        console.print(f"report: {report}")
    return engine


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(simulate)
    app.command()(replay)


__all__ = ["register"]
