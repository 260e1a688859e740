"""Trading benchmark: Lion Rock's production venue against order-book packages from PyPI.

One deterministic workload (fixed seed, about 1,000,000 events: new limit orders around a drifting
mid on the HK tick grid, cancels of live orders, marketable orders) is fed to every adapter in the
same run. Lion Rock runs its production path: `TradingContext.execute` with the HK validation on
(spread grid, board lots, nominal and 24-spread checks, enhanced-limit queue limit, client order
id uniqueness) in the continuous session, emitting its full event stream (every event a
materialised msgspec Struct, as the engine hands them to observers and subscribers); with the compiled core built
(``pip install -e .``) that is the compiled fast path, else pure Python (``lionrock_core`` in the
result says which). Peers are bench-only dependencies
(``pip install -e '.[bench]'``). Every peer that exposes its book is checked to end in the same
state as Lion Rock (trades, traded quantity, resting orders in queue order or per level).

A second workload, the realistic mix (`realistic_workload`), measures what users run: 60% new
limit orders around a random-walking mid (some marketable), 30% cancels of resting orders, 10%
market orders, generated without the HK quotation limits, so that under HK rules a good part is
refused (24 spreads from the best, beyond ten queues, 9 times the nominal price). Every adapter
builds its commands inside the timed loop from the same tuples (as a user's gateway does), and each
is timed best of 3. Lion Rock runs it twice: the per-command path (`TradingContext.execute`, a
PlaceOrder/CancelOrder built per event, refusals raised as `Reject`) and the batch path (the
commands as `OrderBatch` columns, `TradingContext.execute_batch` writing the event tape; no Python
event object built). Peers get market orders as immediate-or-cancel orders at the far side where
the book can express it (``limit-order-book`` cannot: its market orders rest at the far price).
"""

from __future__ import annotations

import gc
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import date
from datetime import time as dtime
from typing import Any

SEED = 20251124
EVENTS = 1_000_000
TICK = 100  # 0.10 in ticks of 0.001: the spread in the HK$100-200 band
LOT = 100
MID0 = 150_000  # HK$150.00


def workload(n: int = EVENTS, seed: int = SEED) -> list[tuple[str, int, str, int, int]]:
    """``(kind, order_id, side, price, quantity)``; kind N new order, C cancel. Prices stay within
    nine spreads through the opposite best and 20 spreads of the same-side best, so every order
    is valid under the HK rules and means the same thing to every book."""
    from lionrock.trading.book import PyFastBook

    rng = random.Random(seed)
    book = PyFastBook()  # only to keep the generated prices valid; not timed
    mid = MID0
    live: list[int] = []
    out: list[tuple[str, int, str, int, int]] = []
    next_id = 1
    while len(out) < n:
        mid = min(195_000, max(105_000, mid + rng.choice((-TICK, 0, 0, TICK))))
        r = rng.random()
        if r < 0.30 and live:
            i = rng.randrange(max(0, len(live) - 200), len(live))
            oid = live[i]
            live[i] = live[-1]
            live.pop()
            book.cancel(oid)
            out.append(("C", oid, "", 0, 0))
            continue
        side = "B" if rng.random() < 0.5 else "S"
        bid, ask = book.best_bid(), book.best_ask()
        if r < 0.40:  # marketable: 0-3 spreads through the opposite best
            opposite = ask if side == "B" else bid
            if not opposite:
                continue
            price = opposite + rng.randrange(0, 4) * TICK * (1 if side == "B" else -1)
        else:
            price = mid + (-rng.randrange(1, 12) if side == "B" else rng.randrange(1, 12)) * TICK
            if side == "B" and ask:
                price = min(price, ask + 3 * TICK)
            if side == "S" and bid:
                price = max(price, bid - 3 * TICK)
        same = bid if side == "B" else ask
        if same:
            price = max(price, same - 20 * TICK) if side == "B" else min(price, same + 20 * TICK)
        price = min(195_000, max(105_000, price))
        qty = LOT * rng.randrange(1, 10)
        oid = next_id
        next_id += 1
        fills = book.match(side, price, qty, 1 << 30)
        left = qty - sum(f[2] for f in fills)
        if left:
            book.add(oid, side, price, left)
            live.append(oid)
        out.append(("N", oid, side, price, qty))
    return out


