"""The common order refusals as data: a kind and up to four figures, turned into a `Reject` (code,
field, message, rule) by one function, `Refusals.make`.

Why: the Python path, the compiled per-command path and the compiled batch path must refuse with
the same code and the same text. The compiled code decides a refusal with integer arithmetic and
records only ``(kind, side, order type, a, b, c, d)``; the message is formatted here, by the same
function the Python path calls, and only when someone asks for it (the batch tape keeps the
figures; the per-command path formats at once because `execute` raises). The kinds are stable
integers shared with ``_fastbook.pyx`` (its ``R_*`` constants; an import-time check compares them).
"""

from __future__ import annotations

from lionrock.kernel.errors import Reject
from lionrock.kernel.price import format_price
from lionrock.rules.trading import OrderLimits, PriceChecks, VenueLimits
from lionrock.trading._codes import TradingCode as C
from lionrock.trading._codes import order_not_live, unknown_client_order
from lionrock.trading._grid import Grid

R_NOT_IN_SESSION = 1
R_INSTRUMENT_CLOSED = 2
R_QUANTITY_RANGE = 3
R_ODD_LOT = 4
R_ORDER_SIZE = 5
R_INSTRUMENT_FULL = 6
R_PRICE_NOT_POSITIVE = 7
R_OUTSIDE_TABLE = 8
R_OFF_GRID = 9
R_NOMINAL = 10
R_THROUGH_BEST = 11
R_BEYOND_QUEUES = 12
R_TOO_FAR = 13
R_QUEUE_FULL = 14
R_UNKNOWN_CLIENT_ORDER = 15
R_NOT_LIVE = 16
KINDS = {name: value for name, value in globals().items() if name.startswith("R_")}

RULE_SPREADS = "Rules of the Exchange, Second Schedule (spread table)"
RULE_QUOTE = "Rules of the Exchange, quotation rules (docs/rules.md section 7, price checks)"
RULE_SESSIONS = "Rules of the Exchange, trading sessions (docs/rules.md section 7)"
RULE_BOARD_LOTS = "Rules of the Exchange: board lots (docs/rules.md section 7)"
RULE_ORDER_LIMITS = "HKEX trading mechanism: maximum order size and orders per price queue (rules.trading.ORDER_LIMITS)"


