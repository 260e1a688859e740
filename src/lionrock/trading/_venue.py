"""The trading venue: instruments, the day's sessions, HK order validation, matching, VCM, market data.

`TradingContext` implements the kernel `Context` protocol. It validates every command completely
before it changes anything (a `Reject` leaves the state as it was) and keeps one `Book` per
instrument (`FastBook` by default; `ReferenceBook` for the differential test).
"""

from __future__ import annotations

import random
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import msgspec

from lionrock.kernel.errors import Reject, fail, invariant, require
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.price import format_price
from lionrock.kernel.xhkg import HK_TZ, to_ns, trading_day
from lionrock.rules.trading import (
    AUCTION_LIMITS,
    ORDER_LIMITS,
    PRICE_CHECKS,
    SESSION_TIMETABLE,
    SHORT_SELLING,
    SPREAD_TABLE,
    VCM,
    VCM_CLASSES,
    VENUE_LIMITS,
    AuctionLimits,
    OrderLimits,
    PriceChecks,
    ShortSelling,
    VenueLimits,
    VolatilityControl,
)
from lionrock.trading._auction import equilibrium, volumes_at
from lionrock.trading._codes import TradingCode as C
from lionrock.trading._codes import order_not_live, unknown_client_order
from lionrock.trading._grid import Grid
from lionrock.trading._refusals import (
    R_BEYOND_QUEUES,
    R_INSTRUMENT_CLOSED,
    R_INSTRUMENT_FULL,
    R_NOMINAL,
    R_NOT_IN_SESSION,
    R_ODD_LOT,
    R_OFF_GRID,
    R_ORDER_SIZE,
    R_OUTSIDE_TABLE,
    R_PRICE_NOT_POSITIVE,
    R_QUANTITY_RANGE,
    R_QUEUE_FULL,
    R_THROUGH_BEST,
    R_TOO_FAR,
    RULE_QUOTE,
    RULE_SESSIONS,
    RULE_SPREADS,
    Refusals,
)
from lionrock.trading.batch import OrderBatch, Tape
from lionrock.trading.book import (
    AT_AUCTION_BUY_PRICE,
    AT_AUCTION_SELL_PRICE,
    UNLIMITED,
    Book,
    FastBook,
)
from lionrock.trading.commands import (
    AT_AUCTION,
    AT_AUCTION_LIMIT,
    ENHANCED_LIMIT,
    LIMIT,
    ORDER_TYPES,
    SOUTHBOUND_CHANNEL_PREFIX,
    SPECIAL_LIMIT,
    TRADING_COMMANDS,
    AmendOrder,
    CancelOrder,
    DesignateShortSelling,
    ListInstrument,
    PlaceOrder,
    StartTradingDay,
    TradingTick,
)
from lionrock.trading.events import (
    AuctionCompleted,
    AuctionIndicativeUpdated,
    ClosingAuctionReferenceSet,
    ClosingPriceSet,
    InstrumentListed,
    MarketDepthUpdated,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    OrderRetryAcknowledged,
    Phase,
    ShortSellingDesignationChanged,
    TradeExecuted,
    TradingDayStarted,
    TradingPhaseChanged,
    VolatilityCoolingOffEnded,
    VolatilityCoolingOffStarted,
)

try:  # the compiled core (setup.py): book, records and the hot path; pure Python otherwise
    from lionrock.trading._fastbook import ClientOrderIndex as _CClientOrderIndex
    from lionrock.trading._fastbook import FastBook as _CFastBook
    from lionrock.trading._fastbook import Instrument as _CInstrument
    from lionrock.trading._fastbook import Order as _COrder
    from lionrock.trading._fastbook import VenueCore as _VenueCore
except ImportError:  # pragma: no cover - depends on the build
    _CFastBook = _CInstrument = _COrder = _CClientOrderIndex = None

    class _VenueCore:  # type: ignore[no-redef]
        """Pure-Python stand-in for the compiled base: no fast path."""

        fast_path = False


try:  # connect's gateway event, when that context exists (cross-context contract)
    from lionrock.connect.events import SouthboundOrderAdmitted

    _OBSERVED: tuple[type[Event], ...] = (SouthboundOrderAdmitted,)
except ImportError:  # pragma: no cover - depends on whether connect is built
    _OBSERVED = ()

NS = 1_000_000_000
AUCTION_TYPES = (AT_AUCTION, AT_AUCTION_LIMIT)
CONTINUOUS_TYPES = (LIMIT, ENHANCED_LIMIT, SPECIAL_LIMIT)

# phase -> (session named in rejections, order types accepted, cancel allowed, amend allowed)
_PHASE_ROWS: dict[Phase, tuple[str, tuple[str, ...], bool, bool]] = {
    Phase.CLOSED: ("market closed (no trading day started)", (), False, False),
    Phase.BEFORE_OPEN: ("before the pre-opening session", (), False, False),
    Phase.POS_INPUT: ("pre-opening session, order input period", AUCTION_TYPES, True, True),
    Phase.POS_NO_CANCEL: ("pre-opening session, no-cancellation period", AUCTION_TYPES, False, False),
    Phase.POS_RANDOM_MATCHING: ("pre-opening session, random matching period", AUCTION_TYPES, False, False),
    Phase.POS_BLOCKING: ("pre-opening session, blocking period", (), False, False),
    Phase.CTS_MORNING: ("morning continuous trading session", CONTINUOUS_TYPES, True, True),
    Phase.LUNCH: ("lunch break", (), False, False),
    Phase.LUNCH_CANCEL: ("lunch break, cancellation period", (), True, False),
    Phase.CTS_AFTERNOON: ("afternoon continuous trading session", CONTINUOUS_TYPES, True, True),
    Phase.CAS_REFERENCE: ("closing auction session, reference price fixing period", (), False, False),
    Phase.CAS_INPUT: ("closing auction session, order input period", AUCTION_TYPES, True, True),
    Phase.CAS_NO_CANCEL: ("closing auction session, no-cancellation period", AUCTION_TYPES, False, False),
    Phase.CAS_RANDOM_CLOSE: ("closing auction session, random closing period", AUCTION_TYPES, False, False),
    Phase.DAY_CLOSED: ("market closed for the day", (), False, False),
}
PHASES: dict[str, tuple[str, tuple[str, ...], bool, bool]] = {phase.value: row for phase, row in _PHASE_ROWS.items()}
"""The same table keyed by the plain values the venue's ``phase`` holds (the compiled core types it ``str``)."""
invariant(list(_PHASE_ROWS) == list(Phase), "the phase table has one row per Phase, in order")
CTS_PHASES = frozenset({Phase.CTS_MORNING.value, Phase.CTS_AFTERNOON.value})
POS_PHASES = frozenset({Phase.POS_INPUT.value, Phase.POS_NO_CANCEL.value, Phase.POS_RANDOM_MATCHING.value})
CAS_PHASES = frozenset({Phase.CAS_INPUT.value, Phase.CAS_NO_CANCEL.value, Phase.CAS_RANDOM_CLOSE.value})
STAGE2_PHASES = frozenset(
    {Phase.POS_NO_CANCEL.value, Phase.POS_RANDOM_MATCHING.value, Phase.CAS_NO_CANCEL.value, Phase.CAS_RANDOM_CLOSE.value}
)
RULE_SHORT = "Rules of the Exchange, Schedule 11 (regulated short selling; docs/rules.md section 7)"
_PHASE_RANK = 0
_AUCTION_RANK = 1
_VCM_RANK = 2


class _Order:
    __slots__ = (
        "account",
        "channel",
        "client_order_id",
        "instrument",
        "order_id",
        "order_type",
        "participant",
        "price",
        "quantity",
        "side",
    )

    def __init__(self, order_id: int, cmd: PlaceOrder, channel: str) -> None:
        self.order_id = order_id
        self.instrument = cmd.instrument
        self.participant = cmd.participant
        self.account = cmd.account
        self.client_order_id = cmd.client_order_id
        self.side = cmd.side
        self.order_type = cmd.order_type
        self.price = cmd.price
        self.quantity = cmd.quantity  # filled + remaining (changes on amend)
        self.channel = channel

    def to_list(self) -> list[Any]:
        return [
            self.order_id,
            self.instrument,
            self.participant,
            self.account,
            self.client_order_id,
            self.side,
            self.order_type,
            self.price,
            self.quantity,
            self.channel,
        ]


