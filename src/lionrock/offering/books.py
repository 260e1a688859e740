"""The bookbuilding book (IOIs) and the public application book, as columns of numpy arrays.

Both are built from engine messages (`ioi_book_from_iois`, `application_book_from_batches`) or,
at the edge, from files (`lionrock.files.books`: CSV or Parquet through pyarrow). Strings
(identities, accounts, participants) are encoded: the arrays hold int32 codes and the ``*_values``
lists hold the strings. Equal strings have equal codes and codes only group rows; nothing depends
on their order, and ``*_values`` may hold strings no code uses (a file's near-unique applicant and
account columns keep the column as read, each row's code its value's first row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Buffer, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lionrock.offering.commands import ApplicationBatch, Ioi

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
    """A stable word: ``short_row``, ``long_row``, ``blank_line``, ``not_integer``, ``non_positive``,
    ``above_max_quantity``, ``blank_id``, ``bad_identifier``, ``ioi_investor_mismatch``,
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
    """File rows that could not be applications and were left out (`lionrock.files.books.read_application_book`)."""


def content_digest(shares: np.ndarray, columns: Sequence[tuple[np.ndarray, Buffer]]) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(shares, dtype="<i8"))
    for lengths, data in columns:
        h.update(np.ascontiguousarray(lengths, dtype="<i8"))
        h.update(data)
    return h.hexdigest()


def list_column(values: Sequence[str]) -> tuple[np.ndarray, bytes]:
    encoded = [v.encode() for v in values]
    return np.asarray([len(b) for b in encoded], dtype=np.int64), b"".join(encoded)


def string_buffers(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a pyarrow string column over its own buffers: int32 offsets for
    ``string``, int64 for ``large_string``, no copy of either (a cast to ``large_string`` copies
    every byte of a 2M-value column, and on a cold process pays for fresh memory too). Null values
    read as empty strings (the readers fill them before)."""
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if arr.null_count:
        arr = arr.fill_null("")
    if pa.types.is_large_string(arr.type):
        width: type[np.signedinteger[Any]] = np.int64
    elif pa.types.is_string(arr.type):
        width = np.int32
    else:
        arr, width = arr.cast(pa.large_string()), np.int64
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    return offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)


def arrow_column(column: Any) -> tuple[np.ndarray, Buffer]:
    """`content_digest`'s (lengths, bytes) of a pyarrow string column, over its buffers (no copy)."""
    offsets, raw = string_buffers(column)
    return np.diff(offsets), memoryview(raw)[int(offsets[0]) : int(offsets[-1])]


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
    """File rows refused at reading, each with its line and reason (`lionrock.files.books.read_ioi_book`)."""

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

    member: np.ndarray = pc.is_in(values, value_set=pa.array(sorted(keys), pa.string())).to_numpy(zero_copy_only=False)
    return member


def empty_ioi_book() -> IoiBook:
    z = np.zeros(0, dtype=np.int64)
    return IoiBook(z.astype(np.int32), z, z, [], [], [], [], [], z.astype(np.int32), z.astype(bool), z)


def ioi_book_from_iois(iois: Sequence[Ioi]) -> IoiBook:
    """Build the book from IOIs in arrival order (one investor may send several IOIs)."""
    index: dict[str, int] = {}
    cols: dict[str, list[Any]] = {
        k: [] for k in ("investor", "account", "participant", "investor_type", "origin", "tier", "independent", "first_seq")
    }
    s_inv: list[int] = []
    s_lim: list[int] = []
    s_sh: list[int] = []
    for seq, ioi in enumerate(iois):
        i = index.get(ioi.investor)
        if i is None:
            i = index[ioi.investor] = len(index)
            for key, value in (
                ("investor", ioi.investor),
                ("account", ioi.account),
                ("participant", ioi.participant),
                ("investor_type", ioi.investor_type),
                ("origin", ioi.origin),
                ("tier", ioi.tier),
                ("independent", ioi.independent),
                ("first_seq", seq),
            ):
                cols[key].append(value)
        for step in ioi.steps:
            s_inv.append(i)
            s_lim.append(step.limit_price)
            s_sh.append(step.shares)
    return IoiBook(
        step_investor=np.asarray(s_inv, dtype=np.int32),
        step_limit=np.asarray(s_lim, dtype=np.int64),
        step_shares=np.asarray(s_sh, dtype=np.int64),
        investor=cols["investor"],
        account=cols["account"],
        participant=cols["participant"],
        investor_type=cols["investor_type"],
        origin=cols["origin"],
        tier=np.asarray(cols["tier"], dtype=np.int32),
        independent=np.asarray(cols["independent"], dtype=bool),
        first_seq=np.asarray(cols["first_seq"], dtype=np.int64),
    )


def _encode(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes of ``values``, the distinct values in sorted order. ``np.unique`` over
    fixed-width text sorts in C, about five times faster than over Python objects on a million ids
    (bench demo); the order is the same (code points), but fixed-width text drops trailing NULs,
    so values holding a NUL take the object path and never merge with another value."""
    if not len(values):
        return np.zeros(0, dtype=np.int32), []
    text = np.asarray(values, dtype=object if "\x00" in "".join(values) else str)
    uniques, codes = np.unique(text, return_inverse=True)
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
    digest = content_digest(shares_arr, [list_column(applicants), list_column(accounts), list_column(participants)])
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
            faults.append(
                (
                    index,
                    "over_cap",
                    f"{count:,} shares is above the maximum application of {max_application_shares:,} "
                    "shares, half the initial public tranche (PN18 para 3.1)",
                )
            )
    return faults


__all__ = [
    "APPLICATION_COLUMNS",
    "IOI_COLUMNS",
    "MAX_APPLICATIONS",
    "MAX_IOI_STEPS",
    "ApplicationBook",
    "IoiBook",
    "RowReject",
    "application_book_from_batches",
    "application_share_faults",
    "arrow_column",
    "check_batch",
    "content_digest",
    "empty_ioi_book",
    "ioi_book_from_iois",
    "list_column",
    "membership",
    "string_buffers",
]
