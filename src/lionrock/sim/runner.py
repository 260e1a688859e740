"""Run a scenario through the engine and journal, resumably, and build its report.

A run is keyed by (scenario, seed, scale) stored in the journal's meta table. Running again into
the same journal resumes it: the driver regenerates every command from the start (it is
deterministic), the engine checks each one already journaled byte for byte and applies it
without writing it again, and new commands are journaled from where the old run stopped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from lionrock.analytics.projection import RunProjection
from lionrock.analytics.report import render_report
from lionrock.engine import Engine, SqliteJournal
from lionrock.engine.engine import DeterminismError
from lionrock.engine.registry import default_contexts
from lionrock.kernel.money import format_minor
from lionrock.sim.scenario import load_scenario


@dataclass(frozen=True)
class RunConfig:
    scenario: str = "hk-ai-wave"
    seed: int = 7
    scale: str = "default"
    durability: str = "group:50"


@dataclass
class RunResult:
    state_hash: str
    commands: int
    events: int
    report_html: str
    summary: list[tuple[str, str]]
    projection: RunProjection


def _check_or_set_meta(journal: SqliteJournal, meta: dict[str, str]) -> None:
    if journal.last_seq == 0:
        for key, value in meta.items():
            journal.set_meta(key, value)
        return
    for key, value in meta.items():
        have = journal.get_meta(key)
        if have is None and key == "scenario_sha256":
            continue  # a journal from before the digest was recorded: the replay check still guards it
        if have != value:
            raise ValueError(
                f"{journal.path} holds a run with {key}={have!r}, not {value!r}: use another --out, or --fresh to discard it"
            )


def run_scenario(config: RunConfig, journal_path: Path, progress: Any = None) -> RunResult:
    from lionrock.sim.driver import Driver

    scenario = load_scenario(config.scenario)
    if config.scale not in scenario.scales:
        raise ValueError(f"scale {config.scale!r} not in scenario {scenario.name}: choose from {', '.join(scenario.scales)}")
    journal = SqliteJournal(journal_path, config.durability)
    try:
        meta = {"scenario": scenario.name, "seed": str(config.seed), "scale": config.scale, "title": scenario.title,
                "trading_days": str(scenario.trading_days),
                "scenario_sha256": hashlib.sha256(msgspec.msgpack.encode(scenario)).hexdigest()}
        _check_or_set_meta(journal, meta)
        engine = Engine(default_contexts(), journal).catch_up()
        projection = RunProjection(scenario=scenario.name, title=scenario.title, seed=config.seed, scale=config.scale)
        engine.subscribe(projection.on_events)
        try:
            Driver(scenario, config.seed, config.scale, engine, projection, progress).run()
        except DeterminismError as exc:
            raise ValueError(
                f"{journal_path} holds a run this program does not reproduce (it was written by another version of "
                f"Lion Rock or of the scenario): {exc}. Use --fresh to replace it, or another --out"
            ) from exc
        engine.flush()
        state_hash = engine.snapshot()  # `lionrock replay` starts from it; --from-scratch ignores it
    finally:
        journal.close()
    data = projection.finish(state_hash)
    raised = sum(o.gross_proceeds_minor for o in data.offerings.values())
    summary = [
        ("scenario", f"{scenario.name} ({config.scale}, seed {config.seed})"),
        ("issuers assessed", str(len(data.issuers))),
        ("eligible", str(sum(1 for i in data.issuers.values() if i.eligible))),
        ("IPOs priced", str(sum(1 for o in data.offerings.values() if o.offer_price))),
        ("capital raised", f"HK$ {format_minor(raised)}"),
        ("trades", f"{projection.trades:,}"),
        ("rejected commands", f"{data.rejections:,}"),
        ("settlement failures", f"{data.settlement_failures:,}"),
    ]
    return RunResult(state_hash, data.commands, data.events, render_report(data, scenario.trading_days), summary, projection)


__all__ = ["RunConfig", "RunResult", "run_scenario"]
