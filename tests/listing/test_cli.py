"""``lionrock eligibility`` and ``lionrock timetable`` on the example issuers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lionrock.cli.listing import NO_ROUTE_OPEN_EXIT
from lionrock.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "issuers"
runner = CliRunner()


def test_eligibility_json_names_open_routes() -> None:
    result = runner.invoke(app, ["eligibility", str(EXAMPLES / "qianli_finance.toml"), "--on", "2026-03-02", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["open_routes"] == ["main_board_profit"]
    assert any(t["id"] == "mb.8051.latest_profit" and t["passed"] for t in data["tests"])


def test_eligibility_table_shows_near_miss() -> None:
    result = runner.invoke(app, ["eligibility", str(EXAMPLES / "lingjing_vision.toml"), "--on", "2026-03-02"], env={"COLUMNS": "200"})
    assert result.exit_code == NO_ROUTE_OPEN_EXIT == 1, result.output
    assert "HK$220m short of HK$250m by HK$30m" in result.output
    assert "Open routes: none" in result.output


def test_eligibility_invalid_profile_names_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "qianli_finance.toml").read_text().replace("board_lot = 500", "board_lot = 0"))
    result = runner.invoke(app, ["eligibility", str(bad), "--on", "2026-03-02"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "offering.board_lot" in result.output


def test_timetable_json_has_csrc_deadline() -> None:
    result = runner.invoke(app, ["timetable", str(EXAMPLES / "xinhe_chips.toml"), "--filed", "2026-09-30", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    csrc = next(m for m in data["milestones"] if m["name"].startswith("CSRC filing due"))
    assert csrc["on"] == "2026-10-12" and data["route"] == "18c_pre_commercial"


def test_eligibility_folder_screens_every_issuer_one_row_each() -> None:
    result = runner.invoke(app, ["eligibility", str(EXAMPLES), "--on", "2026-03-02"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output  # at least one issuer has an open route
    issuers = sorted(EXAMPLES.glob("*.toml"))
    assert len(issuers) == 8
    assert f"{len(issuers)} issuers" in result.output and "7 of 8 issuers have an open route" in result.output
    for line in result.output.splitlines():
        assert len(line) <= 80, line
    # the near miss: its binding shortfall is the route nearest to opening, 18C commercial by HK$30m
    assert "18C commercial:" in result.output and "HK$30m" in result.output


def test_eligibility_many_files_json_carries_numbers_beside_text() -> None:
    files = [str(EXAMPLES / "lingjing_vision.toml"), str(EXAMPLES / "qianli_finance.toml")]
    result = runner.invoke(app, ["eligibility", *files, "--on", "2026-03-02", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_id = {entry["issuer_id"]: entry for entry in data["issuers"]}
    near = by_id["LINGJING"]
    assert near["open_routes"] == [] and near["closest_route"] == "18c_commercial"
    (binding,) = near["binding_shortfall"]
    assert binding["test"] == "18c.commercial_revenue"
    # HK$220m against HK$250m, in HKD cents: the numbers a screen sorts on, not "HK$220m"
    assert binding["figures"] == {
        "unit": "HKD cents",
        "comparison": ">=",
        "actual": 22_000_000_000,
        "threshold": 25_000_000_000,
        "shortfall": 3_000_000_000,
    }
    sii = next(t for t in near["assessment"]["tests"] if t["id"] == "18c.sii_pre_commercial")
    assert sii["actual"] == "20.86%"  # the text stays for people
    figures = sii["figures"]
    assert figures["unit"] == "ratio" and figures["threshold"] == "1/4" and figures["threshold_decimal"] == "0.250000"
    numerator, denominator = map(int, figures["actual"].split("/"))
    assert 0.2085 < numerator / denominator < 0.2087
    assert by_id["QIANLI"]["open_routes"] == ["main_board_profit"] and by_id["QIANLI"]["binding_shortfall"] == []


def test_eligibility_exit_status_1_only_when_no_issuer_has_a_route(tmp_path: Path) -> None:
    near = EXAMPLES / "lingjing_vision.toml"
    copy = tmp_path / "lingjing_copy.toml"
    copy.write_text(near.read_text())
    none_open = runner.invoke(app, ["eligibility", str(near), str(copy), "--on", "2026-03-02"], env={"COLUMNS": "80"})
    assert none_open.exit_code == 1, none_open.output
    assert "0 of 2 issuers have an open route" in none_open.output
    one_open = runner.invoke(
        app, ["eligibility", str(near), str(EXAMPLES / "qianli_finance.toml"), "--on", "2026-03-02"], env={"COLUMNS": "80"}
    )
    assert one_open.exit_code == 0, one_open.output
    assert runner.invoke(app, ["eligibility", str(EXAMPLES / "qianli_finance.toml"), "--on", "2026-03-02"]).exit_code == 0


def test_eligibility_empty_folder_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eligibility", str(tmp_path), "--on", "2026-03-02"])
    assert result.exit_code == 2 and "no issuer profile" in result.output


def test_eligibility_table_fits_80_columns_and_wide_shows_rules() -> None:
    args = ["eligibility", str(EXAMPLES / "lingjing_vision.toml"), "--on", "2026-03-02"]
    narrow = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert max(len(line) for line in narrow.output.splitlines()) <= 80
    assert "What must change" in narrow.output and "(Listing Rules 18C.03(4))" in narrow.output
    wide = runner.invoke(app, [*args, "--wide"], env={"COLUMNS": "80"})
    assert max(len(line) for line in wide.output.splitlines()) > 80
    assert "why / what must change" in wide.output


def test_timetable_warns_for_a_saturday_filing_date() -> None:
    result = runner.invoke(app, ["timetable", str(EXAMPLES / "xinhe_chips.toml"), "--filed", "2026-10-03", "--json"])
    assert result.exit_code == 0, result.output
    assert "2026-10-03 (Saturday) is not an XHKG business day" in result.stderr
    assert "2026-10-05" in result.stderr
    json.loads(result.stdout)  # the warning keeps stdout parseable
    weekday = runner.invoke(app, ["timetable", str(EXAMPLES / "xinhe_chips.toml"), "--filed", "2026-09-30", "--json"])
    assert weekday.exit_code == 0 and "warning" not in weekday.stderr