def realistic_workload(n: int = EVENTS, seed: int = SEED + 1) -> list[tuple[str, int, str, int, int]]:
    """``(kind, order_id, side, price, quantity)``: N a new limit order, M a market order (its
    price the far side: 60 spreads through the mid), C a cancel of an order still resting in a
    plain price-time book (no HK limits: the reference the peers run)."""
    from lionrock.trading.book import PyFastBook

    rng = random.Random(seed)
    book = PyFastBook()
    mid = MID0
    live: list[int] = []
    out: list[tuple[str, int, str, int, int]] = []
    next_id = 1
    while len(out) < n:
        mid = min(190_000, max(110_000, mid + rng.choice((-TICK, 0, TICK))))
        r = rng.random()
        if r < 0.30:
            while live:
                i = rng.randrange(len(live))
                oid = live[i]
                live[i] = live[-1]
                live.pop()
                if book.remaining(oid):
                    book.cancel(oid)
                    out.append(("C", oid, "", 0, 0))
                    break
            continue
        side = "B" if rng.random() < 0.5 else "S"
        sign = -1 if side == "B" else 1
        oid = next_id
        next_id += 1
        qty = LOT * rng.randrange(1, 10)
        if r < 0.40:  # market: up to the far side
            price = mid - sign * 60 * TICK
            fills = book.match(side, price, qty, 1 << 30)
            out.append(("M", oid, side, price, qty))
            continue
        offset = int(rng.expovariate(1 / 12))  # spreads away from the mid, on its side; a few through it
        price = min(195_000, max(105_000, mid + sign * (offset - 2) * TICK))
        fills = book.match(side, price, qty, 1 << 30)
        left = qty - sum(f[2] for f in fills)
        if left:
            book.add(oid, side, price, left)
            live.append(oid)
        out.append(("N", oid, side, price, qty))
    return out


def _settle() -> None:
    """Right before every adapter's timed loop (all of them alike): collect, then freeze what
    exists, so the cycle collector does not rescan the harness's million prebuilt stream entries
    and commands during the run. Objects the adapter creates while timed are collected as usual."""
    gc.collect()
    gc.freeze()


def _unsettle() -> None:
    gc.unfreeze()