class _Instrument:
    """Static listing data plus the day's state of one instrument."""

    __slots__ = (
        "auction_done", "board_lot", "book", "closed", "closing_auction", "code", "counter_of", "currency", "day_high", "day_low",
        "day_open", "day_volume", "iep", "last_price", "md_seq", "name", "nominal_log", "prev_close", "reference", "short_sell",
        "stage1", "stage2", "trade_log", "vcm_class", "vcm_lo", "vcm_hi", "vcm_sessions", "vcm_until",
    )  # fmt: skip

    def __init__(self, cmd: ListInstrument, book: Book) -> None:
        self.code = cmd.instrument
        self.board_lot = cmd.board_lot
        self.currency = cmd.currency
        self.vcm_class = cmd.vcm_class
        self.counter_of = cmd.counter_of
        self.name = cmd.name
        self.closing_auction = cmd.closing_auction
        self.short_sell = cmd.short_sell_designated
        self.prev_close = cmd.nominal_price
        self.book = book
        self.md_seq = 0
        self.new_day()

    def new_day(self) -> None:
        self.last_price = 0
        self.day_open = self.day_high = self.day_low = self.day_volume = 0
        self.closed = False
        self.auction_done = False
        self.iep: tuple[int, int, int, str] | None = None
        self.reference = 0
        self.stage1 = (0, 0)
        self.stage2 = (0, 0)
        self.trade_log: deque[tuple[int, int]] = deque()
        self.nominal_log: list[tuple[int, int]] = []
        self.vcm_until = 0
        self.vcm_lo = self.vcm_hi = 0
        self.vcm_sessions: list[str] = []


