"""The bookbuilding book (IOIs) and the public application book, as columns of numpy arrays.

Both are built either from engine messages (`ioi_book_from_iois`, `application_book_from_batches`)
or from files (`read_ioi_book`, `read_application_book`: CSV or Parquet through pyarrow). Strings
(identities, accounts, participants) are dictionary-encoded: the arrays hold int32 codes and the
``*_values`` lists hold the strings. Codes only group rows; nothing depends on their order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lionrock.kernel.errors import Reject
from lionrock.kernel.ids import IDENTIFIER_MAX_LENGTH, parse_identifier
from lionrock.kernel.quantity import MAX_QUANTITY
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import ApplicationBatch, Ioi

Progress = Callable[[str], None]

APPLICATION_COLUMNS = ("applicant", "account", "participant", "shares")
IOI_COLUMNS = ("ioi_id", "investor", "account", "participant", "investor_type", "origin", "tier", "independent", "limit_price", "shares")
MAX_APPLICATIONS = 20_000_000
MAX_IOI_STEPS = 1_000_000


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


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------
def _read_table(path: Path, columns: Sequence[str], types: dict[str, Any]) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix.lower() in (".parquet", ".pq"):
        table = pq.read_table(path)
    else:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types={k: v for k, v in types.items()}, strings_can_be_null=False),
        )
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise Reject(OfferingCode.INVALID_FIELD, f"{path.name}:{missing[0]}", f"missing column; expected columns {list(columns)}")
    for name, typ in types.items():
        if name in table.column_names and table.schema.field(name).type != typ:
            try:
                table = table.set_column(table.column_names.index(name), name, table.column(name).cast(typ))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise Reject(OfferingCode.INVALID_FIELD, f"{path.name}:{name}", f"expected {typ}: {exc}") from exc
    return table


def _dict_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes and the dictionary, kept as a pyarrow string array (converting millions of strings to
    Python objects would cost more than the whole allocation)."""
    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    encoded = arr.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), encoded.dictionary


