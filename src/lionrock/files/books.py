"""IOI and public application files (CSV or Parquet, columns in docs/offering.md) read into the
core's books (`lionrock.offering.books`: `IoiBook`, `ApplicationBook`).

A bad row is a `RowReject` with its line number and reason, left out of the book; a structural
fault (not CSV, a missing column, not UTF-8) is one `BookFileError` and nothing is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lionrock.kernel.errors import LionRockError, Reject
from lionrock.kernel.ids import IDENTIFIER_CHARACTERS, IDENTIFIER_MAX_LENGTH
from lionrock.kernel.price import parse_price
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering._codes import OfferingCode
from lionrock.offering.books import (
    APPLICATION_COLUMNS,
    IOI_COLUMNS,
    MAX_APPLICATIONS,
    MAX_IOI_STEPS,
    ApplicationBook,
    IoiBook,
    RowReject,
    arrow_column,
    content_digest,
    string_buffers,
)
from lionrock.offering.definition import ORIGINS

Progress = Callable[[str], None]


# ------------------------------------------------------------------------------------------------
# files: a bad row is a rejection with its line number and reason; a structural fault is one error
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IoiFileRules:
    """What the offering says about IOIs (the same checks as `OfferingContext` on `SubmitIoi`)."""

    tier_count: int = 0
    """Tiers are 1..tier_count (the placing's ``tier_weights``); 0: any tier >= 1."""
    cornerstones: frozenset[str] = frozenset()
    """Cornerstone investors, who take a fixed amount and may not be in the bookbuilding."""


class BookFileError(LionRockError, ValueError):
    """A structural fault of a book file (not CSV, missing column, not UTF-8): one line naming the
    file, the line and the column. Rows are never half-read: the whole file is refused."""

    def __init__(self, file: str, line: int, column: str, message: str) -> None:
        super().__init__(f"{file}: line {line}, column {column}: {message}")
        self.file, self.line, self.column = file, line, column


_ID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-"
_ID_BYTES = np.zeros(256, dtype=bool)
_ID_BYTES[np.frombuffer(_ID_ALPHABET, dtype=np.uint8)] = True
_FIRST_ID_BYTE = min(_ID_ALPHABET)  # "-": every byte below it (quotes, commas, line ends, spaces, controls) is not an id byte
_BELOW_FIRST_ID_BYTE = bytes(range(_FIRST_ID_BYTE))


def _scan_csv_bytes(data: bytes) -> tuple[int, bool]:
    """(newlines, low_bytes_only) of a CSV file in one pass: its newline count, and whether every
    byte that is not an identifier character is below "-" (`_bad_identifier_rows`'s fast test)."""
    other = data.translate(None, _ID_ALPHABET)  # one C loop; no lookup-table array over every byte
    return other.count(b"\n"), not other.translate(None, _BELOW_FIRST_ID_BYTE)


def _bad_identifier_rows(column: Any, *, allow_empty: bool = False, low_bytes_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a string column that are not kernel identifiers (`parse_identifier`'s charset and
    length), as (blank rows, other bad rows). One pass over the column's bytes with a lookup table,
    or one comparison (below): a regular expression over millions of values costs more than the
    allocation.

    ``low_bytes_only``: the file the column was read from holds no byte outside the identifier
    characters other than bytes below "-" (`_scan_csv_bytes`). A CSV value's bytes are bytes of the
    file (parsing only drops quotes and halves doubled ones), so a value's bytes that are not
    identifier characters are then exactly its bytes below "-": one comparison, not a lookup."""
    offsets, raw = string_buffers(column)
    lengths = np.diff(offsets)
    raw = raw[int(offsets[0]) : int(offsets[-1])]
    bad_bytes = np.flatnonzero(raw < _FIRST_ID_BYTE if low_bytes_only else ~_ID_BYTES[raw])
    bad = lengths > IDENTIFIER_MAX_LENGTH
    if len(bad_bytes):
        bad[np.unique(np.searchsorted(offsets, bad_bytes + int(offsets[0]), side="right") - 1)] = True
    blank = lengths == 0 if not allow_empty else np.zeros(len(lengths), dtype=bool)
    return np.flatnonzero(blank), np.flatnonzero(bad & ~blank)


def _csv_record_lines(path: Path) -> list[tuple[int, int]]:
    """(first line, number of fields) of every record after the header, by Python's csv module:
    the slow exact path, taken only when a file has malformed rows or values spanning lines
    (pyarrow does not say where a skipped row was)."""
    import csv

    out: list[tuple[int, int]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        line = reader.line_num + 1
        for record in reader:
            out.append((line, len(record)))
            line = reader.line_num + 1
    return out


def _utf8_fault(path: Path, data: bytes, header: list[str]) -> BookFileError:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        field = data.count(b",", line_start, exc.start)
        column = header[field] if field < len(header) else f"#{field + 1}"
        return BookFileError(path.name, data.count(b"\n", 0, exc.start) + 1, column, "not UTF-8 text")
    return BookFileError(path.name, 1, "-", "not a readable CSV file")


def _read_csv_table(path: Path, columns: Sequence[str], types: dict[str, Any]) -> tuple[Any, np.ndarray, list[RowReject], bool]:
    """The rows of a CSV file that have the header's number of fields, their line numbers, a
    rejection for each other row (short, long or blank), and whether the file's bytes are
    identifier characters or below "-" only (`_scan_csv_bytes`)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = path.read_bytes()
    header_end = data.find(b"\n")
    header = [
        h.strip().strip('"') for h in data[: header_end if header_end >= 0 else len(data)].decode("utf-8", "replace").strip("\r").split(",")
    ]
    missing = [c for c in columns if c not in header]
    if missing:
        raise BookFileError(path.name, 1, missing[0], f"missing column; expected the columns {', '.join(columns)} (docs/offering.md)")
    skipped: list[str] = []

    def skip(row: Any) -> str:
        skipped.append(row.text)
        return "skip"

    parse = pacsv.ParseOptions(invalid_row_handler=skip, newlines_in_values=True)

    def read(column_types: dict[str, Any]) -> Any:
        skipped.clear()
        return pacsv.read_csv(
            pa.py_buffer(data),
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=False, include_columns=list(columns)),
        )

    with ThreadPoolExecutor(max_workers=1) as pool:  # the scan holds the GIL, pyarrow's parse does not
        scan = pool.submit(_scan_csv_bytes, data)
        try:
            try:
                table = read(types)
            except pa.ArrowInvalid:  # a value that is not of its column's type: read as text, judge row by row
                table = read({k: pa.string() for k in types})
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise _utf8_fault(path, data, header) from exc
            raise BookFileError(path.name, 1, "-", f"not a readable CSV file: {exc}") from exc
        newlines, low_bytes_only = scan.result()
    newlines += 0 if data.endswith(b"\n") else 1
    if not skipped and newlines == table.num_rows + 1:
        return table, np.arange(2, table.num_rows + 2, dtype=np.int64), [], low_bytes_only
    records = _csv_record_lines(path)
    good = [line for line, fields in records if fields == len(header)]
    if len(good) != table.num_rows:
        raise BookFileError(path.name, 1, "-", "the rows could not be matched to lines (unbalanced quotes?)")
    rejects = [
        RowReject(
            path.name,
            line,
            "-",
            "short_row" if fields < len(header) else "long_row",
            f"{fields} field(s), expected {len(header)} ({', '.join(header)})",
        )
        for line, fields in records
        if 0 < fields != len(header)
    ]
    rejects += [RowReject(path.name, line, "-", "blank_line", "a blank line") for line, fields in records if not fields]
    return table, np.asarray(good, dtype=np.int64), rejects, low_bytes_only


def _system_memory_pool() -> None:
    """Make the C allocator pyarrow's default pool, once per process. pyarrow's default, mimalloc,
    takes fresh memory from the kernel on a cold process at a high system-time cost: measured on the
    2M-application book, a first read took 0.7-1.3 s on mimalloc against 0.49 s on the system pool,
    later reads 0.42-0.51 s on either. A ``lionrock allocate`` is one cold process."""
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


def _read_book_table(path: Path, columns: Sequence[str], types: dict[str, Any]) -> tuple[Any, np.ndarray, list[RowReject], bool]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _system_memory_pool()

    if path.suffix.lower() not in (".parquet", ".pq"):
        return _read_csv_table(path, columns, types)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BookFileError(path.name, 1, "-", f"not a readable Parquet file: {exc}") from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise BookFileError(path.name, 1, missing[0], f"missing column; expected the columns {', '.join(columns)} (docs/offering.md)")
    table = table.select(list(columns))
    for name, typ in types.items():
        if table.schema.field(name).type != typ:
            target = typ if pa.types.is_string(typ) else pa.string()
            try:
                column = table.column(name).cast(target)
                table = table.set_column(table.column_names.index(name), name, column.fill_null("") if target == pa.string() else column)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise BookFileError(path.name, 1, name, f"expected {typ}: {exc}") from exc
    return table, np.arange(2, table.num_rows + 2, dtype=np.int64), [], False


def _whole_numbers(column: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, rows that are not whole numbers, rows above MAX_QUANTITY) of a share column read
    as int64 or, when some value was not an integer, as text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_integer(arr.type):
        missing = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))
        values = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return values, missing, np.flatnonzero(values > MAX_QUANTITY)
    text = pc.utf8_trim_whitespace(arr.cast(pa.string()).fill_null(""))
    digits = pc.match_substring_regex(text, r"^[+-]?[0-9]+$").to_numpy(zero_copy_only=False)
    long = pc.greater(pc.utf8_length(pc.utf8_ltrim(text, "+-0")), 18).to_numpy(zero_copy_only=False)
    ok = digits & ~long
    values = np.zeros(len(arr), dtype=np.int64)
    if ok.any():
        signed = pc.utf8_ltrim(pc.filter(text, pa.array(ok)), "+")  # "+100": the pattern allows the sign, the cast does not
        values[ok] = pc.cast(signed, pa.int64()).to_numpy(zero_copy_only=False)
    return values, np.flatnonzero(~digits), np.flatnonzero((digits & long) | (values > MAX_QUANTITY))


