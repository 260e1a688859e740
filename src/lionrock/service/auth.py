"""Users, roles, API keys, browser sessions and the append-only audit log.

- Passwords and API keys are hashed with argon2id (``argon2-cffi``). An API key is
  ``lr_<key id>_<secret>``; only its argon2 hash is stored. A verified key is remembered in memory
  by its SHA-256 for ten minutes, so a trading client does not pay argon2 on every request;
  revoking a key clears that cache.
- Browser sessions are a signed cookie (HMAC-SHA256 over ``username|epoch|expiry``, with a
  per-server secret); nothing about the session is trusted unless the signature holds, it has not
  expired and its epoch is the user's current ``session_epoch``. Signing out bumps that epoch, so
  every cookie issued before (a copied one included) stops working at once.
- Roles: issuer, sponsor, investor, broker, operator, regulator. Tenancy is by what a user owns:
  an investor its client accounts, a broker its participant's accounts, a sponsor its offerings,
  an issuer its issuer ids. Operators and regulators see everything; regulators change nothing.
- The audit log is append-only: triggers refuse UPDATE and DELETE, and each row carries a SHA-256
  chained over the previous row's, so removing or editing a row is detectable.
- Password guessing is throttled (`LoginThrottle`) inside `AuthStore.verify_password`, so every
  door that checks a password (REST, web, FIX Logon) gets the same limit: after a few failures per
  username (known or not: the answer never says which) or many per client address, further
  attempts are refused with `LoginThrottled` (``retry_after_s``) for a delay that doubles with
  each failure, before any argon2 hash is computed, so a guess costs the server no CPU.
- An operator can disable a user: its password, sessions and API keys stop working at once (the
  session epoch is bumped, the key cache cleared) until it is enabled again; `AuthStore.is_active`
  answers from memory, so a gateway can check it on every message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lionrock.kernel.errors import ServiceError
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.storage.sql import SqlStore


class AuthError(ServiceError):
    """Bad credentials, or an unknown, revoked or expired key or session."""


class LoginThrottled(AuthError):
    """Too many failed sign-ins for this username or client address: refused without checking
    the password (no argon2 work), until ``retry_after_s`` seconds have passed."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins for this username or address: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass
class _Failures:
    count: int = 0
    last_s: float = 0.0
    locked_until_s: float = 0.0