def _check_identifiers(values: Any, field: str, code: OfferingCode, *, allow_empty: bool = False) -> None:
    """Every distinct value of an id column is a kernel identifier (`parse_identifier`): checked
    in one vectorised regular-expression pass over the column's dictionary, then row by row only
    to name the first bad value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=pa.string())
    bound = "{0," if allow_empty else "{1,"
    ok = pc.match_substring_regex(arr.fill_null(""), f"^[A-Za-z0-9_.:@-]{bound}{IDENTIFIER_MAX_LENGTH}}}$")
    if pc.all(ok).as_py() is not False:
        return
    for value in arr.to_pylist():
        try:
            parse_identifier(value or "", field, allow_empty=allow_empty)
        except ValueError as exc:
            raise Reject(code, field, str(exc), "identifier charset (lionrock.kernel.ids)") from exc


def _check_shares(shares: np.ndarray, field: str, code: OfferingCode) -> None:
    """No row above `MAX_QUANTITY` (sums of int64 shares must not wrap around)."""
    over = np.flatnonzero(shares > MAX_QUANTITY)
    if len(over):
        raise Reject(code, f"{field} (row {int(over[0]) + 2})", f"{int(shares[over[0]]):,} shares is above the largest quantity accepted, {MAX_QUANTITY:,}")


def read_application_book(path: str | Path, progress: Progress | None = None) -> ApplicationBook:
    """Read public applications (CSV or Parquet; columns in docs/offering.md)."""
    import pyarrow as pa

    p = Path(path)
    types = {"applicant": pa.string(), "account": pa.string(), "participant": pa.string(), "shares": pa.int64()}
    table = _read_table(p, APPLICATION_COLUMNS, types)
    if table.num_rows > MAX_APPLICATIONS:
        raise Reject(OfferingCode.LIMIT_EXCEEDED, p.name, f"{table.num_rows:,} applications; the limit is {MAX_APPLICATIONS:,}")
    if progress:
        progress(f"read {table.num_rows:,} applications from {p.name}")
    a, av = _dict_codes(table.column("applicant"))
    c, cv = _dict_codes(table.column("account"))
    q, qv = _dict_codes(table.column("participant"))
    for values, column in ((av, "applicant"), (cv, "account"), (qv, "participant")):
        _check_identifiers(values, f"{p.name}:{column}", OfferingCode.INVALID_APPLICATIONS)
    qv = qv.to_pylist()
    shares = np.ascontiguousarray(table.column("shares").to_numpy(), dtype=np.int64)
    _check_shares(shares, f"{p.name}:shares", OfferingCode.INVALID_APPLICATIONS)
    digest = _content_digest(shares, [_arrow_column(table.column(k)) for k in ("applicant", "account", "participant")])
    return ApplicationBook(a, c, q, shares, av, cv, qv, digest)


def read_ioi_book(path: str | Path, progress: Progress | None = None) -> IoiBook:
    """Read IOIs, one row per demand step (CSV or Parquet; columns in docs/offering.md)."""
    import pyarrow as pa

    from lionrock.kernel.price import parse_price

    p = Path(path)
    types = {"ioi_id": pa.string(), "investor": pa.string(), "account": pa.string(), "participant": pa.string(),
             "investor_type": pa.string(), "origin": pa.string(), "tier": pa.int32(), "independent": pa.bool_(),
             "limit_price": pa.string(), "shares": pa.int64()}
    table = _read_table(p, IOI_COLUMNS, types)
    if table.num_rows > MAX_IOI_STEPS:
        raise Reject(OfferingCode.LIMIT_EXCEEDED, p.name, f"{table.num_rows:,} IOI steps; the limit is {MAX_IOI_STEPS:,}")
    rows = table.to_pydict()
    limits: list[int] = []
    for i, text in enumerate(rows["limit_price"]):
        t = (text or "").strip()
        try:
            limits.append(0 if t in ("", "strike", "0") else parse_price(t))
        except ValueError as exc:
            raise Reject(OfferingCode.INVALID_IOI, f"{p.name}:limit_price (row {i + 2})", str(exc)) from exc
    investors: dict[str, int] = {}
    inv_rows: list[int] = []
    step_investor = np.empty(table.num_rows, dtype=np.int32)
    for i, inv in enumerate(rows["investor"]):
        j = investors.get(inv)
        if j is None:
            j = investors[inv] = len(investors)
            inv_rows.append(i)
        step_investor[i] = j
    for column, allow_empty in (("ioi_id", False), ("investor", False), ("account", False), ("participant", True)):
        _check_identifiers(rows[column], f"{p.name}:{column}", OfferingCode.INVALID_IOI, allow_empty=allow_empty)
    shares = np.asarray(rows["shares"], dtype=np.int64)
    _check_shares(shares, f"{p.name}:shares", OfferingCode.INVALID_IOI)
    bad = np.flatnonzero(shares <= 0)
    if len(bad):
        raise Reject(OfferingCode.INVALID_IOI, f"{p.name}:shares (row {int(bad[0]) + 2})", "expected a positive number of shares")
    if progress:
        progress(f"read {table.num_rows:,} IOI steps from {len(investors):,} investors in {p.name}")
    pick = lambda key: [rows[key][i] for i in inv_rows]  # noqa: E731
    return IoiBook(
        step_investor=step_investor, step_limit=np.asarray(limits, dtype=np.int64), step_shares=shares,
        investor=pick("investor"), account=pick("account"), participant=pick("participant"),
        investor_type=pick("investor_type"), origin=pick("origin"),
        tier=np.asarray(pick("tier"), dtype=np.int32), independent=np.asarray(pick("independent"), dtype=bool),
        first_seq=np.asarray(inv_rows, dtype=np.int64),
    )


__all__ = [
    "APPLICATION_COLUMNS",
    "IOI_COLUMNS",
    "ApplicationBook",
    "IoiBook",
    "application_book_from_batches",
    "check_batch",
    "empty_ioi_book",
    "ioi_book_from_iois",
    "read_application_book",
    "read_ioi_book",
]
