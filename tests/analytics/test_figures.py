"""The report's figures, checked on runs with known inputs (issue 16): not only that a chart exists."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from lionrock.analytics.figures import (
    benchmarked_returns,
    funnel_counts,
    lockup_calendar,
    log_ticks,
    money_unit,
    peer_index,
    repricing,
)
from lionrock.analytics.model import Bar, InstrumentTape, IssuerRow, OfferingRow, RunData
from lionrock.analytics.projection import pre_money_minor
from lionrock.analytics.report import render_report

TINY = str(Path(__file__).resolve().parents[1] / "sim" / "tiny.toml")


def _bar(day: str, close: int) -> Bar:
    return Bar(day, close, close, close, close, 1_000, 0)


def _deal(
    issuer_id: str, instrument: str, closes: list[tuple[str, int]], *, price: int = 10_000
) -> tuple[IssuerRow, OfferingRow, InstrumentTape]:
    """An issuer whose last round was HK$6,000 post-money, listing 200 new shares at HK$10.000
    (10,000 ticks) into 1,000 shares in issue: pre-money HK$8,000, market cap HK$10,000."""
    issuer = IssuerRow(
        issuer_id=issuer_id,
        name=f"{issuer_id} Ltd",
        sub_sector="AI",
        eligible=True,
        routes_open=["18c_commercial"],
        filed_on="2026-04-01",
        listed_on=closes[0][0] if closes else "",
        last_round_post_money_minor=600_000,
    )
    offering = OfferingRow(
        offering_id=f"O-{issuer_id}",
        issuer_id=issuer_id,
        name=f"{issuer_id} Ltd",
        instrument=instrument,
        offer_price=price,
        shares_in_issue=1_000,
        offer_shares=200,
        market_cap_minor=1_000 * price // 10,
        pre_money_minor=pre_money_minor(1_000, 200, price),
        gross_proceeds_minor=200 * price // 10,
        listed_on=closes[0][0] if closes else "",
        lockups=[("2027-03-01", "Fund A", 50), ("2027-03-01", "Fund B", 30)],
    )
    tape = InstrumentTape(instrument, offering.name, "HKD", 1_000, [_bar(day, close) for day, close in closes])
    return issuer, offering, tape


def _data(*deals: tuple[IssuerRow, OfferingRow, InstrumentTape]) -> RunData:
    data = RunData(scenario="test", seed=1)
    for issuer, offering, tape in deals:
        data.issuers[issuer.issuer_id] = issuer
        data.offerings[offering.offering_id] = offering
        if tape.bars:
            data.tapes[tape.instrument] = tape
    return data


def test_pre_money_valuation_excludes_the_new_shares() -> None:
    assert pre_money_minor(shares_in_issue=1_000, offer_shares=200, price_ticks=10_000) == 800_000  # HK$8,000.00


def test_repricing_per_share_uses_pre_money_not_the_post_ipo_cap() -> None:
    data = _data(_deal("A", "09001", [("2026-09-01", 11_000)]))
    change = repricing(data, data.offerings["O-A"])
    assert change is not None
    assert change.per_share == Fraction(1, 3)  # HK$8,000 pre-money against HK$6,000: +33.3% per share
    assert change.post_ipo_cap == Fraction(2, 3)  # the cap includes HK$2,000 of new money: +66.7%, overstated
    page = render_report(data, horizon=1)
    assert "+33.3%" in page and "+66.7%" in page


def test_funnel_counts_the_same_issuers_as_the_summary() -> None:
    data = _data(_deal("A", "09001", [("2026-09-01", 11_000)]), _deal("B", "09002", [("2026-09-02", 9_000)]))
    data.issuers["C"] = IssuerRow(issuer_id="C", name="C Ltd", sub_sector="AI")  # assessed, no route open: never files
    funnel = dict(funnel_counts(data))
    assert funnel == {"assessed": 3, "eligible": 2, "filed": 2, "priced": 2, "listed": 2}
    counts = list(funnel.values())
    assert counts == sorted(counts, reverse=True)
    page = render_report(data, horizon=1)
    assert "<b>3</b>issuers assessed" in page and "<b>2</b>eligible" in page and "<b>2</b>listed" in page


def test_peer_index_is_the_equal_weighted_chain_of_the_other_stocks() -> None:
    data = _data(
        _deal("A", "09001", [("2026-09-01", 10_000), ("2026-09-02", 11_000), ("2026-09-03", 11_000)]),
        _deal("B", "09002", [("2026-09-02", 20_000), ("2026-09-03", 18_000)]),
    )
    index = peer_index(data)
    assert index["2026-09-01"] == 100.0
    assert index["2026-09-02"] == pytest.approx(110.0)  # only A closed on both days: +10%
    assert index["2026-09-03"] == pytest.approx(110.0 * (1 + (0.0 - 0.10) / 2))  # A flat, B -10%: mean -5%
    without_a = peer_index(data, exclude="09001")
    assert without_a["2026-09-03"] == pytest.approx(90.0)


def test_returns_are_measured_against_the_peers_over_the_same_span() -> None:
    data = _data(
        _deal("A", "09001", [("2026-09-01", 10_000), ("2026-09-02", 11_000), ("2026-09-03", 12_100)]),
        _deal("B", "09002", [("2026-09-02", 12_000), ("2026-09-03", 12_000)]),
    )
    by_name = {r.name: r for r in benchmarked_returns(data, horizon=2)}
    b = by_name["B Ltd"]
    assert b.first_day == pytest.approx(20.0) and b.later == pytest.approx(20.0)
    # the peers (A alone) from the last close before B listed (2026-09-01: 10,000) to B's day 2 (12,100)
    assert b.benchmark == pytest.approx(21.0)
    assert b.excess == pytest.approx(-1.0)


def test_lockup_calendar_sums_cornerstones_by_date_as_shares_of_issue() -> None:
    data = _data(_deal("A", "09001", [("2026-09-01", 12_000)]))
    (row,) = lockup_calendar(data)
    assert (row.ends_on, row.investors, row.shares) == ("2027-03-01", 2, 80)
    assert row.share_of_issue == Fraction(80, 1_000)
    assert row.value_minor == 80 * 12_000 // 10  # at the last close: HK$960.00


def test_log_ticks_say_their_values() -> None:
    values, labels = log_ticks(0.3, 63.2)
    assert labels == ["0.2×", "0.5×", "1×", "2×", "5×", "10×", "20×", "50×", "100×"]  # 1-2-5 around 0.3..63.2
    assert values[labels.index("50×")] == 50


@pytest.mark.parametrize(("largest_minor", "unit"), [(194_000_000, "m"), (4_200_000_000_000, "bn"), (12_345_600, "thousand"), (999, "")])
def test_money_unit_picks_a_readable_unit(largest_minor: int, unit: str) -> None:
    divisor, word = money_unit(largest_minor)
    assert word == unit and 1 <= largest_minor / divisor < 1_000 or (unit == "" and largest_minor / divisor < 1_000)


def test_tiny_run_report_counts_agree_and_shows_inputs(tmp_path: Path) -> None:
    from lionrock.sim.runner import RunConfig, run_scenario

    result = run_scenario(RunConfig(scenario=TINY, seed=5, scale="small"), tmp_path / "journal.sqlite")
    data = result.projection.data
    summary = dict(result.summary)
    funnel = dict(funnel_counts(data))
    assert funnel["assessed"] == int(summary["issuers assessed"])
    assert funnel["eligible"] == int(summary["eligible"])
    assert funnel["priced"] == int(summary["IPOs priced"])
    assert data.scenario_inputs and all("pop" in inputs for inputs in data.scenario_inputs.values())
    for section in ("timeline", "Lock-up expiry calendar", "scenario pop (input)", "peer index", "per share vs round"):
        assert section in result.report_html
    for o in data.offerings.values():
        assert 0 < o.pre_money_minor < o.market_cap_minor
        assert (
            o.market_cap_minor - o.pre_money_minor == o.offer_shares * o.offer_price // 10
            or abs(o.market_cap_minor - o.pre_money_minor - o.offer_shares * o.offer_price // 10) <= 1
        )
