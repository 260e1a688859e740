"""Journal benchmark (issue 2): durable append with group commit, and replay, in events per second.

The workload is 1,000,000 encoded order commands of realistic size appended through
`SqliteJournal` with ``group:5`` (every record CRC'd and hash-chained, fsync'd in batches), then
read back with verification and decoded. A raw ``executemany`` into an unindexed SQLite table is
measured in the same run as the floor a SQLite journal cannot beat.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from lionrock.storage.sqlite_journal import SqliteJournal
from lionrock.trading.commands import PlaceOrder

N = 1_000_000


def _bodies(n: int) -> list[bytes]:
    enc = msgspec.msgpack.Encoder()
    return [
        enc.encode(
            PlaceOrder(
                instrument="02525",
                participant=f"B{i % 50:03d}",
                account=f"C:B{i % 50:03d}:{i % 5000}",
                client_order_id=str(i),
                side="BS"[i & 1],
                order_type="LIMIT",
                price=50_000 + (i * 7919) % 400 * 50,
                quantity=100 * (1 + i % 9),
            )
        )
        for i in range(n)
    ]


def run(progress: Any) -> dict[str, object]:
    bodies = _bodies(N)
    avg_bytes = sum(map(len, bodies)) / N
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        progress(f"appending {N:,} records with group:5")
        j = SqliteJournal(path, "group:5")
        t = time.perf_counter()
        at = 1_700_000_000_000_000_000
        for seq, body in enumerate(bodies, 1):
            j.append(seq, at + seq, body)
        j.flush()
        append_s = time.perf_counter() - t
        j.close()

        progress("replaying with CRC + chain verification and decoding")
        j = SqliteJournal(path, readonly=True)
        dec = msgspec.msgpack.Decoder(PlaceOrder)
        t = time.perf_counter()
        count = 0
        for rec in j.records():
            dec.decode(rec.body)
            count += 1
        replay_s = time.perf_counter() - t
        j.close()
        assert count == N

        progress("raw sqlite executemany floor")
        raw = sqlite3.connect(Path(tmp) / "raw.sqlite", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, at_ns INTEGER, body BLOB)")
        t = time.perf_counter()
        raw.execute("BEGIN")
        raw.executemany("INSERT INTO t VALUES (?, ?, ?)", ((i, at + i, b) for i, b in enumerate(bodies, 1)))
        raw.execute("COMMIT")
        raw_s = time.perf_counter() - t
        raw.close()
    append_rate = N / append_s
    replay_rate = N / replay_s
    return {
        "events": N,
        "record_bytes_avg": round(avg_bytes, 1),
        "append_events_per_s": round(append_rate),
        "replay_events_per_s": round(replay_rate),
        "durability": "group:5",
        "peers": {"sqlite_raw_executemany_one_txn": {"events_per_s": round(N / raw_s)}},
        "ratio_append_vs_raw_sqlite": round(append_rate / (N / raw_s), 3),
        "targets": {"append_events_per_s": 300_000, "replay_events_per_s": 1_000_000},
    }
