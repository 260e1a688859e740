"""`Ledger.fan_out` (one source, many destinations) leaves the balances a `transfer` of each move
in turn leaves, and refuses what one of those transfers would refuse."""

from __future__ import annotations

import random

import pytest

from lionrock.clearing.ledger import Ledger
from lionrock.kernel.errors import InvariantError

ACCOUNTS = ["C:P1:A", "C:P1:B", "C:P2:C", "P:P1", "X:BANK", "X:FUNDING:P1"]


def _ledger(seed: int) -> Ledger:
    ledger = Ledger()
    rng = random.Random(seed)
    for account in ACCOUNTS:
        if rng.random() < 0.7:
            ledger.transfer("X:SEED", account, "HKD", rng.randint(1, 1_000))
    ledger.transfer("X:SEED", "H:FINI:O1", "HKD", 100_000)
    return ledger


@pytest.mark.parametrize("seed", range(20))
def test_fan_out_equals_transfers_in_turn(seed: int) -> None:
    rng = random.Random(seed)
    moves = [(rng.choice(ACCOUNTS), rng.randint(1, 5_000)) for _ in range(rng.randint(0, 12))]
    one_by_one, fanned = _ledger(seed), _ledger(seed)
    for destination, amount in moves:
        one_by_one.transfer("H:FINI:O1", destination, "HKD", amount)
    fanned.fan_out("H:FINI:O1", "HKD", moves)
    assert fanned.balances == one_by_one.balances


def test_fan_out_beyond_the_source_balance_is_an_invariant_error() -> None:
    ledger = _ledger(1)
    with pytest.raises(InvariantError, match="H:FINI:O1 would hold -1 HKD"):
        ledger.fan_out("H:FINI:O1", "HKD", [("C:P1:A", 60_000), ("C:P1:B", 40_001)])


def test_fan_out_to_its_own_source_is_an_invariant_error() -> None:
    with pytest.raises(InvariantError, match="to itself"):
        _ledger(2).fan_out("H:FINI:O1", "HKD", [("C:P1:A", 1), ("H:FINI:O1", 1)])


def test_fan_out_from_an_external_account_may_go_negative() -> None:
    ledger = _ledger(3)
    before = ledger.balance("X:FUNDING:P1", "HKD")
    ledger.fan_out("X:FUNDING:P1", "HKD", [("C:P1:A", 7), ("C:P2:C", 5)])
    assert ledger.balance("X:FUNDING:P1", "HKD") == before - 12
    assert sum(ledger.totals().values()) == 0
