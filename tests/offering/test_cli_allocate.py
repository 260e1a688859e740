"""``lionrock allocate`` on the example files (CSV and Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from lionrock.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "offerings"


def _allocate(tmp_path: Path, book: Path, apps: Path, seed: int, name: str) -> dict:
    out = tmp_path / name
    result = CliRunner().invoke(app, ["allocate", "--offering", str(EXAMPLES / "sample" / "offering.toml"), "--book", str(book),
                                      "--applications", str(apps), "--seed", str(seed), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for f in ("announcement.md", "announcement.html", "allocations.csv", "placing.csv", "summary.json"):
        assert (out / f).stat().st_size > 0
    return json.loads((out / "summary.json").read_text())


def test_allocate_cli_writes_results_and_is_reproducible(tmp_path: Path) -> None:
    book, apps = EXAMPLES / "sample" / "iois.csv", EXAMPLES / "sample" / "applications.csv"
    a = _allocate(tmp_path, book, apps, 7, "a")
    b = _allocate(tmp_path, book, apps, 7, "b")
    c = _allocate(tmp_path, book, apps, 8, "c")
    assert a["allotment_digest"] == b["allotment_digest"] != c["allotment_digest"]
    assert a["final_public_shares"] == c["final_public_shares"]
    rows = pacsv.read_csv(tmp_path / "a" / "allocations.csv").to_pydict()
    assert sum(rows["shares_allotted"]) == a["final_public_shares"]
    md = (tmp_path / "a" / "announcement.md").read_text()
    for heading in ("Announcement of Allotment Results", "Basis of Allocation", "Placee Concentration", "Cornerstone Investors"):
        assert heading in md


def test_allocate_cli_accepts_parquet(tmp_path: Path) -> None:
    for name in ("iois", "applications"):
        pq.write_table(pacsv.read_csv(EXAMPLES / "sample" / f"{name}.csv"), tmp_path / f"{name}.parquet")
    a = _allocate(tmp_path, tmp_path / "iois.parquet", tmp_path / "applications.parquet", 7, "pq")
    b = _allocate(tmp_path, EXAMPLES / "sample" / "iois.csv", EXAMPLES / "sample" / "applications.csv", 7, "csv")
    assert a["allotment_digest"] == b["allotment_digest"] and a["application_book_digest"] == b["application_book_digest"]


def test_allocate_cli_reports_bad_column(tmp_path: Path) -> None:
    bad = tmp_path / "apps.csv"
    bad.write_text("applicant,account,shares\nX,C:P:X,100\n")
    result = CliRunner().invoke(app, ["allocate", "--offering", str(EXAMPLES / "sample" / "offering.toml"), "--book",
                                      str(EXAMPLES / "sample" / "iois.csv"), "--applications", str(bad), "--seed", "1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "participant" in result.output
