"""Many seeds of one scenario, fanned out on Dask (a local cluster of worker processes).

Each run is a complete, journaled `lionrock demo` run in its own directory; a worker returns the
figures that matter across runs (first-day returns, one-lot success rates, subscription levels,
by allocation regime), and the summary shows their distributions (box plots by regime and
histograms). The per-seed figures are also written as a table, one row per seed and offering
(``results.csv`` and ``results.parquet``), for a researcher's own analysis.
"""

from __future__ import annotations

import html
import statistics
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from lionrock.kernel.user_errors import InputError


def one_run(scenario: str, scale: str, seed: int, out: str) -> dict[str, Any]:
    """Run one seed (in a worker process) and return its comparable figures."""
    from lionrock.sim.runner import RunConfig, run_scenario

    folder = Path(out) / f"seed-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    journal = folder / "journal.sqlite"
    for name in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
    result = run_scenario(RunConfig(scenario=scenario, seed=seed, scale=scale), journal)
    data = result.projection.data
    rows = []
    for o in data.offerings.values():
        tape = data.tapes.get(o.instrument)
        first = (tape.bars[0].close / o.offer_price - 1) * 100 if tape and tape.bars and o.offer_price else None
        regime = o.regime.split(" (")[0] if o.regime else "?"
        rows.append(
            {
                "offering": o.name,
                "regime": regime,
                "first_day_return_pct": first,
                "one_lot_success_pct": o.one_lot_success_pct,
                "public_multiple": o.public_multiple,
            }
        )
    return {"seed": seed, "state_hash": result.state_hash, "offerings": rows}


def _quantiles(values: list[float]) -> tuple[str, str, str, str]:
    if not values:
        return ("-", "-", "-", "-")
    qs = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else [values[0]] * 9
    return (f"{statistics.fmean(values):.2f}", f"{qs[0]:.2f}", f"{statistics.median(values):.2f}", f"{qs[8]:.2f}")


def check_run(scenario: str, scale: str) -> None:
    """Refuse an unknown scenario or scale here, before any worker starts: inside a Dask worker
    the same mistake surfaced as a remote traceback (``--scale tiny`` is a test scenario's scale,
    not one of hk-ai-wave's)."""
    from lionrock.sim.scenario import load_scenario

    try:
        loaded = load_scenario(scenario)
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(f"--scenario {scenario!r}: {exc}", hint="") from exc
    if scale not in loaded.scales:
        raise InputError(f"--scale {scale!r} is not a scale of scenario {loaded.name}", hint=f"Choose one of: {', '.join(loaded.scales)}.")


RESULT_COLUMNS = ("seed", "state_hash", "offering", "regime", "first_day_return_pct", "one_lot_success_pct", "public_multiple")


def write_results(results: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """One row per (seed, offering) as CSV and Parquet; an empty figure is a null."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rows = [{"seed": r["seed"], "state_hash": r["state_hash"], **o} for r in results for o in r["offerings"]]
    schema = pa.schema(
        [
            ("seed", pa.int64()),
            ("state_hash", pa.string()),
            ("offering", pa.string()),
            ("regime", pa.string()),
            ("first_day_return_pct", pa.float64()),
            ("one_lot_success_pct", pa.float64()),
            ("public_multiple", pa.float64()),
        ]
    )
    table = pa.table({name: [row.get(name) for row in rows] for name in RESULT_COLUMNS}, schema=schema)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = out / "results.csv", out / "results.parquet"
    pacsv.write_csv(table, csv_path)
    pq.write_table(table, parquet_path)
    return csv_path, parquet_path


def run_many(scenario: str, scale: str, seeds: list[int], workers: int, out: Path, progress: Any = None) -> tuple[str, list[list[str]]]:
    from dask.distributed import Client, LocalCluster, as_completed

    check_run(scenario, scale)
    results: list[dict[str, Any]] = []
    task = progress.add_task(f"{len(seeds)} runs on {workers} Dask workers", total=len(seeds)) if progress else None
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1") as cluster,
        Client(cluster) as client,
    ):
        futures = [client.submit(one_run, scenario, scale, s, str(out), pure=False) for s in seeds]
        for future in as_completed(futures):
            results.append(future.result())
            if progress is not None:
                progress.advance(task)
    results.sort(key=lambda r: r["seed"])
    write_results(results, out)
    by_metric: dict[str, dict[str, list[float]]] = {"first_day_return_pct": {}, "one_lot_success_pct": {}, "public_multiple": {}}
    for r in results:
        for o in r["offerings"]:
            for metric, groups in by_metric.items():
                if o[metric] is not None:
                    groups.setdefault(o["regime"], []).append(float(o[metric]))
    rows = []
    figures = []
    for metric, groups in by_metric.items():
        fig = go.Figure()
        histogram = go.Figure()
        for regime, values in sorted(groups.items()):
            rows.append([f"{metric} ({regime})", *_quantiles(values)])
            fig.add_box(y=values, name=regime, boxpoints="all")
            histogram.add_histogram(x=values, name=regime, opacity=0.6)
        label = metric.replace("_pct", " (%)").replace("_", " ")
        fig.update_layout(
            title=f"{label} by allocation regime, {len(seeds)} seeds (one point per seed and offering)", template="plotly_white"
        )
        histogram.update_layout(
            title=f"Distribution of {label}, {len(seeds)} seeds",
            barmode="overlay",
            template="plotly_white",
            xaxis_title=label,
            yaxis_title="offerings x seeds",
        )
        figures.append(fig.to_html(full_html=False, include_plotlyjs=False))
        figures.append(histogram.to_html(full_html=False, include_plotlyjs=False))
    hashes = "".join(f"<tr><td>{r['seed']}</td><td><code>{r['state_hash']}</code></td></tr>" for r in results)
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Lion Rock: {html.escape(scenario)} x {len(seeds)}</title>"
        f"<script>{get_plotlyjs()}</script></head><body style='font-family:system-ui;margin:24px'>"
        f"<h1>{html.escape(scenario)}: {len(seeds)} seeds ({html.escape(scale)})</h1>{''.join(figures)}"
        f"<h2>Runs</h2><table>{hashes}</table></body></html>"
    )
    return page, rows


__all__ = ["RESULT_COLUMNS", "check_run", "one_run", "run_many", "write_results"]
