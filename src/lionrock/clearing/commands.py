"""Commands of the clearing context (imports only `lionrock.kernel`; other contexts may import it).

Accounts follow the cross-context contract: ``"P:<participant>"``, ``"C:<participant>:<client>"``,
``"I:<issuer>"``, ``"F:<collector>"``, ``"H:<clearing house>"``, ``"X:<external>"``. Cash amounts
are integer minor units of ``currency``; quantities are shares.
"""

from __future__ import annotations

from datetime import date
from typing import get_args

import msgspec

from lionrock.kernel.messages import Command
from lionrock.kernel.money import Rate


class OpenClearingAccount(Command, frozen=True):
    """Record an account's holder name (optional: any well-formed account exists implicitly)."""

    account: str
    name: str = ""


class DepositCash(Command, frozen=True):
    """Move cash from an external ``X:`` account (a bank, a mainland funding channel) into ``account``."""

    account: str
    currency: str
    amount: int
    source: str = "X:BANK"


class WithdrawCash(Command, frozen=True):
    account: str
    currency: str
    amount: int
    destination: str = "X:BANK"


class CreditSecurities(Command, frozen=True):
    """Deliver shares free of payment from ``source`` (an ``I:`` issuer issues them: pre-IPO
    holdings; any other account must hold them) to ``account``."""

    account: str
    instrument: str
    quantity: int
    source: str


class FxQuote(msgspec.Struct, frozen=True, kw_only=True):
    """``1 base = rate quote``, e.g. base ``"CNY"``, quote ``"HKD"``, rate ``Rate.parse("1.0850")``."""

    base: str
    quote: str
    rate: Rate


class RecordFxRates(Command, frozen=True):
    """The day's exchange rates (input data). Stamp duty on non-HKD trades and conversions use the
    latest rates recorded for a day on or before the day in question."""

    day: date
    rates: list[FxQuote]


class ConvertCurrency(Command, frozen=True):
    """Sell ``sell_amount`` of ``sell_currency`` for ``buy_currency`` at today's rate, with the FX
    dealer ``X:FX`` as counterparty; the bought amount is rounded down to the minor unit."""

    account: str
    sell_currency: str
    buy_currency: str
    sell_amount: int


class RegisterSecurity(Command, frozen=True):
    """Map the counters (trading instruments) of one security: ``counters`` is a list of
    (instrument, currency). Positions are held per security, so counters are fungible."""

    security: str
    counters: list[tuple[str, str]]


class TransferBetweenCounters(Command, frozen=True):
    """Inter-counter transfer of a dual-counter holding (e.g. HKD counter 02525 -> RMB 82525)."""

    account: str
    from_instrument: str
    to_instrument: str
    quantity: int


class RunSettlement(Command, frozen=True):
    """Continuous net settlement of every position due on or before ``day`` (an XHKG business day
    no later than the stamp's Hong Kong date); unsettled positions carry forward."""

    day: date


ClearingCommand = (
    OpenClearingAccount
    | DepositCash
    | WithdrawCash
    | CreditSecurities
    | RecordFxRates
    | ConvertCurrency
    | RegisterSecurity
    | TransferBetweenCounters
    | RunSettlement
)
"""The closed union of clearing's commands (`ClearingContext.execute` matches it exhaustively)."""

CLEARING_COMMANDS: tuple[type[Command], ...] = get_args(ClearingCommand)
"""The same commands as a tuple of classes (the context's ``command_types``)."""

__all__ = [
    "CLEARING_COMMANDS",
    "ClearingCommand",
    "ConvertCurrency",
    "CreditSecurities",
    "DepositCash",
    "FxQuote",
    "OpenClearingAccount",
    "RecordFxRates",
    "RegisterSecurity",
    "RunSettlement",
    "TransferBetweenCounters",
    "WithdrawCash",
]
