"""The engine's batch path (DESIGN.md "The batch path"): a batch of orders and cancels is
journaled as one record per command, identical to the records of `submit` one by one (so CRC,
hash chain, replay and catch-up are the per-command ones); the state hash, the events subscribers
see and clearing's reactions to the trades are identical."""

from __future__ import annotations

import random
from datetime import date, time
from typing import Any

from lionrock.engine import Engine, MemoryJournal
from lionrock.kernel.messages import Codec
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