def _share_rejects(path: Path, column: Any, lines: np.ndarray, field: str) -> tuple[np.ndarray, list[RowReject]]:
    values, not_integer, too_big = _whole_numbers(column)
    rejects = [
        RowReject(
            path.name,
            int(lines[i]),
            field,
            "not_integer",
            f"{column[int(i)].as_py()!r} is not a whole number of shares" if column[int(i)].as_py() else "the share count is blank",
        )
        for i in not_integer
    ]
    rejects += [
        RowReject(
            path.name,
            int(lines[i]),
            field,
            "above_max_quantity",
            f"{column[int(i)].as_py()} shares is above the largest quantity accepted, {MAX_QUANTITY:,}",
        )
        for i in too_big
    ]
    return values, rejects


def _identifier_rejects(
    path: Path, columns: dict[str, Any], lines: np.ndarray, optional: Sequence[str] = (), *, low_bytes_only: bool = False
) -> list[RowReject]:
    rejects: list[RowReject] = []
    for name, column in columns.items():
        blank, bad = _bad_identifier_rows(column, allow_empty=name in optional, low_bytes_only=low_bytes_only)
        rejects += [RowReject(path.name, int(lines[i]), name, "blank_id", f"{name} is blank") for i in blank]
        rejects += [
            RowReject(
                path.name,
                int(lines[i]),
                name,
                "bad_identifier",
                f"{column[int(i)].as_py()!r} is not an identifier: expected 1 to {IDENTIFIER_MAX_LENGTH} characters of "
                f"{IDENTIFIER_CHARACTERS} (lionrock.kernel.ids)",
            )
            for i in bad
        ]
    return rejects


