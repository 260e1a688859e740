"""The spread-table grid: which prices are valid, their neighbours, n spreads away."""

from __future__ import annotations

from bisect import bisect_left

from lionrock.rules.trading import SpreadTable


class Grid:
    """Arithmetic on one spread table. Prices are ticks of 0.001; every band boundary is a
    multiple of the spreads on both sides, so a price is on the grid iff it is a multiple of its
    band's spread."""

    __slots__ = ("lowers", "max_price", "min_price", "spreads", "table", "uppers")

    def __init__(self, table: SpreadTable) -> None:
        self.table = table
        self.min_price = table.min_price_ticks
        self.max_price = table.max_price_ticks
        self.uppers = [b.upper_ticks for b in table.bands]
        self.spreads = [b.spread_ticks for b in table.bands]
        self.lowers = [self.min_price] + self.uppers[:-1]

    def band(self, price: int) -> int:
        """Index of the band holding ``price`` (over its lower bound, up to its upper bound)."""
        return bisect_left(self.uppers, price)

    def spread_at(self, price: int) -> int:
        return self.spreads[min(self.band(price), len(self.spreads) - 1)]

    def in_table(self, price: int) -> bool:
        return self.min_price <= price <= self.max_price

    def is_valid(self, price: int) -> bool:
        return self.min_price <= price <= self.max_price and price % self.spreads[self.band(price)] == 0

    def neighbours(self, price: int) -> tuple[int, int]:
        """The valid prices just below and above an off-grid ``price`` inside the table."""
        s = self.spreads[self.band(price)]
        below = price - price % s
        return below, below + s

    def step(self, price: int, n: int) -> int:
        """The price ``n`` spreads from the valid ``price`` (down if negative), clamped to the table."""
        i = self.band(price)
        if n >= 0:
            while n > 0 and i < len(self.uppers):
                s = self.spreads[i]
                room = (self.uppers[i] - price) // s
                if n <= room:
                    return price + n * s
                price, n, i = self.uppers[i], n - room, i + 1
            return price
        n = -n
        while n > 0 and i >= 0:
            s = self.spreads[i]
            room = (price - self.lowers[i]) // s
            if n <= room:
                return price - n * s
            price, n, i = self.lowers[i], n - room, i - 1
        return price

    def spreads_between(self, low: int, high: int) -> int:
        """Number of grid steps from valid ``low`` up to valid ``high`` (``low <= high``)."""
        count = 0
        i = self.band(low)
        while low < high:
            top = min(self.uppers[i], high)
            count += (top - low) // self.spreads[i]
            low, i = top, i + 1
        return count


__all__ = ["Grid"]
