"""docs/reject-codes.md lists every registered reject code (STYLE.md: a reference page of codes)."""

from pathlib import Path

from lionrock.kernel.errors import reject_code_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "reject-codes.md"


def _load_every_context() -> None:
    import lionrock.service.policy  # noqa: F401  (service codes)
    from lionrock.service.contexts import default_contexts

    default_contexts()


def test_reject_code_page_is_current() -> None:
    _load_every_context()
    want = reject_code_table()
    assert DOC.read_text() == want, "docs/reject-codes.md is stale: regenerate it with lionrock.kernel.errors.reject_code_table()"
