"""The application reader against a naive reference on seeded random and hostile CSV files
(`lionrock.files.books.read_application_book`): the same refused lines, fields and reasons, the
same rows kept with the same shares and ids, codes that group exactly the equal ids, and the same
content digest as the engine's book built from those rows.

The reference reads with Python's csv module and judges each row with the kernel's own parsers
(`parse_identifier`, whole numbers up to `MAX_QUANTITY`), one row at a time. The files mix good
rows with repeated ids, ids with bytes outside the charset (spaces, quotes, commas, control bytes,
non-ASCII), blank and 64/65-character ids, share counts that are not whole numbers or too large,
and CRLF line ends; half the files also hold short, long and blank rows and line breaks inside
quoted values (the reader's exact path by Python's csv module), the others none (its fast path).
Half the files hold no byte outside the id charset other than bytes below "-", so the reader's
one-comparison identifier test is checked against the reference; the others take the lookup table."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest

from lionrock.files import books as file_books
from lionrock.files.books import read_application_book
from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering.books import content_digest, list_column

COLUMNS = ("applicant", "account", "participant", "shares")
ID_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-"
LOW_HOSTILE = [" ", "\t", '"', ",", "\x01", "+", "!", "#", "'", "*"]  # all below "-"
HIGH_HOSTILE = ["/", "é", "中", "[", "~", "\x7f", ";", "`", "\\"]
SHARE_TEXTS = [
    "0",
    "-100",
    "1.5",
    "abc",
    "",
    " 300",
    "400 ",
    "0000123",
    "+100",
    "+100X",
    "99999999999999999999",
    "-99999999999999999999",
    str(MAX_QUANTITY),
    str(MAX_QUANTITY + 1),
    "1e3",
]


def _identifier(rng: np.random.Generator, pool: list[str], hostile: list[str]) -> str:
    kind = rng.random()
    if kind < 0.75:
        return pool[int(rng.integers(0, len(pool)))]  # repeats: multiple applications, shared accounts
    if kind < 0.8:
        return ""
    if kind < 0.85:
        return "".join(rng.choice(list(ID_CHARACTERS), size=int(rng.choice([64, 65]))))
    text = list("".join(rng.choice(list(ID_CHARACTERS), size=int(rng.integers(1, 12)))))
    text.insert(int(rng.integers(0, len(text) + 1)), str(rng.choice(hostile)))
    return "".join(text)


def _shares(rng: np.random.Generator) -> str:
    if rng.random() < 0.85:
        return str(int(rng.integers(1, 60)) * 100)
    return str(rng.choice(SHARE_TEXTS))


def _write_file(path: Path, seed: int) -> bool:
    """A seeded file; returns whether only bytes below "-" are outside the id charset."""
    rng = np.random.default_rng(seed)
    low_only, lines_apart = seed % 2 == 0, seed % 4 < 2
    hostile = (LOW_HOSTILE if low_only else LOW_HOSTILE + HIGH_HOSTILE) + (["\n", "\r\n"] if lines_apart else [])
    pools = {
        "applicant": [f"HK{i:05d}" for i in range(int(rng.integers(20, 400)))],
        "account": [f"C:P{i % 7}:A{i}" for i in range(int(rng.integers(20, 400)))],
        "participant": [f"P{i:03d}" for i in range(int(rng.integers(1, 12)))],
    }
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if rng.random() < 0.5 else csv.QUOTE_MINIMAL
    writer = csv.writer(out, quoting=quoting, lineterminator="\r\n" if rng.random() < 0.3 else "\n")
    writer.writerow(COLUMNS)
    structural = 0.06 if lines_apart else 0.0  # other files: every line one row (the reader's fast path)
    for _ in range(int(rng.integers(0, 300))):
        row = [_identifier(rng, pools[c], hostile) for c in COLUMNS[:3]] + [_shares(rng)]
        shape = rng.random() if structural else 1.0
        if shape < 0.02:
            row = row[: int(rng.integers(1, 4))]  # short
        elif shape < 0.04:
            row = [*row, "extra"]  # long
        elif shape < 0.06:
            row = []  # a blank line
        writer.writerow(row)
    if not low_only:  # at least one byte the one-comparison test cannot judge
        writer.writerow([f"HK{HIGH_HOSTILE[seed % len(HIGH_HOSTILE)]}1", "C:P1:A1", "P001", "100"])
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return low_only


def _share_verdict(text: str) -> tuple[int | None, str | None]:
    t = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+", t) is None:
        return None, "not_integer"
    if len(t.lstrip("+-0")) > 18 or int(t) > MAX_QUANTITY:
        return None, "above_max_quantity"
    return int(t), None


def _reference(path: Path) -> tuple[list[tuple[int, str, str]], list[tuple[int, int, str, str, str]]]:
    """(rejects as (line, field, reason), kept rows as (line, shares, applicant, account, participant))."""
    rejects: list[tuple[int, str, str]] = []
    kept: list[tuple[int, int, str, str, str]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        line = reader.line_num + 1
        for record in reader:
            row_rejects: list[tuple[int, str, str]] = []
            if not record:
                row_rejects.append((line, "-", "blank_line"))
            elif len(record) != len(header):
                row_rejects.append((line, "-", "short_row" if len(record) < len(header) else "long_row"))
            else:
                values = dict(zip(header, record, strict=True))
                shares, reason = _share_verdict(values["shares"])
                if reason:
                    row_rejects.append((line, "shares", reason))
                for column in COLUMNS[:3]:
                    try:
                        parse_identifier(values[column], column)
                    except ValueError:
                        row_rejects.append((line, column, "blank_id" if values[column] == "" else "bad_identifier"))
                if not row_rejects:
                    assert shares is not None
                    kept.append((line, shares, values["applicant"], values["account"], values["participant"]))
            rejects += row_rejects
            line = reader.line_num + 1
    return rejects, kept


def _strings(values: object, codes: np.ndarray) -> list[str]:
    return [str(values[int(c)]) for c in codes]  # type: ignore[index]


@pytest.mark.parametrize("seed", range(40))
def test_application_reader_matches_the_reference_on_random_and_hostile_files(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "applications.csv"
    low_only = _write_file(path, seed)
    assert file_books._scan_csv_bytes(path.read_bytes())[1] == low_only
    expected_rejects, kept = _reference(path)
    book = read_application_book(path)
    assert [(r.line, r.field, r.reason) for r in book.rejects] == expected_rejects
    assert all(r.file == path.name and r.message for r in book.rejects)
    assert book.lines is not None and book.lines.tolist() == [k[0] for k in kept]
    assert book.shares.tolist() == [k[1] for k in kept]
    columns = []
    for index, (codes, values) in enumerate(
        ((book.applicant, book.applicant_values), (book.account, book.account_values), (book.participant, book.participant_values))
    ):
        strings = [k[2 + index] for k in kept]
        assert _strings(values, codes) == strings
        assert len(set(codes.tolist())) == len(set(strings)) == len(set(zip(codes.tolist(), strings, strict=True)))  # codes group equal ids
        columns.append(list_column(strings))
    assert book.digest == content_digest(np.asarray([k[1] for k in kept], dtype=np.int64), columns)