class TradingContext(_VenueCore):
    """The HKEX-rules securities venue (see docs/trading.md).

    With the compiled core built and the compiled `FastBook` as the book, continuous-session
    limit orders and cancels take the compiled fast path (`_fastbook.VenueCore.fast_execute`),
    which hands anything unusual (every rejection included) back to the Python code below before
    changing any state; ``fast_path=False`` turns it off. Any other book runs pure Python."""

    name: ClassVar[str] = "trading"
    command_types: ClassVar[tuple[type[Command], ...]] = TRADING_COMMANDS
    observed_event_types: ClassVar[tuple[type[Event], ...]] = _OBSERVED

    def __init__(self, book_factory: Callable[[], Book] = FastBook, *, fast_path: bool = True) -> None:
        self.book_factory = book_factory
        self._fast_wanted = fast_path
        self.fast_path = fast_path and _CFastBook is not None and book_factory is _CFastBook
        self._order_type: Any = _COrder if self.fast_path else _Order
        self._instrument_type: Any = _CInstrument if self.fast_path else _Instrument
        self.instruments: dict[str, _Instrument] = {}
        self.orders: dict[int, _Order] = {}
        # (participant, client_order_id) -> (order_id, PlaceOrder, channel); the compiled index
        # (same dict methods) with the fast path
        self.client_orders: dict[tuple[str, str], tuple[int, PlaceOrder, str]] = _CClientOrderIndex() if self.fast_path else {}
        self.phase = "CLOSED"
        self.day = ""
        self.seed = 0
        self.half_day = False
        self.timers: list[tuple[int, int, str, str]] = []
        self.timer_index = 0
        self.next_order_id = 1
        self.next_trade_id = 1
        self.sessions: dict[str, tuple[int, int]] = {}  # CTS_MORNING/CTS_AFTERNOON -> (start, end) ns
        self._rules_day: date | None = None
        self._set_rules(date(2025, 8, 4))

    # -- rules in force ------------------------------------------------------------------------
    def _set_rules(self, d: date) -> None:
        if self._rules_day == d:
            return
        self.grid = Grid(SPREAD_TABLE.in_force(d))
        self.checks: PriceChecks = PRICE_CHECKS.in_force(d)
        self.auction_limits: AuctionLimits = AUCTION_LIMITS.in_force(d)
        self.vcm: VolatilityControl = VCM.in_force(d)
        self.limits: VenueLimits = VENUE_LIMITS.in_force(d)
        self.order_limits: OrderLimits = ORDER_LIMITS.in_force(d)
        self.short_selling: ShortSelling = SHORT_SELLING.in_force(d)
        self._rules_day = d

    # -- Context protocol ----------------------------------------------------------------------
    if _CFastBook is None:  # pragma: no cover - without the compiled base, execute is the Python path

        def execute(self, command: Command, stamp: Stamp) -> list[Event]:
            return self.execute_python(command, stamp)

    def execute_batch(self, batch: OrderBatch, first_seq: int, at_ns: int) -> Tape:
        """The batch path (`lionrock.trading.batch`): command ``i`` of ``batch`` stamped
        ``(first_seq + i, at_ns)``; what they did is on the returned tape. Same state and, event
        for event, the same answers as `execute` of each command in turn."""
        tape = Tape(self, batch)
        if _CFastBook is not None:
            self._execute_batch(batch, tape, first_seq, at_ns)
            return tape
        for i in range(len(batch)):  # pragma: no cover - without the compiled core
            tape.starts[i] = tape.count
            tape._fallback(self, batch.command(i), i, Stamp(first_seq + i, at_ns))
        tape.starts[len(batch)] = tape.count
        return tape

    def execute_python(self, command: Command, stamp: Stamp) -> list[Event]:
        """`execute` in pure Python (the compiled base's `execute` tries its fast path first).

        Dispatch is a table keyed by the command's class (`_HANDLERS`, checked at import to cover
        `TradingCommand` exactly) rather than a ``match``: on this per-command path a ``match``
        over the union measured 40-330 ns slower per command than the table (class patterns are
        isinstance checks in turn; the table is one dict lookup)."""
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise AssertionError(f"Invariant: trading does not execute {type(command).__name__}")
        return handler(self, command, stamp)

    # -- command handlers (`_HANDLERS`); every one but a tick and a day start checks the clock first
    def _on_tick(self, command: TradingTick, stamp: Stamp) -> list[Event]:
        return self._tick(stamp)

    def _on_start_day(self, command: StartTradingDay, stamp: Stamp) -> list[Event]:
        return self._start_day(command, stamp)

    def _on_place(self, command: PlaceOrder, stamp: Stamp) -> list[Event]:
        self._check_clock(stamp)
        return self._place(command, stamp, command.channel)

    def _on_cancel(self, command: CancelOrder, stamp: Stamp) -> list[Event]:
        self._check_clock(stamp)
        return self._cancel(command, stamp)

    def _on_amend(self, command: AmendOrder, stamp: Stamp) -> list[Event]:
        self._check_clock(stamp)
        return self._amend(command, stamp)

    def _on_list(self, command: ListInstrument, stamp: Stamp) -> list[Event]:
        self._check_clock(stamp)
        return self._list(command, stamp)

    def _on_designate(self, command: DesignateShortSelling, stamp: Stamp) -> list[Event]:
        self._check_clock(stamp)
        return self._designate(command)

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        order = getattr(event, "order", None)
        link = getattr(event, "link", "")
        if not isinstance(order, PlaceOrder):
            return []
        channel = f"{SOUTHBOUND_CHANNEL_PREFIX}{link}"
        try:
            self._check_clock(stamp)
            return self._place(order, stamp, channel)
        except Reject as r:
            return [
                OrderRejected(
                    instrument=order.instrument,
                    participant=order.participant,
                    client_order_id=order.client_order_id,
                    channel=channel,
                    rejection=r.rejection,
                )
            ]

    # -- clock and sessions --------------------------------------------------------------------
    def _check_clock(self, stamp: Stamp) -> None:
        if self.timer_index < len(self.timers) and self.timers[self.timer_index][0] <= stamp.at_ns:
            at, _, what, instrument = self.timers[self.timer_index]
            target = f"{what} of {instrument}" if instrument else what
            fail(C.TICK_REQUIRED, "at_ns", f"timer {target} was due at {at} ns; send TradingTick first", RULE_SESSIONS)

    def _plan(self, d: date, seed: int) -> tuple[list[tuple[int, int, str, str]], bool, dict[str, tuple[int, int]]]:
        td = trading_day(d)
        tt = SESSION_TIMETABLE.in_force(d)

        def at(t: Any) -> int:
            return to_ns(datetime.combine(d, t, tzinfo=HK_TZ))

        def plus(base: datetime, minutes: int) -> int:
            return to_ns(base + timedelta(minutes=minutes))

        timers: list[tuple[int, int, str, str]] = [
            (at(tt.pos_order_input), _PHASE_RANK, "POS_INPUT", ""),
            (at(tt.pos_no_cancellation), _PHASE_RANK, "POS_NO_CANCEL", ""),
            (at(tt.pos_random_matching), _PHASE_RANK, "POS_RANDOM_MATCHING", ""),
            (at(tt.pos_random_matching_end), _PHASE_RANK, "POS_BLOCKING", ""),
            (to_ns(td.open), _PHASE_RANK, "CTS_MORNING", ""),
        ]
        sessions: dict[str, tuple[int, int]] = {}
        if td.break_start is not None and td.break_end is not None:
            sessions["CTS_MORNING"] = (to_ns(td.open), to_ns(td.break_start))
            sessions["CTS_AFTERNOON"] = (to_ns(td.break_end), to_ns(td.close))
            timers += [
                (to_ns(td.break_start), _PHASE_RANK, "LUNCH", ""),
                (plus(td.break_start, tt.lunch_cancellation_after_min), _PHASE_RANK, "LUNCH_CANCEL", ""),
                (to_ns(td.break_end), _PHASE_RANK, "CTS_AFTERNOON", ""),
            ]
        else:
            sessions["CTS_MORNING"] = (to_ns(td.open), to_ns(td.close))
        timers += [
            (to_ns(td.close), _PHASE_RANK, "CAS_REFERENCE", ""),
            (plus(td.close, tt.cas_order_input_after_min), _PHASE_RANK, "CAS_INPUT", ""),
            (plus(td.close, tt.cas_no_cancellation_after_min), _PHASE_RANK, "CAS_NO_CANCEL", ""),
            (plus(td.close, tt.cas_random_close_after_min), _PHASE_RANK, "CAS_RANDOM_CLOSE", ""),
            (plus(td.close, tt.cas_end_after_min), _PHASE_RANK, "DAY_CLOSED", ""),
        ]
        return sorted(timers), td.half_day, sessions

    def _auction_timers(self, code: str, after_ns: int) -> list[tuple[int, int, str, str]]:
        """Each instrument's random matching (POS) and random close (CAS) moments, seeded."""
        out = []
        phase_at = {what: at for at, rank, what, _code in self.timers if rank == _PHASE_RANK}
        rng = random.Random(f"{self.seed}:{self.day}:{code}")
        pos = phase_at["POS_RANDOM_MATCHING"], phase_at["POS_BLOCKING"]
        cas = phase_at["CAS_RANDOM_CLOSE"], phase_at["DAY_CLOSED"]
        for start, end in (pos, cas):
            moment = start + rng.randrange(end - start)
            if moment > after_ns:
                out.append((moment, _AUCTION_RANK, "AUCTION", code))
        return out

    def _start_day(self, cmd: StartTradingDay, stamp: Stamp) -> list[Event]:
        try:
            d = date.fromisoformat(cmd.day)
        except ValueError:
            fail(C.NOT_A_TRADING_DAY, "day", f"{cmd.day!r} is not an ISO date (YYYY-MM-DD)")
        require(
            self.phase in ("CLOSED", "DAY_CLOSED"),
            C.DAY_IN_PROGRESS,
            "day",
            f"trading day {self.day} is still open (phase {self.phase})",
            RULE_SESSIONS,
        )
        try:
            timers, half_day, sessions = self._plan(d, cmd.seed)
            for schedule in (SPREAD_TABLE, PRICE_CHECKS, AUCTION_LIMITS, VCM, VENUE_LIMITS, ORDER_LIMITS, SHORT_SELLING):
                schedule.in_force(d)
        except ValueError as exc:
            fail(C.NOT_A_TRADING_DAY, "day", str(exc), "XHKG calendar")
        except LookupError as exc:
            fail(C.NO_RULES_IN_FORCE, "day", str(exc))
        self._set_rules(d)
        self.day, self.seed, self.half_day, self.sessions = cmd.day, cmd.seed, half_day, sessions
        self.timers = timers
        self.timer_index = 0
        for code in sorted(self.instruments):
            self.timers.extend(self._auction_timers(code, 0))
            self.instruments[code].new_day()
        self.timers.sort()
        self.client_orders.clear()
        previous, self.phase = self.phase, "BEFORE_OPEN"
        return [
            TradingDayStarted(day=self.day, half_day=half_day, timers=[(a, w, i) for a, _, w, i in self.timers]),
            TradingPhaseChanged(day=self.day, phase=self.phase, previous=previous),
        ]

    def _tick(self, stamp: Stamp) -> list[Event]:
        events: list[Event] = []
        while self.timer_index < len(self.timers) and self.timers[self.timer_index][0] <= stamp.at_ns:
            at, rank, what, code = self.timers[self.timer_index]
            self.timer_index += 1
            timer_stamp = Stamp(stamp.seq, at)
            if rank == _PHASE_RANK:
                self._enter_phase(what, timer_stamp, events)
            elif rank == _AUCTION_RANK:
                inst = self.instruments[code]
                if not inst.auction_done and not inst.closed:
                    self._run_auction(inst, timer_stamp, events)
            else:
                inst = self.instruments[code]
                if inst.vcm_until == at:
                    self._end_cooling_off(inst, "ELAPSED", events)
        return events

    def _enter_phase(self, phase: str, stamp: Stamp, events: list[Event]) -> None:
        previous, self.phase = self.phase, phase
        events.append(TradingPhaseChanged(day=self.day, phase=phase, previous=previous))
        for code in sorted(self.instruments):
            inst = self.instruments[code]
            if phase == "POS_INPUT":
                inst.stage1 = self._band(
                    inst.prev_close, self.auction_limits.pos_limit.numerator, self.auction_limits.pos_limit.denominator
                )
            elif phase in ("POS_NO_CANCEL", "CAS_NO_CANCEL"):
                inst.stage2 = self._stage2(inst)
            elif phase == "POS_BLOCKING":
                if not inst.auction_done:
                    self._run_auction(inst, stamp, events)
            elif phase == "CTS_MORNING":
                inst.auction_done = False
                inst.iep = None
                self._note_nominal(inst, stamp.at_ns)
            elif phase in ("LUNCH", "CAS_REFERENCE"):
                if inst.vcm_until:
                    self._end_cooling_off(inst, "SESSION_END", events)
                if phase == "CAS_REFERENCE":
                    self._fix_cas_reference(inst, stamp, events)
            elif phase == "DAY_CLOSED":
                if not inst.closed:
                    self._run_auction(inst, stamp, events)

    def _band(self, price: int, num: int, den: int) -> tuple[int, int]:
        low = -((-price * (den - num)) // den)
        high = price * (den + num) // den
        return max(low, self.grid.min_price), min(high, self.grid.max_price)

    def _real_best(self, inst: _Instrument) -> tuple[int, int]:
        """Best limit bid and ask (at-auction orders skipped), 0 when none."""
        bid = ask = 0
        for p, _, _ in inst.book.levels("B"):
            if p != AT_AUCTION_BUY_PRICE:
                bid = p
                break
        for p, _, _ in inst.book.levels("S"):
            if p != AT_AUCTION_SELL_PRICE:
                ask = p
                break
        return bid, ask

    def _stage2(self, inst: _Instrument) -> tuple[int, int]:
        """Lowest ask and highest bid recorded at the end of order input, within stage 1."""
        low, high = inst.stage1
        bid, ask = self._real_best(inst)
        if bid and ask:
            a, b = min(bid, ask), max(bid, ask)
            return max(low, a), min(high, b)
        # one side only: the higher and the lower of the two are that side's best price
        if bid or ask:
            best = bid or ask
            return max(low, min(best, high)), min(high, max(best, low))
        return low, high

    # -- instruments -----------------------------------------------------------------------------
    def _list(self, cmd: ListInstrument, stamp: Stamp) -> list[Event]:
        code = cmd.instrument
        require(
            code != "" and len(code) <= 16 and code.isalnum(),
            C.INVALID_INSTRUMENT,
            "instrument",
            f"instrument code {code!r} must be 1-16 letters or digits",
        )
        require(code not in self.instruments, C.INSTRUMENT_EXISTS, "instrument", f"{code} is already listed")
        require(cmd.board_lot > 0, C.INVALID_BOARD_LOT, "board_lot", f"board lot must be a positive number of shares, got {cmd.board_lot}")
        require(cmd.currency in ("HKD", "CNY"), C.INVALID_CURRENCY, "currency", f"currency must be HKD or CNY, got {cmd.currency!r}")
        require(
            cmd.vcm_class in ("", *VCM_CLASSES),
            C.INVALID_VCM_CLASS,
            "vcm_class",
            f"VCM class must be '' or one of {', '.join(VCM_CLASSES)}, got {cmd.vcm_class!r}",
        )
        self._check_grid(cmd.nominal_price, "nominal_price")
        if cmd.counter_of:
            require(
                cmd.counter_of in self.instruments, C.UNKNOWN_INSTRUMENT, "counter_of", f"paired counter {cmd.counter_of} is not listed"
            )
        inst = self._instrument_type(cmd, self.book_factory())
        self.instruments[code] = inst
        if self.day and self.phase != "DAY_CLOSED":
            inst.stage1 = self._band(inst.prev_close, self.auction_limits.pos_limit.numerator, self.auction_limits.pos_limit.denominator)
            for timer in self._auction_timers(code, stamp.at_ns):
                insort(self.timers, timer, lo=self.timer_index)
            if self.phase in CTS_PHASES:
                self._note_nominal(inst, stamp.at_ns)
        return [
            InstrumentListed(
                instrument=code, board_lot=cmd.board_lot, nominal_price=cmd.nominal_price, currency=cmd.currency,
                vcm_class=cmd.vcm_class, counter_of=cmd.counter_of, name=cmd.name, closing_auction=cmd.closing_auction,
                short_sell_designated=cmd.short_sell_designated,
            )
        ]  # fmt: skip

    def _designate(self, cmd: DesignateShortSelling) -> list[Event]:
        inst = self.instruments.get(cmd.instrument)
        if inst is None:
            fail(C.UNKNOWN_INSTRUMENT, "instrument", f"{cmd.instrument!r} is not listed")
        inst.short_sell = cmd.designated
        return [ShortSellingDesignationChanged(instrument=inst.code, designated=cmd.designated)]

    def _check_grid(self, price: int, field: str) -> None:
        grid = self.grid
        require(price > 0, C.PRICE_OUTSIDE_SPREAD_TABLE, field, f"price must be positive, got {price} ticks")
        if not grid.in_table(price):
            fail(
                C.PRICE_OUTSIDE_SPREAD_TABLE,
                field,
                f"{format_price(price)} is outside the spread table {format_price(grid.min_price)}-{format_price(grid.max_price)}",
                RULE_SPREADS,
            )
        if not grid.is_valid(price):
            below, above = grid.neighbours(price)
            spread = grid.spread_at(price)
            fail(
                C.PRICE_NOT_ON_SPREAD_GRID, field,
                f"{format_price(price)} is not on the spread table (spread {format_price(spread)} in this band); "
                f"valid neighbours {format_price(below)} and {format_price(above)}",
                RULE_SPREADS,
            )  # fmt: skip

    # -- nominal price ---------------------------------------------------------------------------
    def nominal(self, inst: _Instrument) -> int:
        """The nominal price: in auctions the IEP (else the previous close); in continuous trading
        the last price (or previous close), raised to the best bid above it or lowered to the best
        ask below it."""
        if self.phase not in CTS_PHASES:
            if inst.iep is not None:
                return inst.iep[0]
            return inst.last_price or inst.prev_close
        base = inst.last_price or inst.prev_close
        bid = inst.book.best_bid()
        if bid and bid > base:
            return bid
        ask = inst.book.best_ask()
        if ask and ask < base:
            return ask
        return base

    def _note_nominal(self, inst: _Instrument, at_ns: int) -> None:
        value = self.nominal(inst)
        log = inst.nominal_log
        if log and log[-1][1] == value:
            return
        if log and log[-1][0] == at_ns:
            log[-1] = (at_ns, value)  # only the last value at one moment can be a snapshot
        else:
            log.append((at_ns, value))
        if len(log) > 64:
            horizon = at_ns - self.auction_limits.cas_reference_window_s * NS
            keep = bisect_right(log, (horizon, 1 << 62)) - 1
            if keep > 0:
                del log[:keep]

    # -- orders: placement -----------------------------------------------------------------------
    def _session(self, inst: _Instrument | None = None) -> str:
        return PHASES[self.phase][0]

    def _lookup_client(self, participant: str, client_order_id: str) -> tuple[int, PlaceOrder, str] | None:
        return self.client_orders.get((participant, client_order_id))

    def _place(self, cmd: PlaceOrder, stamp: Stamp, channel: str) -> list[Event]:
        inst = self.instruments.get(cmd.instrument)
        if inst is None:
            fail(C.UNKNOWN_INSTRUMENT, "instrument", f"{cmd.instrument!r} is not listed")
        require(cmd.participant != "" and cmd.account != "", C.INVALID_PARTY, "participant", "participant and account must be given")
        coid = cmd.client_order_id
        require(
            0 < len(coid) <= self.limits.max_client_order_id_length,
            C.INVALID_CLIENT_ORDER_ID,
            "client_order_id",
            f"client order id must be 1-{self.limits.max_client_order_id_length} characters",
        )
        existing = self._lookup_client(cmd.participant, coid)
        if existing is not None:
            return self._retry(existing, cmd, channel, inst)
        require(cmd.side in ("B", "S"), C.INVALID_SIDE, "side", f"side must be B or S, got {cmd.side!r}")
        otype = cmd.order_type
        require(
            otype in ORDER_TYPES, C.INVALID_ORDER_TYPE, "order_type", f"order type must be one of {', '.join(ORDER_TYPES)}, got {otype!r}"
        )
        if otype not in PHASES[self.phase][1]:
            raise self.refusals().make(R_NOT_IN_SESSION, inst.code, cmd.side, otype)
        self._check_instrument_open(inst)
        self._check_quantity(inst, cmd.quantity, "quantity")
        if len(inst.book) >= self.limits.max_orders_per_instrument:
            raise self.refusals().make(R_INSTRUMENT_FULL, inst.code, cmd.side, otype)
        if otype == AT_AUCTION:
            require(cmd.price == 0, C.PRICE_NOT_ON_SPREAD_GRID, "price", f"an at-auction order has no price (give 0), got {cmd.price}")
        else:
            self._check_price(inst, cmd.side, otype, cmd.price)
        self._check_queue(inst, cmd.side, otype, cmd.price)
        if cmd.short_sell:
            self._check_short_sale(inst, cmd.side, otype, cmd.price)
        # -- accepted: from here on nothing may reject
        order = self._order_type(self.next_order_id, cmd, channel)
        self.next_order_id += 1
        self.client_orders[(cmd.participant, coid)] = (order.order_id, cmd, channel)
        events: list[Event] = [
            OrderAccepted(
                order_id=order.order_id, instrument=inst.code, participant=cmd.participant, account=cmd.account,
                client_order_id=coid, side=cmd.side, order_type=otype, price=cmd.price, quantity=cmd.quantity, channel=channel,
                short_sell=cmd.short_sell,
            )
        ]  # fmt: skip
        if otype in AUCTION_TYPES:
            self.orders[order.order_id] = order
            price = cmd.price if otype == AT_AUCTION_LIMIT else (AT_AUCTION_BUY_PRICE if cmd.side == "B" else AT_AUCTION_SELL_PRICE)
            inst.book.add(order.order_id, cmd.side, price, cmd.quantity)
            self._publish_depth(inst, [(cmd.side, price)], events)
            self._publish_iep(inst, events)
        else:
            self._continuous(inst, order, stamp, events)
        return events

    def _retry(self, existing: tuple[int, PlaceOrder, str], cmd: PlaceOrder, channel: str, inst: _Instrument) -> list[Event]:
        order_id, original, original_channel = existing
        for field in ("instrument", "account", "side", "order_type", "price", "quantity", "short_sell"):
            if getattr(original, field) != getattr(cmd, field):
                fail(
                    C.DUPLICATE_CLIENT_ORDER_ID, field,
                    f"client order id {cmd.client_order_id!r} of {cmd.participant} is already used for a different order: "
                    f"its {field} differs from this one's",
                    "idempotent order entry: client order ids are unique per participant per day",
                )  # fmt: skip
        if original_channel != channel:
            fail(
                C.DUPLICATE_CLIENT_ORDER_ID,
                "channel",
                f"client order id {cmd.client_order_id!r} was used for order {order_id} on channel {original_channel!r}, "
                f"this retry came on {channel!r}",
            )
        live = self.instruments[original.instrument].book.remaining(order_id) if order_id in self.orders else 0
        return [
            OrderRetryAcknowledged(
                order_id=order_id,
                instrument=original.instrument,
                participant=cmd.participant,
                client_order_id=cmd.client_order_id,
                remaining=live,
            )
        ]

    def refusals(self) -> Refusals:
        """The texts of the common refusals under the rules and session in force now."""
        phase = PHASES[self.phase]
        return Refusals(self.grid, self.checks, self.limits, self.order_limits, phase[0], phase[1])

    def _check_queue(self, inst: _Instrument, side: str, otype: str, price: int) -> None:
        """An order joins the price queue of its price (at-auction orders the at-auction queue):
        a full queue refuses it (HKEX's maximum orders per price queue)."""
        if otype == AT_AUCTION:
            price = AT_AUCTION_BUY_PRICE if side == "B" else AT_AUCTION_SELL_PRICE
        count = inst.book.level(side, price)[1]
        if count >= self.order_limits.max_orders_per_price_queue:
            raise self.refusals().make(R_QUEUE_FULL, inst.code, side, otype, price, count)

    def _check_instrument_open(self, inst: _Instrument) -> None:
        if inst.closed:
            raise self.refusals().make(R_INSTRUMENT_CLOSED, inst.code, "", "")
        if inst.auction_done and self.phase in POS_PHASES:
            fail(
                C.SESSION_CLOSED,
                "instrument",
                f"the opening auction of {inst.code} has run; wait for the morning continuous trading session",
                RULE_SESSIONS,
            )
        if self.phase in CAS_PHASES and not inst.closing_auction:
            fail(C.SESSION_CLOSED, "instrument", f"{inst.code} does not take part in the closing auction session", RULE_SESSIONS)

    def _check_quantity(self, inst: _Instrument, quantity: int, field: str) -> None:
        """Whole board lots, at most HKEX's maximum order size (``field`` is always "quantity")."""
        lot = inst.board_lot
        if not 0 < quantity <= self.limits.max_order_quantity:
            raise self.refusals().make(R_QUANTITY_RANGE, inst.code, "", "", quantity)
        if quantity % lot:
            raise self.refusals().make(R_ODD_LOT, inst.code, "", "", quantity, lot)
        if quantity > self.order_limits.max_board_lots * lot:
            raise self.refusals().make(R_ORDER_SIZE, inst.code, "", "", quantity, lot)

    def _check_price(self, inst: _Instrument, side: str, otype: str, price: int) -> None:
        grid = self.grid
        if price <= 0:
            raise self.refusals().make(R_PRICE_NOT_POSITIVE, inst.code, side, otype, price)
        if not grid.in_table(price):
            raise self.refusals().make(R_OUTSIDE_TABLE, inst.code, side, otype, price)
        if not grid.is_valid(price):
            raise self.refusals().make(R_OFF_GRID, inst.code, side, otype, price)
        nominal = self.nominal(inst)
        k = self.checks.nominal_multiple
        if price >= k * nominal or price * k <= nominal:
            raise self.refusals().make(R_NOMINAL, inst.code, side, otype, price, nominal)
        if otype == AT_AUCTION_LIMIT:
            self._check_auction_limit(inst, side, price)
            return
        book, buy = inst.book, side == "B"
        opposite = book.best_ask() if buy else book.best_bid()
        if otype == LIMIT and opposite and (price > opposite if buy else price < opposite):
            raise self.refusals().make(R_THROUGH_BEST, inst.code, side, otype, opposite)
        through = self.checks.max_price_queues - 1
        if otype == ENHANCED_LIMIT and opposite:
            bound = grid.step(opposite, through if buy else -through)
            if price > bound if buy else price < bound:
                raise self.refusals().make(R_BEYOND_QUEUES, inst.code, side, otype, opposite, bound)
        if otype != SPECIAL_LIMIT:
            same = book.best_bid() if buy else book.best_ask()
            base = same or nominal
            n = self.checks.passive_max_spreads
            bound = grid.step(base, -n if buy else n)
            if price < bound if buy else price > bound:
                raise self.refusals().make(R_TOO_FAR, inst.code, side, otype, price, base, bound, 1 if same else 0)
        if inst.vcm_until:
            low, high = inst.vcm_lo, inst.vcm_hi
            if price > high if buy else price < low:
                fail(
                    C.PRICE_OUTSIDE_VCM_BAND,
                    "price",
                    f"cooling-off period: {format_price(price)} is outside the band {format_price(low)}-{format_price(high)}",
                    "HKEX volatility control mechanism",
                )
            if opposite and (price >= opposite if buy else price <= opposite) and not low <= opposite <= high:
                fail(
                    C.PRICE_OUTSIDE_VCM_BAND,
                    "price",
                    f"cooling-off period: would trade at {format_price(opposite)}, "
                    f"outside the band {format_price(low)}-{format_price(high)}",
                    "HKEX volatility control mechanism",
                )

    def _check_auction_limit(self, inst: _Instrument, side: str, price: int) -> None:
        """Stage 1: within the POS/CAS limit around the reference. Stage 2 (no-cancellation and
        random periods), one-sided per side (rules.trading.ORDER_LIMITS.stage2_one_sided): a buy
        not above the higher of the lowest ask and highest bid recorded at the end of order input,
        a sell not below the lower of the two; the other bound stays stage 1's, so an order that
        could not move the auction price (a buy below the highest bid) is accepted."""
        low, high = inst.stage1
        stage = "the price limit"
        if self.phase in STAGE2_PHASES:
            if not self.order_limits.stage2_one_sided:
                low, high = inst.stage2
                stage = "the lowest ask and highest bid at the end of order input"
            elif side == "B":
                high = inst.stage2[1]
                stage = "the limit for buy orders (not above the higher of the lowest ask and highest bid at the end of order input)"
            else:
                low = inst.stage2[0]
                stage = "the limit for sell orders (not below the lower of the lowest ask and highest bid at the end of order input)"
        if not low <= price <= high:
            fail(
                C.PRICE_OUTSIDE_AUCTION_LIMIT,
                "price",
                f"{format_price(price)} is outside {stage}: {format_price(low)}-{format_price(high)} ({self._session()})",
                "HKEX POS/CAS price limits (docs/rules.md section 7)",
            )

    def _check_short_sale(self, inst: _Instrument, side: str, otype: str, price: int) -> None:
        """Regulated short selling: a sell, in a Designated Security, and under the tick rule not
        below the POS reference price (the previous close) in the pre-opening session, the best
        current ask in continuous trading, or the CAS reference price in the closing auction."""
        rule = self.short_selling
        require(side == "S", C.SHORT_SELL_NOT_A_SELL, "short_sell", "only a sell order can be a short sale (side must be S)", RULE_SHORT)
        require(
            inst.short_sell,
            C.SHORT_SELL_NOT_DESIGNATED,
            "short_sell",
            f"{inst.code} is not a Designated Security eligible for short selling",
            RULE_SHORT,
        )
        if otype == AT_AUCTION:
            require(
                rule.at_auction,
                C.SHORT_SELL_TICK_RULE,
                "order_type",
                "an at-auction order cannot be a short sale: it has no price to hold to the tick rule; use an at-auction limit order",
                RULE_SHORT,
            )
            return
        if not rule.tick_rule:
            return
        if self.phase in CTS_PHASES:
            floor, what = inst.book.best_ask(), "the best current ask"
        elif self.phase in POS_PHASES:
            floor, what = inst.prev_close, "the POS reference price"
        else:
            floor, what = inst.reference, "the CAS reference price"
        if floor and price < floor:
            fail(
                C.SHORT_SELL_TICK_RULE,
                "price",
                f"tick rule: a short sale may not be priced below {what} {format_price(floor)}, got {format_price(price)}",
                RULE_SHORT,
            )

    # -- continuous matching and VCM -------------------------------------------------------------
    def _vcm_band(self, inst: _Instrument, at_ns: int) -> tuple[int, int] | None:
        """The VCM trigger band when monitoring is on for ``inst`` at ``at_ns``, else None."""
        if not inst.vcm_class or inst.vcm_until or self.phase not in self.sessions:
            return None
        vcm = self.vcm
        start, end = self.sessions[self.phase]
        if at_ns < start + vcm.exclude_after_open_s * NS:
            return None
        last_session = self.phase == "CTS_AFTERNOON" or self.half_day
        if last_session and at_ns >= end - vcm.exclude_before_close_s * NS:
            return None
        if inst.vcm_sessions.count(self.phase) >= vcm.max_triggers_per_session:
            return None
        log = inst.trade_log
        horizon = at_ns - vcm.lookback_s * NS
        while len(log) >= 2 and log[1][0] <= horizon:
            log.popleft()
        if not log or log[0][0] > horizon:
            return None
        rate = vcm.triggers[inst.vcm_class]
        return self._band(log[0][1], rate.numerator, rate.denominator)

    def _continuous(self, inst: _Instrument, order: _Order, stamp: Stamp, events: list[Event]) -> None:
        book, buy, price = inst.book, order.side == "B", order.price
        max_levels = 1 if order.order_type == LIMIT else self.checks.max_price_queues
        band = self._vcm_band(inst, stamp.at_ns)
        limit = price
        trigger = 0
        if band is not None:
            opposite = book.best_ask() if buy else book.best_bid()
            if opposite and (price >= opposite if buy else price <= opposite):
                if not band[0] <= opposite <= band[1]:
                    trigger = opposite
                else:
                    limit = min(price, band[1]) if buy else max(price, band[0])
        fills = [] if trigger else book.match(order.side, limit, order.quantity, max_levels)
        remaining = order.quantity - sum(f[2] for f in fills)
        if band is not None and not trigger and remaining and len({f[1] for f in fills}) < max_levels:
            opposite = book.best_ask() if buy else book.best_bid()
            if opposite and (price >= opposite if buy else price <= opposite):
                trigger = opposite
        touched: list[tuple[str, int]] = []
        if fills:
            self._report_fills(inst, order, fills, remaining, stamp, events)
            other = "S" if buy else "B"
            touched.extend((other, p) for p in dict.fromkeys(f[1] for f in fills))
        if trigger:
            assert band is not None
            self._start_cooling_off(inst, band, trigger, stamp, events)
        if remaining:
            if trigger or order.order_type == SPECIAL_LIMIT:
                reason = "VCM_TRIGGERED" if trigger else "SPECIAL_LIMIT_REMAINDER"
                events.append(
                    OrderCancelled(
                        order_id=order.order_id,
                        instrument=inst.code,
                        participant=order.participant,
                        client_order_id=order.client_order_id,
                        remaining=remaining,
                        reason=reason,
                    )
                )
            else:
                self.orders[order.order_id] = order
                book.add(order.order_id, order.side, price, remaining)
                touched.append((order.side, price))
        if touched:
            self._publish_depth(inst, touched, events)
        self._note_nominal(inst, stamp.at_ns)

    def _report_fills(
        self, inst: _Instrument, order: _Order, fills: list[tuple[int, int, int, int]], remaining: int, stamp: Stamp, events: list[Event]
    ) -> None:
        buy = order.side == "B"
        left = order.quantity
        for resting_id, price, quantity, resting_left in fills:
            left -= quantity
            resting = self.orders[resting_id] if resting_left else self.orders.pop(resting_id)
            b, s = (order, resting) if buy else (resting, order)
            self._trade(
                inst, price, quantity, b, s, left if buy else resting_left, resting_left if buy else left, order.side, stamp, events
            )
        invariant(left == remaining, "fills add up to the order's traded quantity")

    def _trade(
        self,
        inst: _Instrument,
        price: int,
        quantity: int,
        b: _Order,
        s: _Order,
        b_left: int,
        s_left: int,
        aggressor: str,
        stamp: Stamp,
        events: list[Event],
    ) -> None:
        inst.md_seq += 1
        events.append(
            TradeExecuted(
                instrument=inst.code, trade_id=self.next_trade_id, price=price, quantity=quantity, currency=inst.currency,
                buyer=b.account, buyer_participant=b.participant, buy_order_id=b.order_id,
                seller=s.account, seller_participant=s.participant, sell_order_id=s.order_id,
                aggressor=aggressor, buy_remaining=b_left, sell_remaining=s_left, md_seq=inst.md_seq,
            )
        )  # fmt: skip
        self.next_trade_id += 1
        if not inst.day_volume:
            inst.day_open = inst.day_high = inst.day_low = price
        inst.day_high = max(inst.day_high, price)
        inst.day_low = min(inst.day_low, price)
        inst.day_volume += quantity
        inst.last_price = price
        log = inst.trade_log
        if log and log[-1][0] == stamp.at_ns:
            log[-1] = (stamp.at_ns, price)
        else:
            log.append((stamp.at_ns, price))

    def _start_cooling_off(self, inst: _Instrument, band: tuple[int, int], trigger: int, stamp: Stamp, events: list[Event]) -> None:
        ends = stamp.at_ns + self.vcm.cooling_off_s * NS
        inst.vcm_until, inst.vcm_lo, inst.vcm_hi = ends, band[0], band[1]
        inst.vcm_sessions.append(self.phase)
        insort(self.timers, (ends, _VCM_RANK, "VCM_END", inst.code), lo=self.timer_index)
        inst.md_seq += 1
        reference = inst.trade_log[0][1]
        events.append(
            VolatilityCoolingOffStarted(
                instrument=inst.code,
                md_seq=inst.md_seq,
                reference_price=reference,
                lower_price=band[0],
                upper_price=band[1],
                trigger_price=trigger,
                ends_at_ns=ends,
            )
        )

    def _end_cooling_off(self, inst: _Instrument, reason: str, events: list[Event]) -> None:
        inst.vcm_until = 0
        inst.md_seq += 1
        events.append(VolatilityCoolingOffEnded(instrument=inst.code, md_seq=inst.md_seq, reason=reason))

    # -- market data -----------------------------------------------------------------------------
    def _publish_depth(self, inst: _Instrument, touched: list[tuple[str, int]], events: list[Event]) -> None:
        book = inst.book
        bids: list[tuple[int, int, int]] = []
        asks: list[tuple[int, int, int]] = []
        for side, price in dict.fromkeys(touched):
            if price in (AT_AUCTION_BUY_PRICE, AT_AUCTION_SELL_PRICE):
                continue
            q, n = book.level(side, price)
            (bids if side == "B" else asks).append((price, q, n))
        if self.phase in CTS_PHASES:
            bid, ask = book.best_bid(), book.best_ask()
        else:
            bid, ask = self._real_best(inst)
        inst.md_seq += 1
        events.append(
            MarketDepthUpdated(
                instrument=inst.code, md_seq=inst.md_seq, bid_price=bid, bid_quantity=book.level("B", bid)[0] if bid else 0,
                ask_price=ask, ask_quantity=book.level("S", ask)[0] if ask else 0, bids=sorted(bids, reverse=True), asks=sorted(asks),
            )
        )  # fmt: skip

    def _auction_reference(self, inst: _Instrument) -> int:
        return inst.reference if self.phase in CAS_PHASES or self.phase == "CAS_REFERENCE" else inst.prev_close

    def _publish_iep(self, inst: _Instrument, events: list[Event]) -> None:
        eq = equilibrium(inst.book.levels("B"), inst.book.levels("S"), self._auction_reference(inst))
        value = None if eq is None else (eq.price, eq.quantity, eq.surplus, eq.surplus_side)
        if value == inst.iep:
            return
        inst.iep = value
        inst.md_seq += 1
        p, q, s, side = value if value is not None else (0, 0, 0, "")
        events.append(
            AuctionIndicativeUpdated(
                instrument=inst.code,
                md_seq=inst.md_seq,
                session="POS" if self.phase in POS_PHASES else "CAS",
                price=p,
                quantity=q,
                surplus=s,
                surplus_side=side,
            )
        )

    # -- auctions --------------------------------------------------------------------------------
    def _fix_cas_reference(self, inst: _Instrument, stamp: Stamp, events: list[Event]) -> None:
        """At the end of continuous trading: the reference price (median of five snapshot nominal
        prices in the last minute) and the orders carried into the closing auction."""
        self._note_nominal(inst, stamp.at_ns)
        limits = self.auction_limits
        n = limits.cas_reference_snapshots
        window = limits.cas_reference_window_s * NS
        snapshots = []
        for k in range(n):
            t = stamp.at_ns - window + k * window // (n - 1)
            value = inst.prev_close
            for at, nominal in inst.nominal_log:
                if at <= t:
                    value = nominal
            snapshots.append(value)
        reference = sorted(snapshots)[n // 2]
        inst.reference = reference
        if not inst.closing_auction:
            self._close_instrument(inst, reference, "MEDIAN_NOMINAL", stamp, events)
            return
        inst.stage1 = self._band(reference, limits.cas_limit.numerator, limits.cas_limit.denominator)
        inst.md_seq += 1
        events.append(
            ClosingAuctionReferenceSet(
                instrument=inst.code, md_seq=inst.md_seq, price=reference, lower_price=inst.stage1[0], upper_price=inst.stage1[1]
            )
        )
        low, high = inst.stage1
        touched = []
        for order_id, side, price, left in inst.book.orders():
            if not low <= price <= high:
                inst.book.cancel(order_id)
                order = self.orders.pop(order_id)
                touched.append((side, price))
                events.append(
                    OrderCancelled(
                        order_id=order_id,
                        instrument=inst.code,
                        participant=order.participant,
                        client_order_id=order.client_order_id,
                        remaining=left,
                        reason="CAS_PRICE_LIMIT",
                    )
                )
        if touched:
            self._publish_depth(inst, touched, events)
        inst.iep = None

    def _run_auction(self, inst: _Instrument, stamp: Stamp, events: list[Event]) -> None:
        session = "POS" if self.phase in POS_PHASES or self.phase == "POS_BLOCKING" else "CAS"
        if session == "CAS" and not inst.closing_auction:
            inst.closed = True
            return
        book = inst.book
        bids, asks = book.levels("B"), book.levels("S")
        reference = inst.prev_close if session == "POS" else inst.reference
        eq = equilibrium(bids, asks, reference)
        price, method = (eq.price, "IEP") if eq is not None else (0, "NONE")
        if eq is None and session == "CAS":
            price, method = reference, "REFERENCE_PRICE"
        volume = min(volumes_at(bids, asks, price)) if price else 0
        touched: list[tuple[str, int]] = []
        if volume:
            buys = book.match("S", price, volume, UNLIMITED)
            sells = book.match("B", price, volume, UNLIMITED)
            touched = [("B", f[1]) for f in buys] + [("S", f[1]) for f in sells]
            self._pair(inst, price, buys, sells, stamp, events)
        inst.md_seq += 1
        events.append(
            AuctionCompleted(
                instrument=inst.code,
                md_seq=inst.md_seq,
                session=session,
                price=price if volume or session == "CAS" else 0,
                quantity=volume,
                method=method,
            )
        )
        inst.auction_done = True
        inst.iep = None
        if session == "POS":
            self._after_opening_auction(inst, touched, stamp, events)
        else:
            closing = price if volume else reference
            self._close_instrument(inst, closing, "CAS_FINAL" if volume else "CAS_REFERENCE", stamp, events, touched)

    def _pair(
        self,
        inst: _Instrument,
        price: int,
        buys: list[tuple[int, int, int, int]],
        sells: list[tuple[int, int, int, int]],
        stamp: Stamp,
        events: list[Event],
    ) -> None:
        i = j = 0
        bq, sq = buys[0][2], sells[0][2]
        while i < len(buys) and j < len(sells):
            q = min(bq, sq)
            b_id, _, _, b_end = buys[i]
            s_id, _, _, s_end = sells[j]
            bq -= q
            sq -= q
            b, s = self.orders[b_id], self.orders[s_id]
            self._trade(inst, price, q, b, s, bq + b_end, sq + s_end, "A", stamp, events)
            if bq == 0:
                if b_end == 0:
                    self.orders.pop(b_id)
                i += 1
                bq = buys[i][2] if i < len(buys) else 0
            if sq == 0:
                if s_end == 0:
                    self.orders.pop(s_id)
                j += 1
                sq = sells[j][2] if j < len(sells) else 0

    def _after_opening_auction(self, inst: _Instrument, touched: list[tuple[str, int]], stamp: Stamp, events: list[Event]) -> None:
        """Unmatched at-auction orders are cancelled; at-auction limit orders carry into continuous
        trading as limit orders unless priced 9 times or more away from the nominal price."""
        nominal = inst.last_price or inst.prev_close
        k = self.checks.nominal_multiple
        for order_id, side, price, left in inst.book.orders():
            if price in (AT_AUCTION_BUY_PRICE, AT_AUCTION_SELL_PRICE):
                reason = "AT_AUCTION_UNMATCHED"
            elif price >= k * nominal or price * k <= nominal:
                reason = "NOMINAL_PRICE_DEVIATION"
            else:
                continue
            inst.book.cancel(order_id)
            order = self.orders.pop(order_id)
            touched.append((side, price))
            events.append(
                OrderCancelled(
                    order_id=order_id,
                    instrument=inst.code,
                    participant=order.participant,
                    client_order_id=order.client_order_id,
                    remaining=left,
                    reason=reason,
                )
            )
        if touched:
            self._publish_depth(inst, touched, events)

    def _close_instrument(
        self, inst: _Instrument, price: int, method: str, stamp: Stamp, events: list[Event], touched: list[tuple[str, int]] | None = None
    ) -> None:
        """Cancel what is left, publish every level the close changed (those the closing auction
        emptied included: ``touched``), set the closing price."""
        touched = list(touched or ())
        for order_id, side, level_price, left in inst.book.orders():
            inst.book.cancel(order_id)
            order = self.orders.pop(order_id)
            touched.append((side, level_price))
            events.append(
                OrderCancelled(
                    order_id=order_id,
                    instrument=inst.code,
                    participant=order.participant,
                    client_order_id=order.client_order_id,
                    remaining=left,
                    reason="END_OF_DAY",
                )
            )
        if touched:
            self._publish_depth(inst, touched, events)
        inst.closed = True
        inst.prev_close = price
        inst.md_seq += 1
        events.append(
            ClosingPriceSet(
                instrument=inst.code, md_seq=inst.md_seq, day=self.day, price=price, method=method, open_price=inst.day_open,
                high_price=inst.day_high, low_price=inst.day_low, volume=inst.day_volume,
            )
        )  # fmt: skip

    # -- cancel and amend ------------------------------------------------------------------------
    def _find_order(self, instrument: str, participant: str, order_id: int, client_order_id: str) -> _Order:
        if not order_id:
            known = self._lookup_client(participant, client_order_id)
            if known is None:
                raise unknown_client_order(participant, client_order_id)
            order_id = known[0]
        order = self.orders.get(order_id)
        if order is None:
            raise order_not_live(order_id)
        require(order.participant == participant, C.NOT_ORDER_OWNER, "participant", f"order {order_id} belongs to another participant")
        require(
            order.instrument == instrument, C.UNKNOWN_ORDER, "instrument", f"order {order_id} is for {order.instrument}, not {instrument}"
        )
        return order

    def _cancel(self, cmd: CancelOrder, stamp: Stamp) -> list[Event]:
        order = self._find_order(cmd.instrument, cmd.participant, cmd.order_id, cmd.client_order_id)
        if not PHASES[self.phase][2]:
            fail(C.CANCEL_NOT_IN_SESSION, "order_id", f"orders cannot be cancelled now: {self._session()}", RULE_SESSIONS)
        inst = self.instruments[order.instrument]
        book_price = self._book_price(order)
        left = inst.book.cancel(order.order_id)
        del self.orders[order.order_id]
        events: list[Event] = [
            OrderCancelled(
                order_id=order.order_id,
                instrument=inst.code,
                participant=order.participant,
                client_order_id=order.client_order_id,
                remaining=left,
                reason="CLIENT",
            )
        ]
        self._after_book_change(inst, [(order.side, book_price)], stamp, events)
        return events

    def _book_price(self, order: _Order) -> int:
        if order.order_type == AT_AUCTION:
            return AT_AUCTION_BUY_PRICE if order.side == "B" else AT_AUCTION_SELL_PRICE
        return order.price

    def _after_book_change(self, inst: _Instrument, touched: list[tuple[str, int]], stamp: Stamp, events: list[Event]) -> None:
        self._publish_depth(inst, touched, events)
        if self.phase in CTS_PHASES:
            self._note_nominal(inst, stamp.at_ns)
        else:
            self._publish_iep(inst, events)

    def _amend(self, cmd: AmendOrder, stamp: Stamp) -> list[Event]:
        order = self._find_order(cmd.instrument, cmd.participant, cmd.order_id, cmd.client_order_id)
        if not PHASES[self.phase][3]:
            fail(C.AMEND_NOT_IN_SESSION, "order_id", f"orders cannot be amended now: {self._session()}", RULE_SESSIONS)
        inst = self.instruments[order.instrument]
        self._check_instrument_open(inst)
        book = inst.book
        left = book.remaining(order.order_id)
        new_price = cmd.price or order.price
        if order.order_type == AT_AUCTION:
            require(cmd.price == 0, C.PRICE_NOT_ON_SPREAD_GRID, "price", "an at-auction order has no price to amend")
        self._check_quantity(inst, cmd.quantity, "quantity")
        require(
            new_price != order.price or cmd.quantity != left,
            C.AMEND_NO_CHANGE,
            "quantity",
            f"order {order.order_id} already has price {format_price(order.price)} and {left} shares outstanding",
        )
        if order.channel.startswith(SOUTHBOUND_CHANNEL_PREFIX) and order.side == "B":
            # the southbound quota was reserved at entry, at the order's price and quantity; an
            # increase would spend quota the gateway never checked
            require(
                cmd.quantity <= left and new_price <= order.price,
                C.SOUTHBOUND_AMEND_INCREASE,
                "quantity" if cmd.quantity > left else "price",
                f"a southbound buy order may only be reduced (now {left} shares at {format_price(order.price)}); cancel it and "
                "enter a new order through Stock Connect, which checks the daily quota",
                "Stock Connect southbound daily quota (docs/rules.md section 8)",
            )
        filled = order.quantity - left
        old_price = self._book_price(order)
        if new_price == order.price and cmd.quantity < left:
            book.reduce(order.order_id, cmd.quantity)
            kept = True
        else:
            if order.order_type != AT_AUCTION:
                otype = LIMIT if self.phase in CTS_PHASES else AT_AUCTION_LIMIT
                self._check_price(inst, order.side, otype, new_price)
                placed = self.client_orders.get((order.participant, order.client_order_id))
                if new_price != order.price and placed is not None and placed[1].short_sell:
                    self._check_short_sale(inst, order.side, otype, new_price)
                if self.phase in CTS_PHASES:
                    opposite = book.best_ask() if order.side == "B" else book.best_bid()
                    if opposite and (new_price >= opposite if order.side == "B" else new_price <= opposite):
                        fail(
                            C.AMEND_WOULD_TRADE,
                            "price",
                            f"amending to {format_price(new_price)} would trade against {format_price(opposite)}; "
                            "cancel and enter a new order",
                            RULE_QUOTE,
                        )
            if new_price != order.price:
                self._check_queue(inst, order.side, order.order_type, new_price)
            book.cancel(order.order_id)
            order.price = new_price
            book.add(order.order_id, order.side, self._book_price(order), cmd.quantity)
            kept = False
        order.quantity = filled + cmd.quantity
        events: list[Event] = [
            OrderAmended(
                order_id=order.order_id,
                instrument=inst.code,
                participant=order.participant,
                client_order_id=order.client_order_id,
                price=order.price,
                quantity=cmd.quantity,
                priority_kept=kept,
            )
        ]
        self._after_book_change(inst, [(order.side, old_price), (order.side, self._book_price(order))], stamp, events)
        return events

    # -- queries (projections read these through events; tests and tools may call them) ------------
    def depth(self, instrument: str, levels: int = 10) -> dict[str, list[tuple[int, int, int]]]:
        book = self.instruments[instrument].book

        def real(rows: list[Any]) -> list[Any]:
            return [r for r in rows if r[0] not in (AT_AUCTION_BUY_PRICE, AT_AUCTION_SELL_PRICE)][:levels]

        return {"bids": real(book.levels("B")), "asks": real(book.levels("S"))}

    # -- state -----------------------------------------------------------------------------------
    def canonical_state(self) -> Any:
        instruments = {}
        for code in sorted(self.instruments):
            inst = self.instruments[code]
            instruments[code] = {
                "static": [inst.board_lot, inst.currency, inst.vcm_class, inst.counter_of, inst.name, inst.closing_auction,
                           inst.short_sell],
                "day": [inst.prev_close, inst.last_price, inst.day_open, inst.day_high, inst.day_low, inst.day_volume, inst.closed,
                        inst.auction_done, list(inst.iep) if inst.iep else None, inst.reference, list(inst.stage1), list(inst.stage2),
                        [list(x) for x in inst.trade_log], [list(x) for x in inst.nominal_log], inst.vcm_until, inst.vcm_lo, inst.vcm_hi,
                        list(inst.vcm_sessions), inst.md_seq],
                "orders": [[oid, side, price, left, *self.orders[oid].to_list()] for oid, side, price, left in inst.book.orders()],
            }  # fmt: skip
        return {
            "phase": self.phase,
            "day": self.day,
            "seed": self.seed,
            "half_day": self.half_day,
            "timers": [list(t) for t in self.timers],
            "timer_index": self.timer_index,
            "next_order_id": self.next_order_id,
            "next_trade_id": self.next_trade_id,
            "sessions": {k: list(v) for k, v in self.sessions.items()},
            "instruments": instruments,
            "client_orders": sorted([f"{p}\x1f{c}", v[0], msgspec.to_builtins(v[1]), v[2]] for (p, c), v in self.client_orders.items()),
        }

    def snapshot(self) -> Any:
        return self.canonical_state()

    def restore(self, data: Any) -> None:
        self.__init__(self.book_factory, fast_path=self._fast_wanted)  # type: ignore[misc]
        self.phase, self.day, self.seed, self.half_day = data["phase"], data["day"], int(data["seed"]), bool(data["half_day"])
        if self.day:
            self._set_rules(date.fromisoformat(self.day))
        self.timers = [tuple(t) for t in data["timers"]]
        self.timer_index = int(data["timer_index"])
        self.next_order_id, self.next_trade_id = int(data["next_order_id"]), int(data["next_trade_id"])
        self.sessions = {k: (int(v[0]), int(v[1])) for k, v in data["sessions"].items()}
        for code, item in data["instruments"].items():
            lot, currency, vcm_class, counter_of, name, cas, *designated = item["static"]  # a snapshot from before short selling has 6
            day = item["day"]
            cmd = ListInstrument(
                instrument=code,
                board_lot=lot,
                nominal_price=day[0],
                currency=currency,
                vcm_class=vcm_class,
                counter_of=counter_of,
                name=name,
                closing_auction=cas,
                short_sell_designated=bool(designated and designated[0]),
            )
            inst = self._instrument_type(cmd, self.book_factory())
            (
                inst.prev_close,
                inst.last_price,
                inst.day_open,
                inst.day_high,
                inst.day_low,
                inst.day_volume,
                inst.closed,
                inst.auction_done,
            ) = day[:8]
            inst.iep = tuple(day[8]) if day[8] else None
            inst.reference, inst.stage1, inst.stage2 = day[9], tuple(day[10]), tuple(day[11])
            inst.trade_log = deque(tuple(x) for x in day[12])
            inst.nominal_log = [tuple(x) for x in day[13]]
            inst.vcm_until, inst.vcm_lo, inst.vcm_hi, inst.vcm_sessions, inst.md_seq = day[14], day[15], day[16], list(day[17]), day[18]
            for oid, side, price, left, *meta in item["orders"]:
                inst.book.add(oid, side, price, left)
                order = self._order_type.__new__(self._order_type)
                (
                    order.order_id,
                    order.instrument,
                    order.participant,
                    order.account,
                    order.client_order_id,
                    order.side,
                    order.order_type,
                    order.price,
                    order.quantity,
                    order.channel,
                ) = meta
                self.orders[oid] = order
            self.instruments[code] = inst
        for _, order_id, cmd, channel in data["client_orders"]:
            placed = msgspec.convert(cmd, PlaceOrder)
            self.client_orders[(placed.participant, placed.client_order_id)] = (order_id, placed, channel)


_HANDLERS: dict[type[Command], Callable[[TradingContext, Any, Stamp], list[Event]]] = {
    TradingTick: TradingContext._on_tick,
    StartTradingDay: TradingContext._on_start_day,
    PlaceOrder: TradingContext._on_place,
    CancelOrder: TradingContext._on_cancel,
    AmendOrder: TradingContext._on_amend,
    ListInstrument: TradingContext._on_list,
    DesignateShortSelling: TradingContext._on_designate,
}
"""`TradingContext.execute_python`'s dispatch: one handler per member of `TradingCommand`."""
invariant(set(_HANDLERS) == set(TRADING_COMMANDS), "trading's handler table covers TradingCommand exactly")


__all__ = ["PHASES", "TradingContext"]