def read_application_book(path: str | Path, progress: Progress | None = None) -> ApplicationBook:
    """Read public applications (CSV or Parquet; columns in docs/offering.md).

    A row that cannot be an application (a short row, a share count that is not a whole number or
    above `MAX_QUANTITY`, a blank or malformed id) is left out and listed in ``rejects`` with its
    line; a well-formed row the rules refuse (zero or negative shares, odd lots, over the cap, a
    multiple application) stays in the book, so the allocation rejects it and refunds its money as
    it does for the command path. Raises `BookFileError` for a structural fault."""
    import pyarrow as pa

    p = Path(path)
    types = {"applicant": pa.string(), "account": pa.string(), "participant": pa.string(), "shares": pa.int64()}
    table, lines, rejects, low_bytes_only = _read_book_table(p, APPLICATION_COLUMNS, types)
    if table.num_rows > MAX_APPLICATIONS:
        raise Reject(OfferingCode.LIMIT_EXCEEDED, p.name, f"{table.num_rows:,} applications; the limit is {MAX_APPLICATIONS:,}")
    shares, share_rejects = _share_rejects(p, table.column("shares"), lines, "shares")
    ids = {k: table.column(k).combine_chunks() for k in ("applicant", "account", "participant")}  # once, for every pass below
    rejects += share_rejects + _identifier_rejects(p, ids, lines, low_bytes_only=low_bytes_only)
    if rejects:
        keep = ~np.isin(lines, np.asarray(sorted({r.line for r in rejects}), dtype=np.int64))
        ids, shares, lines = {k: v.filter(pa.array(keep)) for k, v in ids.items()}, shares[keep], lines[keep]
    if progress:
        progress(f"read {len(shares):,} applications from {p.name}" + (f"; {len(rejects):,} rows refused" if rejects else ""))
    shares = np.ascontiguousarray(shares, dtype=np.int64)
    columns = list(ids.values())
    with ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow, numpy and hashlib release the GIL
        # the two long jobs first, then the digest and the short one: both threads end about together
        accounts, applicants = pool.submit(_group_codes, columns[1]), pool.submit(_group_codes, columns[0])
        digest = pool.submit(lambda: content_digest(shares, [arrow_column(c) for c in columns]))
        participants = pool.submit(_dict_codes, columns[2])
        (a, av), (c, cv), (q, qv) = applicants.result(), accounts.result(), participants.result()
        return ApplicationBook(
            a, c, q, shares, av, cv, qv.to_pylist(), digest.result(), lines, tuple(sorted(rejects, key=lambda r: r.line))
        )


