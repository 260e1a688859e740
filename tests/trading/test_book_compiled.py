"""The compiled book (`_fastbook.FastBook`) answers every `Book` call exactly as `PyFastBook` and
`ReferenceBook` do (skipped when the extension is not built: the venue then runs pure Python)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.trading.book import (
    AT_AUCTION_BUY_PRICE,
    AT_AUCTION_SELL_PRICE,
    UNLIMITED,
    FastBook,
    PyFastBook,
    ReferenceBook,
)

pytestmark = pytest.mark.skipif(FastBook is PyFastBook, reason="compiled _fastbook not built (pip install -e .)")

op = st.tuples(
    st.sampled_from(("add", "add", "add", "match", "cancel", "reduce")),
    st.sampled_from("BS"),
    st.integers(-6, 6),
    st.integers(1, 9),
    st.integers(0, 60),
    st.sampled_from((1, 2, 10, UNLIMITED)),
)


def replay(book_type, script) -> list:
    book = book_type()
    answers: list = []
    next_id = 1
    for action, side, offset, qty, pick, max_levels in script:
        price = 1000 + 10 * offset
        if action == "add":
            if pick == 60:  # at-auction sentinels sort before every real price
                price = AT_AUCTION_BUY_PRICE if side == "B" else AT_AUCTION_SELL_PRICE
            book.add(next_id, side, price, 100 * qty)
            next_id += 1
        elif action == "match":
            answers.append(book.match(side, price, 100 * qty, max_levels))
        elif action == "cancel":
            answers.append(book.cancel(pick % next_id))
        else:
            oid = pick % next_id
            left = book.remaining(oid)
            if left > 100:
                book.reduce(oid, left - 100)
        answers.append((book.best_bid(), book.best_ask(), len(book), book.level(side, price)))
    answers.append((book.levels("B"), book.levels("S"), book.orders()))
    return answers


@settings(max_examples=150, deadline=None)
@given(st.lists(op, max_size=200))
def test_compiled_book_answers_like_pure_python_books(script) -> None:
    assert replay(FastBook, script) == replay(PyFastBook, script) == replay(ReferenceBook, script)


def test_compiled_book_grows_past_its_initial_pools_and_hash() -> None:
    """Tens of thousands of orders over hundreds of levels, cancels in random order: the pools,
    the level arrays and the id hash grow and reuse slots without losing an order."""
    rng = random.Random(3)
    fast, ref = FastBook(), PyFastBook()
    live: list[int] = []
    for oid in range(1, 40_001):
        side = rng.choice("BS")
        price = (1000 - rng.randrange(1, 400)) if side == "B" else (1000 + rng.randrange(1, 400))
        qty = 100 * rng.randrange(1, 5)
        fast.add(oid, side, price, qty)
        ref.add(oid, side, price, qty)
        live.append(oid)
        if rng.random() < 0.4:
            victim = live.pop(rng.randrange(len(live)))
            assert fast.cancel(victim) == ref.cancel(victim)
    assert fast.orders() == ref.orders()
    assert fast.levels("B") == ref.levels("B") and fast.levels("S") == ref.levels("S")
    assert len(fast) == len(ref) == len(live)
    assert fast.match("B", 2000, 10**9, UNLIMITED) == ref.match("B", 2000, 10**9, UNLIMITED)
    assert len(fast) == len(ref) and fast.orders() == ref.orders()
