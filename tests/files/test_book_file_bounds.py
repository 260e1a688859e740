"""Offering book files go through the kernel's bounds (issue 13): identifiers in the documented
charset, shares at most MAX_QUANTITY, limit prices within the price parser's bounds. Before, an
applicant id with a control character was read as is, and two rows of 2**62 shares wrapped the
int64 demand sums. Since issue 12 (item 7) such a row is refused with its line and reason and
left out of the book (its IOI whole), instead of failing the whole file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lionrock.files.books import read_application_book, read_ioi_book
from lionrock.kernel.quantity import MAX_QUANTITY

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "offerings" / "sample"


def _write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_sample_books_still_read() -> None:
    assert read_application_book(SAMPLE / "applications.csv").shares.size > 0
    assert read_ioi_book(SAMPLE / "iois.csv").step_shares.size > 0


@pytest.mark.parametrize(("column", "value"), [("applicant", "HK\x01ID"), ("account", "C:B1:I 1"), ("participant", "B\u00e91")])
def test_application_file_identifier_outside_charset_is_refused(tmp_path: Path, column: str, value: str) -> None:
    row = {"applicant": "HKID-1", "account": "C:B1:I1", "participant": "B1", "shares": "1000"}
    row[column] = value
    path = _write(tmp_path, "apps.csv", "applicant,account,participant,shares", ["HKID-0,C:B1:I0,B1,500", ",".join(row.values())])
    book = read_application_book(path)
    assert book.applicant_values.to_pylist() == ["HKID-0"] and book.shares.tolist() == [500]  # type: ignore[attr-defined]
    (reject,) = book.rejects
    assert (reject.file, reject.line, reject.field, reject.reason) == ("apps.csv", 3, column, "bad_identifier")
    assert "lionrock.kernel.ids" in reject.message


def test_application_file_shares_above_max_quantity_is_refused(tmp_path: Path) -> None:
    rows = ["HKID-1,C:B1:I1,B1,1000", f"HKID-2,C:B1:I2,B1,{2**62}", "HKID-3,C:B1:I3,B1,99999999999999999999999"]
    book = read_application_book(_write(tmp_path, "apps.csv", "applicant,account,participant,shares", rows))
    assert book.shares.tolist() == [1000] and book.lines is not None and book.lines.tolist() == [2]
    assert [(r.line, r.reason) for r in book.rejects] == [(3, "above_max_quantity"), (4, "above_max_quantity")]
    assert f"above the largest quantity accepted, {MAX_QUANTITY:,}" in book.rejects[0].message


def test_ioi_file_bad_id_huge_price_and_huge_shares_are_refused(tmp_path: Path) -> None:
    header = "ioi_id,investor,account,participant,investor_type,origin,tier,independent,limit_price,shares"
    good = "I1,LIM1,C:B1:I1,B1,long_only,international,1,true,46.00,1000"
    other = "I2,LIM2,C:B1:I2,B1,long_only,international,1,true,46.00,500"
    assert read_ioi_book(_write(tmp_path, "ok.csv", header, [good])).step_shares.tolist() == [1000]
    cases = [
        (good.replace("I1,LIM1", "I\x011,LIM1"), "ioi_id", "bad_identifier", "identifier"),
        (good.replace("46.00", "1e400"), "limit_price", "off_grid_price", "not a price"),
        (good.replace("46.00", "99999999999999999999999999.00"), "limit_price", "off_grid_price", "above the largest price"),
        (good.replace(",1000", f",{2**62}"), "shares", "above_max_quantity", "above the largest quantity"),
    ]
    for i, (row, field, reason, message) in enumerate(cases):
        book = read_ioi_book(_write(tmp_path, f"bad{i}.csv", header, [row, other]))
        assert book.investor == ["LIM2"] and book.step_shares.tolist() == [500]
        (reject,) = book.rejects
        assert (reject.file, reject.line, reject.field, reject.reason) == (f"bad{i}.csv", 2, field, reason) and message in reject.message, (
            reject
        )
