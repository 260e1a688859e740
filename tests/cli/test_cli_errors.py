"""Every user error of the command line is one line on stderr and exit status 2, never a traceback
(issue 13): journals of another version, damaged or not journals at all, missing and malformed
input files, an unknown scale, a NATS server that is not there."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lionrock.cli.main import app
from testkit.journals import write_journal

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "offerings" / "sample"
ISSUER = REPO / "examples" / "issuers" / "hanxin_compute.toml"


def _assert_one_line_error(exit_code: int, stderr: str, *expected: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert exit_code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("lionrock: error: "), stderr
    for text in expected:
        assert text in lines[0], lines[0]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    journal = tmp_path / "journal.sqlite"
    write_journal(journal, commands=6, snapshot_at=3)
    other_version = tmp_path / "other-version.sqlite"
    other_version.write_bytes(journal.read_bytes())
    db = sqlite3.connect(other_version)
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    damaged_header = tmp_path / "damaged-header.sqlite"
    data = bytearray(journal.read_bytes())
    data[0:16] = b"not-sqlite-here!"
    damaged_header.write_bytes(bytes(data))
    demo_dir = tmp_path / "demo"
    demo_dir.mkdir()
    (demo_dir / "journal.sqlite").write_bytes(bytes(data))
    text = tmp_path / "notes.txt"
    text.write_text("these are notes, not a journal\n" * 20)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('name = "unterminated\n[[')
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes(b'a,b\n"1,2\n\x00\xff,3\n')
    return {
        "journal": journal,
        "other_version": other_version,
        "damaged_header": damaged_header,
        "demo_dir": demo_dir,
        "text": text,
        "bad_toml": bad_toml,
        "bad_csv": bad_csv,
        "missing": tmp_path / "absent.sqlite",
        "out": tmp_path / "out",
    }


def test_journal_user_errors_are_one_line(files: dict[str, Path]) -> None:
    cases = [
        (("replay", str(files["other_version"])), "message schema 999"),
        (("audit", str(files["other_version"])), "message schema 999"),
        (("replay", str(files["damaged_header"])), "not a readable Lion Rock journal"),
        (("audit", str(files["damaged_header"])), "not a readable Lion Rock journal"),
        (("audit", str(files["text"])), "not a readable Lion Rock journal"),
        (("replay", str(files["text"])), "not a readable Lion Rock journal"),
        (("audit", str(files["missing"])), "does not exist"),
        (("replay", str(files["missing"])), "does not exist"),
        (("demo", "--scale", "small", "--out", str(files["demo_dir"])), "--fresh"),
    ]
    for args, expected in cases:
        exit_code, stderr = _invoke(*args)
        _assert_one_line_error(exit_code, stderr, expected)


def test_input_file_user_errors_are_one_line(files: dict[str, Path]) -> None:
    out = str(files["out"])
    cases = [
        (("eligibility", str(files["missing"])), "no such file"),
        (("eligibility", str(files["bad_toml"])), "not valid TOML"),
        (("timetable", str(files["missing"]), "--filed", "2025-06-02"), "no such file"),
        (("timetable", str(files["bad_toml"]), "--filed", "2025-06-02"), "not valid TOML"),
        (("timetable", str(ISSUER), "--filed", "2025-13-02"), "--filed: expected YYYY-MM-DD"),
        (
            (
                "allocate",
                "--offering",
                str(files["missing"]),
                "--book",
                str(SAMPLE / "iois.csv"),
                "--applications",
                str(SAMPLE / "applications.csv"),
                "--seed",
                "1",
                "--out",
                out,
            ),
            "does not exist",
        ),
        (
            (
                "allocate",
                "--offering",
                str(files["bad_toml"]),
                "--book",
                str(SAMPLE / "iois.csv"),
                "--applications",
                str(SAMPLE / "applications.csv"),
                "--seed",
                "1",
                "--out",
                out,
            ),
            "not valid TOML",
        ),
        (
            (
                "allocate",
                "--offering",
                str(SAMPLE / "offering.toml"),
                "--book",
                str(files["bad_csv"]),
                "--applications",
                str(SAMPLE / "applications.csv"),
                "--seed",
                "1",
                "--out",
                out,
            ),
            "bad.csv: line 1, column ioi_id: missing column",
        ),
        (
            (
                "allocate",
                "--offering",
                str(SAMPLE / "offering.toml"),
                "--book",
                str(SAMPLE / "iois.csv"),
                "--applications",
                str(files["bad_csv"]),
                "--seed",
                "1",
                "--out",
                out,
            ),
            "bad.csv: line 1, column applicant: missing column",
        ),
        (("simulate", "--scale", "tiny", "--runs", "1", "--out", out), "--scale 'tiny' is not a scale of scenario hk-ai-wave"),
        (("demo", "--scale", "tiny", "--out", out), "small, default, large"),
        (("audit",), "Missing argument"),
    ]
    for args, expected in cases:
        exit_code, stderr = _invoke(*args)
        _assert_one_line_error(exit_code, stderr, expected)
    assert not (files["out"] / "summary.html").exists()


def _lionrock(*args: str) -> list[str]:
    return [sys.executable, "-m", "lionrock.cli", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_installed_entry_point_prints_one_line(files: dict[str, Path]) -> None:
    run = subprocess.run(_lionrock("replay", str(files["other_version"])), capture_output=True, text=True, timeout=120, cwd=REPO)
    _assert_one_line_error(run.returncode, run.stderr, "message schema 999", "Read it with the Lion Rock version that wrote it")


def test_shard_without_nats_fails_fast_with_one_line(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{_free_port()}"  # nothing listens there
    started = time.monotonic()
    run = subprocess.run(
        _lionrock("shard", "--nats", url, "--shard", "t0", "--journal", str(tmp_path / "t0.sqlite"), "--connect-attempts", "1"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    _assert_one_line_error(run.returncode, run.stderr, f"no NATS server answers at {url}", "nats-server")
    assert time.monotonic() - started < 60


def test_shard_waiting_for_nats_stops_promptly_on_sigterm(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{_free_port()}"
    process = subprocess.Popen(
        _lionrock("shard", "--nats", url, "--shard", "t0", "--journal", str(tmp_path / "t0.sqlite"), "--connect-attempts", "100"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # the first retry is logged: the shard is waiting for NATS
        assert "no NATS server at" in line and "retrying" in line, line
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        assert time.monotonic() - sent < 10
        assert process.returncode == 0 and "Traceback" not in stderr
        assert "stopped before NATS answered" in stdout + stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
