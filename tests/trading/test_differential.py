"""Differential test: the fast book and the reference book give identical event streams.

A seeded generator drives two engines (TradingContext over `FastBook` and over `ReferenceBook`)
through whole trading days: auctions, continuous trading with every order type, cancels, amends,
retries, VCM. The events (encoded) and the final canonical state must be identical.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from _venue_kit import at

from lionrock.engine import Engine
from lionrock.kernel.messages import Codec
from lionrock.kernel.xhkg import business_days
from lionrock.trading import PyFastBook, ReferenceBook, TradingContext
from lionrock.trading.book import FastBook
from lionrock.trading.commands import (
    AmendOrder,
    CancelOrder,
    DesignateShortSelling,
    ListInstrument,
    PlaceOrder,
    StartTradingDay,
    TradingTick,
)

CODES = ("02525", "00700", "09999")


def command_stream(seed: int, total: int, live: dict | None = None):
    """Yield ``(at_ns, command)``: listings, then trading days until ``total`` commands."""
    rng = random.Random(seed)
    yield at(8, 0), ListInstrument(instrument="02525", board_lot=100, nominal_price=10_000, vcm_class="SMALL", short_sell_designated=True)
    yield at(8, 0), ListInstrument(instrument="00700", board_lot=20, nominal_price=400_000, vcm_class="LARGE")
    yield at(8, 0), ListInstrument(instrument="09999", board_lot=1000, nominal_price=300, vcm_class="LARGE", closing_auction=False)
    mids = {"02525": 10_000, "00700": 400_000, "09999": 300}
    ticks = {"02525": 10, "00700": 200, "09999": 5}
    lots = {"02525": 100, "00700": 20, "09999": 1000}
    count, n = 3, 0
    live = {} if live is None else live
    days = business_days(date(2025, 11, 24), date(2026, 3, 31))
    for d in days:
        if count >= total:
            return
        yield at(8, 30, 0, d), StartTradingDay(day=d.isoformat(), seed=rng.randrange(1 << 30))
        if rng.random() < 0.3:  # the quarterly revision of the Designated Securities, more often
            yield at(8, 31, 0, d), DesignateShortSelling(instrument=rng.choice(CODES), designated=rng.random() < 0.6)
        windows = [((9, 0), (9, 21)), ((9, 30), (11, 59)), ((13, 0), (15, 59)), ((16, 1), (16, 9))]
        per_window = [400, 4000, 4000, 400]
        for ((h0, m0), (h1, m1)), k in zip(windows, per_window, strict=True):
            start, end = at(h0, m0, 0, d), at(h1, m1, 0, d)
            for i in range(k):
                t = start + (end - start) * i // k
                if rng.random() < 0.02:
                    yield t, TradingTick()
                code = rng.choice(CODES)
                mid, tick, lot = mids[code], ticks[code], lots[code]
                mids[code] = min(
                    480 if code == "09999" else 1 << 30, max(260 if code == "09999" else 50 * tick, mid + rng.choice((-tick, 0, tick)))
                )
                r = rng.random()
                n += 1
                participant = rng.choice(("P1", "P2", "P3"))
                if r < 0.55:
                    auction = h0 == 9 and m0 == 0 or h0 == 16
                    otype = (
                        rng.choice(("AT_AUCTION_LIMIT", "AT_AUCTION_LIMIT", "AT_AUCTION"))
                        if auction
                        else rng.choice(("LIMIT", "LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT"))
                    )
                    side = rng.choice("BS")
                    offset = rng.randrange(-6, 7) * tick
                    short = rng.random() < 0.08  # some short sales: mostly sells at or above the mid, a few buys
                    if short and rng.random() < 0.9:
                        side, offset = "S", abs(offset)
                    price = 0 if otype == "AT_AUCTION" else mid + offset + (rng.random() < 0.03) * 3  # some off-grid
                    qty = lot * rng.randrange(1, 8) + (rng.random() < 0.02) * 7  # some odd lots
                    coid = f"c{rng.randrange(n + 1)}" if rng.random() < 0.02 else f"c{n}"  # some retries
                    yield (
                        t,
                        PlaceOrder(
                            instrument=code,
                            participant=participant,
                            account=f"C:{participant}:x",
                            client_order_id=coid,
                            side=side,
                            order_type=otype,
                            price=price,
                            quantity=qty,
                            short_sell=short,
                        ),
                    )
                elif r < 0.85:
                    oid = pick(rng, live, n)
                    owner = live[oid] if oid in live and rng.random() < 0.95 else None
                    yield (
                        t,
                        CancelOrder(
                            instrument=owner.instrument if owner else code,
                            participant=owner.participant if owner else participant,
                            order_id=oid,
                        ),
                    )
                else:
                    oid = pick(rng, live, n)
                    owner = live[oid] if oid in live and rng.random() < 0.95 else None
                    if owner:
                        code, participant, lot, mid, tick = (
                            owner.instrument,
                            owner.participant,
                            lots[owner.instrument],
                            mids[owner.instrument],
                            ticks[owner.instrument],
                        )
                    yield (
                        t,
                        AmendOrder(
                            instrument=code,
                            participant=participant,
                            order_id=oid,
                            quantity=lot * rng.randrange(1, 6),
                            price=rng.choice((0, 0, mid + rng.randrange(-5, 6) * tick)),
                        ),
                    )
                count += 1
        yield at(16, 30, 0, d), TradingTick()


def pick(rng: random.Random, live: dict, n: int) -> int:
    """Mostly a live order (of whoever), sometimes any id."""
    if live and rng.random() < 0.9:
        keys = list(live)
        return keys[rng.randrange(max(0, len(keys) - 50), len(keys))]
    return rng.randrange(1, n + 1)


def run(book, seed: int, total: int) -> tuple[list[bytes], object]:
    ctx = TradingContext(book)
    engine = Engine([ctx])
    codec = Codec()
    out: list[bytes] = []
    for t, command in command_stream(seed, total, ctx.orders):
        if not isinstance(command, (TradingTick, StartTradingDay)):
            pending = engine.contexts["trading"].timers[engine.contexts["trading"].timer_index :]  # type: ignore[attr-defined]
            if pending and pending[0][0] <= t:
                out.extend(codec.encode(e) for e in engine.submit(TradingTick(), t).events)
        outcome = engine.submit(command, t)
        out.extend(codec.encode(e) for e in outcome.events)
    return out, engine.state_hash()


def test_fast_book_matches_reference_over_100k_commands() -> None:
    fast_events, fast_hash = run(FastBook, 20251124, 100_000)
    ref_events, ref_hash = run(ReferenceBook, 20251124, 100_000)
    assert len(fast_events) == len(ref_events)
    for i, (a, b) in enumerate(zip(fast_events, ref_events, strict=True)):
        assert a == b, f"event {i} differs:\nfast {a!r}\nref  {b!r}"
    assert fast_hash == ref_hash
    assert len(fast_events) > 100_000


def test_pure_python_fast_book_matches_reference_on_a_short_stream() -> None:
    assert run(PyFastBook, 7, 10_000) == run(ReferenceBook, 7, 10_000)


@pytest.mark.skipif(FastBook is PyFastBook, reason="compiled _fastbook not built (pip install -e .)")
def test_compiled_core_matches_pure_python_fast_book() -> None:
    """The compiled book with the venue's compiled fast path against PyFastBook on the pure-Python
    path: identical encoded event streams and state hashes."""
    fast = TradingContext(FastBook)
    assert fast.fast_path, "the compiled FastBook must switch the fast path on"
    assert run(FastBook, 99, 40_000) == run(PyFastBook, 99, 40_000)
