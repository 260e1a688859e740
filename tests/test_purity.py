"""The core is pure (DESIGN.md, STYLE.md): no clock, no unseeded randomness, no I/O in the
bounded contexts, the kernel or the rulebook (no exemption: files are read and written by
`lionrock.files`); and every package's ``__all__`` names exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lionrock"
CORE = ["kernel", "rules", "listing", "offering", "trading", "clearing", "connect"]
FORBIDDEN = re.compile(
    r"datetime\.now|date\.today|datetime\.utcnow|time\.time\(|time\.monotonic|time\.perf_counter|uuid4|uuid1"
    r"|\brandom\.(random|randint|randrange|choice|choices|shuffle|sample|uniform|gauss)\("
    r"|np\.random\.(rand|randn|randint|choice|seed|random)\(|default_rng\(\s*\)|os\.urandom|secrets\."
    r"|\bopen\(|requests\.|urllib|socket\.|sqlite3"
    r"|\.open\(|read_text\(|read_bytes\(|write_text\(|write_bytes\(|tomllib|pyarrow\.(csv|parquet)|pathlib"
)
"""No exemption: the core reads and writes no file. Readers and writers of issuer profiles,
offering files, IOI and application books and the allotment results files are the edge's
(`lionrock.files`); the journal audit is given the journal's records (`clearing.audit`)."""


def _core_files() -> list[Path]:
    return [p for pkg in CORE for p in (SRC / pkg).rglob("*.py")]


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_reads_no_clock_and_draws_no_unseeded_randomness(path: Path) -> None:
    rel = str(path.relative_to(SRC))
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        match = FORBIDDEN.search(code)
        if match:
            raise AssertionError(f"{rel}:{number}: {match.group(0)!r} in the core: {line.strip()}")


PACKAGES = [
    "lionrock.kernel",
    "lionrock.rules",
    "lionrock.engine",
    "lionrock.listing",
    "lionrock.offering",
    "lionrock.trading",
    "lionrock.clearing",
    "lionrock.connect",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_public_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing objects: {missing}"
