"""The repository is self-contained: no tracked file under src/, docs/ or README.md (nor the
tests, examples and scenarios) cites RULES.md or a path outside the repository (issue 16). A
rule is cited by its public source or by a page in docs/ (docs/rules.md maps them)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCOPES = ("src", "docs", "README.md", "tests", "examples", "scenarios")
OUTSIDE = re.compile(
    r"RULES\.md"  # the rulebook notes that were never in the repository
    r"|/work/"  # the build machine's folders
    r"|(?<![\w.-])\.\./shared"  # a sibling folder of the checkout
    r"|(?<![\w/.-])shared/reference"  # notes kept outside the repository
    r"|hk-rules-sourced"
)
THIS = Path(__file__).name


def _tracked() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", "--", *SCOPES], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name and not name.endswith(THIS)]


def test_no_tracked_file_cites_a_file_outside_the_repository() -> None:
    offenders = []
    for path in _tracked():
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (a compiled extension, a parquet file)
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not offenders, "cite the rule's public source or a page in docs/ (docs/rules.md):\n" + "\n".join(offenders)


def test_docs_rules_page_exists_for_the_citations() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for section in ("## 5.", "## 7.", "## 8."):  # the sections the code cites
        assert section in page


def test_the_pattern_catches_what_it_must() -> None:
    for bad in ("see RULES.md s7", "``/work/shared/reference/hk-rules-sourced.md``", "cd ../shared", "shared/reference/x.md"):
        assert OUTSIDE.search(bad), bad
    for fine in ("docs/rules.md section 7", "src/lionrock/service/contexts.py", "a shared kernel"):
        assert not OUTSIDE.search(fine), fine
