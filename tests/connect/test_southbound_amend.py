"""A southbound buy order cannot be amended upward past the quota check (Stock Connect quota,
docs/rules.md section 8): the venue refuses, and a reduction returns quota."""

from __future__ import annotations

from datetime import date, time

import msgspec

from lionrock.clearing.commands import FxQuote, RecordFxRates
from lionrock.connect.commands import (
    PlaceSouthboundOrder,
    RegisterSouthboundInvestor,
    SetIndexConstituents,
)
from lionrock.connect.context import ConnectContext
from lionrock.connect.events import SouthboundQuotaReturned
from lionrock.engine import Engine
from lionrock.kernel.errors import Rejection
from lionrock.kernel.messages import Stamp
from lionrock.kernel.money import Rate
from lionrock.kernel.xhkg import hk_ns
from lionrock.scale.sharding import PRIMARY_ROLE, observes
from lionrock.service.contexts import default_contexts
from lionrock.trading.commands import (
    AmendOrder,
    ListInstrument,
    PlaceOrder,
    StartTradingDay,
    TradingTick,
)
from lionrock.trading.events import OrderAccepted, OrderRejected

D = date(2025, 11, 24)


def _engine_with_resting_southbound_buy() -> tuple[Engine, int]:
    engine = Engine(default_contexts())
    setup = [
        (ListInstrument(instrument="02525", board_lot=100, nominal_price=50_000), time(8)),
        (StartTradingDay(day=D.isoformat(), seed=1), time(8, 1)),
        (RecordFxRates(day=D, rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse("1"))]), time(8, 4)),
        (RegisterSouthboundInvestor(account="C:SBSH:Z", investor_type="INSTITUTION"), time(8, 5)),
        (SetIndexConstituents(index="HSLI", instruments=["02525"]), time(8, 6)),
        (TradingTick(), time(9, 31)),
    ]
    for command, t in setup:
        assert engine.submit(command, hk_ns(D, t)).accepted, command
    order = PlaceOrder(
        instrument="02525",
        participant="SBSH",
        account="C:SBSH:Z",
        client_order_id="b1",
        side="B",
        order_type="LIMIT",
        price=49_800,
        quantity=1_000,
    )
    assert engine.submit(PlaceSouthboundOrder(link="SH", order=order), hk_ns(D, time(9, 40))).accepted
    return engine, engine.contexts["connect"].quota_balance("SH", D)  # type: ignore[attr-defined]


def test_southbound_buy_amended_upward_is_refused_and_changes_nothing() -> None:
    engine, balance = _engine_with_resting_southbound_buy()
    before = engine.contexts["trading"].canonical_state(), engine.contexts["connect"].canonical_state()
    for amend in (
        AmendOrder(instrument="02525", participant="SBSH", client_order_id="b1", quantity=100_000),
        AmendOrder(instrument="02525", participant="SBSH", client_order_id="b1", quantity=1_000, price=49_900),
    ):
        out = engine.submit(amend, hk_ns(D, time(9, 41)))
        assert out.rejection is not None and out.rejection.reason == "SOUTHBOUND_AMEND_INCREASE"
    assert (engine.contexts["trading"].canonical_state(), engine.contexts["connect"].canonical_state()) == before
    assert engine.contexts["connect"].quota_balance("SH", D) == balance  # type: ignore[attr-defined]


def test_southbound_buy_reduced_returns_quota() -> None:
    engine, balance = _engine_with_resting_southbound_buy()
    out = engine.submit(AmendOrder(instrument="02525", participant="SBSH", client_order_id="b1", quantity=400), hk_ns(D, time(9, 41)))
    assert out.accepted
    returned = [e for e in out.events if isinstance(e, SouthboundQuotaReturned)]
    assert [r.amount for r in returned] == [49_800 * 600 // 10]  # 600 shares at HK$49.80, CNY 1 = HKD 1
    assert engine.contexts["connect"].quota_balance("SH", D) == balance + 49_800 * 600 // 10  # type: ignore[attr-defined]


def test_what_connect_says_it_does_not_observe_changes_nothing() -> None:
    """`ConnectContext.observes` decides what a trading shard relays to the primary
    (`lionrock.scale.sharding.observes`): an event it says no to must leave connect unchanged, even
    one naming a resting southbound order's participant and client order id on another channel."""
    engine, _ = _engine_with_resting_southbound_buy()
    connect = engine.contexts["connect"]
    order_id = connect.reservations[next(iter(connect.reservations))][6]  # type: ignore[attr-defined]
    accepted = OrderAccepted(
        order_id=order_id + 1,
        instrument="02525",
        participant="SBSH",
        account="C:SBSH:Z",
        client_order_id="b1",
        side="B",
        order_type="LIMIT",
        price=49_800,
        quantity=1_000,
        channel="FIX",
    )
    rejected = OrderRejected(
        instrument="02525",
        participant="SBSH",
        client_order_id="b1",
        channel="REST",
        rejection=Rejection(code=1, reason="X", field="", message="x"),
    )
    stamp = Stamp(engine.seq + 1, hk_ns(D, time(9, 41)))
    for event in (accepted, rejected):
        before = connect.canonical_state()
        assert not ConnectContext.observes(event)
        assert connect.observe(event, stamp) == [] and connect.canonical_state() == before
        southbound = msgspec.structs.replace(event, channel="SB-SH")
        assert ConnectContext.observes(southbound)
    assert observes(PRIMARY_ROLE, rejected) is False
    assert observes(PRIMARY_ROLE, msgspec.structs.replace(rejected, channel="SB-SH")) is True
