"""``lionrock allocate``: price and allot an offering from files, publish the results.

Runs the same pure functions the engine's `OfferingContext` runs (`validate_offering`,
`set_price`, `allocate`), directly on the files, so millions of applications never pass through
the journal. The outputs go to ``--out``: ``announcement.md``, ``announcement.html``,
``allocations.csv`` (public applications), ``placing.csv``, ``summary.json`` and ``rejects.csv``
(each refused row with its file, line and reason), written into a fresh folder and moved into
place whole. ``--compare`` allots the same book under every mechanism the deal could choose
(`lionrock.offering.compare`) and prints them side by side.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lionrock.kernel.errors import Reject
from lionrock.kernel.user_errors import InputError

console = Console()


@dataclass
class AllocationRun:
    """What `allocate_files` did and how long each stage took (seconds, wall clock)."""

    summary: Any
    out: Path
    applications: int
    iois: int
    timings: dict[str, float] = field(default_factory=dict)
    rejected_rows: int = 0
    """Rows in rejects.csv: refused by the readers or rejected by the allocation."""

    @property
    def allocation_seconds(self) -> float:
        return self.timings["pricing"] + self.timings["allocation"]


OUTPUT_FILES = ("announcement.md", "announcement.html", "allocations.csv", "placing.csv", "summary.json", "rejects.csv")
"""What ``lionrock allocate`` writes into ``--out``; a folder holding anything else is not replaced."""

_STATUS_MESSAGES = {
    "multiple": "the applicant applied more than once: all its applications are rejected (PN18 para 3.1)",
    "over_cap": "above the maximum application, half the initial public tranche (PN18 para 3.1)",
    "not_board_lots": "not a whole number of board lots",
    "double_dipping": "the applicant is also a placee or a cornerstone investor (PN18 para 3.1)",
    "non_positive": "expected a positive number of shares",
}


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A structural fault of a book file is one line naming the file, line and column."""
    import pyarrow as pa

    from lionrock.files.books import BookFileError

    try:
        yield
    except BookFileError as exc:
        raise InputError(str(exc), hint="Fix the file (columns: docs/offering.md) and run again.") from exc
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path.name}: line 1, column -: not a readable CSV or Parquet file: {exc}",
            hint="Fix the file (columns: docs/offering.md) and run again.",
        ) from exc


def _check_out(out: Path) -> None:
    """``--out`` is replaced whole; refuse a folder that holds anything but an earlier run's outputs."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder", hint="Name a folder for the outputs.")
    others = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
    if others:
        raise InputError(
            f"--out {out}: holds files that are not outputs of lionrock allocate ({', '.join(others[:3])})",
            hint="Name an empty or new folder: the outputs replace the folder whole.",
        )


def _publish(out: Path, write: Callable[[Path], None]) -> None:
    """Write into a fresh folder beside ``out`` and move it into place whole: a failed run leaves
    nothing, and a run never mixes its files with an earlier run's (which is removed last)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        write(staging)
        if out.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(previous / out.name)
            staging.rename(out)
            shutil.rmtree(previous)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _rejects_table(apps: Any, iois: Any, result: Any, applications: Path) -> Any:
    """Every refused row with its file, line and reason: rows the readers refused, and applications
    the allocation rejected (the rules of the command path), in file and line order."""
    import numpy as np
    import pyarrow as pa

    from lionrock.offering.allocation import ApplicationStatus

    refused = [*iois.rejects, *apps.rejects]
    cols: dict[str, list[Any]] = {
        "file": [r.file for r in refused],
        "line": [r.line for r in refused],
        "field": [r.field for r in refused],
        "reason": [r.reason for r in refused],
        "message": [r.message for r in refused],
    }
    rows = np.flatnonzero(result.app_status != ApplicationStatus.VALID)
    lines = apps.lines if apps.lines is not None else np.arange(2, len(apps) + 2)
    names = [ApplicationStatus(int(s)).name.lower() for s in result.app_status[rows]]
    shares = apps.shares[rows]
    cols["file"] += [applications.name] * len(rows)
    cols["line"] += lines[rows].tolist()
    cols["field"] += ["applicant" if n in ("multiple", "double_dipping") else "shares" for n in names]
    cols["reason"] += names
    cols["message"] += [f"{int(q):,} shares: {_STATUS_MESSAGES[n]}" for q, n in zip(shares, names, strict=True)]
    table = pa.table({k: pa.array(v, pa.int64() if k == "line" else pa.string()) for k, v in cols.items()})
    return table.sort_by([("file", "ascending"), ("line", "ascending")])


