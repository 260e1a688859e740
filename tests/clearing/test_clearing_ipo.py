"""IPO money and shares: FINI pre-funding holds, IPO financing, issuance, refunds, proceeds, fees."""

from __future__ import annotations

from lionrock.clearing.commands import DepositCash
from lionrock.clearing.events import IpoFundsHeld, IpoSettled, IpoSettlementFailed
from lionrock.offering.events import IpoApplicationsFunded, IpoSettlementInstructed
from testkit.ledger_kit import LedgerTestEmit, at, engine

A, B, PLACEE = "C:P1:A", "C:P2:B", "C:GS:FUND"


def _instruction(**kw):
    base = dict(
        offering_id="OFF1",
        instrument="02525",
        currency="HKD",
        issuer_account="I:HESAI",
        price=100_000,
        allotments=[(A, 100, 1_000_000), (PLACEE, 10_000, 100_000_000)],
        refunds=[(A, 4_060_340), (B, 2_020_170)],
        fees=[("F:BROKERAGE:P1", 10_000), ("F:BROKERAGE:GS", 1_000_000), ("F:SFC", 2_727), ("F:HKEX", 5_707), ("F:AFRC", 152)],
        account_fees=[(A, 10_085), (PLACEE, 1_008_501)],
    )
    base.update(kw)
    return IpoSettlementInstructed(**base)


def test_ipo_holds_then_settles_conserving_cash_and_issuing_shares() -> None:
    eng, clearing, _ = engine()
    eng.submit(DepositCash(account=A, currency="HKD", amount=5_070_425), at())
    eng.submit(DepositCash(account=PLACEE, currency="HKD", amount=200_000_000), at())
    out = eng.submit(
        LedgerTestEmit(funded=[IpoApplicationsFunded(offering_id="OFF1", currency="HKD", holds=[(A, 5_070_425), (B, 2_020_170)])]), at()
    )
    held = [e for e in out.events if isinstance(e, IpoFundsHeld)][0]
    assert held.total == 7_090_595 and held.financed == [(B, 2_020_170)]  # B had no cash: IPO financing
    assert clearing.balance("X:FUNDING:P2", "HKD") == -2_020_170
    assert clearing.balance("H:FINI:OFF1", "HKD") == 7_090_595
    out = eng.submit(LedgerTestEmit(instructed=[_instruction()]), at())
    settled = [e for e in out.events if isinstance(e, IpoSettled)][0]
    assert settled.shares_delivered == 10_100 and settled.gross_proceeds == 101_000_000
    assert settled.fees == 1_018_586 and settled.notes == []
    assert clearing.balance(A, "SEC:02525") == 100 and clearing.balance(PLACEE, "SEC:02525") == 10_000
    assert clearing.balance("I:HESAI", "SEC:02525") == -10_100  # shares issued
    assert clearing.balance("I:HESAI", "HKD") == 101_000_000
    assert clearing.balance(A, "HKD") == 4_060_340
    assert clearing.balance(B, "HKD") == 2_020_170
    assert clearing.balance(PLACEE, "HKD") == 200_000_000 - 100_000_000 - 1_008_501
    assert clearing.balance("H:FINI:OFF1", "HKD") == 0
    assert clearing.balance("F:BROKERAGE:GS", "HKD") == 1_000_000
    assert sum(clearing.ledger.totals().values()) == 0


def test_unreferenced_hold_is_refunded_not_stranded() -> None:
    eng, clearing, _ = engine()
    eng.submit(
        LedgerTestEmit(funded=[IpoApplicationsFunded(offering_id="OFF1", currency="HKD", holds=[(A, 5_070_425), (B, 2_020_170)])]), at()
    )
    out = eng.submit(LedgerTestEmit(instructed=[_instruction(refunds=[(A, 4_060_340)])]), at())
    settled = [e for e in out.events if isinstance(e, IpoSettled)][0]
    assert any("C:P2:B" in n for n in settled.notes)
    assert clearing.balance(B, "HKD") == 2_020_170 and clearing.balance("H:FINI:OFF1", "HKD") == 0


def test_lender_without_shares_fails_the_instruction_without_moving_anything() -> None:
    eng, clearing, _ = engine()
    out = eng.submit(LedgerTestEmit(instructed=[_instruction(issuer_account="C:GS:LENDER", refunds=[])]), at())
    assert any(isinstance(e, IpoSettlementFailed) for e in out.events)
    assert clearing.ledger.balances == {}
