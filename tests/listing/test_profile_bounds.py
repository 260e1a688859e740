"""Issuer profile numbers go through the kernel's bounds (issue 13): a whole number beyond
MAX_AMOUNT_MINOR, an amount with an exponent or NaN, or a price beyond the parser's maximum is
a ProfileError naming the field, never a value the journal cannot hold."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lionrock.files.profiles import profile_from_dict
from lionrock.kernel.money import MAX_AMOUNT_MINOR
from lionrock.listing.profile import ProfileError

BASE = tomllib.loads((Path(__file__).resolve().parents[2] / "examples" / "issuers" / "qianli_finance.toml").read_text())


def _with(section: str, key: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data[section][key] = value
    return data


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("offering", "board_lot", MAX_AMOUNT_MINOR + 1, "must be at most"),
        ("offering", "board_lot", 2**70, "must be at most"),
        ("offering", "price_range", ["1e400", "2"], ""),
        ("offering", "price_range", ["18.80", "99999999999999999999999999.00"], ""),
        ("offering", "planned_offering_size", "HKD NaN", ""),
        ("offering", "planned_offering_size", "HKD 1e30", ""),
    ],
)
def test_profile_number_beyond_kernel_bounds_is_a_profile_error(section: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        profile_from_dict(_with(section, key, value))
    assert info.value.field.startswith(f"{section}.{key}") and message in str(info.value)
