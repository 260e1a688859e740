"""Shared test builders: a minimal context for engine tests, time helpers."""

from __future__ import annotations

from datetime import date, time
from enum import IntEnum
from typing import Any, ClassVar

from lionrock.kernel import Command, Event, Stamp, invariant, require
from lionrock.kernel.errors import reject_codes
from lionrock.kernel.xhkg import hk_ns

T0 = hk_ns(date(2025, 11, 24), time(9, 30))


@reject_codes("engine")
class TallyCode(IntEnum):
    """Codes of the test-only context (engine range, 1900s reserved for tests)."""

    INSUFFICIENT = 1901
    NON_POSITIVE = 1902


class Credit(Command):
    account: str
    amount: int


class Debit(Command):
    account: str
    amount: int


class Explode(Command):
    """Trips an invariant inside the context: stands for a bug."""


class Credited(Event):
    account: str
    amount: int
    balance: int


class Debited(Event):
    account: str
    amount: int
    balance: int


class Audited(Event):
    account: str


class TallyContext:
    """A toy ledger used to test the engine: credits, debits, rejects on overdraft."""

    name: ClassVar[str] = "tally"
    command_types: ClassVar[tuple[type[Command], ...]] = (Credit, Debit, Explode)
    observed_event_types: ClassVar[tuple[type[Event], ...]] = ()

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}

    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        match command:
            case Credit(account=a, amount=n):
                require(n > 0, TallyCode.NON_POSITIVE, "amount", f"must be positive, got {n}")
                self.balances[a] = self.balances.get(a, 0) + n
                return [Credited(account=a, amount=n, balance=self.balances[a])]
            case Debit(account=a, amount=n):
                require(n > 0, TallyCode.NON_POSITIVE, "amount", f"must be positive, got {n}")
                have = self.balances.get(a, 0)
                require(have >= n, TallyCode.INSUFFICIENT, "amount", f"{a} holds {have}, cannot debit {n}")
                self.balances[a] = have - n
                return [Debited(account=a, amount=n, balance=self.balances[a])]
            case Explode():
                invariant(False, "the tally context has a bug")
        raise AssertionError(command)

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        return []

    def snapshot(self) -> Any:
        return self.balances

    def restore(self, data: Any) -> None:
        self.balances = dict(data)

    def canonical_state(self) -> Any:
        return self.balances


class AuditContext:
    """Observes the tally's debits, to test cross-context reactions."""

    name: ClassVar[str] = "audit"
    command_types: ClassVar[tuple[type[Command], ...]] = ()
    observed_event_types: ClassVar[tuple[type[Event], ...]] = (Debited,)

    def __init__(self) -> None:
        self.seen = 0

    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        raise AssertionError(command)

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        assert isinstance(event, Debited)
        self.seen += 1
        return [Audited(account=event.account)]

    def snapshot(self) -> Any:
        return self.seen

    def restore(self, data: Any) -> None:
        self.seen = int(data)

    def canonical_state(self) -> Any:
        return self.seen


def tally_contexts() -> list[Any]:
    return [TallyContext(), AuditContext()]