class LoginThrottle:
    """Exponential backoff on failed sign-ins, per username and per client address.

    Each attempt is counted as a failure *before* the password is hashed (and taken back when it
    succeeds), so concurrent guesses cannot all slip past the check while the first one is still
    hashing. Once a username has ``failures_per_user`` failures (an address
    ``failures_per_address``: many users may share one address), it is locked for ``backoff_s``,
    then twice as long after each further failure, up to ``backoff_max_s``; an attempt during the
    lock is refused and not counted. Failures are forgotten after ``forget_s`` without one. A
    success clears the username's count, but only takes back its own attempt from the address
    (one valid account must not reset an address's budget for guessing others).

    A guesser elsewhere must not lock a user out of its own desk (a broker's FIX Logon): an
    address a username has signed in from successfully is remembered for that username, and
    attempts from it skip the username's lock and count only against the address. So the
    per-username lock stops guessing from everywhere else, while the user keeps signing in from
    where it always does (and a guesser sharing that address still meets the address's budget).

    Unknown usernames are throttled exactly like known ones, so the throttle does not reveal
    which exist. Usernames are keyed by a 16-byte digest and at most ``max_tracked`` keys are
    kept (least recently failed dropped first), so random usernames cannot grow memory. The clock
    (seconds, monotonic) is injectable for tests.
    """

    def __init__(
        self,
        *,
        failures_per_user: int = 5,
        failures_per_address: int = 30,
        backoff_s: int = 1,
        backoff_max_s: int = 900,
        forget_s: int = 3600,
        max_tracked: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("failures_per_user", failures_per_user),
            ("failures_per_address", failures_per_address),
            ("backoff_s", backoff_s),
            ("backoff_max_s", backoff_max_s),
            ("forget_s", forget_s),
            ("max_tracked", max_tracked),
        ):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"Condition failed: login throttle {name} must be a whole number >= 1, got {value!r}")
        self.failures_per_user, self.failures_per_address = failures_per_user, failures_per_address
        self.backoff_s, self.backoff_max_s, self.forget_s = backoff_s, max(backoff_max_s, backoff_s), forget_s
        self.max_tracked = max_tracked
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, _Failures] = OrderedDict()
        self._trusted: OrderedDict[bytes, None] = OrderedDict()  # username digest + address digest

    def _keys(self, username: str, address: str) -> list[tuple[bytes, int]]:
        keys = [(b"u" + hashlib.blake2b(username.encode(errors="replace"), digest_size=16).digest(), self.failures_per_user)]
        if address:
            keys.append((b"a" + hashlib.blake2b(address.encode(errors="replace"), digest_size=16).digest(), self.failures_per_address))
        return keys

    def _delay_s(self, count: int, free: int) -> float:
        if count < free:
            return 0.0
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** min(count - free, 40)))

    def begin(self, username: str, address: str = "") -> None:
        """Raise `LoginThrottled` if the username or the address is locked; otherwise count this
        attempt as a failure until `succeeded` takes it back."""
        now = self.clock()
        keys = self._keys(username, address)
        with self._lock:
            if len(keys) > 1 and keys[0][0] + keys[1][0] in self._trusted:
                keys = keys[1:]  # the user's own address: only the address's budget applies
            wait = 0.0
            for key, _ in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    wait = max(wait, entry.locked_until_s - now)
            if wait > 0:
                raise LoginThrottled(max(1, math.ceil(wait)))
            for key, free in keys:
                entry = self._entries.pop(key, None) or _Failures()
                if now - entry.last_s > self.forget_s:
                    entry.count = 0
                entry.count += 1
                entry.last_s = now
                entry.locked_until_s = now + self._delay_s(entry.count, free)
                self._entries[key] = entry  # most recently failed last
            while len(self._entries) > self.max_tracked:
                self._entries.popitem(last=False)

    def succeeded(self, username: str, address: str = "") -> None:
        """The password was right: forget the username's failures (unless it came from an
        address the username's lock does not apply to: a guesser elsewhere keeps its backoff),
        take back this attempt's from the address."""
        keys = self._keys(username, address)
        with self._lock:
            pair = keys[0][0] + keys[1][0] if len(keys) > 1 else b""
            if pair not in self._trusted:
                self._entries.pop(keys[0][0], None)
            if len(keys) > 1:
                self._trusted.pop(pair, None)
                self._trusted[pair] = None  # most recently used last
                while len(self._trusted) > self.max_tracked:
                    self._trusted.popitem(last=False)
                key, free = keys[1]
                entry = self._entries.get(key)
                if entry is not None:
                    entry.count = max(0, entry.count - 1)
                    entry.locked_until_s = entry.last_s + self._delay_s(entry.count, free)


_DDL = [
    """CREATE TABLE IF NOT EXISTS users (
         username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
         participant TEXT NOT NULL, accounts TEXT NOT NULL, offerings TEXT NOT NULL,
         issuers TEXT NOT NULL, created_ns BIGINT NOT NULL, disabled BIGINT NOT NULL,
         session_epoch BIGINT NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS api_keys (
         key_id TEXT PRIMARY KEY, username TEXT NOT NULL, key_hash TEXT NOT NULL, label TEXT NOT NULL,
         created_ns BIGINT NOT NULL, revoked BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (
         id BIGINT PRIMARY KEY, at_ns BIGINT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
         via TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL,
         detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
]
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
         BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
         BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]
_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
         BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_no_change ON audit",
    """CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
         FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
]
_KEY_CACHE_SECONDS = 600.0
SESSION_COOKIE = "lr_session"


