"""The bookbuilding book (IOIs) and the public application book, as columns of numpy arrays.

Both are built either from engine messages (`ioi_book_from_iois`, `application_book_from_batches`)
or from files (`read_ioi_book`, `read_application_book`: CSV or Parquet through pyarrow). Strings
(identities, accounts, participants) are dictionary-encoded: the arrays hold int32 codes and the
``*_values`` lists hold the strings. Codes only group rows; nothing depends on their order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lionrock.kernel.errors import Reject
from lionrock.kernel.ids import IDENTIFIER_CHARACTERS, IDENTIFIER_MAX_LENGTH
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import ApplicationBatch, Ioi

Progress = Callable[[str], None]

APPLICATION_COLUMNS = ("applicant", "account", "participant", "shares")
IOI_COLUMNS = ("ioi_id", "investor", "account", "participant", "investor_type", "origin", "tier", "independent", "limit_price", "shares")
MAX_APPLICATIONS = 20_000_000
MAX_IOI_STEPS = 1_000_000


@dataclass(frozen=True, slots=True)
class RowReject:
    """One row of a book file refused at reading, or one application refused by the allocation.

    ``line`` is the CSV line (the header is line 1; a Parquet file counts its rows from 2 as if it
    had one), so a user can open the file at that line."""

    file: str
    line: int
    field: str
    reason: str
    """A stable word: ``short_row``, ``long_row``, ``blank_line``, ``not_integer``, ``non_positive``, ``above_max_quantity``, ``blank_id``, ``bad_identifier``, ``ioi_investor_mismatch``,
    ``unknown_origin``, ``unknown_tier``, ``not_boolean``, ``off_grid_price``, ``cornerstone_in_book``,
    ``ioi_refused`` (another row of the same IOI is bad), or an application status (``multiple``, ...)."""
    message: str


@dataclass(frozen=True, slots=True)
class ApplicationBook:
    """One row per public application, in lodging order (application number = row + 1)."""

    applicant: np.ndarray  # int32 codes into applicant_values
    account: np.ndarray  # int32 codes into account_values
    participant: np.ndarray  # int32 codes into participant_values
    shares: np.ndarray  # int64
    applicant_values: Sequence[str]
    """Strings of the codes: a list, or a pyarrow string array when read from a file."""
    account_values: Sequence[str]
    participant_values: Sequence[str]

    def __len__(self) -> int:
        return int(self.shares.shape[0])

    digest: str = ""
    """SHA-256 of the content in row order: shares (int64 little-endian), then for applicant,
    account and participant the UTF-8 byte length of each row (int64 LE) and the bytes. Independent
    of how the book was built (engine batches or a CSV/Parquet file)."""
    lines: np.ndarray | None = None
    """The file line of each row (int64) when read from a file, so a rejection can name it."""
    rejects: tuple[RowReject, ...] = ()
    """File rows that could not be applications and were left out (`read_application_book`)."""


def _content_digest(shares: np.ndarray, columns: Sequence[tuple[np.ndarray, bytes]]) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(shares, dtype="<i8").tobytes())
    for lengths, data in columns:
        h.update(np.ascontiguousarray(lengths, dtype="<i8").tobytes())
        h.update(data)
    return h.hexdigest()


def _list_column(values: Sequence[str]) -> tuple[np.ndarray, bytes]:
    encoded = [v.encode() for v in values]
    return np.asarray([len(b) for b in encoded], dtype=np.int64), b"".join(encoded)


def _arrow_column(column: Any) -> tuple[np.ndarray, bytes]:
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    arr = arr.cast(pa.large_string())
    lengths = pc.binary_length(arr).to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    blob = b"" if data is None else data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]
    return lengths, blob


@dataclass(frozen=True, slots=True)
class IoiBook:
    """Demand steps (one row per step) and the investors they belong to."""

    step_investor: np.ndarray  # int32 index into the investor arrays
    step_limit: np.ndarray  # int64 ticks; 0 = at any price
    step_shares: np.ndarray  # int64
    investor: list[str]
    account: list[str]
    participant: list[str]
    investor_type: list[str]
    origin: list[str]
    tier: np.ndarray  # int32, 1-based
    independent: np.ndarray  # bool
    first_seq: np.ndarray  # int64: order in which the investor's first IOI arrived
    rejects: tuple[RowReject, ...] = ()
    """File rows refused at reading, each with its line and reason (`read_ioi_book`)."""

    @property
    def investors(self) -> int:
        return len(self.investor)

    def demand_at(self, price: int) -> np.ndarray:
        """Shares each investor wants at ``price`` (sum of its steps whose limit admits it)."""
        live = (self.step_limit == 0) | (self.step_limit >= price)
        return _bincount_int(self.step_investor, np.where(live, self.step_shares, 0), self.investors)

    def priced_demand_at(self, price: int) -> np.ndarray:
        """The part of `demand_at` that comes from limit (price-setting) steps, not strike steps."""
        live = self.step_limit >= price
        return _bincount_int(self.step_investor, np.where(live & (self.step_limit > 0), self.step_shares, 0), self.investors)


def _bincount_int(index: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Exact integer group sums (bincount sums in float64: exact below 2**53, checked)."""
    total = int(weights.sum()) if len(weights) else 0
    if total >= 2**53:
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, index, weights)
        return out
    return np.bincount(index, weights=weights, minlength=n).astype(np.int64)


