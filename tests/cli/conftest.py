"""Fixtures for the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.journals import write_journal


@pytest.fixture
def journal_with_snapshot(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "journal.sqlite"
    return path, write_journal(path)
