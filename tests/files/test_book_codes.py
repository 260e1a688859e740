"""The application reader's codes group equal applicant and account ids exactly, whatever the hash
(`lionrock.files.books._group_codes`): the same partition of the rows as dictionary-encoding, with
the strings each code stands for, when ids repeat, collide or are nearly all distinct."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lionrock.files import books as file_books
from lionrock.files.books import read_application_book


def _partition(codes: np.ndarray) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for row, code in enumerate(codes.tolist()):
        groups.setdefault(code, []).append(row)
    return sorted(groups.values())


def _check(values: list[str]) -> None:
    column = pa.array(values, pa.string())
    codes, strings = file_books._group_codes(column)
    reference, _ = file_books._dict_codes(column)
    assert codes.dtype == np.int32 and len(codes) == len(values)
    assert _partition(codes) == _partition(reference)
    assert strings.take(pa.array(codes, pa.int32())).to_pylist() == values


@pytest.mark.parametrize("seed", range(20))
def test_group_codes_partition_equals_dictionary_encoding(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    alphabet = list("AZaz09_.:@-")
    pool = ["".join(rng.choice(alphabet, size=int(rng.integers(1, 65)))) for _ in range(max(n, 1))]
    repeats = rng.random(n) < 0.05  # a few repeated ids, like multiple applications
    values = [pool[int(rng.integers(0, max(i, 1)))] if repeats[i] else pool[i] for i in range(n)]
    _check(values)


def test_group_codes_is_exact_when_distinct_ids_share_a_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows with one hash are compared as strings: distinct ids in them keep distinct codes."""
    values = [f"HK{i:06d}" for i in range(100)] + ["HK000003", "HK000050"]

    def colliding(arr: pa.Array) -> np.ndarray:
        h = np.arange(len(arr), dtype=np.uint64)
        h[:6] = 7  # six distinct ids share a hash
        h[100], h[101] = h[3], h[50]
        return h

    monkeypatch.setattr(file_books, "_string_hashes", colliding)
    _check(values)


def test_group_codes_with_many_repeats_falls_back_to_the_dictionary() -> None:
    _check([f"P{i % 7}" for i in range(200)])


def test_string_hashes_depend_on_every_byte_and_the_length() -> None:
    values = ["", "a", "a\x00"[:1], "ab", "abcdefgh", "abcdefghi", "abcdefgi", "x" * 64, "x" * 63 + "y", "é"]
    h = file_books._string_hashes(pa.array(values, pa.string()))
    assert h[1] == h[2]  # the same string
    assert len(set(h.tolist())) == len(set(values))


def _reference_hashes(values: list[str]) -> list[int]:
    """`_string_hashes` one value at a time in Python integers: a round per 8 bytes of the
    column's longest value, the bytes past a value's end taken as zeros."""
    m0, m1, m2 = (int(m) for m in file_books._MIX)
    longest = max((len(v.encode()) for v in values), default=0)
    out = []
    for value in values:
        data = value.encode()
        h = len(data) * m0 % 2**64
        for k in range(0, longest, 8):
            h ^= int.from_bytes(data[k : k + 8].ljust(8, b"\0"), "little")
            h = h * m1 % 2**64
            h ^= h >> 31
        h = h * m2 % 2**64
        out.append(h ^ (h >> 29))
    return out


@pytest.mark.parametrize("length", range(0, 26))
def test_string_hashes_equal_the_reference_for_fixed_and_mixed_widths(length: int) -> None:
    """Equal-length columns take a strided view of the bytes, others a gather: the same hashes."""
    rng = np.random.default_rng(length)
    fixed = ["".join(rng.choice(list("AZaz09_.:@-"), size=length)) for _ in range(40)]
    mixed = [*fixed, "x" * int(rng.integers(0, 30))]
    assert file_books._string_hashes(pa.array(fixed, pa.string())).tolist() == _reference_hashes(fixed)
    assert file_books._string_hashes(pa.array(mixed, pa.string())).tolist() == _reference_hashes(mixed)
    assert file_books._string_hashes(pa.array(["q", *fixed], pa.string())[1:]).tolist() == _reference_hashes(fixed)  # an offset slice


def test_read_application_book_codes_group_a_repeated_applicant(tmp_path: Path) -> None:
    rows = [f"HK{i},C:P1:HK{i},P{i % 3},100" for i in range(50)] + ["HK7,C:P1:HK7x,P1,200"]
    path = tmp_path / "apps.csv"
    path.write_text("applicant,account,participant,shares\n" + "\n".join(rows) + "\n", encoding="utf-8")
    book = read_application_book(path)
    counts = np.bincount(book.applicant, minlength=len(book.applicant_values))
    assert counts[book.applicant].tolist() == [2 if i in (7, 50) else 1 for i in range(51)]
    assert len(set(book.account.tolist())) == 51
    assert [str(book.applicant_values[int(c)]) for c in book.applicant] == [f"HK{i}" for i in range(50)] + ["HK7"]


@pytest.mark.parametrize("seed", range(12))
def test_rows_sharing_a_hash_equals_counting_every_hash(seed: int) -> None:
    """The sort-and-table search finds exactly the rows whose hash occurs twice or more: hashes
    drawn from a narrow range (many repeats, shared top bits) and a wide one (few)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    top = 2**64 - 1 if seed % 2 else int(rng.integers(1, 4 * max(n, 1)))
    hashes = rng.integers(0, top, size=n, dtype=np.uint64, endpoint=True)
    if seed % 3 == 0 and n:
        hashes[rng.integers(0, n, size=n // 10)] = hashes[rng.integers(0, n, size=n // 10)]  # planted repeats
    values, counts = np.unique(hashes, return_counts=True)
    expected = np.flatnonzero(np.isin(hashes, values[counts > 1]))
    assert file_books._rows_sharing_a_hash(hashes).tolist() == expected.tolist()
