"""`lionrock replay` verifies the whole journal, also before the snapshot it restores (issue 13)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from lionrock.cli.main import app


def _flip_body_byte(path: Path, seq: int) -> None:
    db = sqlite3.connect(path)
    (data,) = db.execute("SELECT data FROM blocks WHERE first_seq = ?", (seq,)).fetchone()
    damaged = bytearray(data)
    damaged[-3] ^= 0x01  # inside the record's body (blocks hold one record each here)
    db.execute("UPDATE blocks SET data = ? WHERE first_seq = ?", (bytes(damaged), seq))
    db.commit()
    db.close()


def test_replay_from_the_snapshot_verifies_the_records_before_it(journal_with_snapshot: tuple[Path, str]) -> None:
    path, digest = journal_with_snapshot
    result = CliRunner().invoke(app, ["replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "verified records 1-30 before the snapshot" in result.stdout
    assert f"state hash: {digest}" in result.stdout


def test_replay_names_an_early_damaged_record_and_exits_2(journal_with_snapshot: tuple[Path, str]) -> None:
    path, _ = journal_with_snapshot
    _flip_body_byte(path, 3)
    result = CliRunner().invoke(app, ["replay", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lionrock: error:"), result.stderr
    assert "record 3 fails its CRC" in lines[0]
    assert "state hash" not in result.stdout


def test_replay_trust_snapshot_skips_the_records_before_it(journal_with_snapshot: tuple[Path, str]) -> None:
    path, digest = journal_with_snapshot
    _flip_body_byte(path, 3)
    result = CliRunner().invoke(app, ["replay", "--trust-snapshot", str(path)])
    assert result.exit_code == 0, result.output
    assert f"state hash: {digest}" in result.stdout


def test_replay_from_scratch_finds_the_damage_too(journal_with_snapshot: tuple[Path, str]) -> None:
    path, _ = journal_with_snapshot
    _flip_body_byte(path, 3)
    result = CliRunner().invoke(app, ["replay", "--from-scratch", str(path)])
    assert result.exit_code == 2, result.output
    assert "record 3 fails its CRC" in result.stderr
