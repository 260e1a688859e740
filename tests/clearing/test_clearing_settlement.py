"""Trade clearing and continuous net settlement, driven through the engine."""

from __future__ import annotations

from datetime import date

from lionrock.clearing.commands import (
    CreditSecurities,
    DepositCash,
    FxQuote,
    RecordFxRates,
    RegisterSecurity,
    RunSettlement,
    TransferBetweenCounters,
    WithdrawCash,
)
from lionrock.clearing.events import (
    BuyInRequired,
    SettlementFailed,
    SettlementRunCompleted,
    TradeCleared,
    TradeClearingDeferred,
)
from lionrock.kernel.money import Rate
from lionrock.trading.events import InstrumentListed
from testkit.ledger_kit import DAY, LedgerTestEmit, at, engine, trade

T2 = date(2025, 11, 26)
T3 = date(2025, 11, 27)
BUYER, SELLER = "C:P1:ALICE", "C:P2:BOB"


def setup(seller_shares: int = 1000, buyer_cash: int = 10_000_000):
    eng, clearing, connect = engine()
    if buyer_cash:
        assert eng.submit(DepositCash(account=BUYER, currency="HKD", amount=buyer_cash), at()).accepted
    if seller_shares:
        assert eng.submit(CreditSecurities(account=SELLER, instrument="02525", quantity=seller_shares, source="I:HESAI"), at()).accepted
    return eng, clearing


def test_trade_settles_on_t_plus_2_with_charges_to_collectors() -> None:
    """CNS T+2 (HKEX settlement page); charges per side per rules.clearing."""
    eng, clearing = setup()
    out = eng.submit(LedgerTestEmit(trades=[trade(1, BUYER, SELLER, 50_000, 1000)]), at())
    cleared = [e for e in out.events if isinstance(e, TradeCleared)][0]
    assert cleared.settle_date == T2 and cleared.consideration == 5_000_000
    charges = dict(cleared.buyer_charges)
    assert charges == {"F:STAMP": 5_000, "F:HKEX": 283, "F:SFC": 135, "F:AFRC": 8, "F:HKSCC": 210}
    per_side = sum(charges.values())
    # nothing moves before T+2
    assert eng.submit(RunSettlement(day=date(2025, 11, 25)), at(date(2025, 11, 25), 17)).accepted
    assert clearing.balance(BUYER, "SEC:02525") == 0
    out = eng.submit(RunSettlement(day=T2), at(T2, 17))
    run = out.events[-1]
    assert isinstance(run, SettlementRunCompleted) and run.positions_settled == 2 and run.failures == 0
    assert clearing.balance(BUYER, "SEC:02525") == 1000
    assert clearing.balance(BUYER, "HKD") == 10_000_000 - 5_000_000 - per_side
    assert clearing.balance(SELLER, "HKD") == 5_000_000 - per_side
    assert clearing.balance("F:STAMP", "HKD") == 10_000
    assert clearing.balance("H:HKSCC", "HKD") == 0 and clearing.balance("H:HKSCC", "SEC:02525") == 0


def test_positions_net_per_account_before_settlement() -> None:
    eng, clearing = setup(seller_shares=1000)
    eng.submit(LedgerTestEmit(trades=[trade(1, BUYER, SELLER, 50_000, 600), trade(2, SELLER, BUYER, 51_000, 200)]), at())
    eng.submit(RunSettlement(day=T2), at(T2, 17))
    assert clearing.balance(BUYER, "SEC:02525") == 400
    assert clearing.balance(SELLER, "SEC:02525") == 600


def test_seller_without_shares_fails_and_is_retried_then_bought_in() -> None:
    """A short stock position never goes negative: it fails, carries, and is flagged for buy-in on
    T+3 (CCASS CNS: compulsory buy-in of a short position unsettled at the end of T+2)."""
    eng, clearing = setup(seller_shares=0)
    eng.submit(LedgerTestEmit(trades=[trade(1, BUYER, SELLER, 50_000, 1000)]), at())
    out = eng.submit(RunSettlement(day=T2), at(T2, 17))
    fails = [e for e in out.events if isinstance(e, SettlementFailed)]
    assert [(f.account, f.kind, f.required, f.available) for f in fails] == [(SELLER, "SECURITIES", 1000, 0)]
    run = out.events[-1]
    assert isinstance(run, SettlementRunCompleted) and run.awaiting_delivery == 1 and run.positions_open == 2
    assert clearing.balance(SELLER, "SEC:02525") == 0 and clearing.balance(BUYER, "SEC:02525") == 0
    assert clearing.balance(BUYER, "HKD") == 10_000_000  # the buyer pays nothing until it receives
    out = eng.submit(RunSettlement(day=T3), at(T3, 17))
    assert [e.days_failed for e in out.events if isinstance(e, SettlementFailed)] == [2]
    buy_ins = [e for e in out.events if isinstance(e, BuyInRequired)]
    assert [(b.account, b.quantity) for b in buy_ins] == [(SELLER, 1000)]
    # the seller obtains the shares: the next run settles both sides
    eng.submit(CreditSecurities(account=SELLER, instrument="02525", quantity=1000, source="I:HESAI"), at(date(2025, 11, 28), 9))
    out = eng.submit(RunSettlement(day=date(2025, 11, 28)), at(date(2025, 11, 28), 17))
    assert out.events[-1].positions_settled == 2 and out.events[-1].positions_open == 0
    assert clearing.balance(BUYER, "SEC:02525") == 1000


