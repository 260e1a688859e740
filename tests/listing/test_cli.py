"""``lionrock eligibility`` and ``lionrock timetable`` on the example issuers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

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
    result = runner.invoke(app, ["eligibility", str(EXAMPLES / "lingjing_vision.toml"), "--on", "2026-03-02"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
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