def membership(values: Sequence[str], keys: set[str]) -> np.ndarray:
    """For each of ``values`` (a list or a pyarrow string array), whether it is in ``keys``."""
    if not keys or not len(values):
        return np.zeros(len(values), dtype=bool)
    if isinstance(values, list):
        return np.fromiter(map(keys.__contains__, values), dtype=bool, count=len(values))
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(values, value_set=pa.array(sorted(keys), pa.string())).to_numpy(zero_copy_only=False)


def empty_ioi_book() -> IoiBook:
    z = np.zeros(0, dtype=np.int64)
    return IoiBook(z.astype(np.int32), z, z, [], [], [], [], [], z.astype(np.int32), z.astype(bool), z)


def ioi_book_from_iois(iois: Sequence[Ioi]) -> IoiBook:
    """Build the book from IOIs in arrival order (one investor may send several IOIs)."""
    index: dict[str, int] = {}
    cols: dict[str, list[Any]] = {k: [] for k in ("investor", "account", "participant", "investor_type", "origin", "tier", "independent", "first_seq")}
    s_inv: list[int] = []
    s_lim: list[int] = []
    s_sh: list[int] = []
    for seq, ioi in enumerate(iois):
        i = index.get(ioi.investor)
        if i is None:
            i = index[ioi.investor] = len(index)
            for key, value in (("investor", ioi.investor), ("account", ioi.account), ("participant", ioi.participant),
                               ("investor_type", ioi.investor_type), ("origin", ioi.origin), ("tier", ioi.tier),
                               ("independent", ioi.independent), ("first_seq", seq)):
                cols[key].append(value)
        for step in ioi.steps:
            s_inv.append(i)
            s_lim.append(step.limit_price)
            s_sh.append(step.shares)
    return IoiBook(
        step_investor=np.asarray(s_inv, dtype=np.int32),
        step_limit=np.asarray(s_lim, dtype=np.int64),
        step_shares=np.asarray(s_sh, dtype=np.int64),
        investor=cols["investor"], account=cols["account"], participant=cols["participant"],
        investor_type=cols["investor_type"], origin=cols["origin"],
        tier=np.asarray(cols["tier"], dtype=np.int32), independent=np.asarray(cols["independent"], dtype=bool),
        first_seq=np.asarray(cols["first_seq"], dtype=np.int64),
    )


