"""The batch path against the per-command path (DESIGN.md "The batch path"): for the same
commands with the same stamps, the tape of every command holds exactly the events (encoded byte
for byte) and the rejection that `execute` gives, and the canonical state is identical.

Two generators: the seeded whole-day stream of the differential test (auctions, every order type,
retries, short sales, VCM, amends and ticks between the batches), and hypothesis batches of hostile
orders against a prepared book (off grid, outside the table, odd lots, too large, 24 spreads away,
9 times the nominal price, through the best, beyond ten queues, auction types in continuous
trading, cancels of unknown or filled orders), which the compiled path refuses itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from _venue_kit import DAY, at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_differential import command_stream

from lionrock.kernel.errors import Reject
from lionrock.kernel.messages import Codec, Stamp
from lionrock.trading import TradingContext
from lionrock.trading.batch import K_REFUSED, OrderBatch
from lionrock.trading.book import FastBook, PyFastBook
from lionrock.trading.commands import (
    CancelOrder,
    ListInstrument,
    PlaceOrder,
    StartTradingDay,
    TradingTick,
)

CODEC = Codec()
COMPILED = FastBook is not PyFastBook


def _per_command(ctx: TradingContext, command: Any, stamp: Stamp) -> tuple[list[bytes], Any]:
    try:
        return [CODEC.encode(e) for e in ctx.execute(command, stamp)], None
    except Reject as r:
        return [], r.rejection


def _groups(seed: int, total: int, size: int) -> list[tuple[int, list[Any]]]:
    """The stream cut into runs: batchable commands (PlaceOrder, CancelOrder with a side and type
    a batch can carry) in runs of at most ``size`` stamped with the run's last time, anything else
    alone."""
    out: list[tuple[int, list[Any]]] = []
    run: list[Any] = []
    last = 0
    for t, command in command_stream(seed, total):
        batchable = type(command) in (PlaceOrder, CancelOrder)
        if run and (not batchable or len(run) == size):
            out.append((last, run))
            run = []
        if batchable:
            run.append(command)
            last = t
        else:
            out.append((t, [command]))
    if run:
        out.append((last, run))
    return out


def _compare(groups: list[tuple[int, list[Any]]], fast_path: bool = True) -> int:
    one, many = TradingContext(fast_path=fast_path), TradingContext(fast_path=fast_path)
    seq, now, compared = 0, 0, 0
    for t, commands in groups:
        now = max(now, t)
        batchable = all(type(c) in (PlaceOrder, CancelOrder) for c in commands)
        if not batchable:
            seq += 1
            stamp = Stamp(seq, now)
            assert _per_command(one, commands[0], stamp) == _per_command(many, commands[0], stamp)
            continue
        tape = many.execute_batch(OrderBatch.from_commands(commands), seq + 1, now)
        for i, command in enumerate(commands):
            events, rejection = _per_command(one, command, Stamp(seq + 1 + i, now))
            assert [CODEC.encode(e) for e in tape.events(i)] == events, f"command {seq + 1 + i}: {command!r}"
            assert tape.rejection(i) == rejection, f"command {seq + 1 + i}: {command!r}"
            compared += 1
        seq += len(commands)
        assert one.canonical_state() == many.canonical_state()
    assert one.canonical_state() == many.canonical_state()
    return compared


@pytest.mark.skipif(not COMPILED, reason="compiled _fastbook not built")
def test_batch_tape_equals_per_command_events_on_the_seeded_stream() -> None:
    assert _compare(_groups(20251124, 12_000, 64)) > 8_000


def test_batch_without_the_fast_path_equals_per_command_events() -> None:
    """The batch path's Python fallback (every command on the Python path) keeps the contract."""
    assert _compare(_groups(11, 4_000, 16), fast_path=False) > 2_000


def _venue_in_continuous_trading() -> TradingContext:
    ctx = TradingContext()
    ctx.execute(ListInstrument(instrument="00700", board_lot=100, nominal_price=400_000), Stamp(1, at(8, 0)))
    ctx.execute(ListInstrument(instrument="02525", board_lot=500, nominal_price=10_000, closing_auction=False), Stamp(2, at(8, 0)))
    ctx.execute(StartTradingDay(day=DAY.isoformat(), seed=3), Stamp(3, at(8, 30)))
    ctx.execute(TradingTick(), Stamp(4, at(9, 31)))
    seq = 5
    for i in range(1, 6):  # a book on both sides
        for code, mid, spread, lot in (("00700", 400_000, 200, 100), ("02525", 10_000, 10, 500)):
            for side, price in (("B", mid - i * spread), ("S", mid + i * spread)):
                ctx.execute(PlaceOrder(instrument=code, participant="P0", account="C:P0:x", client_order_id=f"seed{seq}", side=side,
                                       order_type="LIMIT", price=price, quantity=lot * i), Stamp(seq, at(9, 31)))  # fmt: skip
                seq += 1
    return ctx


