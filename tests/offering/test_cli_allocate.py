"""``lionrock allocate`` on the example files (CSV and Parquet), bad rows and structural faults in
them (issue 12 item 7), the outputs replaced whole, and ``--compare`` (item 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from lionrock.cli.main import app
from lionrock.cli.offering import OUTPUT_FILES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "offerings"


def _allocate(tmp_path: Path, book: Path, apps: Path, seed: int, name: str) -> dict:
    out = tmp_path / name
    result = CliRunner().invoke(
        app,
        [
            "allocate",
            "--offering",
            str(EXAMPLES / "sample" / "offering.toml"),
            "--book",
            str(book),
            "--applications",
            str(apps),
            "--seed",
            str(seed),
            "--out",
            str(out),
        ],
    )
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
    result = CliRunner().invoke(
        app,
        [
            "allocate",
            "--offering",
            str(EXAMPLES / "sample" / "offering.toml"),
            "--book",
            str(EXAMPLES / "sample" / "iois.csv"),
            "--applications",
            str(bad),
            "--seed",
            "1",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "participant" in result.output


def _invoke(tmp_path: Path, apps: Path, out: Path, book: Path = EXAMPLES / "sample" / "iois.csv", *extra: str) -> Any:
    return CliRunner().invoke(
        app,
        [
            "allocate",
            "--offering",
            str(EXAMPLES / "sample" / "offering.toml"),
            "--book",
            str(book),
            "--applications",
            str(apps),
            "--seed",
            "7",
            "--out",
            str(out),
            *extra,
        ],
    )


def test_allocate_cli_refuses_bad_rows_with_line_and_reason_and_carries_on(tmp_path: Path) -> None:
    """Each bad row is in rejects.csv with its line and reason and counted in summary.json; the
    good rows are allotted. The sample's cap is 100,000 shares (half of the initial 200,000)."""
    sample = (EXAMPLES / "sample" / "applications.csv").read_text().splitlines()
    bad = [
        "ZZ1,C:P1:ZZ1,P1,-100",
        "ZZ2,C:P1:ZZ2,P1,0",
        "ZZ3,C:P1:ZZ3,P1,1.5",
        "ZZ4,C:P1:ZZ4",
        ",C:P1:ZZ5,P1,100",
        "ZZ6,C:P1:ZZ6,P1,100",
        "ZZ6,C:P1:ZZ6b,P1,200",
        "ZZ7,C:P1:ZZ7,P1,100100",
        "ZZ8,C:P1:ZZ8,P1,150",
    ]
    apps = tmp_path / "apps.csv"
    apps.write_text("\n".join([*sample, *bad]) + "\n")
    result = _invoke(tmp_path, apps, tmp_path / "out")
    assert result.exit_code == 0, result.output
    first = len(sample) + 1
    rejects = [r for r in pacsv.read_csv(tmp_path / "out" / "rejects.csv").to_pylist() if r["line"] >= first]
    got = [(r["file"], r["line"], r["reason"]) for r in rejects]
    assert got == [
        ("apps.csv", first + k, reason)
        for k, reason in enumerate(
            ["non_positive", "non_positive", "not_integer", "short_row", "blank_id", "multiple", "multiple", "over_cap", "not_board_lots"]
        )
    ]
    assert all(r["message"] for r in rejects)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    baseline = _allocate(tmp_path, EXAMPLES / "sample" / "iois.csv", EXAMPLES / "sample" / "applications.csv", 7, "baseline")
    assert summary["rejected_rows"] == baseline["rejected_rows"] + len(bad)
    added = {"blank_id": 1, "multiple": 2, "non_positive": 2, "not_board_lots": 1, "not_integer": 1, "over_cap": 1, "short_row": 1}
    before = baseline["rejected_rows_by_file"].get("applications.csv", {})
    assert summary["rejected_rows_by_file"]["apps.csv"] == {k: before.get(k, 0) + added.get(k, 0) for k in before.keys() | added.keys()}
    assert summary["valid_applications"] == baseline["valid_applications"]


