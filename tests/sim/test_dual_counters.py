"""The RMB counter of a dual-counter IPO trades in the simulator (docs/rules.md section 7: HKD-RMB dual counters
since 19 June 2023, separate stock codes of one share class, fungible through inter-counter
transfers; docs/rules.md section 7). The small run of the default scenario lists
Xinhe's HKD counter 03965 with its RMB counter 83965."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lionrock.analytics.report import _premium
from lionrock.clearing import events as ce
from lionrock.connect import events as xe
from lionrock.engine import Engine
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.price import consideration_minor
from lionrock.kernel.xhkg import hk_date
from lionrock.offering import events as oe
from lionrock.rules.trading import SPREAD_TABLE
from lionrock.service.contexts import default_contexts
from lionrock.sim import population
from lionrock.sim.runner import RunResult
from lionrock.sim.scenario import load_scenario
from lionrock.storage.sqlite_journal import SqliteJournal
from lionrock.trading import events as te
from lionrock.trading._grid import Grid

HKD_COUNTER, RMB_COUNTER, SECURITY = "03965", "83965", "03965"
ARB = population.ARBITRAGEUR.account


@dataclass
class Seen:
    """What a replay of the small run's journal published, for the dual-counter stock."""

    listed: dict[str, te.InstrumentListed] = field(default_factory=dict)
    trades: list[tuple[Stamp, te.TradeExecuted]] = field(default_factory=list)
    cleared: list[ce.TradeCleared] = field(default_factory=list)
    transfers: list[tuple[int, ce.CountersTransferred]] = field(default_factory=list)
    credited: list[ce.SecuritiesCredited] = field(default_factory=list)
    credited_seq: list[tuple[int, ce.SecuritiesCredited]] = field(default_factory=list)
    arb_cleared: list[ce.TradeCleared] = field(default_factory=list)
    allotments: dict[str, int] = field(default_factory=dict)
    settlement_days: list[str] = field(default_factory=list)
    cny_postings: int = 0
    southbound_instruments: set[str] = field(default_factory=set)
    clearing: Any = None

    def __call__(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        for ev in events:
            match ev:
                case te.InstrumentListed() if ev.instrument in (HKD_COUNTER, RMB_COUNTER):
                    self.listed[ev.instrument] = ev
                case te.TradeExecuted() if ev.instrument in (HKD_COUNTER, RMB_COUNTER):
                    self.trades.append((stamp, ev))
                case ce.TradeCleared() if ev.instrument in (HKD_COUNTER, RMB_COUNTER):
                    if ev.instrument == RMB_COUNTER:
                        self.cleared.append(ev)
                    if ARB in (ev.buyer, ev.seller):
                        self.arb_cleared.append(ev)
                case ce.CountersTransferred():
                    self.transfers.append((stamp.seq, ev))
                case ce.SecuritiesCredited() if ev.security == SECURITY:
                    self.credited.append(ev)
                    self.credited_seq.append((stamp.seq, ev))
                case oe.IpoSettlementInstructed() if ev.instrument == HKD_COUNTER:
                    for account, shares, _ in ev.allotments:
                        self.allotments[account] = self.allotments.get(account, 0) + shares
                case ce.SettlementRunCompleted():
                    self.settlement_days.append(ev.day.isoformat())
                    self.cny_postings += sum(1 for p in ev.postings if p.asset == "CNY")
                case xe.SouthboundOrderAdmitted():
                    self.southbound_instruments.add(ev.order.instrument)


@pytest.fixture(scope="module")
def seen(small_run: tuple[RunResult, Path]) -> Seen:
    _, journal = small_run
    contexts = default_contexts()
    out = Seen(clearing=next(c for c in contexts if type(c).__name__ == "ClearingContext"))
    engine = Engine(contexts, SqliteJournal(journal, readonly=True))
    engine.subscribe(out)
    try:
        engine.recover(use_snapshot=False)
    finally:
        engine.close()
    return out


def test_rmb_counter_small_run_trades_in_cny_on_the_spread_grid_in_board_lots(seen: Seen) -> None:
    """RMB-counter prices are CNY on the HKEX spread table; the board lot is the HKD counter's."""
    listed = seen.listed[RMB_COUNTER]
    assert listed.currency == "CNY" and listed.counter_of == HKD_COUNTER
    assert listed.board_lot == seen.listed[HKD_COUNTER].board_lot
    rmb = [(s, t) for s, t in seen.trades if t.instrument == RMB_COUNTER]
    assert len(rmb) >= 100, f"only {len(rmb)} RMB-counter trades"
    for stamp, trade in rmb:
        assert trade.currency == "CNY"
        assert Grid(SPREAD_TABLE.in_force(hk_date(stamp.at_ns))).is_valid(trade.price), trade
        assert trade.quantity % listed.board_lot == 0
    assert {t.buyer.split(":")[2].split(".")[0] for _, t in rmb} >= {"mainland"}  # the RMB counter's crowd


def test_rmb_counter_trades_clear_and_settle_in_cny(seen: Seen) -> None:
    rmb = [t for _, t in seen.trades if t.instrument == RMB_COUNTER]
    assert len(seen.cleared) == len(rmb)
    for cleared in seen.cleared:
        assert cleared.currency == "CNY" and cleared.security == SECURITY
        assert cleared.consideration == consideration_minor(cleared.price, cleared.quantity)
        assert cleared.consideration_hkd > 0  # the charges are reckoned in HKD at the day's rate
    assert seen.cny_postings > 0
    assert seen.clearing.balance("H:HKSCC", "CNY") == 0  # the central counterparty ends flat in CNY


def test_inter_counter_transfers_conserve_the_arbitrageurs_shares(seen: Seen) -> None:
    """A transfer moves shares between the counters without changing the security's total (no
    balance moves: HKSCC's single-tranche model holds one position per security), so the ledger
    holds exactly what the arbitrageur was lent plus its trades due by the last settlement run."""
    arb_transfers = [t for _, t in seen.transfers if t.account == ARB]
    assert {t.from_instrument for t in arb_transfers} == {HKD_COUNTER, RMB_COUNTER}
    for t in arb_transfers:
        assert t.postings == [] and t.security == SECURITY and t.quantity > 0
    lent = sum(c.quantity for c in seen.credited if c.account == ARB)
    last_run = seen.settlement_days[-1]
    settled = sum(c.quantity if c.buyer == ARB else -c.quantity for c in seen.arb_cleared if c.settle_date.isoformat() <= last_run)
    assert {c.instrument for c in seen.arb_cleared} == {HKD_COUNTER, RMB_COUNTER}
    assert seen.clearing.balance(ARB, f"SEC:{SECURITY}") == lent + settled


def test_arbitrageur_stock_on_each_counter_never_goes_negative(seen: Seen) -> None:
    """It sells on a counter only what it holds there, moving stock across first when short;
    the two counters' positions always add up to what it was lent plus what it bought, less sold."""
    lent = [(seq, HKD_COUNTER, c.quantity) for seq, c in seen.credited_seq if c.account == ARB]  # lent on the HKD counter
    traded = [
        (stamp.seq, t.instrument, t.quantity if t.buyer == ARB else -t.quantity) for stamp, t in seen.trades if ARB in (t.buyer, t.seller)
    ]
    moved = [
        (seq, counter, sign * t.quantity)
        for seq, t in seen.transfers
        if t.account == ARB
        for counter, sign in ((t.from_instrument, -1), (t.to_instrument, 1))
    ]
    assert lent and traded and moved
    position = {HKD_COUNTER: 0, RMB_COUNTER: 0}
    for _, counter, change in sorted(lent + traded + moved, key=lambda x: x[0]):
        position[counter] += change
        assert position[counter] >= 0, f"the arbitrageur sold {counter} it did not hold"
    assert sum(position.values()) == sum(q for *_, q in lent + traded)  # transfers add nothing, lose nothing


def test_southbound_money_never_reaches_the_rmb_counter(seen: Seen) -> None:
    """Southbound trading of RMB counters: status not confirmed (docs/rules.md section 7)."""
    assert RMB_COUNTER not in seen.southbound_instruments
    assert not [t for _, t in seen.trades if t.instrument == RMB_COUNTER and t.buyer_participant.startswith("SB")]


def test_dual_counter_report_section_has_volume_premium_and_transfers(small_run: tuple[RunResult, Path]) -> None:
    result, _ = small_run
    data = result.projection.data
    dual = data.dual_counters[RMB_COUNTER]
    assert dual.hkd_counter == HKD_COUNTER and dual.cleared_cny_trades > 0 and dual.transfers
    assert {d for _, _, d, _ in dual.transfers} == {"HKD->CNY", "CNY->HKD"}
    assert sum(b.volume for b in data.tapes[RMB_COUNTER].bars) > 0
    premium = _premium(data, dual)
    assert len(premium) >= 10
    assert abs(statistics.median(p for _, p in premium)) < 2.0  # the arbitrageur keeps the counters near parity
    assert "Dual counters" in result.report_html and "Inter-counter transfers" in result.report_html


def test_scenario_without_fx_rates_is_refused(tmp_path: Path) -> None:
    source = Path(__file__).with_name("tiny.toml").read_text()
    start, end = source.index("[fx]"), source.index("[scales.small]")
    bad = tmp_path / "no-fx.toml"
    bad.write_text(source[:start] + source[end:])
    with pytest.raises(ValueError, match="fx"):
        load_scenario(str(bad))