@dataclass
class AuthStore:
    """Users, API keys, sessions and the audit log over one `SqlStore`."""

    store: SqlStore
    session_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    session_ttl_s: int = 8 * 3600
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def __post_init__(self) -> None:
        self.store.script(_DDL)
        self.store.script(_PG_TRIGGERS if self.store.postgres else _SQLITE_TRIGGERS)
        self._add_session_epoch()
        self._key_cache: dict[str, tuple[float, Principal]] = {}
        self._audit_lock = threading.Lock()
        # username -> active, for every user: `is_active` must not touch the database
        self._active: dict[str, bool] = {str(r[0]): not r[1] for r in self.store.execute("SELECT username, disabled FROM users")}

    def _add_session_epoch(self) -> None:
        """A users table made before sessions could be revoked gets its ``session_epoch`` column."""
        if self.store.postgres:
            self.store.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS session_epoch BIGINT NOT NULL DEFAULT 0")
        elif not any(r[1] == "session_epoch" for r in self.store.execute("PRAGMA table_info(users)")):
            self.store.execute("ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0")

    # -- users --------------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        password: str,
        role: Role | str,
        *,
        participant: str = "",
        accounts: list[str] | tuple[str, ...] = (),
        offerings: list[str] | tuple[str, ...] = (),
        issuers: list[str] | tuple[str, ...] = (),
    ) -> Principal:
        role = Role(role)
        if not username or len(password) < 8:
            raise ValueError("username required; password of at least 8 characters")
        if self.store.one("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise ValueError(f"user {username!r} exists")
        self.store.execute(
            "INSERT INTO users (username, password_hash, role, participant, accounts, offerings, issuers, created_ns, disabled) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                username,
                self.hasher.hash(password),
                str(role),
                participant,
                json.dumps(list(accounts)),
                json.dumps(list(offerings)),
                json.dumps(list(issuers)),
                time.time_ns(),
            ),
        )
        self._active[username] = True
        return self.principal(username)

    def grant(self, username: str, *, accounts: list[str] = (), offerings: list[str] = (), issuers: list[str] = ()) -> Principal:  # type: ignore[assignment]
        p = self.principal(username)
        self.store.execute(
            "UPDATE users SET accounts = ?, offerings = ?, issuers = ? WHERE username = ?",
            (
                json.dumps(sorted({*p.accounts, *accounts})),
                json.dumps(sorted({*p.offerings, *offerings})),
                json.dumps(sorted({*p.issuers, *issuers})),
                username,
            ),
        )
        self._key_cache.clear()
        return self.principal(username)

    def principal(self, username: str, via: str = "session") -> Principal:
        row = self.store.one("SELECT role, participant, accounts, offerings, issuers, disabled FROM users WHERE username = ?", (username,))
        if row is None or row[5]:
            raise AuthError(f"no active user {username!r}")
        return Principal(
            username=username,
            role=Role(row[0]),
            participant=row[1],
            accounts=tuple(json.loads(row[2])),
            offerings=tuple(json.loads(row[3])),
            issuers=tuple(json.loads(row[4])),
            via=via,
        )

    def users(self) -> list[Principal]:
        return [self.principal(r[0]) for r in self.store.execute("SELECT username FROM users WHERE disabled = 0 ORDER BY username")]

    def verify_password(self, username: str, password: str, via: str = "session", *, address: str = "") -> Principal:
        """Check a password; ``address`` (the client's IP, when the caller knows it) adds the
        per-address throttle to the per-username one. Raises `LoginThrottled` before any hashing
        when either is locked, `AuthError` for an unknown, disabled or wrong one (one message)."""
        self.throttle.begin(username, address)
        row = self.store.one("SELECT password_hash FROM users WHERE username = ? AND disabled = 0", (username,))
        if row is None:
            self.hasher.hash(password)  # same work either way: no user enumeration by timing
            raise AuthError("unknown user or wrong password")
        try:
            self.hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError) as exc:
            raise AuthError("unknown user or wrong password") from exc
        self.throttle.succeeded(username, address)
        return self.principal(username, via)

    # -- administration -------------------------------------------------------------------------
    def is_active(self, username: str) -> bool:
        """Whether ``username`` exists and is not disabled; from memory (kept by this store's
        create, disable and enable), cheap enough to call on every message."""
        return self._active.get(username, False)

    def user_record(self, username: str) -> dict[str, Any]:
        """A user as an operator sees it, disabled or not; `LookupError` if there is none."""
        row = self.store.one(
            "SELECT role, participant, accounts, offerings, issuers, disabled, created_ns FROM users WHERE username = ?", (username,)
        )
        if row is None:
            raise LookupError(f"no user {username!r}")
        return {
            "username": username,
            "role": row[0],
            "participant": row[1],
            "accounts": json.loads(row[2]),
            "offerings": json.loads(row[3]),
            "issuers": json.loads(row[4]),
            "disabled": bool(row[5]),
            "created_ns": int(row[6]),
        }

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or enable) ``username``; True if that changed anything, `LookupError` if
        there is no such user. Disabling signs it out everywhere (the session epoch moves on, so
        enabling again does not revive old cookies) and clears the key cache, so its sessions,
        API keys and password stop working at once. Its keys are kept, not revoked: enabling
        again restores them (revoke them separately to end them for good)."""
        row = self.store.one("SELECT disabled FROM users WHERE username = ?", (username,))
        if row is None:
            raise LookupError(f"no user {username!r}")
        if bool(row[0]) == disabled:
            return False
        self.store.execute("UPDATE users SET disabled = ?, session_epoch = session_epoch + 1 WHERE username = ?", (int(disabled), username))
        self._active[username] = not disabled
        self._key_cache.clear()
        return True

    # -- API keys -------------------------------------------------------------------------------
    def create_api_key(self, username: str, label: str = "") -> str:
        self.principal(username)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        self.store.execute(
            "INSERT INTO api_keys (key_id, username, key_hash, label, created_ns, revoked) VALUES (?, ?, ?, ?, ?, 0)",
            (key_id, username, self.hasher.hash(secret), label, time.time_ns()),
        )
        return f"lr_{key_id}_{secret}"

    def revoke_api_key(self, username: str, key_id: str) -> bool:
        rows = self.store.execute("SELECT 1 FROM api_keys WHERE key_id = ? AND username = ? AND revoked = 0", (key_id, username))
        if not rows:
            return False
        self.store.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
        self._key_cache.clear()
        return True

    def revoke_api_keys(self, username: str) -> list[str]:
        """Revoke every live key of ``username``; the ids revoked."""
        rows = self.store.execute("SELECT key_id FROM api_keys WHERE username = ? AND revoked = 0 ORDER BY created_ns", (username,))
        self.store.execute("UPDATE api_keys SET revoked = 1 WHERE username = ? AND revoked = 0", (username,))
        self._key_cache.clear()
        return [str(r[0]) for r in rows]

    def api_keys(self, username: str) -> list[dict[str, Any]]:
        rows = self.store.execute(
            "SELECT key_id, label, created_ns FROM api_keys WHERE username = ? AND revoked = 0 ORDER BY created_ns", (username,)
        )
        return [{"key_id": r[0], "label": r[1], "created_ns": r[2]} for r in rows]

    def cached_api_key(self, key: str) -> Principal | None:
        """The principal of an API key verified in the last ten minutes whose user is still
        active, from memory (no argon2, no database read: a gateway may call it on its event
        loop); None when the key must go through `verify_api_key`."""
        hit = self._key_cache.get(hashlib.sha256(key.encode()).hexdigest())
        if hit is not None and time.monotonic() - hit[0] < _KEY_CACHE_SECONDS and self.is_active(hit[1].username):
            return hit[1]
        return None

    def verify_api_key(self, key: str) -> Principal:
        cached = self.cached_api_key(key)
        if cached is not None:
            return cached
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "lr":
            raise AuthError("malformed API key")
        row = self.store.one("SELECT username, key_hash FROM api_keys WHERE key_id = ? AND revoked = 0", (parts[1],))
        if row is None:
            raise AuthError("unknown or revoked API key")
        try:
            self.hasher.verify(row[1], parts[2])
        except (VerificationError, InvalidHashError) as exc:
            raise AuthError("unknown or revoked API key") from exc
        principal = self.principal(row[0], via="api_key")
        self._key_cache[digest] = (now, principal)
        return principal

    def known_username(self, *, api_key: str = "", session_token: str = "") -> str | None:
        """Whose credential this is, without argon2 or a database read, for rate limiting: an
        API key verified in the last ten minutes, or a session token whose signature holds (it
        may have expired or been signed out; it still names the user it was issued to). None
        when neither tells (the caller then counts the request against the client address)."""
        if api_key:
            hit = self._key_cache.get(hashlib.sha256(api_key.encode()).hexdigest())
            return hit[1].username if hit is not None and time.monotonic() - hit[0] < _KEY_CACHE_SECONDS else None
        if session_token:
            payload = self._signed_payload(session_token)
            return None if payload is None else payload.decode(errors="replace").split("|", 1)[0] or None
        return None

    def _signed_payload(self, token: str) -> bytes | None:
        try:
            p64, s64 = token.split(".", 1)
            payload = base64.urlsafe_b64decode(p64 + "=" * (-len(p64) % 4))
            sig = base64.urlsafe_b64decode(s64 + "=" * (-len(s64) % 4))
        except (ValueError, TypeError):
            return None
        want = hmac.new(self.session_secret, payload, hashlib.sha256).digest()
        return payload if hmac.compare_digest(sig, want) else None

    # -- sessions -------------------------------------------------------------------------------
    def _session_epoch(self, username: str) -> int:
        row = self.store.one("SELECT session_epoch FROM users WHERE username = ? AND disabled = 0", (username,))
        if row is None:
            raise AuthError(f"no active user {username!r}")
        return int(row[0])

    def issue_session(self, username: str) -> str:
        expiry = int(time.time()) + self.session_ttl_s
        payload = f"{username}|{self._session_epoch(username)}|{expiry}".encode()
        sig = hmac.new(self.session_secret, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")

    def revoke_sessions(self, username: str) -> None:
        """Sign ``username`` out everywhere: every session token issued so far stops verifying."""
        self.store.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE username = ?", (username,))

    def verify_session(self, token: str) -> Principal:
        payload = self._signed_payload(token)
        if payload is None:
            raise AuthError("malformed session, or its signature does not hold")
        rest, _, expiry = payload.decode(errors="replace").rpartition("|")
        username, _, epoch = rest.rpartition("|")
        if not expiry.isdigit() or int(expiry) < time.time():
            raise AuthError("session expired")
        if not epoch.isdigit() or int(epoch) != self._session_epoch(username):
            raise AuthError("session signed out")
        return self.principal(username, via="session")

    # -- audit ----------------------------------------------------------------------------------
    def audit(self, actor: str, role: str, via: str, action: str, target: str, outcome: str, detail: str = "") -> None:
        with self._audit_lock, self.store.transaction():
            last = self.store.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
            new_id, prev = (int(last[0]) + 1, str(last[1])) if last else (1, "")
            at_ns = time.time_ns()
            h = hashlib.sha256(
                "\x1f".join([prev, str(new_id), str(at_ns), actor, role, via, action, target, outcome, detail]).encode()
            ).hexdigest()
            self.store.execute(
                "INSERT INTO audit (id, at_ns, actor, role, via, action, target, outcome, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id, at_ns, actor, role, via, action, target, outcome, detail, prev, h),
            )

    def audit_log(self, *, actor: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        cols = ("id", "at_ns", "actor", "role", "via", "action", "target", "outcome", "detail", "hash")
        sql = f"SELECT {', '.join(cols)} FROM audit"
        args: tuple[Any, ...] = ()
        if actor is not None:
            sql += " WHERE actor = ?"
            args = (actor,)
        rows = self.store.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def verify_audit_chain(self) -> int:
        """Recompute the chain; returns the number of rows, raises if any row was altered."""
        prev = ""
        n = 0
        for row in self.store.execute(
            "SELECT id, at_ns, actor, role, via, action, target, outcome, detail, prev_hash, hash FROM audit ORDER BY id"
        ):
            parts = [prev, *(str(x) for x in row[:9])]
            if row[9] != prev or hashlib.sha256("\x1f".join(parts).encode()).hexdigest() != row[10]:
                raise AuthError(f"audit row {row[0]} does not match its chain")
            prev = row[10]
            n += 1
        return n


__all__ = ["SESSION_COOKIE", "AuthError", "AuthStore", "LoginThrottle", "LoginThrottled", "Principal", "Role"]