def _dict_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes and the dictionary, kept as a pyarrow string array (converting millions of strings to
    Python objects would cost more than the whole allocation). For a column of few distinct values
    (participants)."""
    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    encoded = arr.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), encoded.dictionary


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_LOW_BYTES_MASK = np.asarray([(1 << (8 * valid)) - 1 for valid in range(9)], dtype=np.uint64)
"""The mask that keeps the low ``valid`` bytes of a little-endian 8-byte word, for valid 0..8."""


def _string_hashes(arr: Any) -> np.ndarray:
    """A 64-bit hash of each value of a string array (its length and its bytes, eight at a time,
    mixed as splitmix64 does), computed over the array's buffers with numpy. Equal strings have
    equal hashes; unequal ones almost never do, and `_group_codes` does not rely on it. When every
    value has the same length (fixed-format ids), a value's k-th word is a strided view of the
    bytes, not a gather: the same hashes, cheaper."""
    offsets, raw = string_buffers(arr)
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    longest, shortest = (int(lengths.max()), int(lengths.min())) if n else (0, 0)
    padded = np.zeros(len(raw) + longest + 8, dtype=np.uint8)  # every 8-byte read of a value stays inside
    padded[: len(raw)] = raw
    words = np.ndarray(shape=(len(raw) + longest + 1,), dtype="<u8", buffer=padded, strides=(1,))  # a word at every byte
    h = lengths.astype(np.uint64) * _MIX[0]
    at = offsets[:-1].astype(np.int64)
    for k in range(0, longest, 8):
        if shortest == longest:
            word = words[int(offsets[0]) + k :: longest][:n]
            if k + 8 > longest:
                word = word & _LOW_BYTES_MASK[longest - k]
        else:
            word = words[at]
            at += 8
            if k + 8 > shortest:  # some value ends inside this word: its bytes past the end are masked
                word &= _LOW_BYTES_MASK[np.clip(lengths - k, 0, 8)]
        h ^= word
        h *= _MIX[1]
        h ^= h >> np.uint64(31)
    h *= _MIX[2]
    h ^= h >> np.uint64(29)
    return h


def _rows_sharing_a_hash(hashes: np.ndarray) -> np.ndarray:
    """The rows (ascending) whose hash another row has too. One sort of the hashes (numpy's SIMD
    sort: about 16 ms for 2M) finds the shared values; a row is then one of them if its top bits
    hit a small table of the shared values' top bits and, for those few, its whole hash is found.
    A bucket count over all rows instead costs a 64 MB counter array, and on a cold process the
    memory it touches costs more than the sort."""
    ordered = np.sort(hashes)
    repeated = ordered[1:] == ordered[:-1]
    if not repeated.any():
        return np.zeros(0, dtype=np.intp)
    shared = np.unique(ordered[1:][repeated])
    shift = np.uint64(64 - min((8 * len(shared)).bit_length(), 24))  # a table 8x the shared values: few false hits
    table = np.zeros(1 << (64 - int(shift)), dtype=bool)
    table[(shared >> shift).astype(np.intp)] = True
    candidates = np.flatnonzero(table[(hashes >> shift).astype(np.intp)])
    at = np.minimum(np.searchsorted(shared, hashes[candidates]), len(shared) - 1)
    return candidates[shared[at] == hashes[candidates]]


def _group_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes that group equal values of a column whose values are nearly all distinct (applicant
    and account ids), and the strings they index: the column itself, so no hash table over
    millions of strings is built (dictionary-encoding two 2M-value columns cost about 1 s of the
    2M-application benchmark). Each row's code is its own row, or for a repeated value the row of
    its first occurrence, so the strings at codes no row uses stay in the array unread.

    Exact whatever the hash: rows whose 64-bit hash occurs once hold a value that occurs once;
    only the rows sharing a hash (the repeated values, and any collision) are compared as strings.
    A column with many repeats (more than one row in eight) is dictionary-encoded instead."""
    import pyarrow as pa

    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    n = len(arr)
    codes = np.arange(n, dtype=np.int32)
    if n < 2:
        return codes, arr
    rows = _rows_sharing_a_hash(_string_hashes(arr))
    if not len(rows):
        return codes, arr
    if len(rows) * 8 > n:
        return _dict_codes(arr)
    first: dict[str, int] = {}
    for row, value in zip(rows.tolist(), arr.take(pa.array(rows)).to_pylist(), strict=True):
        codes[row] = first.setdefault(value, row)
    return codes, arr