class Refusals:
    """The rules and the session a refusal's text names, captured when it was decided (a batch's
    tape keeps its own, so a text built later says what was true then)."""

    __slots__ = ("accepts", "checks", "grid", "limits", "order_limits", "session")

    def __init__(
        self, grid: Grid, checks: PriceChecks, limits: VenueLimits, order_limits: OrderLimits, session: str, accepts: tuple[str, ...]
    ) -> None:
        self.grid = grid
        self.checks = checks
        self.limits = limits
        self.order_limits = order_limits
        self.session = session
        self.accepts = accepts

    def make(self, kind: int, instrument: str, side: str, order_type: str, a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> Reject:  # noqa: C901, PLR0911 - one branch per kind
        """The `Reject` of refusal ``kind`` with its figures (see each branch for what a-d hold)."""
        buy = side == "B"
        if kind == R_NOT_IN_SESSION:
            accepted = ", ".join(self.accepts) if self.accepts else "no orders"
            return Reject(
                C.ORDER_TYPE_NOT_IN_SESSION,
                "order_type",
                f"{order_type} orders are not accepted now: {self.session} (accepts {accepted})",
                RULE_SESSIONS,
            )
        if kind == R_INSTRUMENT_CLOSED:
            return Reject(C.SESSION_CLOSED, "instrument", f"{instrument} has closed for the day ({self.session})", RULE_SESSIONS)
        if kind == R_QUANTITY_RANGE:  # a: quantity
            top = self.limits.max_order_quantity
            return Reject(C.INVALID_QUANTITY, "quantity", f"quantity must be 1-{top} shares, got {a}")
        if kind == R_ODD_LOT:  # a: quantity, b: board lot
            below = a - a % b
            near = f"{below} or {below + b}" if below else f"{b}"
            return Reject(
                C.ODD_LOT,
                "quantity",
                f"{a} shares is not a whole number of board lots of {b} (nearest {near}); odd lots do not trade in the main order book",
                RULE_BOARD_LOTS,
            )
        if kind == R_ORDER_SIZE:  # a: quantity, b: board lot
            lots = self.order_limits.max_board_lots
            return Reject(
                C.ORDER_SIZE_EXCEEDED,
                "quantity",
                f"{a} shares is {a // b} board lots of {b}; an order may be at most {lots:,} board lots ({lots * b} shares)",
                RULE_ORDER_LIMITS,
            )
        if kind == R_INSTRUMENT_FULL:
            top = self.limits.max_orders_per_instrument
            return Reject(C.LIMIT_EXCEEDED, "instrument", f"{instrument} holds the maximum {top} orders")
        if kind == R_PRICE_NOT_POSITIVE:  # a: price
            return Reject(C.PRICE_OUTSIDE_SPREAD_TABLE, "price", f"price must be positive, got {a} ticks")
        if kind == R_OUTSIDE_TABLE:  # a: price
            grid = self.grid
            return Reject(
                C.PRICE_OUTSIDE_SPREAD_TABLE,
                "price",
                f"{format_price(a)} is outside the spread table {format_price(grid.min_price)}-{format_price(grid.max_price)}",
                RULE_SPREADS,
            )
        if kind == R_OFF_GRID:  # a: price
            below, above = self.grid.neighbours(a)
            spread = self.grid.spread_at(a)
            return Reject(
                C.PRICE_NOT_ON_SPREAD_GRID, "price",
                f"{format_price(a)} is not on the spread table (spread {format_price(spread)} in this band); "
                f"valid neighbours {format_price(below)} and {format_price(above)}",
                RULE_SPREADS,
            )  # fmt: skip
        if kind == R_NOMINAL:  # a: price, b: nominal price
            k = self.checks.nominal_multiple
            return Reject(
                C.PRICE_DEVIATES_FROM_NOMINAL,
                "price",
                f"{format_price(a)} deviates {k} times or more from the nominal price {format_price(b)}",
                RULE_QUOTE,
            )
        if kind == R_THROUGH_BEST:  # a: the best opposite price
            return Reject(
                C.PRICE_THROUGH_BEST,
                "price",
                f"a limit order to {'buy' if buy else 'sell'} may not be priced "
                f"{'above the best ask' if buy else 'below the best bid'} {format_price(a)}; "
                "use an enhanced or special limit order",
                RULE_QUOTE,
            )
        if kind == R_BEYOND_QUEUES:  # a: the best opposite price, b: the furthest price allowed
            through = self.checks.max_price_queues - 1
            return Reject(
                C.PRICE_BEYOND_QUEUE_LIMIT,
                "price",
                f"an enhanced limit order may be priced at most {through} spreads through the best "
                f"{'ask' if buy else 'bid'} {format_price(a)}: {'up to' if buy else 'down to'} {format_price(b)}",
                RULE_QUOTE,
            )
        if kind == R_TOO_FAR:  # a: price, b: base (best same-side price or nominal), c: bound, d: 1 if b is the best same-side price
            n = self.checks.passive_max_spreads
            what = ("best bid" if buy else "best ask") if d else "nominal price"
            return Reject(
                C.PRICE_TOO_FAR_FROM_BEST,
                "price",
                f"{format_price(a)} is more than {n} spreads {'below' if buy else 'above'} the {what} "
                f"{format_price(b)} (limit {format_price(c)})",
                RULE_QUOTE,
            )
        if kind == R_QUEUE_FULL:  # a: price (the book's, at-auction queues included), b: the queue's orders
            top = self.order_limits.max_orders_per_price_queue
            where = "the at-auction queue" if order_type == "AT_AUCTION" else f"the {'bid' if buy else 'ask'} queue at {format_price(a)}"
            return Reject(C.PRICE_QUEUE_FULL, "price", f"{where} of {instrument} holds the maximum {top:,} orders", RULE_ORDER_LIMITS)
        if kind == R_NOT_LIVE:  # a: order id
            return order_not_live(a)
        raise AssertionError(f"Invariant: no refusal of kind {kind}")

    def unknown_client_order(self, participant: str, client_order_id: str) -> Reject:
        return unknown_client_order(participant, client_order_id)


__all__ = ["KINDS", "Refusals"]