def _encode(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    if not len(values):
        return np.zeros(0, dtype=np.int32), []
    uniques, codes = np.unique(np.asarray(values, dtype=object), return_inverse=True)
    return codes.astype(np.int32), [str(u) for u in uniques]


def application_book_from_batches(batches: Sequence[ApplicationBatch]) -> ApplicationBook:
    applicants: list[str] = []
    accounts: list[str] = []
    participants: list[str] = []
    shares: list[int] = []
    for b in batches:
        applicants.extend(b.applicants)
        accounts.extend(b.accounts)
        participants.extend(b.participants)
        shares.extend(b.shares)
    a, av = _encode(applicants)
    c, cv = _encode(accounts)
    p, pv = _encode(participants)
    shares_arr = np.asarray(shares, dtype=np.int64)
    digest = _content_digest(shares_arr, [_list_column(applicants), _list_column(accounts), _list_column(participants)])
    return ApplicationBook(a, c, p, shares_arr, av, cv, pv, digest)


def check_batch(batch: ApplicationBatch) -> str:
    """Why a batch is malformed ("" if it is fine): equal column lengths, no empty keys, ints."""
    n = len(batch.shares)
    if not (len(batch.applicants) == len(batch.accounts) == len(batch.participants) == n):
        return f"columns differ in length: {len(batch.applicants)}, {len(batch.accounts)}, {len(batch.participants)}, {n}"
    if n == 0:
        return "empty batch"
    return ""


def application_share_faults(shares: Sequence[int], board_lot: int, max_application_shares: int) -> list[tuple[int, str, str]]:
    """(index, reason, message) of each application whose share count the allocation would reject
    (`allocation.application_status`: non-positive, not whole board lots, over the cap of half the
    initial public tranche), for an edge that refuses them at the door (the REST application batch)
    with the same rules as the file path's rejects."""
    faults: list[tuple[int, str, str]] = []
    for index, count in enumerate(shares):
        if count <= 0:
            faults.append((index, "non_positive", f"{count} shares: expected a positive number of shares"))
        elif count % board_lot:
            faults.append((index, "not_board_lots", f"{count:,} shares is not a whole number of board lots of {board_lot:,}"))
        elif count > max_application_shares:
            faults.append((index, "over_cap", f"{count:,} shares is above the maximum application of {max_application_shares:,} "
                                              "shares, half the initial public tranche (PN18 para 3.1)"))
    return faults


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


class BookFileError(ValueError):
    """A structural fault of a book file (not CSV, missing column, not UTF-8): one line naming the
    file, the line and the column. Rows are never half-read: the whole file is refused."""

    def __init__(self, file: str, line: int, column: str, message: str) -> None:
        super().__init__(f"{file}: line {line}, column {column}: {message}")
        self.file, self.line, self.column = file, line, column


_ID_BYTES = np.zeros(256, dtype=bool)
_ID_BYTES[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-", dtype=np.uint8)] = True


def _bad_identifier_rows(column: Any, *, allow_empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a string column that are not kernel identifiers (`parse_identifier`'s charset and
    length), as (blank rows, other bad rows). One pass over the column's bytes with a lookup table:
    a regular expression over millions of values costs more than the allocation."""
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    arr = arr.cast(pa.large_string()).fill_null("")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    lengths = np.diff(offsets)
    data = arr.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])] if data is not None else np.zeros(0, dtype=np.uint8)
    bad_bytes = np.flatnonzero(~_ID_BYTES[raw])
    bad = lengths > IDENTIFIER_MAX_LENGTH
    if len(bad_bytes):
        bad[np.unique(np.searchsorted(offsets, bad_bytes + int(offsets[0]), side="right") - 1)] = True
    blank = lengths == 0 if not allow_empty else np.zeros(len(arr), dtype=bool)
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


def _read_csv_table(path: Path, columns: Sequence[str], types: dict[str, Any]) -> tuple[Any, np.ndarray, list[RowReject]]:
    """The rows of a CSV file that have the header's number of fields, their line numbers, and a
    rejection for each other row (short, long or blank)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = path.read_bytes()
    header_end = data.find(b"\n")
    header = [h.strip().strip('"') for h in data[: header_end if header_end >= 0 else len(data)].decode("utf-8", "replace").strip("\r").split(",")]
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
        return pacsv.read_csv(pa.py_buffer(data), parse_options=parse,
                              convert_options=pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=False, include_columns=list(columns)))

    try:
        try:
            table = read(types)
        except pa.ArrowInvalid:  # a value that is not of its column's type: read as text, judge row by row
            table = read({k: pa.string() for k in types})
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise _utf8_fault(path, data, header) from exc
        raise BookFileError(path.name, 1, "-", f"not a readable CSV file: {exc}") from exc
    newlines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if not skipped and newlines == table.num_rows + 1:
        return table, np.arange(2, table.num_rows + 2, dtype=np.int64), []
    records = _csv_record_lines(path)
    good = [line for line, fields in records if fields == len(header)]
    if len(good) != table.num_rows:
        raise BookFileError(path.name, 1, "-", "the rows could not be matched to lines (unbalanced quotes?)")
    rejects = [RowReject(path.name, line, "-", "short_row" if fields < len(header) else "long_row",
                         f"{fields} field(s), expected {len(header)} ({', '.join(header)})") for line, fields in records if 0 < fields != len(header)]
    rejects += [RowReject(path.name, line, "-", "blank_line", "a blank line") for line, fields in records if not fields]
    return table, np.asarray(good, dtype=np.int64), rejects


def _read_book_table(path: Path, columns: Sequence[str], types: dict[str, Any]) -> tuple[Any, np.ndarray, list[RowReject]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

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
    return table, np.arange(2, table.num_rows + 2, dtype=np.int64), []


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
        values[ok] = pc.cast(pc.filter(text, pa.array(ok)), pa.int64()).to_numpy(zero_copy_only=False)
    return values, np.flatnonzero(~digits), np.flatnonzero((digits & long) | (values > MAX_QUANTITY))


def _share_rejects(path: Path, column: Any, lines: np.ndarray, field: str) -> tuple[np.ndarray, list[RowReject]]:
    values, not_integer, too_big = _whole_numbers(column)
    rejects = [RowReject(path.name, int(lines[i]), field, "not_integer",
                         f"{column[int(i)].as_py()!r} is not a whole number of shares" if column[int(i)].as_py() else "the share count is blank")
               for i in not_integer]
    rejects += [RowReject(path.name, int(lines[i]), field, "above_max_quantity",
                          f"{column[int(i)].as_py()} shares is above the largest quantity accepted, {MAX_QUANTITY:,}") for i in too_big]
    return values, rejects


def _identifier_rejects(path: Path, table: Any, lines: np.ndarray, columns: Sequence[str], optional: Sequence[str] = ()) -> list[RowReject]:
    rejects: list[RowReject] = []
    for name in columns:
        blank, bad = _bad_identifier_rows(table.column(name), allow_empty=name in optional)
        rejects += [RowReject(path.name, int(lines[i]), name, "blank_id", f"{name} is blank") for i in blank]
        rejects += [RowReject(path.name, int(lines[i]), name, "bad_identifier",
                              f"{table.column(name)[int(i)].as_py()!r} is not an identifier: expected 1 to {IDENTIFIER_MAX_LENGTH} characters of "
                              f"{IDENTIFIER_CHARACTERS} (lionrock.kernel.ids)") for i in bad]
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
    table, lines, rejects = _read_book_table(p, APPLICATION_COLUMNS, types)
    if table.num_rows > MAX_APPLICATIONS:
        raise Reject(OfferingCode.LIMIT_EXCEEDED, p.name, f"{table.num_rows:,} applications; the limit is {MAX_APPLICATIONS:,}")
    shares, share_rejects = _share_rejects(p, table.column("shares"), lines, "shares")
    rejects += share_rejects + _identifier_rejects(p, table, lines, ("applicant", "account", "participant"))
    if rejects:
        keep = ~np.isin(lines, np.asarray(sorted({r.line for r in rejects}), dtype=np.int64))
        table, shares, lines = table.filter(pa.array(keep)), shares[keep], lines[keep]
    if progress:
        progress(f"read {table.num_rows:,} applications from {p.name}" + (f"; {len(rejects):,} rows refused" if rejects else ""))
    shares = np.ascontiguousarray(shares, dtype=np.int64)
    columns = [table.column(k).combine_chunks() for k in ("applicant", "account", "participant")]
    with ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow, numpy and hashlib release the GIL
        encoded = pool.map(_dict_codes, columns)
        digest = pool.submit(lambda: _content_digest(shares, [_arrow_column(c) for c in columns]))
        (a, av), (c, cv), (q, qv) = encoded
        return ApplicationBook(a, c, q, shares, av, cv, qv.to_pylist(), digest.result(), lines, tuple(sorted(rejects, key=lambda r: r.line)))


def _dict_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes and the dictionary, kept as a pyarrow string array (converting millions of strings to
    Python objects would cost more than the whole allocation)."""
    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    encoded = arr.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), encoded.dictionary


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
    from lionrock.kernel.price import parse_price

    t = str(text).strip()
    return 0 if t in ("", "strike", "0") else parse_price(t)


def _ioi_checks(rules: IoiFileRules) -> list[tuple[str, str, Callable[[str], str | None]]]:
    """(column, reason, judge) for every IOI column check other than ids and shares, the same
    rules as `OfferingContext` applies to `SubmitIoi` (origin, tier, a cornerstone in the book)."""
    from lionrock.offering.definition import ORIGINS

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

    return [("origin", "unknown_origin", origin), ("tier", "unknown_tier", tier), ("independent", "not_boolean", independent),
            ("limit_price", "off_grid_price", limit), ("investor", "cornerstone_in_book", cornerstone)]


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
            rejects.append(RowReject(p.name, line_of[i], "investor", "ioi_investor_mismatch",
                                     f"IOI {ioi_id!r} is from {seen!r} on an earlier line, {investor!r} here"))
    if not rejects:
        return rejects
    bad_lines = {r.line: r for r in rejects}
    bad_iois = {rows["ioi_id"][i]: bad_lines[line] for i, line in enumerate(line_of) if line in bad_lines}
    for i, line in enumerate(line_of):
        cause = bad_iois.get(rows["ioi_id"][i])
        if cause is not None and line not in bad_lines:
            rejects.append(RowReject(p.name, line, "ioi_id", "ioi_refused", f"IOI {rows['ioi_id'][i]!r} is refused whole: line {cause.line} ({cause.reason})"))
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
    table, lines, rejects = _read_book_table(p, IOI_COLUMNS, types)
    if table.num_rows > MAX_IOI_STEPS:
        raise Reject(OfferingCode.LIMIT_EXCEEDED, p.name, f"{table.num_rows:,} IOI steps; the limit is {MAX_IOI_STEPS:,}")
    shares, share_rejects = _share_rejects(p, table.column("shares"), lines, "shares")
    rejects += share_rejects + _identifier_rejects(p, table, lines, ("ioi_id", "investor", "account", "participant"), optional=("participant",))
    unreadable = {r.line for r in share_rejects}
    rejects += [RowReject(p.name, int(lines[i]), "shares", "non_positive", f"{int(shares[i])} shares: expected a positive number of shares")
                for i in np.flatnonzero(shares <= 0) if int(lines[i]) not in unreadable]
    rows = table.drop_columns(["shares"]).to_pydict()
    rejects = _ioi_rejects(p, rows, lines, rules, rejects)
    refused = np.isin(lines, np.asarray(sorted({r.line for r in rejects}), dtype=np.int64))
    book = _ioi_book_from_rows(rows, np.flatnonzero(~refused), shares, tuple(sorted(rejects, key=lambda r: (r.line, r.field))))
    if progress:
        progress(f"read {int((~refused).sum()):,} IOI steps from {book.investors:,} investors in {p.name}" + (f"; {int(refused.sum()):,} rows refused" if rejects else ""))
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
        step_investor=step_investor, step_limit=limits, step_shares=np.ascontiguousarray(shares[keep], dtype=np.int64),
        investor=pick("investor"), account=pick("account"), participant=pick("participant"),
        investor_type=pick("investor_type"), origin=pick("origin"),
        tier=np.asarray([int(str(t).strip()) for t in pick("tier")], dtype=np.int32),
        independent=np.asarray([str(v).strip().lower() in _TRUE for v in pick("independent")], dtype=bool),
        first_seq=np.asarray([order[i] for i in inv_rows], dtype=np.int64), rejects=rejects,
    )


__all__ = [
    "APPLICATION_COLUMNS",
    "IOI_COLUMNS",
    "ApplicationBook",
    "BookFileError",
    "IoiBook",
    "IoiFileRules",
    "RowReject",
    "application_book_from_batches",
    "application_share_faults",
    "check_batch",
    "empty_ioi_book",
    "ioi_book_from_iois",
    "read_application_book",
    "read_ioi_book",
]
