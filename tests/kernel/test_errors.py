"""Reject codes are stable, ranged by context and never reused (STYLE.md: messages, errors)."""

from enum import IntEnum

import pytest

from lionrock.kernel.errors import (
    CODE_RANGES,
    REJECT_CODE_ENUMS,
    InvariantError,
    Reject,
    invariant,
    reject_codes,
    require,
)


def test_all_registered_codes_are_unique_and_in_range() -> None:
    import lionrock.service.contexts as registry

    registry.default_contexts()  # imports every built context and its codes
    seen: dict[int, str] = {}
    for enum in REJECT_CODE_ENUMS:
        for member in enum:
            assert int(member) not in seen or seen[int(member)] == f"{enum.__name__}.{member.name}"
            seen[int(member)] = f"{enum.__name__}.{member.name}"
            assert any(int(member) in r for r in CODE_RANGES.values())


def test_code_outside_range_is_refused() -> None:
    with pytest.raises(InvariantError, match="outside trading range"):

        @reject_codes("trading")
        class Bad(IntEnum):
            X = 1


def test_require_raises_coded_rejection() -> None:
    from testkit import TallyCode

    with pytest.raises(Reject) as info:
        require(False, TallyCode.INSUFFICIENT, "amount", "holds 1, cannot debit 2", "test rule")
    r = info.value.rejection
    assert (r.code, r.reason, r.field, r.rule) == (1901, "INSUFFICIENT", "amount", "test rule")
    assert "holds 1" in str(r)


def test_invariant_survives_optimised_mode() -> None:
    with pytest.raises(InvariantError, match="^Invariant: broken"):
        invariant(False, "broken")