def test_allocate_cli_refuses_bad_ioi_rows_as_the_command_path_does(tmp_path: Path) -> None:
    lines = (EXAMPLES / "sample" / "iois.csv").read_text().splitlines()
    header, first = lines[0], lines[1]
    bad = first.replace('"IOI000000","INV000000"', '"IOIX","INVX"').replace('"international"', '"offshore"')
    book = tmp_path / "iois.csv"
    book.write_text(
        "\n".join([header, *lines[1:], bad, bad.replace('"offshore",2', '"hong_kong",9').replace("IOIX", "IOIY").replace("INVX", "INVY")])
        + "\n"
    )
    result = _invoke(tmp_path, EXAMPLES / "sample" / "applications.csv", tmp_path / "out", book)
    assert result.exit_code == 0, result.output
    rejects = [r for r in pacsv.read_csv(tmp_path / "out" / "rejects.csv").to_pylist() if r["file"] == "iois.csv"]
    assert [(r["line"], r["field"], r["reason"]) for r in rejects] == [
        (len(lines) + 1, "origin", "unknown_origin"),
        (len(lines) + 2, "tier", "unknown_tier"),
    ]


def test_allocate_cli_structural_fault_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "apps.csv"
    bad.write_bytes(b"applicant,account,participant,shares\nHK1,C:P1:HK1,P1,100\nHK2,\xff,P1,100\n")
    result = _invoke(tmp_path, bad, tmp_path / "out")
    assert result.exit_code == 2 and "apps.csv: line 3, column account: not UTF-8 text" in " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_allocate_cli_replaces_an_earlier_run_whole_and_a_failed_run_leaves_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "rejects.csv").write_text("stale\n")
    assert _invoke(tmp_path, EXAMPLES / "sample" / "applications.csv", out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert (out / "rejects.csv").read_text().splitlines()[0] == '"file","line","field","reason","message"'
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.csv"
    bad.write_text("applicant,account,shares\n")
    assert _invoke(tmp_path, bad, out).exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out"]


def test_allocate_cli_never_replaces_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = _invoke(tmp_path, EXAMPLES / "sample" / "applications.csv", tmp_path)
    assert result.exit_code == 2 and "notes.txt" in result.output and (tmp_path / "notes.txt").read_text() == "mine"


def test_allocate_cli_compare_json_has_the_chosen_row_equal_to_the_allocation(tmp_path: Path) -> None:
    result = _invoke(
        tmp_path, EXAMPLES / "sample" / "applications.csv", tmp_path / "out", EXAMPLES / "sample" / "iois.csv", "--compare", "--json"
    )
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.output.splitlines()[-1])
    rows = {r["mechanism"]: r for r in comparison["rows"]}
    assert rows["B"]["actual"] and rows["A"]["available"] and not rows["PN18"]["available"] and not rows["18C"]["available"]
    assert "2025-11-24" in rows["PN18"]["why"][0]
    allocated = _allocate(tmp_path, EXAMPLES / "sample" / "iois.csv", EXAMPLES / "sample" / "applications.csv", 7, "alloc")
    assert rows["B"]["final_public_shares"] == allocated["final_public_shares"]
    assert rows["B"]["allotment_digest"] == allocated["allotment_digest"]
    assert rows["B"]["text"]["final public tranche (shares)"] == f"{allocated['final_public_shares']:,}"
    assert not (tmp_path / "out").exists()


def test_allocate_cli_compare_table_and_chart(tmp_path: Path) -> None:
    chart = tmp_path / "compare.html"
    result = _invoke(
        tmp_path,
        EXAMPLES / "sample" / "applications.csv",
        tmp_path / "out",
        EXAMPLES / "sample" / "iois.csv",
        "--compare",
        "--chart",
        str(chart),
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for words in ("Mechanism B (fixed 10%) (chosen)", "Mechanism A", "PN18 (not open)", "one-lot success rate", "top 25 placee(s)"):
        assert words in text, words
    html = chart.read_text()
    assert html.startswith("<html>") and "plotly" in html and "Placee concentration" in html
