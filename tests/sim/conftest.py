from __future__ import annotations

from pathlib import Path

import pytest

from lionrock.sim.runner import RunConfig, RunResult, run_scenario


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    """The default scenario at small scale, run once per test session (worker)."""
    out = tmp_path_factory.mktemp("small")
    journal = out / "journal.sqlite"
    result = run_scenario(RunConfig(scenario="hk-ai-wave", seed=11, scale="small"), journal)
    return result, journal
