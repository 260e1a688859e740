"""`lionrock audit`: a real run (trading -> clearing -> connect) journaled, replayed and checked."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from typer.testing import CliRunner

from lionrock.clearing.audit import LedgerAuditor
from lionrock.clearing.commands import (
    CreditSecurities,
    DepositCash,
    FxQuote,
    RecordFxRates,
    RunSettlement,
)
from lionrock.clearing.events import CashWithdrawn, Posting
from lionrock.cli.main import app
from lionrock.connect.commands import (
    PlaceSouthboundOrder,
    RegisterSouthboundInvestor,
    SetIndexConstituents,
)
from lionrock.engine import Engine
from lionrock.kernel import Stamp
from lionrock.kernel.money import Rate
from lionrock.kernel.xhkg import hk_ns
from lionrock.service.contexts import default_contexts
from lionrock.storage.sqlite_journal import SqliteJournal
from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay, TradingTick

D = date(2025, 11, 24)
T2 = date(2025, 11, 26)


def _run(path: Path) -> str:
    engine = Engine(default_contexts(), SqliteJournal(path))

    def at(t: time, d: date = D) -> int:
        return hk_ns(d, t)

    commands = [
        (ListInstrument(instrument="02525", board_lot=100, nominal_price=50_000), at(time(8))),
        (StartTradingDay(day=D.isoformat(), seed=1), at(time(8, 1))),
        (DepositCash(account="C:P1:A", currency="HKD", amount=10**9), at(time(8, 2))),
        (DepositCash(account="C:SB:Z", currency="HKD", amount=10**8, source="X:SOUTHBOUND"), at(time(8, 2))),
        (CreditSecurities(account="C:P2:B", instrument="02525", quantity=1000, source="I:HESAI"), at(time(8, 3))),
        (RecordFxRates(day=D, rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse("1.08"))]), at(time(8, 4))),
        (RegisterSouthboundInvestor(account="C:SB:Z", investor_type="INSTITUTION"), at(time(8, 5))),
        (SetIndexConstituents(index="HSLI", instruments=["02525"]), at(time(8, 6))),
        (TradingTick(), at(time(9, 31))),
        (
            PlaceOrder(
                instrument="02525",
                participant="P2",
                account="C:P2:B",
                client_order_id="s1",
                side="S",
                order_type="LIMIT",
                price=50_000,
                quantity=500,
            ),
            at(time(9, 40)),
        ),
        (
            PlaceOrder(
                instrument="02525",
                participant="P1",
                account="C:P1:A",
                client_order_id="b1",
                side="B",
                order_type="LIMIT",
                price=50_000,
                quantity=300,
            ),
            at(time(9, 41)),
        ),
        (
            PlaceSouthboundOrder(
                link="SH",
                order=PlaceOrder(
                    instrument="02525",
                    participant="SB",
                    account="C:SB:Z",
                    client_order_id="sb1",
                    side="B",
                    order_type="LIMIT",
                    price=50_000,
                    quantity=200,
                ),
            ),
            at(time(9, 42)),
        ),
        (RunSettlement(day=T2), at(time(17), T2)),
    ]
    for command, ns in commands:
        assert engine.submit(command, ns).accepted, command
    clearing = engine.contexts["clearing"]
    assert clearing.balance("C:SB:Z", "SEC:02525") == 200  # type: ignore[attr-defined]
    assert clearing.balance("C:P2:B", "SEC:02525") == 500  # type: ignore[attr-defined]
    digest = engine.state_hash()
    engine.flush()
    engine.close()
    return digest


def test_audit_of_a_clean_run_exits_zero_and_replay_matches(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    digest = _run(path)
    replay = Engine(default_contexts(), SqliteJournal(path, readonly=True)).recover(use_snapshot=False)
    assert replay.state_hash() == digest
    replay.close()
    result = CliRunner().invoke(app, ["audit", str(path)])
    assert result.exit_code == 0, result.output
    assert "ledger OK" in result.output and "client" in result.output


def test_auditor_names_the_first_violating_event() -> None:
    auditor = LedgerAuditor()
    ok = CashWithdrawn(account="C:P1:A", currency="HKD", amount=5, destination="X:BANK", postings=[Posting("X:BANK", "C:P1:A", "HKD", 5)])
    bad = CashWithdrawn(
        account="C:P1:A", currency="HKD", amount=11, destination="X:BANK", postings=[Posting("C:P1:A", "X:BANK", "HKD", 11)]
    )
    auditor(Stamp(1, 0), DepositCash(account="C:P1:A", currency="HKD", amount=5), [ok])
    assert auditor.violation is None
    auditor(Stamp(2, 0), DepositCash(account="C:P1:A", currency="HKD", amount=5), [ok, bad])
    assert auditor.violation is not None
    assert (auditor.violation.seq, auditor.violation.event_type, auditor.violation.event_index) == (2, "CashWithdrawn", 1)
    assert "C:P1:A would hold -1 HKD" in auditor.violation.message


def _full_sums(auditor: LedgerAuditor) -> tuple[dict[str, int], dict[str, int]]:
    """The sums the audit used to recompute from every balance after every command."""
    totals: dict[str, int] = {}
    internal: dict[str, int] = {}
    for account, held in auditor.ledger.balances.items():
        for asset, amount in held.items():
            totals[asset] = totals.get(asset, 0) + amount
            if not (account.startswith("X:") or (account.startswith("I:") and asset.startswith("SEC:"))):
                internal[asset] = internal.get(asset, 0) + amount
    return {a: v for a, v in totals.items() if v}, {a: v for a, v in internal.items() if v}


def test_incremental_sums_equal_a_full_recount_after_every_command() -> None:
    """Seeded random postings (deposits, issuance, transfers, withdrawals): after each command the
    running per-asset sums equal the sums over every balance, as the old full check computed."""
    import random

    draw = random.Random(20251124)
    accounts = ["X:BANK", "X:FX", "I:ISS", "H:HKSCC", "P:P1", *(f"C:P{i % 3}:INV{i}" for i in range(12))]
    assets = ["HKD", "CNY", "SEC:02525"]
    auditor = LedgerAuditor()
    for seq in range(1, 400):
        postings = []
        for _ in range(draw.randint(1, 6)):
            source, destination = draw.sample(accounts, 2)
            posting = Posting(source, destination, draw.choice(assets), draw.randint(1, 5_000))
            if auditor.ledger.check(posting) is None and all(p.source != source for p in postings):
                postings.append(posting)
        if postings:
            event = CashWithdrawn(account="C:P1:A", currency="HKD", amount=1, destination="X:BANK", postings=postings)
            auditor(Stamp(seq, seq), DepositCash(account="C:P1:A", currency="HKD", amount=1), [event])
        assert auditor.violation is None, auditor.violation
        totals, internal = _full_sums(auditor)
        assert {a: v for a, v in auditor.totals.items() if v} == totals
        assert {a: v for a, v in auditor.internal.items() if v} == internal
    assert auditor.postings > 500
    assert auditor.finish() is None


def _deposit(auditor: LedgerAuditor, seq: int, account: str, amount: int) -> None:
    event = CashWithdrawn(
        account=account, currency="HKD", amount=amount, destination="X:BANK", postings=[Posting("X:BANK", account, "HKD", amount)]
    )
    auditor(Stamp(seq, 0), DepositCash(account=account, currency="HKD", amount=amount), [event])


def test_auditor_still_catches_unbalanced_and_unconserved_sums_at_the_command() -> None:
    """A broken running sum (as a ledger bug would leave it) is caught by the next command that
    touches the asset, naming that command's seq."""
    unbalanced = LedgerAuditor()
    _deposit(unbalanced, 1, "C:P1:A", 10)
    unbalanced.totals["HKD"] += 3
    _deposit(unbalanced, 2, "C:P1:B", 10)
    assert unbalanced.violation is not None and unbalanced.violation.seq == 2
    assert "unbalanced: sum over accounts {'HKD': 3}" in unbalanced.violation.message

    unconserved = LedgerAuditor()
    _deposit(unconserved, 1, "C:P1:A", 10)
    unconserved.external["HKD"] -= 4
    _deposit(unconserved, 2, "C:P1:A", 5)
    assert unconserved.violation is not None and unconserved.violation.seq == 2
    assert "HKD: internal accounts hold 15, external flows and issuance brought 11" in unconserved.violation.message


def test_auditor_catches_a_balance_changed_outside_the_postings() -> None:
    """A ledger altered behind the postings' back (not touched again) is caught by `finish`, which
    recounts every balance once."""
    auditor = LedgerAuditor()
    _deposit(auditor, 1, "C:P1:A", 10)
    _deposit(auditor, 2, "C:P1:B", 7)
    auditor.ledger.balances["C:P1:B"]["HKD"] = 9
    _deposit(auditor, 3, "C:P1:A", 1)
    violation = auditor.finish()
    assert violation is not None and violation.seq == 3
    assert "balances changed outside the postings for HKD" in violation.message


def test_audit_cli_prints_plain_progress_lines_without_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    _run(path)
    result = CliRunner().invoke(app, ["audit", str(path)])
    assert result.exit_code == 0, result.output
    assert "audit: 13 of 13 commands (100%)" in result.output
