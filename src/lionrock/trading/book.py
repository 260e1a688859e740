"""Order books behind one interface: `ReferenceBook` (small, obviously correct) and `FastBook`.

A book holds one instrument's resting orders and does price-time matching; it knows nothing of
sessions, order types or HK rules (the venue checks those before it touches a book). Sides are
``"B"`` and ``"S"``; prices are ticks; at-auction orders rest at sentinel prices
(`AT_AUCTION_BUY_PRICE` above and `AT_AUCTION_SELL_PRICE` below every real price) so that price
priority puts them first. `FastBook` is the compiled extension ``_fastbook`` when it is built and
the pure-Python `PyFastBook` otherwise; all of them must produce the same answers for the same calls
(``tests/trading/test_differential.py``).
"""

from __future__ import annotations

from collections import deque
from heapq import heappop, heappush
from typing import Any, Protocol

AT_AUCTION_BUY_PRICE = 1 << 40
AT_AUCTION_SELL_PRICE = 1
UNLIMITED = 1 << 30

Fill = tuple[int, int, int, int]
"""``(resting_order_id, price, quantity, resting_remaining_after)``."""


class Book(Protocol):
    def add(self, order_id: int, side: str, price: int, quantity: int) -> None:
        """Queue an order at the tail of its price level."""

    def match(self, side: str, limit: int, quantity: int, max_levels: int) -> list[Fill]:
        """An incoming ``side`` order takes resting orders of the other side, best price first
        and in time order within a price, at prices no worse than ``limit``, over at most
        ``max_levels`` price levels, until ``quantity`` is filled."""

    def cancel(self, order_id: int) -> int:
        """Remove an order; returns its remaining quantity (0 if it was not resting)."""

    def reduce(self, order_id: int, quantity: int) -> None:
        """Lower an order's remaining quantity in place (keeps its priority)."""

    def remaining(self, order_id: int) -> int: ...

    def best_bid(self) -> int:
        """Best bid price, 0 if none."""

    def best_ask(self) -> int:
        """Best ask price, 0 if none."""

    def level(self, side: str, price: int) -> tuple[int, int]:
        """``(quantity, orders)`` resting at ``price``."""

    def levels(self, side: str) -> list[tuple[int, int, int]]:
        """Every level ``(price, quantity, orders)``, best first."""

    def orders(self) -> list[tuple[int, str, int, int]]:
        """Every resting order ``(order_id, side, price, remaining)``: bids then asks, each in
        priority order."""

    def __len__(self) -> int: ...


class ReferenceBook:
    """Each side is one list of ``[order_id, price, remaining]`` kept in priority order."""

    def __init__(self) -> None:
        self.sides: dict[str, list[list[int]]] = {"B": [], "S": []}

    @staticmethod
    def _better(side: str, a: int, b: int) -> bool:
        return a > b if side == "B" else a < b

    def add(self, order_id: int, side: str, price: int, quantity: int) -> None:
        queue = self.sides[side]
        i = 0
        while i < len(queue) and not self._better(side, price, queue[i][1]):
            i += 1
        queue.insert(i, [order_id, price, quantity])

    def match(self, side: str, limit: int, quantity: int, max_levels: int) -> list[Fill]:
        other = "S" if side == "B" else "B"
        queue = self.sides[other]
        fills: list[Fill] = []
        prices_used: list[int] = []
        while quantity > 0 and queue:
            order = queue[0]
            price = order[1]
            acceptable = price <= limit if side == "B" else price >= limit
            if not acceptable:
                break
            if price not in prices_used:
                if len(prices_used) == max_levels:
                    break
                prices_used.append(price)
            traded = min(quantity, order[2])
            order[2] -= traded
            quantity -= traded
            fills.append((order[0], price, traded, order[2]))
            if order[2] == 0:
                queue.pop(0)
        return fills

    def _find(self, order_id: int) -> tuple[str, int] | None:
        for side, queue in self.sides.items():
            for i, order in enumerate(queue):
                if order[0] == order_id:
                    return side, i
        return None

    def cancel(self, order_id: int) -> int:
        found = self._find(order_id)
        if found is None:
            return 0
        side, i = found
        return self.sides[side].pop(i)[2]

    def reduce(self, order_id: int, quantity: int) -> None:
        found = self._find(order_id)
        assert found is not None and 0 < quantity <= self.sides[found[0]][found[1]][2]
        self.sides[found[0]][found[1]][2] = quantity

    def remaining(self, order_id: int) -> int:
        found = self._find(order_id)
        return 0 if found is None else self.sides[found[0]][found[1]][2]

    def best_bid(self) -> int:
        return self.sides["B"][0][1] if self.sides["B"] else 0

    def best_ask(self) -> int:
        return self.sides["S"][0][1] if self.sides["S"] else 0

    def level(self, side: str, price: int) -> tuple[int, int]:
        at = [o[2] for o in self.sides[side] if o[1] == price]
        return sum(at), len(at)

    def levels(self, side: str) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        for _, price, remaining in self.sides[side]:
            if out and out[-1][0] == price:
                out[-1] = (price, out[-1][1] + remaining, out[-1][2] + 1)
            else:
                out.append((price, remaining, 1))
        return out

    def orders(self) -> list[tuple[int, str, int, int]]:
        return [(o[0], side, o[1], o[2]) for side in ("B", "S") for o in self.sides[side]]

    def __len__(self) -> int:
        return len(self.sides["B"]) + len(self.sides["S"])


