"""Allocation benchmark: 2,000,000 public applications and 10,000 IOIs, from file to allotment.

Generates seeded synthetic files (CSV) for the example Mechanism B offering, then runs exactly what
``lionrock allocate`` runs: read, price, allocate (clawback, pools, bands, ballot), write the CSVs
and the announcement. Each of the three runs is a fresh interpreter, as each ``lionrock allocate``
is: a run in the benchmark's own process would find pyarrow's and numpy's memory already taken
from the kernel by the runs before it, which a user's run never does (that flattered the second
and third runs by 0.3-1 s). ``allocation_seconds`` is pricing plus allocation (the pure functions);
``file_to_allotment_seconds`` is CSV in, allotment done (read, price, allocate; target <= 1.0 s);
``file_to_outputs_seconds`` adds writing the CSVs and the announcement. The other stages are
reported beside them so it is clear where the time goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

APPLICATIONS = 2_000_000
IOIS = 10_000
SEED = 20251128
OFFERING = Path(__file__).resolve().parent.parent / "examples" / "offerings" / "mechanism_b_ai.toml"


_SUMMARY_KEYS = ("subscription_multiple", "valid_applications", "rejected_applications", "bands", "placees", "allotment_digest")


def _to_allotment(timings: dict[str, float]) -> float:
    return timings["read"] + timings["pricing"] + timings["allocation"]


def _allocate_in_a_fresh_process(book: Path, apps: Path, out: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """One ``allocate_files`` run in its own interpreter; its figures as the last line of stdout."""
    argv = [sys.executable, "-m", "bench.allocation", str(book), str(apps), str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    for line in done.stderr.splitlines():
        progress(line)
    if done.returncode:
        raise RuntimeError(f"allocation run failed ({done.returncode}): {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def _child(book: str, apps: str, out: str) -> None:
    from lionrock.cli.offering import allocate_files

    r = allocate_files(OFFERING, Path(book), Path(apps), SEED, Path(out), lambda m: print(m, file=sys.stderr, flush=True))
    s = r.summary
    print(
        json.dumps(
            {
                "timings": r.timings,
                "applications": r.applications,
                "iois": r.iois,
                "rejected_rows": r.rejected_rows,
                "subscription_multiple": round(s.subscription_multiple_bp / 10_000, 2),
                "valid_applications": s.valid_applications,
                "rejected_applications": sum(s.rejected.values()),
                "bands": len(s.bands),
                "placees": s.placees,
                "allotment_digest": s.allotment_digest,
            }
        )
    )


def run(progress: Callable[[str], None]) -> dict[str, object]:
    from lionrock.cli.offering import write_synthetic_files

    with tempfile.TemporaryDirectory(prefix="lionrock-bench-allocation-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        progress(f"generating {APPLICATIONS:,} applications and {IOIS:,} IOIs")
        book, apps = write_synthetic_files(OFFERING, root / "in", APPLICATIONS, IOIS, SEED)
        os.sync()  # the files on disk, as a user's are: their write-back is not the first run's cost
        generate = time.perf_counter() - t
        progress(f"generated in {generate:.2f}s ({apps.stat().st_size / 1e6:.0f} MB of applications)")
        runs = []
        for i in range(3):
            r = _allocate_in_a_fresh_process(book, apps, root / f"out{i}", progress)
            runs.append(r)
            progress(f"run {i + 1} (a fresh process): " + ", ".join(f"{k} {v:.3f}s" for k, v in r["timings"].items()))
        best = min(runs, key=lambda r: _to_allotment(r["timings"]))
        timings = best["timings"]
        return {
            "benchmark": "allocation",
            "applications": best["applications"],
            "iois": best["iois"],
            "seed": SEED,
            "allocation_seconds": round(min(r["timings"]["pricing"] + r["timings"]["allocation"] for r in runs), 3),
            "pricing_seconds": round(timings["pricing"], 3),
            "allotment_seconds": round(timings["allocation"], 3),
            "read_seconds": round(timings["read"], 3),
            "write_csv_seconds": round(timings["write_csv"], 3),
            "write_announcement_seconds": round(timings["write_announcement"], 3),
            "file_to_allotment_seconds": round(_to_allotment(timings), 3),
            "file_to_outputs_seconds": round(sum(timings.values()), 3),
            "runs_file_to_allotment_seconds": [round(_to_allotment(r["timings"]), 3) for r in runs],
            "runs_allocation_seconds": [round(r["timings"]["pricing"] + r["timings"]["allocation"], 3) for r in runs],
            "every_run_a_fresh_process": True,
            "rejected_rows": best["rejected_rows"],
            "generate_seconds": round(generate, 3),
            "same_digest_every_run": len({r["allotment_digest"] for r in runs}) == 1,
            **{k: best[k] for k in _SUMMARY_KEYS},
        }


if __name__ == "__main__":
    _child(*sys.argv[1:4])
