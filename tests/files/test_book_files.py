"""Book files never surprise (issue 12 item 7): each bad row of an IOI or application file is
refused with its line and reason, a structural fault is one error naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lionrock.files.books import BookFileError, IoiFileRules, read_application_book, read_ioi_book
from lionrock.offering.books import application_share_faults

APPS_HEADER = "applicant,account,participant,shares"
IOI_HEADER = "ioi_id,investor,account,participant,investor_type,origin,tier,independent,limit_price,shares"
GOOD_IOI = "I1,INV1,C:B1:INV1,B1,long_only,international,1,true,46.00,1000"


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("HK2,C:P1:HK2,P1,1.5", "shares", "not_integer"),
        ("HK2,C:P1:HK2,P1,abc", "shares", "not_integer"),
        ("HK2,C:P1:HK2,P1,", "shares", "not_integer"),
        ("HK2,C:P1:HK2,P1", "-", "short_row"),
        ("HK2,C:P1:HK2,P1,100,7", "-", "long_row"),
        (",C:P1:HK2,P1,100", "applicant", "blank_id"),
        ("HK 2,C:P1:HK2,P1,100", "applicant", "bad_identifier"),
    ],
)
def test_application_row_that_cannot_be_an_application_is_refused_with_its_line(tmp_path: Path, row: str, field: str, reason: str) -> None:
    path = _write(tmp_path, "apps.csv", [APPS_HEADER, "HK1,C:P1:HK1,P1,100", row, "HK3,C:P1:HK3,P1,200"])
    book = read_application_book(path)
    assert book.shares.tolist() == [100, 200] and book.lines is not None and book.lines.tolist() == [2, 4]
    (reject,) = book.rejects
    assert (reject.file, reject.line, reject.field, reject.reason) == ("apps.csv", 3, field, reason), reject
    assert reject.message


def test_application_rows_the_rules_refuse_stay_in_the_book_for_the_allocation(tmp_path: Path) -> None:
    """Zero, negative, odd-lot and duplicate rows are well-formed: the allocation rejects them
    (and refunds them) as it does for the command path; the reader does not drop them."""
    rows = ["HK1,C:P1:HK1,P1,0", "HK2,C:P1:HK2,P1,-100", "HK3,C:P1:HK3,P1,150", "HK4,C:P1:HK4,P1,100", "HK4,C:P1:HK4,P1,100"]
    book = read_application_book(_write(tmp_path, "apps.csv", [APPS_HEADER, *rows]))
    assert book.shares.tolist() == [0, -100, 150, 100, 100] and not book.rejects


def test_application_share_count_with_a_plus_sign_is_a_whole_number(tmp_path: Path) -> None:
    """A "+" sign is a whole number (the share pattern allows it). pyarrow's int64 reading refuses
    it, so the column is read as text beside a value that is not a number; the cast there refused
    it too, and the whole file failed as "not a readable CSV file"."""
    rows = ["HK1,C:P1:HK1,P1,+100", "HK2,C:P1:HK2,P1,1.5", "HK3,C:P1:HK3,P1,+0200"]
    book = read_application_book(_write(tmp_path, "apps.csv", [APPS_HEADER, *rows]))
    assert book.shares.tolist() == [100, 200]
    assert [(r.line, r.reason) for r in book.rejects] == [(3, "not_integer")]


def test_blank_lines_and_short_rows_keep_line_numbers_exact(tmp_path: Path) -> None:
    rows = ["HK1,C:P1:HK1,P1,100", "", "HK2,C:P1:HK2", '"HK3",C:P1:HK3,P1,300', "HK4,C:P1:HK4,P1,x"]
    book = read_application_book(_write(tmp_path, "apps.csv", [APPS_HEADER, *rows]))
    assert book.lines is not None and book.lines.tolist() == [2, 5]
    assert [(r.line, r.reason) for r in book.rejects] == [(3, "blank_line"), (4, "short_row"), (6, "not_integer")]


def test_parquet_rows_are_judged_like_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "apps.parquet"
    pq.write_table(
        pa.table(
            {
                "applicant": ["HK1", "", "HK3"],
                "account": ["C:P1:HK1", "C:P1:HK2", "C:P1:HK3"],
                "participant": ["P1", "P1", "P1"],
                "shares": ["100", "200", "2.5"],
            }
        ),
        path,
    )
    book = read_application_book(path)
    assert book.shares.tolist() == [100]
    assert [(r.line, r.field, r.reason) for r in book.rejects] == [(3, "applicant", "blank_id"), (4, "shares", "not_integer")]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (("international", "offshore"), "origin", "unknown_origin"),
        ((",1,true", ",0,true"), "tier", "unknown_tier"),
        ((",1,true", ",4,true"), "tier", "unknown_tier"),
        ((",1,true", ",first,true"), "tier", "unknown_tier"),
        (("true", "maybe"), "independent", "not_boolean"),
        (("44.00", "44.0005"), "limit_price", "off_grid_price"),
        (("44.00", "-44"), "limit_price", "off_grid_price"),
        ((",500", ",0"), "shares", "non_positive"),
        ((",500", ",-5"), "shares", "non_positive"),
        ((",500", ",10.5"), "shares", "not_integer"),
        (("INV1,C", "CS1,C"), "investor", "cornerstone_in_book"),
    ],
)
def test_bad_ioi_row_refuses_its_whole_ioi_with_line_and_reason(tmp_path: Path, change: tuple[str, str], field: str, reason: str) -> None:
    bad_step = GOOD_IOI.replace("46.00,1000", "44.00,500").replace(*change)
    other = GOOD_IOI.replace("I1,INV1,C:B1:INV1", "I2,INV2,C:B1:INV2")
    first_step = GOOD_IOI.replace(",1000", ",900")
    if reason == "cornerstone_in_book":  # the investor is in every row of its IOI
        first_step = first_step.replace(*change)
    path = _write(tmp_path, "iois.csv", [IOI_HEADER, first_step, bad_step, other])
    book = read_ioi_book(path, rules=IoiFileRules(tier_count=3, cornerstones=frozenset({"CS1"})))
    assert book.investor == ["INV2"] and book.step_shares.tolist() == [1000] and book.first_seq.tolist() == [0]
    by_line = {(r.line, r.reason): r for r in book.rejects}
    assert (3, reason) in by_line and by_line[(3, reason)].field == field, book.rejects
    assert any(r.line == 2 for r in book.rejects)  # the IOI's other step is refused with it
    if reason != "cornerstone_in_book":
        assert (2, "ioi_refused") in by_line and "line 3" in by_line[(2, "ioi_refused")].message


def test_ioi_step_of_another_investor_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "iois.csv", [IOI_HEADER, GOOD_IOI, GOOD_IOI.replace("I1,INV1", "I1,INV9")])
    book = read_ioi_book(path)
    assert book.investors == 0 and [(r.line, r.reason) for r in book.rejects] == [(2, "ioi_refused"), (3, "ioi_investor_mismatch")]


@pytest.mark.parametrize(
    ("content", "line", "column", "words"),
    [
        (b"applicant,account,shares\nHK1,C:P1:HK1,100\n", 1, "participant", "missing column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", 1, "applicant", "missing column"),
        (b"applicant,account,participant,shares\nHK1,C:P1:HK1,P1,100\nHK2,C:P1:\xff\xfe,P1,100\n", 3, "account", "not UTF-8"),
    ],
)
def test_structural_fault_is_one_error_naming_file_line_and_column(
    tmp_path: Path, content: bytes, line: int, column: str, words: str
) -> None:
    path = tmp_path / "apps.csv"
    path.write_bytes(content)
    with pytest.raises(BookFileError) as info:
        read_application_book(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"apps.csv: line {line}, column {column}: ") and words in message, message


def test_application_share_faults_are_the_allocation_rules() -> None:
    """The rules the REST batch applies at the door: the ones `application_status` applies at close."""
    faults = application_share_faults([100, 0, -100, 150, 100_100, 100_000], board_lot=100, max_application_shares=100_000)
    assert [(i, reason) for i, reason, _ in faults] == [(1, "non_positive"), (2, "non_positive"), (3, "not_board_lots"), (4, "over_cap")]
    assert "PN18 para 3.1" in faults[-1][2]
