"""``lionrock allocate``: price and allot an offering from files, publish the results.

Runs the same pure functions the engine's `OfferingContext` runs (`validate_offering`,
`set_price`, `allocate`), directly on the files, so millions of applications never pass through
the journal. The outputs go to ``--out``: ``announcement.md``, ``announcement.html``,
``allocations.csv`` (public applications), ``placing.csv`` and ``summary.json``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
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

    @property
    def allocation_seconds(self) -> float:
        return self.timings["pricing"] + self.timings["allocation"]


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A file pyarrow cannot parse (a malformed CSV, a damaged Parquet file) is bad input."""
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV or Parquet file: {exc}", hint="Fix the file (columns: docs/offering.md) and run again.") from exc


def allocate_files(offering: Path, book: Path, applications: Path, seed: int, out: Path,
                   progress: Callable[[str], None] = lambda _m: None) -> AllocationRun:
    """Read, price, allocate and write; raises `Reject` on bad input (the CLI prints it)."""
    from lionrock.offering import read_application_book, read_ioi_book, set_price, validate_offering
    from lionrock.offering.allocation import allocate
    from lionrock.offering.announcement import (
        announcement_markdown,
        markdown_to_html,
        write_placing_csv,
        write_public_csv,
    )
    from lionrock.offering.definition import load_offering

    timings: dict[str, float] = {}
    t = time.perf_counter()
    ro = validate_offering(load_offering(offering))
    progress(f"offering {ro.spec.offering_id}: {ro.regime}, {ro.spec.shares_offered:,} shares")
    with _reading(book):
        iois = read_ioi_book(book, progress)
    with _reading(applications):
        apps = read_application_book(applications, progress)
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    pricing = set_price(ro, iois)
    timings["pricing"] = time.perf_counter() - t
    progress(f"priced at {pricing.price / 1000:.3f}: {pricing.reasons[0]}")
    t = time.perf_counter()
    result = allocate(ro, pricing, iois, apps, seed)
    timings["allocation"] = time.perf_counter() - t
    progress(f"allotted {len(apps):,} applications and {iois.investors:,} investors")
    t = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    write_public_csv(out / "allocations.csv", ro, apps, result)
    write_placing_csv(out / "placing.csv", iois, result, pricing.price)
    timings["write_csv"] = time.perf_counter() - t
    t = time.perf_counter()
    markdown = announcement_markdown(ro, pricing, result, book_digest=apps.digest)
    (out / "announcement.md").write_text(markdown, encoding="utf-8")
    (out / "announcement.html").write_text(markdown_to_html(markdown, f"{ro.spec.issuer_name}: allotment results"), encoding="utf-8")
    summary = msgspec.to_builtins(result.summary)
    summary.update(offering_id=ro.spec.offering_id, application_book_digest=apps.digest, pricing_reasons=list(pricing.reasons))
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
    timings["write_announcement"] = time.perf_counter() - t
    progress(f"wrote {out}")
    return AllocationRun(result.summary, out, len(apps), iois.investors, timings)


def allocate_command(
    offering: Path = typer.Option(..., "--offering", exists=True, dir_okay=False, help="Offering definition (TOML)."),
    book: Path = typer.Option(..., "--book", exists=True, dir_okay=False, help="IOIs: CSV or Parquet, one row per demand step."),
    applications: Path = typer.Option(..., "--applications", exists=True, dir_okay=False, help="Public applications: CSV or Parquet."),
    seed: int = typer.Option(..., "--seed", min=0, help="Ballot seed (published in the announcement)."),
    out: Path = typer.Option(Path("out/allocation"), "--out", help="Output directory."),
) -> None:
    """Price and allot an IPO from files: bookbuilding, clawback, pools A/B, seeded ballot, results.

    File columns are documented in docs/offering.md.
    """
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  disable=not console.is_terminal and "--progress" not in sys.argv) as bar:
        task = bar.add_task("reading", total=None)

        def step(message: str) -> None:
            bar.update(task, description=message)
            if not console.is_terminal:
                console.print(message)

        try:
            run = allocate_files(offering, book, applications, seed, out, step)
        except Reject as exc:
            raise InputError(str(exc.rejection), hint="Fix the file named above and run again.") from exc
    from lionrock.offering.announcement import summary_lines

    table = Table(title="Allotment results", show_header=False)
    for key, value in summary_lines(run.summary):
        table.add_row(key, value)
    console.print(table)
    times = ", ".join(f"{k} {v:.3f}s" for k, v in run.timings.items())
    console.print(f"timings: {times}; allocation {run.allocation_seconds:.3f}s")
    console.print(f"outputs: {out}/announcement.md, announcement.html, allocations.csv, placing.csv, summary.json")


def write_synthetic_files(offering: Path, out: Path, applications: int, iois: int, seed: int) -> tuple[Path, Path]:
    """Write seeded synthetic IOIs and applications for ``offering`` as CSV (for demos and the
    benchmark); returns (book path, applications path)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from lionrock.kernel.price import format_price
    from lionrock.offering import validate_offering
    from lionrock.offering.definition import load_offering
    from lionrock.offering.demand import synthetic_application_columns, synthetic_iois

    ro = validate_offering(load_offering(offering))
    out.mkdir(parents=True, exist_ok=True)
    cols = synthetic_application_columns(ro, applications, seed)
    ids = pc.utf8_lpad(pa.array(cols["applicant"]).cast(pa.string()), 9, "0")
    applicant = pc.binary_join_element_wise("HK", ids, "")
    participant = pc.binary_join_element_wise("P", pc.utf8_lpad(pa.array(cols["participant"]).cast(pa.string()), 3, "0"), "")
    account = pc.binary_join_element_wise("C:", participant, ":", applicant, "")
    apps_path = out / "applications.csv"
    pacsv.write_csv(pa.table({"applicant": applicant, "account": account, "participant": participant, "shares": pa.array(cols["shares"])}), apps_path)
    rows: dict[str, list[Any]] = {k: [] for k in ("ioi_id", "investor", "account", "participant", "investor_type", "origin", "tier", "independent", "limit_price", "shares")}
    for ioi in synthetic_iois(ro, iois, seed + 1):
        for step in ioi.steps:
            for key, value in (("ioi_id", ioi.ioi_id), ("investor", ioi.investor), ("account", ioi.account), ("participant", ioi.participant),
                               ("investor_type", ioi.investor_type), ("origin", ioi.origin), ("tier", ioi.tier), ("independent", ioi.independent),
                               ("limit_price", format_price(step.limit_price) if step.limit_price else ""), ("shares", step.shares)):
                rows[key].append(value)
    book_path = out / "iois.csv"
    pacsv.write_csv(pa.table(rows), book_path)
    return book_path, apps_path


def register(app: typer.Typer) -> None:
    app.command("allocate")(allocate_command)


__all__ = ["AllocationRun", "allocate_files", "register", "write_synthetic_files"]
