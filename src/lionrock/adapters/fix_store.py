"""The FIX gateway's session store: what a FIX session needs to survive a gateway restart.

Per (SenderCompID, TargetCompID) pair it keeps the user the pair belongs to, the next expected
incoming and the next outgoing MsgSeqNum, the application messages sent (the exact bytes, by
MsgSeqNum, at most ``window`` of them: the 100,000 most recent, trimmed in SQL as new ones are
written) and the latest ClOrdID of each order the session replaced. It is the FIX engines' file
or JDBC store (QuickFIX's FileStore / JdbcStore) on the platform's storage (`StorageSpec`):
``<stem>.fix.db`` beside a SQLite journal, schema ``<schema>_fix`` on PostgreSQL, an in-memory
SQLite for ``memory:``. It is not a read model: it cannot be rebuilt from the journal (the bytes
and numbers were sent to someone), so it lives apart from the read models, which may be deleted.

The gateway writes before it sends: an outgoing message is in the store (and the next outgoing
number with it, in one transaction) before its first byte reaches the socket, so a message the
counterparty may have seen is never lost or renumbered. The incoming number is saved after the
message it counts has been handled. Admin messages (heartbeats, logons, rejects) are not stored,
only counted: a ResendRequest over them is answered with SequenceReset-GapFill, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lionrock.adapters.sql import SqlStore
from lionrock.adapters.storage import StorageSpec, is_postgres

_DDL = [
    """CREATE TABLE IF NOT EXISTS fix_sessions (
         sender TEXT NOT NULL, target TEXT NOT NULL, owner TEXT NOT NULL,
         in_seq BIGINT NOT NULL, out_seq BIGINT NOT NULL, PRIMARY KEY (sender, target))""",
    """CREATE TABLE IF NOT EXISTS fix_messages (
         sender TEXT NOT NULL, target TEXT NOT NULL, seq BIGINT NOT NULL, msg_type TEXT NOT NULL,
         sending_time TEXT NOT NULL, offline BIGINT NOT NULL, raw BLOB NOT NULL,
         PRIMARY KEY (sender, target, seq))""",
    """CREATE TABLE IF NOT EXISTS fix_clordids (
         sender TEXT NOT NULL, target TEXT NOT NULL, order_id BIGINT NOT NULL, cl_ord_id TEXT NOT NULL,
         PRIMARY KEY (sender, target, order_id))""",
]

Key = tuple[str, str]


@dataclass(frozen=True)
class StoredSession:
    key: Key
    owner: str
    in_seq: int
    out_seq: int


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    msg_type: bytes
    sending_time: str
    raw: bytes


def fix_store_url(spec: StorageSpec) -> str:
    """Where ``--db`` puts the FIX session store (beside the journal, like the auth store)."""
    if spec.db == "memory:":
        return ":memory:"
    if is_postgres(spec.db):
        return spec.read_model_url.replace("_read", "_fix")
    path = Path(spec.db)
    return str(path.with_name(path.stem + ".fix.db"))


class FixSessionStore:
    """Sequence numbers, sent messages and ClOrdID aliases per CompID pair, in a `SqlStore`."""

    def __init__(self, store: SqlStore, *, window: int = 100_000, owns_store: bool = False) -> None:
        self.store = store
        self.window = window
        self._owns = owns_store
        self.closed = False
        store.script(_DDL)

    @classmethod
    def open(cls, url: str, *, window: int = 100_000) -> FixSessionStore:
        return cls(SqlStore(url), window=window, owns_store=True)

    # -- sessions -----------------------------------------------------------------------------
    def sessions(self) -> list[StoredSession]:
        rows = self.store.execute("SELECT sender, target, owner, in_seq, out_seq FROM fix_sessions ORDER BY sender, target")
        return [StoredSession((r[0], r[1]), r[2], int(r[3]), int(r[4])) for r in rows]

    def load(self, key: Key) -> StoredSession | None:
        r = self.store.one("SELECT owner, in_seq, out_seq FROM fix_sessions WHERE sender = ? AND target = ?", key)
        return None if r is None else StoredSession(key, r[0], int(r[1]), int(r[2]))

    def claim(self, key: Key, owner: str, in_seq: int, out_seq: int) -> None:
        """Record the pair (first Logon) or its owner and numbers (every Logon)."""
        self.store.execute(
            """INSERT INTO fix_sessions (sender, target, owner, in_seq, out_seq) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (sender, target) DO UPDATE SET owner = excluded.owner, in_seq = excluded.in_seq, out_seq = excluded.out_seq""",
            (*key, owner, in_seq, out_seq),
        )

    def reset(self, key: Key) -> None:
        """ResetSeqNumFlag: both numbers back to 1 and the pair's sent messages gone."""
        with self.store.transaction():
            self.store.execute("DELETE FROM fix_messages WHERE sender = ? AND target = ?", key)
            self.store.execute("UPDATE fix_sessions SET in_seq = 1, out_seq = 1 WHERE sender = ? AND target = ?", key)

    def save_in_seq(self, key: Key, in_seq: int) -> None:
        self.store.execute("UPDATE fix_sessions SET in_seq = ? WHERE sender = ? AND target = ?", (in_seq, *key))

    # -- sent messages -------------------------------------------------------------------------
    def sent_admin(self, key: Key, next_out: int) -> None:
        """An admin message numbered ``next_out - 1`` is about to go out: count it."""
        self.store.execute("UPDATE fix_sessions SET out_seq = ? WHERE sender = ? AND target = ?", (next_out, *key))

    def sent_app(self, key: Key, seq: int, msg_type: bytes, sending_time: str, raw: bytes, *, offline: bool) -> None:
        """An application message numbered ``seq`` is about to go out: store it, count it, and
        drop the pair's messages older than the window, in one transaction (on PostgreSQL one
        statement, so one round trip)."""
        args = (*key, seq, msg_type.decode(), sending_time, int(offline), raw)
        if self.store.postgres:
            self.store.execute(
                """WITH stored AS (
                     INSERT INTO fix_messages (sender, target, seq, msg_type, sending_time, offline, raw) VALUES (?, ?, ?, ?, ?, ?, ?)),
                   trimmed AS (DELETE FROM fix_messages WHERE sender = ? AND target = ? AND seq <= ?)
                   UPDATE fix_sessions SET out_seq = ? WHERE sender = ? AND target = ?""",
                (*args, *key, seq - self.window, seq + 1, *key),
            )
            return
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO fix_messages (sender, target, seq, msg_type, sending_time, offline, raw) VALUES (?, ?, ?, ?, ?, ?, ?)", args)
            self.store.execute("UPDATE fix_sessions SET out_seq = ? WHERE sender = ? AND target = ?", (seq + 1, *key))
            if seq > self.window:
                self.store.execute("DELETE FROM fix_messages WHERE sender = ? AND target = ? AND seq <= ?", (*key, seq - self.window))

    def messages(self, key: Key, begin: int, end: int) -> list[StoredMessage]:
        rows = self.store.execute(
            "SELECT seq, msg_type, sending_time, raw FROM fix_messages WHERE sender = ? AND target = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (*key, begin, end),
        )
        return [StoredMessage(int(r[0]), r[1].encode(), r[2], bytes(r[3])) for r in rows]

    def offline(self, key: Key) -> list[StoredMessage]:
        """Application messages stored while no connection was attached, oldest first."""
        rows = self.store.execute(
            "SELECT seq, msg_type, sending_time, raw FROM fix_messages WHERE sender = ? AND target = ? AND offline = 1 ORDER BY seq", key)
        return [StoredMessage(int(r[0]), r[1].encode(), r[2], bytes(r[3])) for r in rows]

    def clear_offline(self, key: Key) -> None:
        self.store.execute("UPDATE fix_messages SET offline = 0 WHERE sender = ? AND target = ? AND offline = 1", key)

    def count(self, key: Key) -> int:
        row = self.store.one("SELECT COUNT(*) FROM fix_messages WHERE sender = ? AND target = ?", key)
        return int(row[0]) if row else 0

    # -- ClOrdID chains --------------------------------------------------------------------------
    def set_cl_ord_id(self, key: Key, order_id: int, cl_ord_id: str) -> None:
        self.store.execute(
            """INSERT INTO fix_clordids (sender, target, order_id, cl_ord_id) VALUES (?, ?, ?, ?)
               ON CONFLICT (sender, target, order_id) DO UPDATE SET cl_ord_id = excluded.cl_ord_id""",
            (*key, order_id, cl_ord_id),
        )

    def cl_ord_ids(self, key: Key) -> dict[int, str]:
        rows = self.store.execute("SELECT order_id, cl_ord_id FROM fix_clordids WHERE sender = ? AND target = ?", key)
        return {int(r[0]): r[1] for r in rows}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._owns:
                self.store.close()


__all__ = ["FixSessionStore", "StoredMessage", "StoredSession", "fix_store_url"]
