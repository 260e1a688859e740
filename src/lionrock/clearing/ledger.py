"""The double-entry ledger: balances per account and asset, and the rules for negative balances.

A `Posting` moves an amount of one asset from a source account to a destination account, so every
change is balanced by construction. Which accounts may go below zero depends on the account type:

=============== ======== =====================================================================
prefix          type     may be negative
=============== ======== =====================================================================
``P:``          participant never
``C:``          client   never
``I:``          issuer   in its own securities only (a negative holding = shares issued)
``F:``          collector never
``H:``          clearing ``H:HKSCC`` in cash only (its settlement guarantee as central
                house    counterparty); never in securities; other ``H:`` (FINI holds) never
``X:``          external always (banks, FX dealers, IPO financing: money entering or leaving)
=============== ======== =====================================================================

The ledger is pure: `Ledger.check` finds the first posting that would break a rule without
changing anything (the audit uses it), `Ledger.apply` applies postings and treats a violation as a
bug (`InvariantError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from lionrock.clearing.events import Posting
from lionrock.kernel.account import PREFIXES, Account, AccountKind, participant_of
from lionrock.kernel.errors import invariant
from lionrock.kernel.money import Currency

KINDS: dict[str, str] = {prefix: kind.value for prefix, kind in PREFIXES.items()}
"""Account prefix -> account type (`lionrock.kernel.account`, the one grammar)."""
_KIND_NAMES: dict[AccountKind, str] = {kind: kind.value for kind in PREFIXES.values()}
"""Account type -> its name (a dict lookup: an enum's ``.value`` is a descriptor call)."""
CASH_ASSETS: tuple[str, ...] = tuple(c.value for c in Currency)
"""The cash assets: the `Currency` values (HKD, CNY, USD) as plain strings."""
SECURITY_PREFIX = "SEC:"
CLEARING_HOUSE = "H:HKSCC"
FX_DEALER = "X:FX"


def security_asset(security: str) -> str:
    return SECURITY_PREFIX + security


def is_security(asset: str) -> bool:
    return asset.startswith(SECURITY_PREFIX)


@lru_cache(maxsize=1 << 20)
def account_kind(account: str) -> str | None:
    """The account's type, or None if the name does not follow the contract (memoised: the same
    few hundred thousand names are checked on every posting)."""
    parsed = Account.parse(account)
    return None if parsed is None else _KIND_NAMES[parsed.kind]


@lru_cache(maxsize=1 << 16)
def asset_valid(asset: str) -> bool:
    if is_security(asset):
        return len(asset) > len(SECURITY_PREFIX) and "|" not in asset
    return asset in CASH_ASSETS


def may_go_negative(account: str, asset: str) -> bool:
    prefix = account[:2]
    if prefix == "X:":
        return True
    if prefix == "I:":
        return is_security(asset)
    if account == CLEARING_HOUSE:
        return not is_security(asset)
    return False


class Ledger:
    """Balances by account and asset (only non-zero entries are kept)."""

    def __init__(self) -> None:
        self.balances: dict[str, dict[str, int]] = {}

    def balance(self, account: str, asset: str) -> int:
        held = self.balances.get(account)
        return held.get(asset, 0) if held else 0

    def holdings(self, account: str) -> dict[str, int]:
        return dict(self.balances.get(account, {}))

    def check(self, posting: Posting) -> str | None:
        """Why ``posting`` may not be applied now, or None."""
        if posting.amount <= 0:
            return f"non-positive amount {posting.amount}"
        if posting.source == posting.destination:
            return f"source equals destination {posting.source}"
        for account in (posting.source, posting.destination):
            if account_kind(account) is None:
                return f"malformed account {account!r}"
        if not asset_valid(posting.asset):
            return f"unknown asset {posting.asset!r}"
        after = self.balance(posting.source, posting.asset) - posting.amount
        if after < 0 and not may_go_negative(posting.source, posting.asset):
            return f"{posting.source} would hold {after} {posting.asset}"
        return None

    def post(self, posting: Posting) -> None:
        """Apply one posting; a posting `check` would refuse is a bug (`InvariantError`)."""
        source, destination, asset, amount = posting.source, posting.destination, posting.asset, posting.amount
        if (
            amount <= 0
            or source == destination
            or account_kind(source) is None
            or account_kind(destination) is None
            or not asset_valid(asset)
        ):
            invariant(False, f"posting {posting}: {self.check(posting)}")
        self.transfer(source, destination, asset, amount)

    def transfer(self, source: str, destination: str, asset: str, amount: int) -> None:
        """Move ``amount`` (> 0) of ``asset`` between two different, well-formed accounts: what
        `post` does once it has checked the names. A caller that checked the names once, outside
        its loop, calls this per posting (an IPO settles millions of postings); the balance rule
        (who may go below zero) is still checked on every move, and breaking it is a bug."""
        balances = self.balances
        held = balances.get(source)  # the debit, as `_debit` (inlined: this runs millions of times)
        if held is None:
            if not may_go_negative(source, asset):
                invariant(False, f"posting {Posting(source, destination, asset, amount)}: {source} would hold {-amount} {asset}")
            balances[source] = {asset: -amount}
        else:
            after = held.get(asset, 0) - amount
            if after > 0:
                held[asset] = after
            elif after == 0:
                del held[asset]
                if not held:
                    del balances[source]
            elif may_go_negative(source, asset):
                held[asset] = after
            else:
                invariant(False, f"posting {Posting(source, destination, asset, amount)}: {source} would hold {after} {asset}")
        held = balances.get(destination)
        if held is None:
            balances[destination] = {asset: amount}
        else:
            value = held.get(asset, 0) + amount
            if value:
                held[asset] = value
            else:
                del held[asset]
                if not held:
                    del balances[destination]

    def fan_out(self, source: str, asset: str, moves: list[tuple[str, int]]) -> None:
        """Move each ``(destination, amount)`` of ``asset`` out of ``source``: the same balances as a
        `transfer` of each in turn, the names and amounts checked as for `transfer` (by the
        caller, once), no destination equal to the source. The destinations are credited one by
        one; the source, which only pays here, is debited once with the total: its balance only
        falls along the way, so the rule checked on the end balance is checked at every step."""
        balances = self.balances
        total = 0
        for destination, amount in moves:
            if destination == source:
                invariant(False, f"fan_out from {source} to itself")
            held = balances.get(destination)
            if held is None:
                balances[destination] = {asset: amount}
            else:
                value = held.get(asset, 0) + amount
                if value:
                    held[asset] = value
                else:
                    del held[asset]
                    if not held:
                        del balances[destination]
            total += amount
        if total:
            self._debit(source, moves[-1][0], asset, total)

    def _debit(self, source: str, destination: str, asset: str, amount: int) -> None:
        balances = self.balances
        held = balances.get(source)
        if held is None:
            if not may_go_negative(source, asset):
                invariant(False, f"posting {Posting(source, destination, asset, amount)}: {source} would hold {-amount} {asset}")
            balances[source] = {asset: -amount}
        else:
            after = held.get(asset, 0) - amount
            if after > 0:
                held[asset] = after
            elif after == 0:
                del held[asset]
                if not held:
                    del balances[source]
            elif may_go_negative(source, asset):
                held[asset] = after
            else:
                invariant(False, f"posting {Posting(source, destination, asset, amount)}: {source} would hold {after} {asset}")

    def apply(self, postings: Iterable[Posting]) -> None:
        for p in postings:
            self.post(p)

    def totals(self) -> dict[str, int]:
        """Sum over all accounts per asset (zero for every asset in a balanced ledger)."""
        out: dict[str, int] = {}
        for held in self.balances.values():
            for asset, amount in held.items():
                out[asset] = out.get(asset, 0) + amount
        return {a: v for a, v in out.items() if v}

    def by_kind(self) -> dict[str, dict[str, int]]:
        """Per account type, the sum of balances per asset."""
        out: dict[str, dict[str, int]] = {}
        for account, held in self.balances.items():
            kind = account_kind(account) or "malformed"
            row = out.setdefault(kind, {})
            for asset, amount in held.items():
                row[asset] = row.get(asset, 0) + amount
        return out


__all__ = [
    "CASH_ASSETS",
    "CLEARING_HOUSE",
    "FX_DEALER",
    "KINDS",
    "Ledger",
    "account_kind",
    "asset_valid",
    "is_security",
    "may_go_negative",
    "participant_of",
    "security_asset",
]
