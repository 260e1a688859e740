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
from lionrock.engine import Engine, SqliteJournal
from lionrock.engine.registry import default_contexts
from lionrock.kernel import Stamp
from lionrock.kernel.money import Rate
from lionrock.kernel.xhkg import hk_ns
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
        (PlaceOrder(instrument="02525", participant="P2", account="C:P2:B", client_order_id="s1", side="S", order_type="LIMIT", price=50_000, quantity=500), at(time(9, 40))),
        (PlaceOrder(instrument="02525", participant="P1", account="C:P1:A", client_order_id="b1", side="B", order_type="LIMIT", price=50_000, quantity=300), at(time(9, 41))),
        (PlaceSouthboundOrder(link="SH", order=PlaceOrder(instrument="02525", participant="SB", account="C:SB:Z", client_order_id="sb1", side="B", order_type="LIMIT", price=50_000, quantity=200)), at(time(9, 42))),
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
    bad = CashWithdrawn(account="C:P1:A", currency="HKD", amount=11, destination="X:BANK", postings=[Posting("C:P1:A", "X:BANK", "HKD", 11)])
    auditor(Stamp(1, 0), DepositCash(account="C:P1:A", currency="HKD", amount=5), [ok])
    assert auditor.violation is None
    auditor(Stamp(2, 0), DepositCash(account="C:P1:A", currency="HKD", amount=5), [ok, bad])
    assert auditor.violation is not None
    assert (auditor.violation.seq, auditor.violation.event_type, auditor.violation.event_index) == (2, "CashWithdrawn", 1)
    assert "C:P1:A would hold -1 HKD" in auditor.violation.message
