"""The engine's batch path (DESIGN.md "The batch path"): a batch of orders and cancels is
journaled as one record per command, identical to the records of `submit` one by one (so CRC,
hash chain, replay and catch-up are the per-command ones); the state hash, the events subscribers
see and clearing's reactions to the trades are identical."""

from __future__ import annotations

import random
from datetime import date, time
from typing import Any

from lionrock.clearing.commands import FxQuote, RecordFxRates
from lionrock.connect.commands import PlaceSouthboundOrder, RegisterSouthboundInvestor, SetIndexConstituents
from lionrock.connect.events import SouthboundQuotaReturned
from lionrock.engine import Engine, MemoryJournal
from lionrock.kernel.messages import Codec
from lionrock.kernel.money import Rate
from lionrock.kernel.xhkg import hk_ns
from lionrock.service.contexts import default_contexts
from lionrock.trading.batch import OrderBatch
from lionrock.trading.commands import (
    CancelOrder,
    ListInstrument,
    PlaceOrder,
    StartTradingDay,
    TradingTick,
)

DAY = date(2025, 11, 24)
CODEC = Codec()


def _engine() -> tuple[Engine, list[bytes]]:
    engine = Engine(default_contexts(), MemoryJournal())
    seen: list[bytes] = []
    engine.subscribe(lambda stamp, command, events: seen.extend(CODEC.encode(e) for e in events))
    engine.submit(ListInstrument(instrument="00700", board_lot=100, nominal_price=400_000), hk_ns(DAY, time(8)))
    engine.submit(StartTradingDay(day=DAY.isoformat(), seed=5), hk_ns(DAY, time(8, 30)))
    engine.submit(TradingTick(), hk_ns(DAY, time(9, 31)))
    return engine, seen


def _batches(seed: int, count: int, size: int) -> list[list[Any]]:
    rng = random.Random(seed)
    out, n = [], 0
    for _ in range(count):
        batch: list[Any] = []
        for _ in range(size):
            n += 1
            if rng.random() < 0.3:
                batch.append(
                    CancelOrder(instrument="00700", participant=rng.choice(["P1", "P2"]), client_order_id=f"c{rng.randrange(1, n + 1)}")
                )
            else:
                side = rng.choice("BS")
                price = 400_000 + rng.randrange(-8, 9) * 200 + (rng.random() < 0.05) * 50
                participant = rng.choice(["P1", "P2"])
                batch.append(PlaceOrder(instrument="00700", participant=participant, account=f"C:{participant}:{rng.randrange(3)}",
                                        client_order_id=f"c{n}", side=side,
                                        order_type=rng.choice(["LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT"]), price=price,
                                        quantity=100 * rng.randrange(1, 9) + (rng.random() < 0.05) * 30))  # fmt: skip
        out.append(batch)
    return out


def test_submit_batch_journals_and_applies_as_submit_one_by_one() -> None:
    one, one_seen = _engine()
    many, many_seen = _engine()
    at = hk_ns(DAY, time(10))
    for batch in _batches(3, 40, 50):
        outcomes = [one.submit(command, at) for command in batch]
        result = many.submit_batch(OrderBatch.from_commands(batch), at)
        assert [result.outcome(i) for i in range(len(batch))] == outcomes
        at += 1_000_000
    assert list(one.journal.records()) == list(many.journal.records())
    assert one.journal.verify() == many.journal.verify()
    assert one.state_hash() == many.state_hash()
    assert one_seen == many_seen
    cleared = [e for e in many_seen if b"TradeCleared" in e]
    assert cleared, "clearing observed the tape's trades"

    replayed = Engine(default_contexts(), many.journal).recover(use_snapshot=False)
    assert replayed.state_hash() == many.state_hash()


def test_catch_up_checks_a_batch_against_the_journal() -> None:
    first, _ = _engine()
    at = hk_ns(DAY, time(10))
    batches = _batches(9, 5, 20)
    for batch in batches:
        first.submit_batch(OrderBatch.from_commands(batch), at)
    again = Engine(default_contexts(), first.journal).catch_up()
    again.submit(ListInstrument(instrument="00700", board_lot=100, nominal_price=400_000), hk_ns(DAY, time(8)))
    again.submit(StartTradingDay(day=DAY.isoformat(), seed=5), hk_ns(DAY, time(8, 30)))
    again.submit(TradingTick(), hk_ns(DAY, time(9, 31)))
    for batch in batches:
        again.submit_batch(OrderBatch.from_commands(batch), at)
    assert again.state_hash() == first.state_hash()
    assert again.journal.last_seq == first.journal.last_seq


def _southbound_engine() -> Engine:
    """An engine with a southbound buy resting on 02525 (client order id ``sb1``, quota reserved)."""
    engine = Engine(default_contexts(), MemoryJournal())
    setup = [
        (ListInstrument(instrument="02525", board_lot=100, nominal_price=50_000), time(8)),
        (StartTradingDay(day=DAY.isoformat(), seed=1), time(8, 1)),
        (RecordFxRates(day=DAY, rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse("1"))]), time(8, 4)),
        (RegisterSouthboundInvestor(account="C:SBSH:Z", investor_type="INSTITUTION"), time(8, 5)),
        (SetIndexConstituents(index="HSLI", instruments=["02525"]), time(8, 6)),
        (TradingTick(), time(9, 31)),
    ]
    for command, t in setup:
        assert engine.submit(command, hk_ns(DAY, t)).accepted, command
    order = PlaceOrder(instrument="02525", participant="SBSH", account="C:SBSH:Z", client_order_id="sb1", side="B",
                       order_type="LIMIT", price=49_800, quantity=1_000)  # fmt: skip
    assert engine.submit(PlaceSouthboundOrder(link="SH", order=order), hk_ns(DAY, time(9, 40))).accepted
    return engine


def test_batch_cancel_of_a_southbound_order_returns_its_quota_as_submit_does() -> None:
    """Stock Connect observes cancels (it gives back a cancelled southbound buy's quota): a cancel
    in a batch reaches it as one submitted alone does (the batch path once gave observers only
    the tape's trades, so the quota stayed used)."""
    one, many = _southbound_engine(), _southbound_engine()
    commands = [
        CancelOrder(instrument="02525", participant="SBSH", client_order_id="sb1"),
        PlaceOrder(instrument="02525", participant="P1", account="C:P1:A", client_order_id="p1", side="S", order_type="LIMIT",
                   price=50_000, quantity=100),
    ]  # fmt: skip
    at = hk_ns(DAY, time(9, 41))
    outcomes = [one.submit(command, at) for command in commands]
    result = many.submit_batch(OrderBatch.from_commands(commands), at)
    assert [result.outcome(i) for i in range(len(commands))] == outcomes
    assert any(isinstance(e, SouthboundQuotaReturned) for e in outcomes[0].events)
    assert one.state_hash() == many.state_hash()
