"""Hypothesis invariants over random trade, IPO and settlement streams.

Per currency and per security, the sum over all accounts is zero after every command (each
posting is balanced); the sum over internal accounts (not ``X:``, not an issuer's own shares)
changes only by external flows and issuance; no account goes below zero unless its type allows
it; HKSCC's holdings mirror the open positions; charges reach only the named collectors.
"""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionrock.clearing import may_go_negative
from lionrock.clearing.commands import CreditSecurities, DepositCash, RunSettlement
from lionrock.clearing.events import IpoSettled, TradeCleared
from lionrock.kernel.xhkg import add_business_days
from lionrock.offering.events import IpoApplicationsFunded, IpoSettlementInstructed
from testkit.ledger_kit import LedgerTestEmit, at, engine, fold, trade

ACCOUNTS = ["C:P1:A", "C:P1:B", "C:P2:C", "C:P2:D", "P:P3"]
START = date(2025, 11, 24)
COLLECTORS = {"F:STAMP", "F:HKEX", "F:SFC", "F:AFRC", "F:HKSCC", "F:BROKERAGE:P1"}

op = st.one_of(
    st.tuples(st.just("deposit"), st.sampled_from(ACCOUNTS), st.integers(1, 50_000_000)),
    st.tuples(st.just("credit"), st.sampled_from(ACCOUNTS), st.integers(1, 5_000)),
    st.tuples(st.just("trade"), st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1_000, 200_000), st.integers(1, 3_000)),
    st.tuples(
        st.just("day"),
    ),
    st.tuples(
        st.just("ipo"),
        st.lists(
            st.tuples(st.sampled_from(ACCOUNTS), st.integers(1, 40), st.integers(0, 2_000_000)),
            min_size=1,
            max_size=4,
            unique_by=lambda t: t[0],
        ),
    ),
)


def _check(clearing, projection: dict[str, dict[str, int]]) -> None:
    ledger = clearing.ledger
    assert ledger.totals() == {}
    for account, held in ledger.balances.items():
        for asset, amount in held.items():
            assert amount >= 0 or may_go_negative(account, asset), (account, asset, amount)
            assert projection.get(account, {}).get(asset, 0) == amount
    internal: dict[str, int] = {}
    external: dict[str, int] = {}
    for account, held in ledger.balances.items():
        for asset, amount in held.items():
            outside = account.startswith("X:") or (account.startswith("I:") and asset.startswith("SEC:"))
            bucket = external if outside else internal
            bucket[asset] = bucket.get(asset, 0) + amount
    for asset in set(internal) | set(external):
        assert internal.get(asset, 0) == -external.get(asset, 0)
    # HKSCC holds exactly the net of the positions still open or pending (the CCP's book)
    positions: dict[str, int] = {}
    for pos_map in [clearing.open, *clearing.pending.values()]:
        for key, pos in pos_map.items():
            _, security, currency = key.split("|")
            positions["SEC:" + security] = positions.get("SEC:" + security, 0) + pos[0]
            positions[currency] = positions.get(currency, 0) + pos[1]
    for asset, amount in positions.items():
        assert ledger.balance("H:HKSCC", asset) == amount, asset


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=30))
def test_ledger_conserved_over_random_streams(ops) -> None:
    eng, clearing, _ = engine()
    projection: dict[str, dict[str, int]] = {}
    day, ipo_n, trade_n = START, 0, 0
    charged = 0
    for o in ops:
        now = at(day, 10) + trade_n
        match o:
            case ("deposit", account, amount):
                out = eng.submit(DepositCash(account=account, currency="HKD", amount=amount), now)
            case ("credit", account, qty):
                out = eng.submit(CreditSecurities(account=account, instrument="02525", quantity=qty, source="I:X"), now)
            case ("trade", buyer, seller, price, qty):
                trade_n += 1
                out = eng.submit(LedgerTestEmit(trades=[trade(trade_n, buyer, seller, price, qty)]), now)
            case ("day",):
                out = eng.submit(RunSettlement(day=day), at(day, 17))
                day = add_business_days(day, 1)
            case ("ipo", allots):
                ipo_n += 1
                off = f"O{ipo_n}"
                holds = [(a, c + c // 100 + 7) for a, _, c in allots]
                funded = IpoApplicationsFunded(offering_id=off, currency="HKD", holds=holds)
                instr = IpoSettlementInstructed(
                    offering_id=off,
                    instrument="02525",
                    currency="HKD",
                    issuer_account="I:X",
                    price=1,
                    allotments=[(a, s, c) for a, s, c in allots],
                    refunds=[(a, 7) for a, _, _ in allots],
                    fees=[("F:BROKERAGE:P1", sum(c // 100 for _, _, c in allots))],
                    account_fees=[(a, c // 100) for a, _, c in allots],
                )
                out = eng.submit(LedgerTestEmit(funded=[funded], instructed=[instr]), now)
        fold(out.events, projection)
        for e in out.events:
            if isinstance(e, TradeCleared):
                charged += 2 * sum(a for _, a in e.buyer_charges)
            if isinstance(e, IpoSettled):
                charged += e.fees
        _check(clearing, projection)
    # fund everyone and settle: every position settles and collectors hold exactly the charges
    for account in ACCOUNTS:
        fold(eng.submit(DepositCash(account=account, currency="HKD", amount=10**12), at(day, 9)).events, projection)
        fold(eng.submit(CreditSecurities(account=account, instrument="02525", quantity=10**6, source="I:X"), at(day, 9)).events, projection)
    end = add_business_days(day, 3)
    out = eng.submit(RunSettlement(day=end), at(end, 17))
    fold(out.events, projection)
    _check(clearing, projection)
    assert clearing.open == {} and clearing.pending == {}
    collected = sum(amount for account, held in clearing.ledger.balances.items() if account.startswith("F:") for amount in held.values())
    assert {a for a in clearing.ledger.balances if a.startswith("F:")} <= COLLECTORS
    assert collected == charged
