"""`lionrock simulate` writes its per-seed figures as CSV and Parquet (issue 16)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq

from lionrock.sim.many import RESULT_COLUMNS, one_run, write_results

TINY = str(Path(__file__).resolve().parents[1] / "sim" / "tiny.toml")


def test_per_seed_results_are_one_row_per_seed_and_offering(tmp_path: Path) -> None:
    results = [one_run(TINY, "small", seed, str(tmp_path)) for seed in (5, 6)]
    csv_path, parquet_path = write_results(results, tmp_path)
    table = pq.read_table(parquet_path)
    assert tuple(table.column_names) == RESULT_COLUMNS
    expected = sum(len(r["offerings"]) for r in results)
    assert table.num_rows == expected > 0
    assert sorted(set(table.column("seed").to_pylist())) == [5, 6]
    by_seed = {r["seed"]: r for r in results}
    for row in table.to_pylist():
        run = by_seed[row["seed"]]
        assert row["state_hash"] == run["state_hash"]
        source = next(o for o in run["offerings"] if o["offering"] == row["offering"])
        assert row["first_day_return_pct"] == source["first_day_return_pct"]
        assert row["public_multiple"] == source["public_multiple"]
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected and float(rows[0]["public_multiple"]) == table.column("public_multiple")[0].as_py()