_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


def _column_faults(values: list[Any], judge: Callable[[str], str | None]) -> list[tuple[int, str]]:
    """(row, message) for each value ``judge`` faults; each distinct value is judged once (an IOI
    file repeats a few origins, tiers and prices over thousands of rows)."""
    verdicts: dict[Any, str | None] = {}
    out: list[tuple[int, str]] = []
    for i, value in enumerate(values):
        if value not in verdicts:
            verdicts[value] = judge(value)
        message = verdicts[value]
        if message is not None:
            out.append((i, message))
    return out


def _limit_ticks(text: object) -> int:
    t = str(text).strip()
    return 0 if t in ("", "strike", "0") else parse_price(t)


def _ioi_checks(rules: IoiFileRules) -> list[tuple[str, str, Callable[[str], str | None]]]:
    """(column, reason, judge) for every IOI column check other than ids and shares, the same
    rules as `OfferingContext` applies to `SubmitIoi` (origin, tier, a cornerstone in the book)."""
    top = f"1 to {rules.tier_count} (the placing's tier_weights)" if rules.tier_count else "1 or more"

    def origin(v: str) -> str | None:
        return None if v in ORIGINS else f"{v!r}: expected one of {', '.join(ORIGINS)}"

    def tier(v: str) -> str | None:
        t = str(v).strip()
        ok = t.isdigit() and 1 <= int(t) <= (rules.tier_count or 10**9)
        return None if ok else f"{v!r}: expected a whole number {top}"

    def independent(v: str) -> str | None:
        return None if str(v).strip().lower() in _TRUE | _FALSE else f"{v!r}: expected true or false"

    def limit(v: str) -> str | None:
        try:
            _limit_ticks(v)
        except ValueError as exc:
            return f"{exc} (prices are ticks of 0.001, lionrock.kernel.price)"
        return None

    def cornerstone(v: str) -> str | None:
        return f"{v!r} is a cornerstone investor (fixed amount, not in the bookbuilding)" if v in rules.cornerstones else None

    return [
        ("origin", "unknown_origin", origin),
        ("tier", "unknown_tier", tier),
        ("independent", "not_boolean", independent),
        ("limit_price", "off_grid_price", limit),
        ("investor", "cornerstone_in_book", cornerstone),
    ]


def _ioi_rejects(p: Path, rows: dict[str, list[Any]], lines: np.ndarray, rules: IoiFileRules, first: list[RowReject]) -> list[RowReject]:
    """Every row fault, then every other row of an IOI with a fault: an IOI is taken or refused
    whole, as `SubmitIoi` is (its steps are one indication)."""
    line_of = lines.tolist()
    rejects = list(first)
    for column, reason, judge in _ioi_checks(rules):
        rejects += [RowReject(p.name, line_of[i], column, reason, message) for i, message in _column_faults(rows[column], judge)]
    investor_of: dict[str, str] = {}
    for i, (ioi_id, investor) in enumerate(zip(rows["ioi_id"], rows["investor"], strict=True)):
        seen = investor_of.setdefault(ioi_id, investor)
        if seen != investor:
            rejects.append(
                RowReject(
                    p.name,
                    line_of[i],
                    "investor",
                    "ioi_investor_mismatch",
                    f"IOI {ioi_id!r} is from {seen!r} on an earlier line, {investor!r} here",
                )
            )
    if not rejects:
        return rejects
    bad_lines = {r.line: r for r in rejects}
    bad_iois = {rows["ioi_id"][i]: bad_lines[line] for i, line in enumerate(line_of) if line in bad_lines}
    for i, line in enumerate(line_of):
        cause = bad_iois.get(rows["ioi_id"][i])
        if cause is not None and line not in bad_lines:
            rejects.append(
                RowReject(
                    p.name, line, "ioi_id", "ioi_refused", f"IOI {rows['ioi_id'][i]!r} is refused whole: line {cause.line} ({cause.reason})"
                )
            )
    return rejects


