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
        PlaceOrder(instrument="00001", participant="P1", account=f"C:P1:{oid % 97}", client_order_id=str(oid), side=side, order_type="ENHANCED_LIMIT", price=price, quantity=qty)
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
    """``order-book``: a C price-level book (SortedDict of price -> size) with a Python matcher
    keeping per-order FIFO queues; reports every fill."""
    import order_book

    ob = order_book.OrderBook()
    bids, asks = ob.bids, ob.asks
    queues: dict[tuple[str, int], deque[list[int]]] = {}
    orders: dict[int, list[int]] = {}  # id -> [id, remaining, price, is_buy]
    trades = quantity = 0
    _settle()
    started = time.perf_counter()
    for kind, oid, side, price, qty in stream:
        if kind == "C":
            o = orders.pop(oid, None)
            if o is not None:
                levels = bids if o[3] else asks
                left = levels[o[2]] - o[1]
                if left:
                    levels[o[2]] = left
                else:
                    del levels[o[2]]
                o[1] = 0
            continue
        buy = side == "B"
        levels = asks if buy else bids
        other = "S" if buy else "B"
        while qty and len(levels):
            best = levels.index(0)[0]
            if (best > price) if buy else (best < price):
                break
            q = queues[(other, best)]
            while qty and q:
                o = q[0]
                if o[1] == 0:
                    q.popleft()
                    continue
                t = min(qty, o[1])
                o[1] -= t
                qty -= t
                trades += 1
                quantity += t
                if o[1] == 0:
                    q.popleft()
                    del orders[o[0]]
                left = levels[best] - t
                if left:
                    levels[best] = left
                else:
                    del levels[best]
        if qty:
            o = [oid, qty, price, buy]
            orders[oid] = o
            mine = bids if buy else asks
            key = (side, price)
            if price in mine:
                mine[price] = mine[price] + qty
                queues[key].append(o)
            else:
                mine[price] = qty
                queues[key] = deque((o,))
    elapsed = time.perf_counter() - started
    _unsettle()
    resting = [(o[0], s, p, o[1]) for s, levels, rev in (("B", bids, True), ("S", asks, False)) for p in sorted(levels.keys(), reverse=rev) for o in queues[(s, p)] if o[1]]
    return trades, quantity, resting, elapsed


def run_limit_order_book(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``limit-order-book``: a C++ book; it matches but reports no fills."""
    from limit_order_book import LimitOrderBook

    lob = LimitOrderBook()
    limit_buy, limit_sell, cancel, has = lob.limit_buy, lob.limit_sell, lob.cancel, lob.has
    _settle()
    started = time.perf_counter()
    for kind, oid, side, price, qty in stream:
        if kind == "N":
            (limit_buy if side == "B" else limit_sell)(oid, qty, price)
        elif has(oid):
            cancel(oid)
    elapsed = time.perf_counter() - started
    _unsettle()
    summary = (lob.best_buy(), lob.best_sell(), lob.volume_buy(), lob.volume_sell(), lob.count())
    return -1, -1, summary, elapsed


def run_matching_engine(stream: list[tuple[str, int, str, int, int]]) -> tuple[int, int, Any, float]:
    """``matching-engine``: a pure-Python event-sourced engine; reports fills as Trade events."""
    from matching_engine import CancelOrder, NewOrder, SequencedCommand, Side
    from matching_engine.engine import MatchingEngine
    from matching_engine.events import Trade

    engine = MatchingEngine()
    commands = [
        SequencedCommand(seq=i + 1, ts=i + 1, command=NewOrder(order_id=oid, account=oid, side=Side.BUY if side == "B" else Side.SELL, price=price, qty=qty) if kind == "N" else CancelOrder(order_id=oid, account=oid))
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
            order = LimitOrder(side=Side.BUY if side == "B" else Side.SELL, price=price, size=qty, timestamp=ts, order_id=str(oid), trader_id="t", price_number_of_digits=0)
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
    two own orders against each other, nor takes the liquidity it fills out of the book."""
    from nautilus_trader.core import nautilus_pyo3 as nt

    scale = nt.Price.from_str("0.001").raw  # raw fixed-point units per tick (10**13 in the 16-digit build)
    qscale = nt.Quantity.from_int(1).raw
    book = nt.OrderBook(nt.InstrumentId.from_str("00001.XHKG"), nt.BookType.L3_MBO)
    buy, sell = nt.OrderSide.BUY, nt.OrderSide.SELL
    orders: dict[int, Any] = {}
    commands: list[tuple[bool, Any]] = []  # built before timing: (is_new, BookOrder)
    for kind, oid, side, price, qty in stream:
        if kind == "N":
            o = nt.BookOrder(buy if side == "B" else sell, nt.Price.from_raw(price * scale, 3), nt.Quantity.from_raw(qty * qscale, 0), oid)
            orders[oid] = o
            commands.append((True, o))
        else:
            commands.append((False, orders[oid]))  # delete finds the order by id (and side)
    simulate, add, update, delete = book.simulate_fills, book.add, book.update, book.delete
    bids, asks = book.bids, book.asks
    Quantity, BookOrder = nt.Quantity, nt.BookOrder
    trades = quantity = 0
    _settle()
    started = time.perf_counter()
    for is_new, o in commands:
        if not is_new:
            delete(o, 0, 0, 0)  # a no-op if the order already filled
            continue
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
        if left:
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
            entry["note"] = f"too slow for the full stream: measured on the first {limit:,} events; trades and traded quantity compared on those"
            entry["state_matches"] = (p_trades, p_quantity) == ours_part[:2]
        elif name == "limit-order-book":
            book = ([p for _, s, p, _ in resting if s == "B"][:1] or [0])[0], ([p for _, s, p, _ in resting if s == "S"][:1] or [0])[0]
            volume_b = sum(q for _, s, _, q in resting if s == "B")
            volume_s = sum(q for _, s, _, q in resting if s == "S")
            entry["state_matches"] = (p_resting[0] or 0, p_resting[1] or 0, p_resting[2], p_resting[3], p_resting[4]) == (book[0], book[1], volume_b, volume_s, len(resting))
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
            "note": "Lion Rock's own events for each command, materialised with no venue logic, same harness: the ceiling of any venue that returns every event as a Python object",
        }
        progress(f"event floor: {floor_rate:,.0f} events/s; Lion Rock runs at {ours / floor_rate:.0%} of it")
    fill_rates = [float(v["events_per_s"]) for v in peers.values() if v["reports_fills"]]  # type: ignore[arg-type]
    all_rates = [float(v["events_per_s"]) for v in peers.values()]  # type: ignore[arg-type]
    from lionrock.trading import TradingContext

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
    }
