"""The journal's block format, shared by the SQLite and PostgreSQL journals.

One block is what one group commit wrote: the records appended since the last commit as a
MessagePack list of ``(seq, at_ns, crc32, body)`` (each record's CRC as `record_crc` computes
it), the block's own CRC32 over those bytes, and a BLAKE2b-128 chain value over them keyed by the
previous block's chain (unkeyed for the first block). Both backends store the same bytes in a
table ``blocks (first_seq, last_seq, chain, crc, data)``, check them with the same functions and
decide what a damaged block means with the same `TailScan`, so a journal copied from one backend
to the other verifies the same way and the contract suite holds both to one behaviour.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from hashlib import blake2b

import msgspec

from lionrock.engine.journal import GENESIS, RECORD_HEADER, JournalRecord

BLOCK_ENCODER = msgspec.msgpack.Encoder()
BLOCK_DECODER = msgspec.msgpack.Decoder(list[JournalRecord])

PendingRecord = tuple[int, int, int, bytes]
"""``(seq, at_ns, crc32, body)``: a record appended and not yet committed."""


def pending_record(seq: int, at_ns: int, body: bytes) -> PendingRecord:
    return (seq, at_ns, zlib.crc32(body, zlib.crc32(RECORD_HEADER.pack(seq, at_ns))), body)


def block_chain(previous: bytes, data: bytes) -> bytes:
    return blake2b(data, digest_size=16, key=previous).digest() if previous != GENESIS else blake2b(data, digest_size=16).digest()


def encode_block(previous_chain: bytes, records: Sequence[PendingRecord]) -> tuple[int, int, bytes, int, bytes]:
    """``(first_seq, last_seq, chain, crc, data)`` of the block holding ``records``."""
    data = BLOCK_ENCODER.encode(records)
    return records[0][0], records[-1][0], block_chain(previous_chain, data), zlib.crc32(data), data


def decode_block(data: bytes) -> list[JournalRecord]:
    """The records of a block whose CRC holds."""
    return BLOCK_DECODER.decode(data)


def check_block(prev_chain: bytes, first: int, last: int, chain: bytes, crc: int, data: bytes, expected: int | None) -> str:
    """What is wrong with a stored block ("" when nothing): a gap before it, its CRC (naming the
    first record whose own CRC fails when one does), its chain link."""
    if expected is not None and first != expected:
        return f"record {expected} is missing (next stored is {first})"
    if zlib.crc32(data) != crc:
        for seq, at_ns, rcrc, body in safe_records(data):
            if zlib.crc32(body, zlib.crc32(RECORD_HEADER.pack(seq, at_ns))) != rcrc:
                return f"record {seq} fails its CRC"
        return f"block of records {first}-{last} fails its CRC"
    if block_chain(prev_chain, data) != chain:
        return f"block of records {first}-{last} breaks the hash chain"
    return ""


def check_records(first: int, last: int, data: bytes) -> str:
    """Inside a block whose own CRC holds: the records run from ``first`` to ``last`` without a
    gap and each one's CRC holds (a writer bug would show here, not as a damaged block)."""
    records = safe_records(data)
    if not records:
        return f"block of records {first}-{last} cannot be unpacked"
    expected = first
    for seq, at_ns, rcrc, body in records:
        if seq != expected:
            return f"record {expected} is missing (next stored is {seq})"
        if zlib.crc32(body, zlib.crc32(RECORD_HEADER.pack(seq, at_ns))) != rcrc:
            return f"record {seq} fails its CRC"
        expected += 1
    if expected != last + 1:
        return f"block of records {first}-{last} ends at record {expected - 1}"
    return ""


def safe_records(data: bytes) -> list[JournalRecord]:
    try:
        return BLOCK_DECODER.decode(data)
    except msgspec.DecodeError:
        return []


class TailScan:
    """Recovery's walk over the blocks after the latest snapshot, in ``first_seq`` order: the
    first bad block and whether any intact block follows it (a damaged middle, refused) or not (a
    damaged tail, cut). Feed it every row with `see`; then read ``bad``, ``later_intact``,
    ``verified``, and the last good ``expected``/``chain``."""

    def __init__(self, after: int, chain: bytes) -> None:
        self.expected = after + 1
        self.chain = chain
        self.bad: tuple[int, str] | None = None
        self.later_intact = 0
        self.verified = 0

    def see(self, first: int, last: int, row_chain: bytes, crc: int, data: bytes) -> None:
        if self.bad is None:
            problem = check_block(self.chain, first, last, row_chain, crc, data, self.expected)
            if problem:
                self.bad = (min(first, self.expected), problem)
                if first > self.expected and zlib.crc32(data) == crc:  # a gap: the block that shows it is intact
                    self.later_intact += last - first + 1
            else:
                self.chain, self.expected = row_chain, last + 1
                self.verified += last - first + 1
        elif zlib.crc32(data) == crc:
            self.later_intact += last - first + 1

    def refusal(self, where: str) -> str:
        assert self.bad is not None
        return (
            f"{where}: {self.bad[1]}, and {self.later_intact} intact records follow it: the journal is damaged in "
            "the middle, not at its tail. Refusing to recover; restore the journal from a replica or backup."
        )


__all__ = [
    "BLOCK_DECODER",
    "BLOCK_ENCODER",
    "PendingRecord",
    "TailScan",
    "block_chain",
    "check_block",
    "check_records",
    "decode_block",
    "encode_block",
    "pending_record",
    "safe_records",
]
