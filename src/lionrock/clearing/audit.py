"""Ledger audit: fold every clearing posting of a run and check each ledger invariant as it goes.

`LedgerAuditor` is an engine subscriber. After each command it has applied that command's
postings to its own ledger (independent of the clearing context's state) and checked: every
posting is positive, between well-formed accounts, of a known asset, and leaves no account below
zero unless its type allows it; per asset the sum over all accounts is zero (balanced double
entry); per asset the internal accounts hold exactly what came in from outside (``X:``) and what
issuers issued. The first violation is kept with the sequence number and event that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lionrock.clearing.events import Posting
from lionrock.clearing.ledger import Ledger, is_security
from lionrock.kernel.messages import Command, Event, Stamp


@dataclass(frozen=True, slots=True)
class Violation:
    seq: int
    event_type: str
    event_index: int
    message: str

    def __str__(self) -> str:
        return f"seq {self.seq}, event #{self.event_index} {self.event_type}: {self.message}"


def _outside(account: str, asset: str) -> bool:
    return account.startswith("X:") or (account.startswith("I:") and is_security(asset))


class LedgerAuditor:
    def __init__(self) -> None:
        self.ledger = Ledger()
        self.violation: Violation | None = None
        self.commands = 0
        self.postings = 0
        self.external: dict[str, int] = {}
        """Per asset, net amount that entered internal accounts from outside (X: and issuance)."""

    def __call__(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        self.commands += 1
        if self.violation is not None:
            return
        for index, event in enumerate(events):
            postings = getattr(event, "postings", None)
            if not postings:
                continue
            for p in postings:
                problem = self.ledger.check(p) if isinstance(p, Posting) else f"not a posting: {p!r}"
                if problem is not None:
                    self.violation = Violation(stamp.seq, type(event).__name__, index, problem)
                    return
                self.ledger.post(p)
                self.postings += 1
                inflow = (1 if _outside(p.source, p.asset) else 0) - (1 if _outside(p.destination, p.asset) else 0)
                if inflow:
                    self.external[p.asset] = self.external.get(p.asset, 0) + inflow * p.amount
        self._check_conservation(stamp, events)

    def _check_conservation(self, stamp: Stamp, events: list[Event]) -> None:
        totals = self.ledger.totals()
        if totals:
            self.violation = Violation(stamp.seq, type(events[-1]).__name__ if events else "-", len(events) - 1, f"unbalanced: sum over accounts {totals}")
            return
        internal: dict[str, int] = {}
        for account, held in self.ledger.balances.items():
            for asset, amount in held.items():
                if not _outside(account, asset):
                    internal[asset] = internal.get(asset, 0) + amount
        for asset in sorted(set(internal) | set(self.external)):
            if internal.get(asset, 0) != self.external.get(asset, 0):
                self.violation = Violation(
                    stamp.seq, type(events[-1]).__name__ if events else "-", len(events) - 1,
                    f"{asset}: internal accounts hold {internal.get(asset, 0)}, external flows and issuance brought {self.external.get(asset, 0)}",
                )
                return


__all__ = ["LedgerAuditor", "Violation"]
