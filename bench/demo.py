"""Demo benchmark (issue 7): the default scenario end to end, on the embedded default (SQLite).

Runs `hk-ai-wave` at the default scale into a fresh journal, times it, then profiles the same run
once more to say where the time goes (the profile's top entries by own time). Target: <= 15 s on
the 2-core reference machine (issue 18; issue 7 asked for <= 60 s).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from lionrock.sim.runner import RunConfig, run_scenario


def run(progress: Any) -> dict[str, object]:
    config = RunConfig(scenario="hk-ai-wave", seed=7, scale="default")
    with tempfile.TemporaryDirectory() as tmp:
        progress("timed run of hk-ai-wave (default scale)")
        started = time.perf_counter()
        result = run_scenario(config, Path(tmp) / "timed.sqlite")
        seconds = time.perf_counter() - started
        progress(f"{seconds:.1f} s; profiling a second run")
        profiler = cProfile.Profile()
        profiler.enable()
        again = run_scenario(config, Path(tmp) / "profiled.sqlite")
        profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    stats.sort_stats("tottime")
    top = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in sorted(
        stats.stats.items(),
        key=lambda kv: kv[1][2],
        reverse=True,  # type: ignore[attr-defined]
    )[:12]:
        top.append(
            {
                "function": f"{Path(filename).name}:{line}({func})",
                "calls": calls,
                "own_s": round(tottime, 3),
                "cumulative_s": round(cumtime, 3),
            }
        )
    for row in top:
        progress(f"  {row['own_s']:>8.3f} s own {row['cumulative_s']:>8.3f} s cum  {row['calls']:>9} calls  {row['function']}")
    return {
        "seconds": round(seconds, 2),
        "target_seconds": 15,
        "commands": result.commands,
        "events": result.events,
        "commands_per_s": round(result.commands / seconds),
        "state_hash": result.state_hash,
        "same_hash_on_second_run": again.state_hash == result.state_hash,
        "profile_top": top,
    }