_PRICES = st.one_of(
    st.integers(-5, 20),  # not positive, below the table
    st.integers(380_000, 420_000),  # around 00700 (some off grid)
    st.integers(9_800, 10_200),  # around 02525
    st.sampled_from([400_000, 399_800, 400_200, 402_000, 404_000, 395_000, 10_000, 10_050, 9_950, 3_000_000, 40_000, 1_000, 99_999_999]),
)
_PLACE = st.builds(
    lambda code, participant, coid, side, otype, price, lots, extra: PlaceOrder(
        instrument=code, participant=participant, account=f"C:{participant}:x", client_order_id=coid, side=side, order_type=otype,
        price=0 if otype == "AT_AUCTION" else price, quantity=lots * (100 if code == "00700" else 500) + extra,
    ),
    st.sampled_from(["00700", "02525"]), st.sampled_from(["P1", "P2"]), st.sampled_from([f"c{i}" for i in range(40)]),
    st.sampled_from(["B", "S"]), st.sampled_from(["LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT", "LIMIT", "AT_AUCTION_LIMIT", "AT_AUCTION"]),
    _PRICES, st.sampled_from([0, 1, 2, 5, 3_000, 3_001, 10**8]), st.sampled_from([0, 0, 0, 1, 50]),
)  # fmt: skip
_CANCEL = st.builds(
    lambda code, participant, order_id, coid: CancelOrder(instrument=code, participant=participant, order_id=order_id,
                                                          client_order_id=coid),
    st.sampled_from(["00700", "02525"]), st.sampled_from(["P0", "P1", "P2"]), st.integers(0, 60),
    st.sampled_from(["", "c1", "c2", "seed5", "zz"]),
)  # fmt: skip


@pytest.mark.skipif(not COMPILED, reason="compiled _fastbook not built")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PLACE, _PLACE, _CANCEL), min_size=1, max_size=40))
def test_batch_refusals_and_fills_equal_the_python_path(commands: list[Any]) -> None:
    """Hostile batches: the compiled batch path against the pure-Python path (fast path off),
    same events and rejections (codes and texts), same state."""
    python, batch_ctx = _venue_in_continuous_trading(), _venue_in_continuous_trading()
    python.fast_path = False
    tape = batch_ctx.execute_batch(OrderBatch.from_commands(commands), 100, at(10, 0))
    for i, command in enumerate(commands):
        events, rejection = _per_command(python, command, Stamp(100 + i, at(10, 0)))
        assert [CODEC.encode(e) for e in tape.events(i)] == events, command
        assert tape.rejection(i) == rejection, command
    assert python.canonical_state() == batch_ctx.canonical_state()


@pytest.mark.skipif(not COMPILED, reason="compiled _fastbook not built")
def test_batch_decides_the_common_refusals_in_compiled_code() -> None:
    """Off grid, odd lot, 24 spreads, 9 times nominal, through ten queues, order size, an auction
    type in continuous trading, an unknown client order id: refused on the tape (``K_REFUSED``),
    not handed to the Python path, with the Python path's texts."""
    ctx = _venue_in_continuous_trading()
    place = dict(instrument="00700", participant="P1", account="C:P1:x", side="B", order_type="LIMIT")
    commands = [
        PlaceOrder(**place, client_order_id="a", price=400_050, quantity=100),  # off grid
        PlaceOrder(**place, client_order_id="b", price=400_000, quantity=150),  # odd lot
        PlaceOrder(**place, client_order_id="c", price=390_000, quantity=100),  # 24+ spreads below the best bid
        PlaceOrder(**{**place, "order_type": "SPECIAL_LIMIT"}, client_order_id="d", price=3_600_000, quantity=100),  # 9x nominal
        PlaceOrder(**{**place, "order_type": "ENHANCED_LIMIT"}, client_order_id="e", price=404_000, quantity=100),  # 10+ queues
        PlaceOrder(**place, client_order_id="f", price=400_000, quantity=300_100),  # 3,001 board lots
        PlaceOrder(**{**place, "order_type": "AT_AUCTION_LIMIT"}, client_order_id="g", price=400_000, quantity=100),
        CancelOrder(instrument="00700", participant="P1", client_order_id="nope"),
    ]
    tape = ctx.execute_batch(OrderBatch.from_commands(commands), 100, at(10, 0))
    assert tape.counts()["refused"] == len(commands)
    assert [int(r["kind"]) for r in tape.records] == [K_REFUSED] * len(commands)
    reasons = [tape.rejection(i).reason for i in range(len(commands))]  # type: ignore[union-attr]
    assert reasons == ["PRICE_NOT_ON_SPREAD_GRID", "ODD_LOT", "PRICE_TOO_FAR_FROM_BEST", "PRICE_DEVIATES_FROM_NOMINAL",
                       "PRICE_BEYOND_QUEUE_LIMIT", "ORDER_SIZE_EXCEEDED", "ORDER_TYPE_NOT_IN_SESSION", "UNKNOWN_ORDER"]  # fmt: skip