def read_ioi_book(path: str | Path, progress: Progress | None = None, rules: IoiFileRules | None = None) -> IoiBook:
    """Read IOIs, one row per demand step (CSV or Parquet; columns in docs/offering.md).

    A bad row (short, a bad id, shares not a positive whole number, an unknown origin or tier, a
    price off the 0.001 grid, a cornerstone investor) is listed in ``rejects`` with its line, and
    its whole IOI is left out, as the command path refuses a bad `SubmitIoi`. Raises
    `BookFileError` for a structural fault."""
    import pyarrow as pa

    p, rules = Path(path), rules or IoiFileRules()
    types = {k: pa.string() for k in IOI_COLUMNS} | {"shares": pa.int64()}
    table, lines, rejects, low_bytes_only = _read_book_table(p, IOI_COLUMNS, types)
    if table.num_rows > MAX_IOI_STEPS:
        raise Reject(OfferingCode.LIMIT_EXCEEDED, p.name, f"{table.num_rows:,} IOI steps; the limit is {MAX_IOI_STEPS:,}")
    shares, share_rejects = _share_rejects(p, table.column("shares"), lines, "shares")
    ids = {k: table.column(k) for k in ("ioi_id", "investor", "account", "participant")}
    rejects += share_rejects + _identifier_rejects(p, ids, lines, optional=("participant",), low_bytes_only=low_bytes_only)
    unreadable = {r.line for r in share_rejects}
    rejects += [
        RowReject(p.name, int(lines[i]), "shares", "non_positive", f"{int(shares[i])} shares: expected a positive number of shares")
        for i in np.flatnonzero(shares <= 0)
        if int(lines[i]) not in unreadable
    ]
    rows = table.drop_columns(["shares"]).to_pydict()
    rejects = _ioi_rejects(p, rows, lines, rules, rejects)
    refused = np.isin(lines, np.asarray(sorted({r.line for r in rejects}), dtype=np.int64))
    book = _ioi_book_from_rows(rows, np.flatnonzero(~refused), shares, tuple(sorted(rejects, key=lambda r: (r.line, r.field))))
    if progress:
        progress(
            f"read {int((~refused).sum()):,} IOI steps from {book.investors:,} investors in {p.name}"
            + (f"; {int(refused.sum()):,} rows refused" if rejects else "")
        )
    return book


def _ioi_book_from_rows(rows: dict[str, list[Any]], keep: np.ndarray, shares: np.ndarray, rejects: tuple[RowReject, ...]) -> IoiBook:
    investors: dict[str, int] = {}
    inv_rows: list[int] = []
    step_investor = np.empty(len(keep), dtype=np.int32)
    limits = np.empty(len(keep), dtype=np.int64)
    ticks: dict[str, int] = {}
    for k, i in enumerate(keep.tolist()):
        j = investors.get(rows["investor"][i])
        if j is None:
            j = investors[rows["investor"][i]] = len(investors)
            inv_rows.append(i)
        step_investor[k] = j
        text = rows["limit_price"][i]
        limits[k] = ticks[text] if text in ticks else ticks.setdefault(text, _limit_ticks(text))
    pick = lambda key: [rows[key][i] for i in inv_rows]  # noqa: E731
    order = {i: k for k, i in enumerate(keep.tolist())}
    return IoiBook(
        step_investor=step_investor,
        step_limit=limits,
        step_shares=np.ascontiguousarray(shares[keep], dtype=np.int64),
        investor=pick("investor"),
        account=pick("account"),
        participant=pick("participant"),
        investor_type=pick("investor_type"),
        origin=pick("origin"),
        tier=np.asarray([int(str(t).strip()) for t in pick("tier")], dtype=np.int32),
        independent=np.asarray([str(v).strip().lower() in _TRUE for v in pick("independent")], dtype=bool),
        first_seq=np.asarray([order[i] for i in inv_rows], dtype=np.int64),
        rejects=rejects,
    )


__all__ = [
    "BookFileError",
    "IoiFileRules",
    "Progress",
    "read_application_book",
    "read_ioi_book",
]