def test_buyer_without_cash_fails_money_and_hkscc_guarantees_the_seller() -> None:
    """HKSCC as central counterparty pays the delivering seller even when the buyer fails to pay."""
    eng, clearing = setup(buyer_cash=0)
    eng.submit(LedgerTestEmit(trades=[trade(1, BUYER, SELLER, 50_000, 1000)]), at())
    out = eng.submit(RunSettlement(day=T2), at(T2, 17))
    fails = [e for e in out.events if isinstance(e, SettlementFailed)]
    assert [(f.account, f.kind, f.asset) for f in fails] == [(BUYER, "MONEY", "HKD")]
    assert clearing.balance(SELLER, "SEC:02525") == 0
    assert clearing.balance("H:HKSCC", "SEC:02525") == 1000
    assert clearing.balance("H:HKSCC", "HKD") == -5_000_000
    assert clearing.balance(SELLER, "HKD") > 0
    eng.submit(DepositCash(account=BUYER, currency="HKD", amount=6_000_000), at(T3, 9))
    eng.submit(RunSettlement(day=T3), at(T3, 17))
    assert clearing.balance(BUYER, "SEC:02525") == 1000
    assert clearing.balance("H:HKSCC", "HKD") == 0 and clearing.balance("H:HKSCC", "SEC:02525") == 0


def test_withdraw_more_than_balance_is_rejected() -> None:
    eng, clearing = setup()
    out = eng.submit(WithdrawCash(account=BUYER, currency="HKD", amount=10_000_001), at())
    assert out.rejection is not None and out.rejection.reason == "INSUFFICIENT_CASH"
    assert clearing.balance(BUYER, "HKD") == 10_000_000


def test_settlement_cannot_run_for_a_future_day_or_a_holiday() -> None:
    eng, _ = setup()
    assert eng.submit(RunSettlement(day=T2), at()).rejection.reason == "SETTLEMENT_DAY_IN_FUTURE"
    assert eng.submit(RunSettlement(day=date(2025, 12, 25)), at(date(2025, 12, 29))).rejection.reason == "NOT_A_BUSINESS_DAY"


def test_rmb_counter_trade_waits_for_a_rate_then_pays_hkd_charges() -> None:
    """Stamp duty on a foreign-currency consideration: convert to HKD first, then round up to
    HK$1 (IRD, via the HKEX RMB FAQ)."""
    eng, clearing, _ = engine()
    eng.submit(
        LedgerTestEmit(
            listed=[
                InstrumentListed(
                    instrument="02525",
                    board_lot=100,
                    nominal_price=50_000,
                    currency="HKD",
                    vcm_class="",
                    counter_of="",
                    name="",
                    closing_auction=True,
                ),
                InstrumentListed(
                    instrument="82525",
                    board_lot=100,
                    nominal_price=46_000,
                    currency="CNY",
                    vcm_class="",
                    counter_of="02525",
                    name="",
                    closing_auction=True,
                ),
            ]
        ),
        at(),
    )
    eng.submit(CreditSecurities(account=SELLER, instrument="02525", quantity=100, source="I:HESAI"), at())
    eng.submit(DepositCash(account=BUYER, currency="CNY", amount=1_000_000), at())
    eng.submit(DepositCash(account=BUYER, currency="HKD", amount=10_000), at())
    eng.submit(DepositCash(account=SELLER, currency="HKD", amount=10_000), at())
    out = eng.submit(LedgerTestEmit(trades=[trade(1, BUYER, SELLER, 100_000, 100, instrument="82525", currency="CNY")]), at())
    assert any(isinstance(e, TradeClearingDeferred) for e in out.events)
    eng.submit(RecordFxRates(day=DAY, rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse("1.171"))]), at(DAY, 18))
    out = eng.submit(RunSettlement(day=T2), at(T2, 17))
    cleared = [e for e in out.events if isinstance(e, TradeCleared)][0]
    assert cleared.security == "02525" and cleared.consideration == 1_000_000 and cleared.consideration_hkd == 1_171_000
    assert dict(cleared.buyer_charges)["F:STAMP"] == 1_200  # HK$11.71 -> HK$12
    assert clearing.balance(BUYER, "SEC:02525") == 100
    assert clearing.balance(SELLER, "CNY") == 1_000_000
    assert clearing.balance("F:STAMP", "HKD") == 2 * 1_200  # both sides pay the HKD duty
    assert clearing.balance(SELLER, "HKD") == 10_000 - sum(a for _, a in cleared.seller_charges)


def test_inter_counter_transfer_keeps_one_fungible_position() -> None:
    eng, clearing, _ = engine()
    assert eng.submit(RegisterSecurity(security="02525", counters=[("02525", "HKD"), ("82525", "CNY")]), at()).accepted
    eng.submit(CreditSecurities(account=BUYER, instrument="82525", quantity=300, source="I:HESAI"), at())
    assert clearing.balance(BUYER, "SEC:02525") == 300
    assert eng.submit(TransferBetweenCounters(account=BUYER, from_instrument="82525", to_instrument="02525", quantity=300), at()).accepted
    bad = eng.submit(TransferBetweenCounters(account=BUYER, from_instrument="82525", to_instrument="09999", quantity=1), at())
    assert bad.rejection is not None and bad.rejection.reason == "NOT_SAME_SECURITY"
