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

Per pair it also keeps the position in the engine's event stream (``reported_seq``,
``reported_idx``: the last event whose ExecutionReports are stored) and it moves only in the
transaction that stores those reports (`sent_reports`), so the position and the stored reports
never disagree: a report is stored if and only if its event is at or before the position. The
gateway reports the events after it at start-up (see `lionrock.gateways.fix.session.SessionState.recover`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lionrock.storage.locations import StorageSpec, is_postgres
from lionrock.storage.sql import SqlStore

_DDL = [
    """CREATE TABLE IF NOT EXISTS fix_sessions (
         sender TEXT NOT NULL, target TEXT NOT NULL, owner TEXT NOT NULL,
         in_seq BIGINT NOT NULL, out_seq BIGINT NOT NULL, reported_seq BIGINT, reported_idx BIGINT,
         PRIMARY KEY (sender, target))""",
    """CREATE TABLE IF NOT EXISTS fix_messages (
         sender TEXT NOT NULL, target TEXT NOT NULL, seq BIGINT NOT NULL, msg_type TEXT NOT NULL,
         sending_time TEXT NOT NULL, offline BIGINT NOT NULL, raw BLOB NOT NULL,
         PRIMARY KEY (sender, target, seq))""",
    """CREATE TABLE IF NOT EXISTS fix_clordids (
         sender TEXT NOT NULL, target TEXT NOT NULL, order_id BIGINT NOT NULL, cl_ord_id TEXT NOT NULL,
         PRIMARY KEY (sender, target, order_id))""",
    """CREATE TABLE IF NOT EXISTS fix_pending (
         sender TEXT NOT NULL, target TEXT NOT NULL, orig_cl_ord_id TEXT NOT NULL, cl_ord_id TEXT NOT NULL,
         PRIMARY KEY (sender, target, orig_cl_ord_id))""",
]

Key = tuple[str, str]


@dataclass(frozen=True)
class StoredSession:
    key: Key
    owner: str
    in_seq: int
    out_seq: int
    reported: tuple[int, int] | None = None  # (engine seq, event index) of the last event reported; None: never recorded


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
        self._migrate()

    def _migrate(self) -> None:
        """A store written before the reported position existed gets its columns (NULL: unknown)."""
        if self.store.postgres:
            for column in ("reported_seq", "reported_idx"):
                self.store.execute(f"ALTER TABLE fix_sessions ADD COLUMN IF NOT EXISTS {column} BIGINT")
            return
        have = {r[1] for r in self.store.execute("PRAGMA table_info(fix_sessions)")}
        for column in ("reported_seq", "reported_idx"):
            if column not in have:
                self.store.execute(f"ALTER TABLE fix_sessions ADD COLUMN {column} BIGINT")

    @classmethod
    def open(cls, url: str, *, window: int = 100_000) -> FixSessionStore:
        return cls(SqlStore(url), window=window, owns_store=True)

    # -- sessions -----------------------------------------------------------------------------
    def sessions(self) -> list[StoredSession]:
        rows = self.store.execute(
            "SELECT sender, target, owner, in_seq, out_seq, reported_seq, reported_idx FROM fix_sessions ORDER BY sender, target"
        )
        return [StoredSession((r[0], r[1]), r[2], int(r[3]), int(r[4]), _position(r[5], r[6])) for r in rows]

    def load(self, key: Key) -> StoredSession | None:
        r = self.store.one(
            "SELECT owner, in_seq, out_seq, reported_seq, reported_idx FROM fix_sessions WHERE sender = ? AND target = ?", key
        )
        return None if r is None else StoredSession(key, r[0], int(r[1]), int(r[2]), _position(r[3], r[4]))

    def claim(self, key: Key, owner: str, in_seq: int, out_seq: int, *, reported: tuple[int, int] | None = None) -> None:
        """Record the pair (first Logon) or its owner and numbers (every Logon). ``reported`` is a
        new pair's starting position (the events before it are not its business); an existing
        pair keeps its own, and a pair without one (an older store) gets it."""
        seq, idx = reported if reported is not None else (None, None)
        self.store.execute(
            """INSERT INTO fix_sessions (sender, target, owner, in_seq, out_seq, reported_seq, reported_idx) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (sender, target) DO UPDATE SET owner = excluded.owner, in_seq = excluded.in_seq, out_seq = excluded.out_seq,
                 reported_seq = COALESCE(fix_sessions.reported_seq, excluded.reported_seq),
                 reported_idx = COALESCE(fix_sessions.reported_idx, excluded.reported_idx)""",
            (*key, owner, in_seq, out_seq, seq, idx),
        )

    def set_reported(self, key: Key, reported: tuple[int, int]) -> None:
        """Move the position without storing a report: only for a pair whose position was
        unknown (an older store), once its views are rebuilt as of ``reported``."""
        self.store.execute("UPDATE fix_sessions SET reported_seq = ?, reported_idx = ? WHERE sender = ? AND target = ?", (*reported, *key))

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
                "INSERT INTO fix_messages (sender, target, seq, msg_type, sending_time, offline, raw) VALUES (?, ?, ?, ?, ?, ?, ?)", args
            )
            self.store.execute("UPDATE fix_sessions SET out_seq = ? WHERE sender = ? AND target = ?", (seq + 1, *key))
            if seq > self.window:
                self.store.execute("DELETE FROM fix_messages WHERE sender = ? AND target = ? AND seq <= ?", (*key, seq - self.window))

    def sent_reports(
        self,
        key: Key,
        messages: list[tuple[int, bytes, str, bytes]],
        reported: tuple[int, int],
        *,
        offline: bool,
        aliases: Sequence[tuple[int, str]] = (),
        answered: Sequence[str] = (),
    ) -> None:
        """The ExecutionReports of one engine event (``messages``: seq, MsgType, SendingTime, raw)
        are about to go out: store them, count them, record the ClOrdID ``aliases`` the event gave,
        drop the pending requests it ``answered`` (by OrigClOrdID) and move the pair's reported
        position to the event, all in one transaction. The common case (one report, no alias, no
        request answered) is one statement on PostgreSQL, as `sent_app`."""
        if not messages and not aliases and not answered:
            return
        if len(messages) == 1 and not aliases and not answered and self.store.postgres:
            seq, msg_type, sending_time, raw = messages[0]
            self.store.execute(
                """WITH stored AS (
                     INSERT INTO fix_messages (sender, target, seq, msg_type, sending_time, offline, raw) VALUES (?, ?, ?, ?, ?, ?, ?)),
                   trimmed AS (DELETE FROM fix_messages WHERE sender = ? AND target = ? AND seq <= ?)
                   UPDATE fix_sessions SET out_seq = ?, reported_seq = ?, reported_idx = ? WHERE sender = ? AND target = ?""",
                (*key, seq, msg_type.decode(), sending_time, int(offline), raw, *key, seq - self.window, seq + 1, *reported, *key),
            )
            return
        with self.store.transaction():
            if messages:  # many reports: one statement inserts them, one counts them and moves the position
                self.store.executemany(
                    "INSERT INTO fix_messages (sender, target, seq, msg_type, sending_time, offline, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*key, seq, msg_type.decode(), sending_time, int(offline), raw) for seq, msg_type, sending_time, raw in messages],
                )
                last = max(seq for seq, *_ in messages)
                self.store.execute("UPDATE fix_sessions SET out_seq = ? WHERE sender = ? AND target = ?", (last + 1, *key))
                if last > self.window:
                    self.store.execute("DELETE FROM fix_messages WHERE sender = ? AND target = ? AND seq <= ?", (*key, last - self.window))
            self.set_reported(key, reported)
            for order_id, cl_ord_id in aliases:
                self.set_cl_ord_id(key, order_id, cl_ord_id)
            for orig in answered:
                self.drop_pending(key, orig)

    def messages(self, key: Key, begin: int, end: int) -> list[StoredMessage]:
        rows = self.store.execute(
            "SELECT seq, msg_type, sending_time, raw FROM fix_messages "
            "WHERE sender = ? AND target = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (*key, begin, end),
        )
        return [StoredMessage(int(r[0]), r[1].encode(), r[2], bytes(r[3])) for r in rows]

    def offline(self, key: Key) -> list[StoredMessage]:
        """Application messages stored while no connection was attached, oldest first."""
        rows = self.store.execute(
            "SELECT seq, msg_type, sending_time, raw FROM fix_messages WHERE sender = ? AND target = ? AND offline = 1 ORDER BY seq", key
        )
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

    # -- cancel and cancel/replace requests awaiting their outcome ----------------------------------
    def set_pending(self, key: Key, orig_cl_ord_id: str, cl_ord_id: str) -> None:
        """A cancel or cancel/replace request (``cl_ord_id``) for the order known by
        ``orig_cl_ord_id`` is about to be submitted: stored first, so the report of its outcome
        carries its ClOrdID even when that report is made after a restart."""
        self.store.execute(
            """INSERT INTO fix_pending (sender, target, orig_cl_ord_id, cl_ord_id) VALUES (?, ?, ?, ?)
               ON CONFLICT (sender, target, orig_cl_ord_id) DO UPDATE SET cl_ord_id = excluded.cl_ord_id""",
            (*key, orig_cl_ord_id, cl_ord_id),
        )

    def drop_pending(self, key: Key, orig_cl_ord_id: str) -> None:
        self.store.execute("DELETE FROM fix_pending WHERE sender = ? AND target = ? AND orig_cl_ord_id = ?", (*key, orig_cl_ord_id))

    def pending(self, key: Key) -> dict[str, str]:
        rows = self.store.execute("SELECT orig_cl_ord_id, cl_ord_id FROM fix_pending WHERE sender = ? AND target = ?", key)
        return {r[0]: r[1] for r in rows}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._owns:
                self.store.close()


def _position(seq: object, idx: object) -> tuple[int, int] | None:
    return None if seq is None else (int(seq), int(idx or 0))  # type: ignore[call-overload]


__all__ = ["FixSessionStore", "StoredMessage", "StoredSession", "fix_store_url"]