class PyFastBook:
    """Levels in dicts (price -> ``[deque of entries, quantity, orders]``), best price from a heap
    with lazy deletion, cancels by marking the entry (``remaining = 0``) and skipping it later.
    An entry is ``[order_id, remaining, price, side]``."""

    __slots__ = ("_asks", "_aheap", "_bheap", "_bids", "_orders")

    def __init__(self) -> None:
        self._bids: dict[int, list[Any]] = {}
        self._asks: dict[int, list[Any]] = {}
        self._bheap: list[int] = []  # negated prices
        self._aheap: list[int] = []
        self._orders: dict[int, list[Any]] = {}

    def add(self, order_id: int, side: str, price: int, quantity: int) -> None:
        entry = [order_id, quantity, price, side]
        self._orders[order_id] = entry
        levels = self._bids if side == "B" else self._asks
        level = levels.get(price)
        if level is None:
            levels[price] = [deque((entry,)), quantity, 1]
            if side == "B":
                heappush(self._bheap, -price)
            else:
                heappush(self._aheap, price)
        else:
            level[0].append(entry)
            level[1] += quantity
            level[2] += 1

    def match(self, side: str, limit: int, quantity: int, max_levels: int) -> list[Fill]:
        fills: list[Fill] = []
        orders = self._orders
        if side == "B":
            levels, heap, sign = self._asks, self._aheap, 1
        else:
            levels, heap, sign = self._bids, self._bheap, -1
            limit = -limit
        used = 0
        while quantity and heap:
            key = heap[0]
            price = key * sign
            level = levels.get(price)
            if level is None:
                heappop(heap)
                continue
            if key > limit or used == max_levels:
                break
            used += 1
            queue = level[0]
            while quantity and queue:
                entry = queue[0]
                rest = entry[1]
                if rest == 0:
                    queue.popleft()
                    continue
                if rest <= quantity:
                    quantity -= rest
                    entry[1] = 0
                    queue.popleft()
                    del orders[entry[0]]
                    level[1] -= rest
                    level[2] -= 1
                    fills.append((entry[0], price, rest, 0))
                else:
                    rest -= quantity
                    entry[1] = rest
                    level[1] -= quantity
                    fills.append((entry[0], price, quantity, rest))
                    quantity = 0
            if level[2] == 0:
                del levels[price]
                heappop(heap)
        return fills

    def cancel(self, order_id: int) -> int:
        entry = self._orders.pop(order_id, None)
        if entry is None:
            return 0
        rest: int = entry[1]
        levels = self._bids if entry[3] == "B" else self._asks
        level = levels[entry[2]]
        level[1] -= rest
        level[2] -= 1
        entry[1] = 0
        if level[2] == 0:
            del levels[entry[2]]
        return rest

    def reduce(self, order_id: int, quantity: int) -> None:
        entry = self._orders[order_id]
        levels = self._bids if entry[3] == "B" else self._asks
        levels[entry[2]][1] -= entry[1] - quantity
        entry[1] = quantity

    def remaining(self, order_id: int) -> int:
        entry = self._orders.get(order_id)
        return 0 if entry is None else entry[1]

    def best_bid(self) -> int:
        heap, levels = self._bheap, self._bids
        while heap:
            if -heap[0] in levels:
                return -heap[0]
            heappop(heap)
        return 0

    def best_ask(self) -> int:
        heap, levels = self._aheap, self._asks
        while heap:
            if heap[0] in levels:
                return heap[0]
            heappop(heap)
        return 0

    def level(self, side: str, price: int) -> tuple[int, int]:
        level = (self._bids if side == "B" else self._asks).get(price)
        return (0, 0) if level is None else (level[1], level[2])

    def levels(self, side: str) -> list[tuple[int, int, int]]:
        levels = self._bids if side == "B" else self._asks
        return [(p, levels[p][1], levels[p][2]) for p in sorted(levels, reverse=side == "B")]

    def orders(self) -> list[tuple[int, str, int, int]]:
        out: list[tuple[int, str, int, int]] = []
        for side in ("B", "S"):
            levels = self._bids if side == "B" else self._asks
            for price in sorted(levels, reverse=side == "B"):
                out.extend((e[0], side, price, e[1]) for e in levels[price][0] if e[1])
        return out

    def __len__(self) -> int:
        return len(self._orders)


try:  # the compiled core, when built (setup.py); same interface and answers
    from lionrock.trading._fastbook import FastBook
except ImportError:  # pragma: no cover - depends on the build
    FastBook = PyFastBook

__all__ = [
    "AT_AUCTION_BUY_PRICE",
    "AT_AUCTION_SELL_PRICE",
    "UNLIMITED",
    "Book",
    "FastBook",
    "Fill",
    "PyFastBook",
    "ReferenceBook",
]
