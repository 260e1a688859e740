"""Offering book files go through the kernel's bounds (issue 13): identifiers in the documented
charset, shares at most MAX_QUANTITY, limit prices within the price parser's bounds. Before, an
applicant id with a control character was read as is, and two rows of 2**62 shares wrapped the
int64 demand sums."""

from __future__ import annotations

from pathlib import Path

import pytest

from lionrock.kernel.errors import Reject
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering import read_application_book, read_ioi_book

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "offerings" / "sample"


def _write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_sample_books_still_read() -> None:
    assert read_application_book(SAMPLE / "applications.csv").shares.size > 0
    assert read_ioi_book(SAMPLE / "iois.csv").step_shares.size > 0


@pytest.mark.parametrize(("column", "value"), [("applicant", "HK\x01ID"), ("account", "C:B1:I 1"), ("participant", "B\u00e91")])
def test_application_file_identifier_outside_charset_is_rejected(tmp_path: Path, column: str, value: str) -> None:
    row = {"applicant": "HKID-1", "account": "C:B1:I1", "participant": "B1", "shares": "1000"}
    row[column] = value
    path = _write(tmp_path, "apps.csv", "applicant,account,participant,shares", [",".join(row.values())])
    with pytest.raises(Reject) as info:
        read_application_book(path)
    assert info.value.rejection.reason == "INVALID_APPLICATIONS" and info.value.rejection.field == f"apps.csv:{column}"
    assert "identifier" in info.value.rejection.message


def test_application_file_shares_above_max_quantity_is_rejected(tmp_path: Path) -> None:
    rows = ["HKID-1,C:B1:I1,B1,1000", f"HKID-2,C:B1:I2,B1,{2**62}"]
    path = _write(tmp_path, "apps.csv", "applicant,account,participant,shares", rows)
    with pytest.raises(Reject, match=f"above the largest quantity accepted, {MAX_QUANTITY:,}") as info:
        read_application_book(path)
    assert info.value.rejection.field == "apps.csv:shares (row 3)"


def test_ioi_file_bad_id_huge_price_and_huge_shares_are_rejected(tmp_path: Path) -> None:
    header = "ioi_id,investor,account,participant,investor_type,origin,tier,independent,limit_price,shares"
    good = "I1,LIM1,C:B1:I1,B1,long_only,international,1,true,46.00,1000"
    assert read_ioi_book(_write(tmp_path, "ok.csv", header, [good])).step_shares.tolist() == [1000]
    cases = [
        (good.replace("I1,LIM1", "I\x011,LIM1"), "ioi_id", "identifier"),
        (good.replace("46.00", "1e400"), "limit_price (row 2)", "not a price"),
        (good.replace("46.00", "99999999999999999999999999.00"), "limit_price (row 2)", "above the largest price"),
        (good.replace(",1000", f",{2**62}"), "shares (row 2)", "above the largest quantity"),
    ]
    for i, (row, field, message) in enumerate(cases):
        with pytest.raises(Reject) as info:
            read_ioi_book(_write(tmp_path, f"bad{i}.csv", header, [row]))
        assert info.value.rejection.field == f"bad{i}.csv:{field}" and message in info.value.rejection.message, info.value.rejection