def _read_books(ro: Any, book: Path, applications: Path, progress: Callable[[str], None]) -> tuple[Any, Any]:
    from lionrock.files.books import IoiFileRules, read_application_book, read_ioi_book

    rules = IoiFileRules(tier_count=len(ro.spec.placing.tier_weights), cornerstones=frozenset(c.investor for c in ro.spec.cornerstones))
    ioi_messages: list[str] = []
    application_messages: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:  # the IOI file (Python) is read while pyarrow parses the applications
        ioi_read = pool.submit(read_ioi_book, book, ioi_messages.append, rules)
        try:
            with _reading(applications):
                apps = read_application_book(applications, application_messages.append)
        finally:  # a fault of the IOI file is reported first, as when the files were read one after the other
            with _reading(book):
                iois = ioi_read.result()
    for message in ioi_messages + application_messages:
        progress(message)
    return iois, apps


def allocate_files(
    offering: Path, book: Path, applications: Path, seed: int, out: Path, progress: Callable[[str], None] = lambda _m: None
) -> AllocationRun:
    """Read, price, allocate and write; raises `Reject` or `InputError` on bad input (the CLI
    prints it). Bad rows do not stop the run: each is in ``rejects.csv`` and the summary."""
    from lionrock.files.offerings import load_offering
    from lionrock.offering import set_price, validate_offering
    from lionrock.offering.allocation import allocate

    _check_out(out)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ro = validate_offering(load_offering(offering))
    progress(f"offering {ro.spec.offering_id}: {ro.regime}, {ro.spec.shares_offered:,} shares")
    iois, apps = _read_books(ro, book, applications, progress)
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    pricing = set_price(ro, iois)
    timings["pricing"] = time.perf_counter() - t
    progress(f"priced at {pricing.price / 1000:.3f}: {pricing.reasons[0]}")
    t = time.perf_counter()
    result = allocate(ro, pricing, iois, apps, seed)
    timings["allocation"] = time.perf_counter() - t
    progress(f"allotted {len(apps):,} applications and {iois.investors:,} investors")
    rejects = _rejects_table(apps, iois, result, applications)
    _publish(out, lambda folder: _write_outputs(folder, ro, pricing, iois, apps, result, rejects, timings))
    progress(f"wrote {out}")
    return AllocationRun(result.summary, out, len(apps), iois.investors, timings, rejects.num_rows)


def _write_outputs(folder: Path, ro: Any, pricing: Any, iois: Any, apps: Any, result: Any, rejects: Any, timings: dict[str, float]) -> None:
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from lionrock.files.announcements import write_placing_csv, write_public_csv
    from lionrock.offering.announcement import announcement_markdown, markdown_to_html

    t = time.perf_counter()
    write_public_csv(folder / "allocations.csv", ro, apps, result)
    write_placing_csv(folder / "placing.csv", iois, result, pricing.price)
    pacsv.write_csv(rejects, folder / "rejects.csv")
    timings["write_csv"] = time.perf_counter() - t
    t = time.perf_counter()
    markdown = announcement_markdown(ro, pricing, result, book_digest=apps.digest)
    (folder / "announcement.md").write_text(markdown, encoding="utf-8")
    (folder / "announcement.html").write_text(markdown_to_html(markdown, f"{ro.spec.issuer_name}: allotment results"), encoding="utf-8")
    summary = msgspec.to_builtins(result.summary)
    by_reason: dict[str, dict[str, int]] = {}
    for item in pc.value_counts(pc.binary_join_element_wise(rejects.column("file"), rejects.column("reason"), "\x00")).to_pylist():
        file, reason = item["values"].split("\x00")
        by_reason.setdefault(file, {})[reason] = item["counts"]
    summary.update(
        offering_id=ro.spec.offering_id,
        application_book_digest=apps.digest,
        pricing_reasons=list(pricing.reasons),
        rejected_rows=rejects.num_rows,
        rejected_rows_by_file={f: dict(sorted(r.items())) for f, r in sorted(by_reason.items())},
    )
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
    timings["write_announcement"] = time.perf_counter() - t


