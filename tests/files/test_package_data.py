"""Scenarios and the example files ship inside the package (issue 15): an installed Lion Rock
finds its default scenario and every profile it names from any working directory, through
`importlib.resources`, and the wheel's package-data globs take every one of those files."""

from __future__ import annotations

import fnmatch
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from lionrock.files.profiles import load_profile
from lionrock.sim.scenario import find_scenario, load_scenario, resolve

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "lionrock"


def test_default_scenario_and_its_profiles_resolve_from_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no scenarios/ or examples/ here
    scenario = load_scenario("hk-ai-wave")
    assert scenario.listings
    for plan in scenario.listings:
        profile = load_profile(resolve(plan.profile))
        assert profile.issuer_id and profile.financial_years


def test_scenario_found_is_the_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_scenario("hk-ai-wave").read_bytes() == (files("lionrock") / "scenarios" / "hk-ai-wave.toml").read_bytes()
    with pytest.raises(FileNotFoundError, match="hk-ai-wave"):  # the message lists the shipped ones
        find_scenario("no-such-scenario")


def test_a_scenario_in_the_working_directory_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scenarios").mkdir()
    text = (files("lionrock") / "scenarios" / "hk-ai-wave.toml").read_text(encoding="utf-8")
    (tmp_path / "scenarios" / "hk-ai-wave.toml").write_text(text.replace("trading_days = ", "trading_days = 1 + "), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert find_scenario("hk-ai-wave") == tmp_path / "scenarios" / "hk-ai-wave.toml"


def test_the_checkout_links_to_the_package_data() -> None:
    """``scenarios/`` and ``examples/`` at the top of the checkout are the package's data."""
    for name in ("scenarios", "examples"):
        assert (ROOT / name).resolve() == (PACKAGE / name).resolve()


def _package_data_globs() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["setuptools"]["package-data"]["lionrock"]


@pytest.mark.parametrize("folder", ["scenarios", "examples"])
def test_wheel_package_data_takes_every_shipped_file(folder: str) -> None:
    """Each file under the folder matches one of pyproject's package-data globs (so ``pip install
    .`` puts it in the wheel); ``**/`` also matches no folder, as setuptools' globs do."""
    globs = _package_data_globs()
    shipped = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / folder).rglob("*") if p.is_file()]
    assert shipped
    missed = [name for name in shipped if not any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(name, g.replace("**/", "")) for g in globs)]
    assert not missed, f"not package data (pyproject.toml [tool.setuptools.package-data]): {missed}"
