"""Progress without a terminal is plain lines; a resumed demo says it is verifying (issue 16)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from typer.testing import CliRunner

from lionrock.cli._progress import PlainProgress
from lionrock.cli.main import app
from lionrock.sim.runner import ResumeProgress

TINY = str(Path(__file__).resolve().parents[1] / "sim" / "tiny.toml")


def test_plain_progress_prints_a_start_line_then_one_per_tenth() -> None:
    lines: list[str] = []
    ticks = iter(range(1000))
    progress = PlainProgress(lines.append, clock=lambda: float(next(ticks)))
    task = progress.add_task("simulating", total=200)
    for day in range(1, 201):
        progress.update(task, completed=day)
    assert len(lines) == 11
    assert lines[0].startswith("simulating: 1 of 200 (0%)") and lines[1].startswith("simulating: 20 of 200 (10%)")
    assert lines[-1].startswith("simulating: 200 of 200 (100%)")


def test_plain_progress_announces_a_new_description_at_once() -> None:
    lines: list[str] = []
    progress = PlainProgress(lines.append)
    task = progress.add_task("verifying", total=10)
    progress.update(task, completed=5)
    progress.update(task, completed=5, description="simulating")
    assert [line.split(":")[0] for line in lines] == ["verifying", "simulating"]


def test_resume_progress_switches_to_simulating_at_the_first_new_command() -> None:
    engine = SimpleNamespace(seq=0, catching_up=True, journal=SimpleNamespace(last_seq=100))
    lines: list[str] = []
    progress = ResumeProgress(PlainProgress(lines.append), engine)  # type: ignore[arg-type]
    task = progress.add_task("simulating", total=10)
    engine.seq = 100  # every journaled command checked, none new yet: still verifying
    progress.update(task, completed=5)
    assert all(line.startswith("verifying 100 journaled commands (catch-up)") for line in lines)
    engine.seq, engine.catching_up = 101, False
    progress.update(task, completed=6)
    assert lines[-1].startswith("simulating (verified 100 journaled commands): 6 of 10")


def test_demo_piped_prints_progress_lines_and_a_resume_says_verifying(tmp_path: Path) -> None:
    args = ["demo", "--scenario", TINY, "--scale", "small", "--seed", "5", "--out", str(tmp_path)]
    fresh = CliRunner().invoke(app, args)
    assert fresh.exit_code == 0, fresh.output
    assert "simulating: " in fresh.stdout and "(100%)" in fresh.stdout and "verifying" not in fresh.stdout
    resumed = CliRunner().invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "journaled commands (catch-up)" in resumed.stdout and "simulating: " not in resumed.stdout
    assert resumed.stdout.splitlines()[-1] == fresh.stdout.splitlines()[-1]  # the same state hash
    quiet = CliRunner().invoke(app, [*args, "--progress", "none"])
    assert quiet.exit_code == 0 and "catch-up" not in quiet.stdout