def compare_files(
    offering: Path,
    book: Path,
    applications: Path,
    seed: int,
    mechanism_b_share: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> Any:
    """`compare_mechanisms` on the files ``lionrock allocate`` takes (nothing is written)."""
    from lionrock.files.offerings import load_offering, parse_rate
    from lionrock.offering import validate_offering
    from lionrock.offering.compare import compare_mechanisms

    spec = load_offering(offering)
    ro = validate_offering(spec)
    share = parse_rate(mechanism_b_share, "--mechanism-b-share") if mechanism_b_share else None
    iois, apps = _read_books(ro, book, applications, progress)
    progress(f"allotting {len(apps):,} applications under each mechanism")
    return compare_mechanisms(spec, iois, apps, seed, mechanism_b_share=share)


def _print_comparison(comparison: Any) -> None:
    from lionrock.kernel.price import format_price
    from lionrock.offering.compare import comparison_lines

    table = Table(
        title=f"{comparison.offering_id}: one book under each mechanism (price {format_price(comparison.price)}, "
        f"offer size adjustment {comparison.upsize_shares:,}, seed {comparison.seed})"
    )
    table.add_column("figure")
    for r in comparison.rows:
        table.add_column(f"{r.label}{' (chosen)' if r.actual else ''}" if r.available else f"{r.mechanism} (not open)", justify="right")
    for name, texts, _ in comparison_lines(comparison):
        table.add_row(name, *texts)
    (console if console.is_terminal else Console(width=200)).print(table)  # piped: one line per figure
    for r in comparison.rows:
        why = (r.why[1] if len(r.why) > 1 else r.why[0]) if r.available else "; ".join(r.why)
        console.print(f"[bold]{r.label if r.available else r.mechanism}[/bold]: {why}")
    for note in comparison.notes:
        console.print(f"[bold]note[/bold]: {note}")


def _run_with_progress(work: Callable[[Callable[[str], None]], Any]) -> Any:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal and "--progress" not in sys.argv,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def step(message: str) -> None:
            bar.update(task, description=message)
            if not console.is_terminal:
                console.print(message)

        try:
            return work(step)
        except Reject as exc:
            raise InputError(str(exc.rejection), hint="Fix the file named above and run again.") from exc


def allocate_command(
    offering: Path = typer.Option(..., "--offering", exists=True, dir_okay=False, help="Offering definition (TOML)."),
    book: Path = typer.Option(..., "--book", exists=True, dir_okay=False, help="IOIs: CSV or Parquet, one row per demand step."),
    applications: Path = typer.Option(..., "--applications", exists=True, dir_okay=False, help="Public applications: CSV or Parquet."),
    seed: int = typer.Option(..., "--seed", min=0, help="Ballot seed (published in the announcement)."),
    out: Path = typer.Option(Path("out/allocation"), "--out", help="Output directory (replaced whole by each run)."),
    compare: bool = typer.Option(
        False, "--compare", help="Allot the book under every mechanism the deal could choose, side by side (writes nothing)."
    ),
    mechanism_b_share: str | None = typer.Option(
        None, "--mechanism-b-share", help="With --compare: Mechanism B's fixed share (default: the deal's, else 10%)."
    ),
    as_json: bool = typer.Option(False, "--json", help="With --compare: print JSON (integers beside formatted text)."),
    chart: Path | None = typer.Option(
        None, "--chart", dir_okay=False, help="With --compare: also write the comparison chart (HTML, works offline)."
    ),
) -> None:
    """Price and allot an IPO from files: bookbuilding, clawback, pools A/B, seeded ballot, results.

    File columns are documented in docs/offering.md. A bad row is refused with its line and reason
    (rejects.csv, summary.json); a structural fault stops the run and names the file, line and column.
    """
    if compare:
        comparison = _run_with_progress(lambda step: compare_files(offering, book, applications, seed, mechanism_b_share, step))
        if chart is not None:
            from lionrock.analytics.compare_chart import comparison_html

            chart.write_text(comparison_html(comparison, include_plotlyjs=True), encoding="utf-8")
        if as_json:
            from lionrock.offering.compare import comparison_json

            typer.echo(json.dumps(comparison_json(comparison), sort_keys=True))
        else:
            _print_comparison(comparison)
        return
    run = _run_with_progress(lambda step: allocate_files(offering, book, applications, seed, out, step))
    from lionrock.offering.announcement import summary_lines

    table = Table(title="Allotment results", show_header=False)
    for key, value in summary_lines(run.summary):
        table.add_row(key, value)
    table.add_row("rows refused (rejects.csv)", f"{run.rejected_rows:,}")
    console.print(table)
    times = ", ".join(f"{k} {v:.3f}s" for k, v in run.timings.items())
    console.print(f"timings: {times}; allocation {run.allocation_seconds:.3f}s")
    console.print(f"outputs: {out}/" + ", ".join(OUTPUT_FILES))


def write_synthetic_files(offering: Path, out: Path, applications: int, iois: int, seed: int) -> tuple[Path, Path]:
    """Write seeded synthetic IOIs and applications for ``offering`` as CSV (for demos and the
    benchmark); returns (book path, applications path)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from lionrock.files.offerings import load_offering
    from lionrock.kernel.price import format_price
    from lionrock.offering import validate_offering
    from lionrock.sim.demand import synthetic_application_columns, synthetic_iois

    ro = validate_offering(load_offering(offering))
    out.mkdir(parents=True, exist_ok=True)
    cols = synthetic_application_columns(ro, applications, seed)
    ids = pc.utf8_lpad(pa.array(cols["applicant"]).cast(pa.string()), 9, "0")
    applicant = pc.binary_join_element_wise("HK", ids, "")
    participant = pc.binary_join_element_wise("P", pc.utf8_lpad(pa.array(cols["participant"]).cast(pa.string()), 3, "0"), "")
    account = pc.binary_join_element_wise("C:", participant, ":", applicant, "")
    apps_path = out / "applications.csv"
    pacsv.write_csv(
        pa.table({"applicant": applicant, "account": account, "participant": participant, "shares": pa.array(cols["shares"])}), apps_path
    )
    rows: dict[str, list[Any]] = {
        k: []
        for k in ("ioi_id", "investor", "account", "participant", "investor_type", "origin", "tier", "independent", "limit_price", "shares")
    }
    for ioi in synthetic_iois(ro, iois, seed + 1):
        for step in ioi.steps:
            for key, value in (
                ("ioi_id", ioi.ioi_id),
                ("investor", ioi.investor),
                ("account", ioi.account),
                ("participant", ioi.participant),
                ("investor_type", ioi.investor_type),
                ("origin", ioi.origin),
                ("tier", ioi.tier),
                ("independent", ioi.independent),
                ("limit_price", format_price(step.limit_price) if step.limit_price else ""),
                ("shares", step.shares),
            ):
                rows[key].append(value)
    book_path = out / "iois.csv"
    pacsv.write_csv(pa.table(rows), book_path)
    return book_path, apps_path


def register(app: typer.Typer) -> None:
    app.command("allocate")(allocate_command)


__all__ = ["OUTPUT_FILES", "AllocationRun", "allocate_files", "compare_files", "register", "write_synthetic_files"]
