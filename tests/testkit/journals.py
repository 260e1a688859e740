"""Journals for command-line tests: a few real commands through the default contexts."""

from __future__ import annotations

from pathlib import Path

from lionrock.clearing.commands import DepositCash, WithdrawCash
from lionrock.engine import Engine
from lionrock.service.contexts import default_contexts
from lionrock.storage.sqlite_journal import SqliteJournal

FIRST_NS = 1_763_946_000_000_000_000  # 2025-11-24 09:00 HKT


def write_journal(path: Path, commands: int = 40, snapshot_at: int = 30) -> str:
    """Deposits and withdrawals, one record per block ("every"), a snapshot at ``snapshot_at``;
    returns the state hash."""
    engine = Engine(default_contexts(), SqliteJournal(path, "every"))
    for index in range(1, commands + 1):
        account = f"C:P{index % 3}:INV{index % 5}"
        command = (
            DepositCash(account=account, currency="HKD", amount=1_000 + index)
            if index % 4
            else WithdrawCash(account=f"C:P{(index - 1) % 3}:INV{(index - 1) % 5}", currency="HKD", amount=500)
        )
        assert engine.submit(command, FIRST_NS + index * 1_000_000).accepted, command
        if index == snapshot_at:
            engine.snapshot()
    digest = engine.state_hash()
    engine.close()
    return digest
