"""The seeded hostile-client simulation (tests/service/hostile.py) against a real ``lionrock serve``.

Short runs here (two seeds, a couple of hundred steps, two SIGKILLs each, one in the middle of a
burst of concurrent orders); ``make hostile SEED=… COMMANDS=… KILLS=…`` runs longer ones. A
failure's message starts with the seed and the command that reruns it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit.service_hostile import run_hostile

SEEDS = [int(s) for s in os.environ.get("LIONROCK_HOSTILE_SEEDS", "11,29").split(",")]
COMMANDS = int(os.environ.get("LIONROCK_HOSTILE_COMMANDS", "150"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_simulation_seeded_kills_keep_acknowledged_orders_tenancy_and_replay_hash(seed: int, tmp_path: Path) -> None:
    result = run_hostile(seed, tmp_path, commands=COMMANDS, kills=2)
    assert result["acknowledged"] > COMMANDS // 5, result  # the run did place orders, not only hostile ones
    assert result["seq"] > result["acknowledged"] and result["hash"].startswith("state hash: "), result
    assert any(int(status) >= 400 for status in result["statuses"]), result  # and hostile ones were refused