# -- adapters: each returns (trades, traded_quantity, resting) ----------------------------------
def run_lionrock(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    ctx, commands, at = _venue(stream)
    trades, quantity, rejected, elapsed = _harness(ctx.execute, commands, at)
    assert rejected == 0, f"Lion Rock rejected {rejected} workload orders"
    book = ctx.instruments["00001"].book
    resting = [(int(c), side, p, q) for c, side, p, q in ((ctx.orders[o].client_order_id, s, p, q) for o, s, p, q in book.orders())]
    return trades, quantity, resting, elapsed


def _venue(stream: list[tuple[str, int, str, int, int]]) -> tuple[Any, list[Any], int]:
    """A TradingContext in the continuous session with the stream's commands, built before timing
    as a gateway would hand them over; and the time the commands carry."""
    from lionrock.kernel.messages import Stamp
    from lionrock.kernel.xhkg import hk_ns
    from lionrock.trading import TradingContext
    from lionrock.trading.commands import (
        CancelOrder,
        ListInstrument,
        PlaceOrder,
        StartTradingDay,
        TradingTick,
    )

    d = date(2025, 11, 24)
    ctx = TradingContext()
    ctx.execute(ListInstrument(instrument="00001", board_lot=LOT, nominal_price=MID0), Stamp(1, hk_ns(d, dtime(8))))
    ctx.execute(StartTradingDay(day=d.isoformat(), seed=1), Stamp(2, hk_ns(d, dtime(8))))
    ctx.execute(TradingTick(), Stamp(3, hk_ns(d, dtime(9, 31))))
    commands = [
        PlaceOrder(
            instrument="00001",
            participant="P1",
            account=f"C:P1:{oid % 97}",
            client_order_id=str(oid),
            side=side,
            order_type="ENHANCED_LIMIT",
            price=price,
            quantity=qty,
        )
        if kind == "N"
        else CancelOrder(instrument="00001", participant="P1", client_order_id=str(oid))
        for kind, oid, side, price, qty in stream
    ]
    return ctx, commands, hk_ns(d, dtime(10))


def _harness(execute: Callable[[Any, Any], Any], commands: list[Any], at: int) -> tuple[int, int, int, float]:
    """The timed loop, the same for Lion Rock and its event floor: a stamp per command, as the
    engine gives one, every event looked at; an UNKNOWN_ORDER rejection (a cancel that lost the
    race with a fill) is expected, any other counts as a failure."""
    from lionrock.kernel.errors import Reject
    from lionrock.kernel.messages import Stamp
    from lionrock.trading.events import TradeExecuted

    trades = quantity = rejected = 0
    _settle()
    started = time.perf_counter()
    for i, command in enumerate(commands):
        try:
            for e in execute(command, Stamp(i + 4, at)):
                if type(e) is TradeExecuted:
                    trades += 1
                    quantity += e.quantity
        except Reject as exc:
            if exc.rejection.reason != "UNKNOWN_ORDER":
                rejected += 1
    elapsed = time.perf_counter() - started
    _unsettle()
    return trades, quantity, rejected, elapsed


def run_lionrock_commands(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, int, float]:
    """The per-command path on the realistic mix, commands built in the timed loop: (trades,
    traded quantity, refusals, seconds)."""
    from lionrock.kernel.errors import Reject
    from lionrock.kernel.messages import Stamp
    from lionrock.trading.commands import CancelOrder, PlaceOrder
    from lionrock.trading.events import TradeExecuted

    ctx, _, at = _venue([])
    execute = ctx.execute
    trades = quantity = refused = 0
    _settle()
    started = time.perf_counter()
    for i, (kind, oid, side, price, qty) in enumerate(stream):
        if kind == "C":
            command: Any = CancelOrder(instrument="00001", participant="P1", client_order_id=str(oid))
        else:
            command = PlaceOrder(instrument="00001", participant="P1", account=f"C:P1:{oid % 97}", client_order_id=str(oid), side=side,
                                 order_type="ENHANCED_LIMIT" if kind == "N" else "SPECIAL_LIMIT", price=price, quantity=qty)  # fmt: skip
        try:
            for e in execute(command, Stamp(i + 4, at)):
                if type(e) is TradeExecuted:
                    trades += 1
                    quantity += e.quantity
        except Reject:
            refused += 1
    elapsed = time.perf_counter() - started
    _unsettle()
    return trades, quantity, refused, elapsed


def run_lionrock_batch(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, int, float]:
    """The batch path on the realistic mix: the `OrderBatch` columns built in the timed region
    from the same tuples, one `execute_batch`, trades read off the tape (trades, traded quantity,
    refusals, seconds)."""
    import numpy as np

    from lionrock.trading.batch import K_REFUSED, K_REJECTED, K_TRADE, OrderBatch

    ctx, _, at = _venue([])
    strings = ["", "00001", "P1", *(f"C:P1:{k}" for k in range(97))]
    _settle()
    started = time.perf_counter()
    n = len(stream)
    kinds, oids, sides, prices, quantities = zip(*stream, strict=True)
    kind = np.frombuffer("".join(kinds).encode(), dtype=np.uint8)
    oid = np.array(oids, dtype=np.int64)
    columns = {
        "kind": (kind == ord("C")).astype(np.uint8),
        "side": (np.frombuffer("".join(s or "B" for s in sides).encode(), dtype=np.uint8) == ord("S")).astype(np.uint8),
        "order_type": np.where(kind == ord("M"), 2, 1).astype(np.uint8),
        "short_sell": np.zeros(n, dtype=np.uint8),
        "price": np.array(prices, dtype=np.int64),
        "quantity": np.array(quantities, dtype=np.int64),
        "order_id": np.zeros(n, dtype=np.int64),
        "instrument": np.ones(n, dtype=np.int32),
        "participant": np.full(n, 2, dtype=np.int32),
        "account": (oid % 97 + 3).astype(np.int32),
        "channel": np.zeros(n, dtype=np.int32),
    }
    batch = OrderBatch(columns, strings, list(map(str, oids)))
    tape = ctx.execute_batch(batch, 4, at)
    records = tape.buffer[: tape.count]
    is_trade = records[:, 1] == K_TRADE
    trades, quantity = int(is_trade.sum()), int(records[is_trade, 7].sum())
    refused = int(np.isin(records[:, 1], (K_REFUSED, K_REJECTED)).sum())
    elapsed = time.perf_counter() - started
    _unsettle()
    return trades, quantity, refused, elapsed


def run_dict_deque(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """A pure-Python price-time book as a textbook writes one (the issue's reference peer): per
    side a dict of price -> deque of [id, remaining], best prices found by ``min``/``max`` over
    the levels' keys kept in a sorted list (bisect); reports every fill; market orders (M) are
    immediate-or-cancel."""
    from bisect import insort

    books: tuple[dict[int, deque[list[int]]], dict[int, deque[list[int]]]] = ({}, {})  # bids, asks
    prices: tuple[list[int], list[int]] = ([], [])  # ascending
    orders: dict[int, tuple[list[int], int, int]] = {}  # id -> (entry, side index, price)
    trades = quantity = 0
    _settle()
    started = time.perf_counter()
    for kind, oid, side, price, qty in stream:
        if kind == "C":
            found = orders.pop(oid, None)
            if found is not None:
                entry, s, p = found
                queue = books[s][p]
                queue.remove(entry)
                if not queue:
                    del books[s][p]
                    prices[s].remove(p)
            continue
        s = 0 if side == "B" else 1
        o = 1 - s
        levels, keys = books[o], prices[o]
        while qty and keys:
            best = keys[0] if o == 1 else keys[-1]
            if (best > price) if s == 0 else (best < price):
                break
            queue = levels[best]
            while qty and queue:
                entry = queue[0]
                t = entry[1] if entry[1] < qty else qty
                entry[1] -= t
                qty -= t
                trades += 1
                quantity += t
                if not entry[1]:
                    queue.popleft()
                    del orders[entry[0]]
            if not queue:
                del levels[best]
                keys.pop(0 if o == 1 else -1)
        if qty and kind == "N":
            entry = [oid, qty]
            mine = books[s]
            queue = mine.get(price)
            if queue is None:
                mine[price] = deque((entry,))
                insort(prices[s], price)
            else:
                queue.append(entry)
            orders[oid] = (entry, s, price)
    elapsed = time.perf_counter() - started
    _unsettle()
    resting = [
        (e[0], "B" if s == 0 else "S", p, e[1])
        for s, rev in ((0, True), (1, False))
        for p in sorted(books[s], reverse=rev)
        for e in books[s][p]
    ]
    return trades, quantity, resting, elapsed


def run_event_floor(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, float] | None:
    """The same harness over `bench/_event_floor.pyx`: the events Lion Rock returned for each
    command (recorded in an untimed pass), materialised with no venue logic. None when Cython or
    a C compiler is missing."""
    from lionrock.kernel.errors import Reject
    from lionrock.kernel.messages import Stamp

    try:
        import pyximport

        pyximport.install(language_level=3, inplace=False)
        from bench._event_floor import EventFloor, shape_of  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - optional: reported as not measured
        return None
    ctx, commands, at = _venue(stream)
    shapes = []
    for i, command in enumerate(commands):
        try:
            shapes.append(shape_of(ctx.execute(command, Stamp(i + 4, at))))
        except Reject:
            shapes.append(None)
    _, commands, at = _venue(stream)  # fresh command objects: the floor reads cold ones too
    trades, quantity, _, elapsed = _harness(EventFloor(shapes).execute, commands, at)
    return trades, quantity, elapsed


def run_order_book_c(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``order-book`` (bmoscon/orderbook): a C sorted dict per side, driven as its authors drive an
    L3 (market-by-order) book in their README's L3 test and ``perf/performance_test.py``'s ``l3_c``
    replay: each side's ``SortedDict`` maps price -> a plain dict of order id -> size, whose
    insertion order is the queue (the first key is the oldest order), ``side.index(0)`` gives the
    best level and its queue, an order joins with ``side[price][oid] = size`` (or ``side[price] =
    {oid: size}`` for a new level), the oldest order leaves with ``orders.pop(next(iter(orders)))``
    and an emptied level with ``del side[price]``. The matcher around it (the package has none)
    walks the best levels in price-time order and reports every fill; a cancel finds its level
    from an order id -> (side, price) map. Market orders (M) are immediate-or-cancel."""
    import order_book

    ob = order_book.OrderBook()
    bids, asks = ob.bids, ob.asks
    where: dict[int, tuple[Any, int]] = {}  # order id -> (its side's SortedDict, price)
    trades = quantity = 0
    _settle()
    started = time.perf_counter()
    for kind, oid, side, price, qty in stream:
        if kind == "C":
            found = where.pop(oid, None)
            if found is not None:
                levels, at = found
                orders = levels[at]
                del orders[oid]
                if not orders:
                    del levels[at]
            continue
        buy = side == "B"
        levels = asks if buy else bids
        while qty and levels:
            best, orders = levels.index(0)
            if (best > price) if buy else (best < price):
                break
            while qty and orders:
                first = next(iter(orders))
                size = orders[first]
                trades += 1
                if size > qty:
                    orders[first] = size - qty
                    quantity += qty
                    qty = 0
                else:
                    quantity += size
                    qty -= size
                    orders.pop(first)
                    del where[first]
            if not orders:
                del levels[best]
        if qty and kind == "N":  # M: a market order's remainder is not kept
            mine = bids if buy else asks
            if price in mine:
                mine[price][oid] = qty
            else:
                mine[price] = {oid: qty}
            where[oid] = (mine, price)
    elapsed = time.perf_counter() - started
    _unsettle()
    resting = [(o, s, p, q) for s, levels in (("B", bids), ("S", asks)) for p in levels for o, q in levels[p].items()]
    return trades, quantity, resting, elapsed


def run_limit_order_book(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``limit-order-book`` (Kautenja): a C++ book behind Cython; it matches but reports no fills.
    Driven as its README's Python example does: ``limit_buy`` / ``limit_sell(order_id, quantity,
    price)`` for a limit order, ``market_buy`` / ``market_sell(order_id, quantity)`` for a market
    order (M: it takes what the far side has and never rests), ``cancel`` after ``has``; the
    bound methods looked up once."""
    from limit_order_book import LimitOrderBook

    lob = LimitOrderBook()
    limit_buy, limit_sell, cancel, has = lob.limit_buy, lob.limit_sell, lob.cancel, lob.has
    market_buy, market_sell = lob.market_buy, lob.market_sell
    _settle()
    started = time.perf_counter()
    for kind, oid, side, price, qty in stream:
        if kind == "N":
            (limit_buy if side == "B" else limit_sell)(oid, qty, price)
        elif kind == "M":
            (market_buy if side == "B" else market_sell)(oid, qty)
        elif has(oid):
            cancel(oid)
    elapsed = time.perf_counter() - started
    _unsettle()
    summary = (lob.best_buy(), lob.best_sell(), lob.volume_buy(), lob.volume_sell(), lob.count())
    return -1, -1, summary, elapsed


def _book_summary(resting: list[tuple[int, str, int, int]]) -> tuple[int, int, int, int, int]:
    """What ``limit-order-book`` can say of its end state, from a resting-order list: best bid,
    best ask (0 when a side is empty), volume per side, resting orders."""
    bids = [p for _, s, p, _ in resting if s == "B"]
    asks = [p for _, s, p, _ in resting if s == "S"]
    volume_b = sum(q for _, s, _, q in resting if s == "B")
    volume_s = sum(q for _, s, _, q in resting if s == "S")
    return max(bids, default=0), min(asks, default=0), volume_b, volume_s, len(resting)


def run_matching_engine(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``matching-engine``: a pure-Python event-sourced engine; reports fills as Trade events."""
    from matching_engine import CancelOrder, NewOrder, SequencedCommand, Side
    from matching_engine.engine import MatchingEngine
    from matching_engine.events import Trade

    engine = MatchingEngine()
    commands = [
        SequencedCommand(
            seq=i + 1,
            ts=i + 1,
            command=NewOrder(order_id=oid, account=oid, side=Side.BUY if side == "B" else Side.SELL, price=price, qty=qty)
            if kind == "N"
            else CancelOrder(order_id=oid, account=oid),
        )
        for i, (kind, oid, side, price, qty) in enumerate(stream)
    ]
    trades = quantity = 0
    process = engine.process
    _settle()
    started = time.perf_counter()
    for sc in commands:
        for e in process(sc):
            if type(e) is Trade:
                trades += 1
                quantity += e.qty
    elapsed = time.perf_counter() - started
    _unsettle()
    resting = [(e.order_id, "B" if e.side == Side.BUY else "S", e.price, e.qty) for e in engine.book.entries()]
    return trades, quantity, resting, elapsed


def run_order_matching(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``order-matching``: pure Python with pandas-style records and a Faker trade id per fill."""
    from datetime import datetime, timedelta

    from loguru import logger

    logger.disable("order_matching")  # it logs every placement and match at DEBUG to stderr
    from order_matching.enums import Side
    from order_matching.matching_engine import MatchingEngine
    from order_matching.order import LimitOrder
    from order_matching.orders import Orders

    engine = MatchingEngine(seed=SEED)
    t0 = datetime(2025, 11, 24, 10)
    trades = quantity = 0
    _settle()
    started = time.perf_counter()
    for i, (kind, oid, side, price, qty) in enumerate(stream):
        ts = t0 + timedelta(microseconds=i)
        if kind == "N":
            order = LimitOrder(
                side=Side.BUY if side == "B" else Side.SELL,
                price=price,
                size=qty,
                timestamp=ts,
                order_id=str(oid),
                trader_id="t",
                price_number_of_digits=0,
            )
            executed = engine.match(timestamp=ts, orders=Orders([order])) if _om_takes_orders() else _om_place_and_match(engine, order, ts)
            for trade in executed.trades:
                trades += 1
                quantity += int(trade.size)
        else:
            try:
                engine.cancel_order(str(oid))
            except Exception:  # noqa: BLE001 - unknown or filled order
                pass
    elapsed = time.perf_counter() - started
    _unsettle()
    return trades, quantity, None, elapsed


def _om_takes_orders() -> bool:
    import inspect

    from order_matching.matching_engine import MatchingEngine

    return "orders" in inspect.signature(MatchingEngine.match).parameters


def _om_place_and_match(engine: Any, order: Any, ts: Any) -> Any:
    from order_matching.orders import Orders

    engine.place(Orders([order]))
    return engine.match(timestamp=ts)


def run_nautilus(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``nautilus-trader``: its Rust L3 (``L3_MBO``) ``OrderBook`` (the book its backtest venue
    keeps; pyo3 binding). Nautilus computes every fill: ``simulate_fills`` walks the opposite
    side in price-time priority and returns one (price, quantity) per resting order hit; the
    matcher loop that applies those fills to the book (``delete`` / ``update``, which keeps the
    queue position) and rests the remainder (``add``) is here in the adapter, as for
    ``order-book``. Reports every fill. Its backtest ``OrderMatchingEngine`` is not usable for
    this: it fills a strategy's own orders against market data in its book and never matches
    two own orders against each other, nor takes the liquidity it fills out of the book. Each
    ``BookOrder`` (price and quantity as raw fixed-point, the way its Rust tests build them) is
    built in the timed loop, as every adapter builds its commands."""
    from nautilus_trader.core import nautilus_pyo3 as nt

    scale = nt.Price.from_str("0.001").raw  # raw fixed-point units per tick (10**13 in the 16-digit build)
    qscale = nt.Quantity.from_int(1).raw
    book = nt.OrderBook(nt.InstrumentId.from_str("00001.XHKG"), nt.BookType.L3_MBO)
    buy, sell = nt.OrderSide.BUY, nt.OrderSide.SELL
    orders: dict[int, Any] = {}  # id -> its BookOrder, which delete needs (it finds the order by id and side)
    simulate, add, update, delete = book.simulate_fills, book.add, book.update, book.delete
    bids, asks = book.bids, book.asks
    Quantity, BookOrder, Price = nt.Quantity, nt.BookOrder, nt.Price
    trades = quantity = 0
    _settle()
    started = time.perf_counter()
    for kind, oid, side, price, qty in stream:  # the BookOrder built in the timed loop, as for every adapter
        if kind == "C":
            delete(orders.pop(oid), 0, 0, 0)  # a no-op if the order already filled
            continue
        is_new = 1 if kind == "N" else 2  # 1 limit, 2 market (immediate-or-cancel)
        o = BookOrder(buy if side == "B" else sell, Price.from_raw(price * scale, 3), Quantity.from_raw(qty * qscale, 0), oid)
        if is_new == 1:
            orders[oid] = o
        fills = simulate(o)
        left = o.size.raw
        if fills:
            trades += len(fills)
            prices = {f[0].raw for f in fills}
            i = 0
            for level in (asks if o.side == buy else bids)(len(prices)):
                for resting in level.get_orders():
                    if i == len(fills):
                        break
                    q = fills[i][1].raw
                    i += 1
                    left -= q
                    quantity += q
                    rest = resting.size.raw - q
                    if rest:
                        update(BookOrder(resting.side, resting.price, Quantity.from_raw(rest, 0), resting.order_id), 0, 0, 0)
                    else:
                        delete(resting, 0, 0, 0)
        if left and is_new == 1:
            add(o if left == o.size.raw else BookOrder(o.side, o.price, Quantity.from_raw(left, 0), o.order_id), 0, 0, 0)
    elapsed = time.perf_counter() - started
    _unsettle()
    resting = [
        (r.order_id, "B" if r.side == buy else "S", r.price.raw // scale, r.size.raw // qscale)
        for levels in (bids(), asks())
        for level in levels
        for r in level.get_orders()
    ]
    return trades, quantity // qscale, resting, elapsed


PEERS: dict[str, tuple[Callable[..., Any], bool, int]] = {
    # name: (adapter, reports_fills, events to run: 0 = the full stream)
    "order-book": (run_order_book_c, True, 0),
    "limit-order-book": (run_limit_order_book, False, 0),
    "matching-engine": (run_matching_engine, True, 0),
    "order-matching": (run_order_matching, True, 20_000),
    "nautilus-trader": (run_nautilus, True, 0),
}
SKIPPED: dict[str, str] = {}


REALISTIC_PEERS: dict[str, tuple[Callable[..., Any], bool]] = {
    "order-book": (run_order_book_c, True),
    "dict-deque": (run_dict_deque, True),
    "limit-order-book": (run_limit_order_book, False),
    "nautilus-trader": (run_nautilus, True),
}


def _best_of(times: int, run_once: Callable[[], Any]) -> Any:
    """The run with the least elapsed time (its last element) of ``times`` runs."""
    return min((run_once() for _ in range(times)), key=lambda result: result[-1])


def run_realistic(progress: Callable[[str], None], n: int = EVENTS) -> dict[str, object]:
    """The realistic mix: Lion Rock's per-command and batch paths and the peers, best of 3 each."""
    stream = realistic_workload(n)
    counts = {k: sum(1 for e in stream if e[0] == k) for k in "NMC"}
    progress(f"realistic mix: {len(stream):,} events {counts}")
    per = _best_of(3, lambda: run_lionrock_commands(stream))
    batch = _best_of(3, lambda: run_lionrock_batch(stream))
    assert per[:3] == batch[:3], f"the batch path must give the per-command path's trades and refusals: {per[:3]} vs {batch[:3]}"
    per_rate, batch_rate = len(stream) / per[3], len(stream) / batch[3]
    progress(f"lionrock per-command: {per_rate:,.0f} events/s; batch: {batch_rate:,.0f} events/s; {per[0]:,} trades, {per[2]:,} refused")
    peers: dict[str, dict[str, object]] = {}
    reference = run_dict_deque(stream)  # the plain price-time book every peer must end like
    for name, (adapter, reports_fills) in REALISTIC_PEERS.items():
        try:
            result = _best_of(3, lambda adapter=adapter: adapter(stream))  # type: ignore[misc]
        except ImportError as exc:
            SKIPPED[name] = f"not installed ({exc})"
            continue
        rate = len(stream) / result[-1]
        if reports_fills:
            matches = result[:3] == reference[:3]
        else:
            matches = (result[2][0] or 0, result[2][1] or 0, *result[2][2:]) == _book_summary(reference[2])
        peers[name] = {"events_per_s": round(rate), "reports_fills": reports_fills, "trades": result[0], "state_matches_reference": matches}
        progress(f"realistic {name}: {rate:,.0f} events/s; end state as the reference book: {matches}")
    fill = max((float(v["events_per_s"]) for v in peers.values() if v["reports_fills"]), default=0.0)  # type: ignore[arg-type]
    fastest = max((float(v["events_per_s"]) for v in peers.values()), default=0.0)  # type: ignore[arg-type]
    return {
        "events": len(stream),
        "mix": counts,
        "lionrock_refused": per[2],
        "lionrock_trades": per[0],
        "per_command_events_per_s": round(per_rate),
        "batch_events_per_s": round(batch_rate),
        "peers": peers,
        "ratio_per_command_vs_fastest_fill_reporting_peer": round(per_rate / fill, 3) if fill else None,
        "ratio_batch_vs_fastest_fill_reporting_peer": round(batch_rate / fill, 3) if fill else None,
        "ratio_batch_vs_fastest_peer": round(batch_rate / fastest, 3) if fastest else None,
        "note": (
            "HK rules on for Lion Rock (the peers have none): its refusals are part of its work; "
            "commands built inside every adapter's timed loop; best of 3"
        ),
    }


def run(progress: Callable[[str], None]) -> dict[str, object]:
    progress(f"generating {EVENTS:,} events (seed {SEED})")
    stream = workload()
    progress("Lion Rock (TradingContext, HK validation on, continuous session)")
    trades, quantity, resting, elapsed = run_lionrock(stream)
    ours = len(stream) / elapsed
    progress(f"lionrock: {ours:,.0f} events/s; {trades:,} trades, {quantity:,} shares, {len(resting):,} resting")
    peers: dict[str, dict[str, object]] = {}
    for name, (adapter, reports_fills, limit) in PEERS.items():
        part = stream[:limit] if limit else stream
        try:
            p_trades, p_quantity, p_resting, p_elapsed = adapter(part)
        except ImportError as exc:
            SKIPPED[name] = f"not installed ({exc})"
            continue
        rate = len(part) / p_elapsed
        entry: dict[str, object] = {"events_per_s": round(rate), "reports_fills": reports_fills}
        if limit:
            ours_part = run_lionrock(part)
            entry["note"] = (
                f"too slow for the full stream: measured on the first {limit:,} events; trades and traded quantity compared on those"
            )
            entry["state_matches"] = (p_trades, p_quantity) == ours_part[:2]
        elif name == "limit-order-book":
            entry["state_matches"] = (p_resting[0] or 0, p_resting[1] or 0, *p_resting[2:]) == _book_summary(resting)
        else:
            entry["state_matches"] = p_trades == trades and p_quantity == quantity and p_resting == resting
        peers[name] = entry
        progress(f"{name}: {rate:,.0f} events/s {entry}")
    progress("event floor: the same harness and events with no venue (bench/_event_floor.pyx)")
    floor = run_event_floor(stream)
    floor_entry: dict[str, object] = {"note": "not measured (needs Cython and a C compiler)"}
    if floor is not None:
        assert floor[:2] == (trades, quantity), "the floor must return the venue's fills"
        floor_rate = len(stream) / floor[2]
        floor_entry = {
            "events_per_s": round(floor_rate),
            "lionrock_share": round(ours / floor_rate, 3),
            "note": (
                "Lion Rock's own events for each command, materialised with no venue logic, same harness: "
                "the ceiling of any venue that returns every event as a Python object"
            ),
        }
        progress(f"event floor: {floor_rate:,.0f} events/s; Lion Rock runs at {ours / floor_rate:.0%} of it")
    fill_rates = [float(v["events_per_s"]) for v in peers.values() if v["reports_fills"]]  # type: ignore[arg-type]
    all_rates = [float(v["events_per_s"]) for v in peers.values()]  # type: ignore[arg-type]
    from lionrock.trading import TradingContext

    realistic = run_realistic(progress)
    return {
        "events": len(stream),
        "lionrock_core": "compiled" if TradingContext().fast_path else "pure-python",
        "lionrock_events_per_s": round(ours),
        "lionrock_trades": trades,
        "lionrock_traded_quantity": quantity,
        "lionrock_resting_orders": len(resting),
        "event_floor": floor_entry,
        "peers": peers,
        "skipped": SKIPPED,
        "ratio_vs_fastest_fill_reporting_peer": round(ours / max(fill_rates), 3) if fill_rates else None,
        "ratio_vs_fastest_peer": round(ours / max(all_rates), 3) if all_rates else None,
        "realistic": realistic,
        "batch_events_per_s": realistic["batch_events_per_s"],
        "ratio_batch_vs_fastest_fill_reporting_peer": realistic["ratio_batch_vs_fastest_fill_reporting_peer"],
        "ratio_batch_vs_fastest_peer": realistic["ratio_batch_vs_fastest_peer"],
    }
