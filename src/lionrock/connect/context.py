"""`ConnectContext`: the southbound gateway (eligibility, investors, the daily quota per link).

Quota (per link, per Hong Kong day, CNY minor units): balance = daily quota - buy orders admitted
+ sell trades + adjustments (cancelled or rejected buy orders, amendments, buys filled at a better
price than the order). A buy order is admitted while the balance is positive (it may take the
balance below zero); once the balance is zero or below in continuous trading, buy orders are
refused for the rest of the day; in the opening auction they resume if cancellations restore it.
Order values are HKD (price x quantity) converted at the latest CNY/HKD rate recorded with
clearing's `RecordFxRates` (connect observes `FxRatesRecorded`), rounded up to the fen.
"""

from __future__ import annotations

import bisect
from datetime import date
from typing import Any, ClassVar, assert_never, cast

from lionrock.clearing.events import FxRatesRecorded
from lionrock.connect._codes import ConnectCode
from lionrock.connect.commands import (
    CONNECT_COMMANDS,
    ConnectCommand,
    EvaluateFastEntry,
    PlaceSouthboundOrder,
    RegisterSouthboundInvestor,
    ReviewSouthboundEligibility,
    SetAhStatus,
    SetConnectProfile,
    SetIndexConstituents,
    SetMarketCaps,
)
from lionrock.connect.eligibility import (
    ELIGIBLE,
    INELIGIBLE,
    SELL_ONLY,
    SIZE_INDEXES,
    evaluate,
    links_on,
    new_profile,
    next_status,
)
from lionrock.connect.events import (
    ConnectDataUpdated,
    FastEntryEvaluated,
    SouthboundEligibilityChanged,
    SouthboundInvestorRegistered,
    SouthboundOrderAdmitted,
    SouthboundQuotaExhausted,
    SouthboundQuotaReturned,
)
from lionrock.kernel.errors import fail, invariant, require
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.money import Rounding, format_minor, round_div
from lionrock.kernel.price import consideration_minor
from lionrock.kernel.xhkg import add_business_days, hk_date, hk_time, is_business_day, trading_day
from lionrock.rules.connect import (
    SOUTHBOUND_DAILY_QUOTA,
    SOUTHBOUND_ELIGIBILITY,
    SOUTHBOUND_INVESTORS,
)
from lionrock.trading.commands import SOUTHBOUND_CHANNEL_PREFIX
from lionrock.trading.events import (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    TradeExecuted,
)

MAX_LIST = 10_000
INVESTOR_TYPES = ("INDIVIDUAL", "INSTITUTION")
A_EXCHANGES = ("", "SSE", "SZSE")
# A reservation: [link, ISO day, side, price, remaining qty, reserved CNY minor, order id, rate num, rate den]
Reservation = list[Any]


def _res_key(participant: str, client_order_id: str) -> str:
    return f"{participant}\x1f{client_order_id}"


class ConnectContext:
    name: ClassVar[str] = "connect"
    command_types: ClassVar[tuple[type[Command], ...]] = CONNECT_COMMANDS
    observed_event_types: ClassVar[tuple[type[Event], ...]] = (
        FxRatesRecorded,
        OrderAccepted,
        OrderRejected,
        OrderCancelled,
        OrderAmended,
        TradeExecuted,
    )

    def __init__(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}
        self.status: dict[str, str] = {}
        """``"<instrument>|<link>"`` -> ELIGIBLE / SELL_ONLY / INELIGIBLE as last evaluated."""
        self.investors: dict[str, list[Any]] = {}
        self.quota: dict[str, list[int]] = {}
        """``"<link>|<ISO day>"`` -> [used, returned, exhausted for the rest of the day (0/1)]."""
        self.reservations: dict[str, Reservation] = {}
        self.by_order: dict[str, str] = {}
        self.fx: dict[str, list[int]] = {}
        """ISO day -> [HKD per CNY numerator, denominator]."""
        self._fx_days: list[str] = []

    # -- queries ----------------------------------------------------------------------------------
    def quota_balance(self, link: str, day: date) -> int:
        used, returned, _ = self.quota.get(f"{link}|{day.isoformat()}", [0, 0, 0])
        return SOUTHBOUND_DAILY_QUOTA.in_force(day).daily_quota_cny_minor - used + returned

    def hkd_per_cny(self, day: date) -> list[int] | None:
        i = bisect.bisect_right(self._fx_days, day.isoformat())
        return self.fx[self._fx_days[i - 1]] if i else None

    def eligibility(self, instrument: str, link: str, day: date) -> tuple[str, list[str]]:
        profile = self.profiles.get(instrument) or new_profile(instrument)
        eligible, reasons = evaluate(profile, link, day)
        return next_status(eligible, self.status.get(f"{instrument}|{link}", INELIGIBLE)), reasons

    # -- commands ---------------------------------------------------------------------------------
    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        day = hk_date(stamp.at_ns)
        command = cast(ConnectCommand, command)  # the engine routes only `command_types` here
        match command:
            case PlaceSouthboundOrder():
                return self._place(command, stamp, day)
            case SetIndexConstituents():
                return self._set_index(command, day)
            case SetMarketCaps():
                return self._set_caps(command, day)
            case SetAhStatus():
                return self._set_ah(command, day)
            case SetConnectProfile():
                return self._set_profile(command, day)
            case EvaluateFastEntry():
                return self._fast_entry(command, day)
            case ReviewSouthboundEligibility():
                return self._review(sorted(self.profiles), day)
            case RegisterSouthboundInvestor():
                return self._register_investor(command, day)
            case _:
                assert_never(command)

    def _profile(self, instrument: str) -> dict[str, Any]:
        profile = self.profiles.get(instrument)
        if profile is None:
            profile = self.profiles[instrument] = new_profile(instrument)
        return profile

    def _review(self, instruments: list[str], day: date) -> list[Event]:
        events: list[Event] = []
        for instrument in instruments:
            for link in links_on(day):
                key = f"{instrument}|{link}"
                previous = self.status.get(key, INELIGIBLE)
                eligible, _ = evaluate(self.profiles[instrument], link, day, explain=False)
                status = next_status(eligible, previous)
                if status != previous:
                    _, reasons = evaluate(self.profiles[instrument], link, day)
                    self.status[key] = status
                    events.append(
                        SouthboundEligibilityChanged(
                            instrument=instrument, link=link, status=status, previous=previous, day=day, reasons=reasons
                        )
                    )
        return events

    def _set_index(self, c: SetIndexConstituents, day: date) -> list[Event]:
        require(c.index in SIZE_INDEXES, ConnectCode.BAD_INDEX, "index", f"{c.index!r} is not one of {', '.join(SIZE_INDEXES)}")
        require(len(c.instruments) <= MAX_LIST, ConnectCode.LIMIT_EXCEEDED, "instruments", f"at most {MAX_LIST}")
        members = set(c.instruments)
        touched = set(members)
        for instrument, profile in self.profiles.items():
            if profile["index"] == c.index and instrument not in members:
                profile["index"] = ""
                touched.add(instrument)
        for instrument in sorted(members):
            self._profile(instrument)["index"] = c.index
        return [ConnectDataUpdated(what=f"index {c.index}", instruments=sorted(touched)), *self._review(sorted(touched), day)]

    def _set_caps(self, c: SetMarketCaps, day: date) -> list[Event]:
        require(len(c.market_caps) <= MAX_LIST, ConnectCode.LIMIT_EXCEEDED, "market_caps", f"at most {MAX_LIST}")
        for i, (_instrument, cap) in enumerate(c.market_caps):
            require(cap >= 0, ConnectCode.BAD_VALUE, f"market_caps[{i}]", f"market cap must not be negative, got {cap}")
        for instrument, cap in c.market_caps:
            self._profile(instrument)["market_cap"] = cap
        touched = sorted({i for i, _ in c.market_caps})
        return [ConnectDataUpdated(what="market caps", instruments=touched), *self._review(touched, day)]

    def _set_ah(self, c: SetAhStatus, day: date) -> list[Event]:
        require(
            c.a_share_exchange in A_EXCHANGES,
            ConnectCode.BAD_VALUE,
            "a_share_exchange",
            f"{c.a_share_exchange!r}: expected SSE, SZSE or empty",
        )
        profile = self._profile(c.instrument)
        profile["a_exchange"] = c.a_share_exchange
        profile["risk_alert"] = c.risk_alert
        return [ConnectDataUpdated(what="A+H status", instruments=[c.instrument]), *self._review([c.instrument], day)]

    def _set_profile(self, c: SetConnectProfile, day: date) -> list[Event]:
        require(c.currency in ("HKD", "CNY", "USD"), ConnectCode.BAD_VALUE, "currency", f"{c.currency!r}")
        profile = self._profile(c.instrument)
        profile["currency"] = c.currency
        profile["listing_date"] = c.listing_date.isoformat() if c.listing_date else ""
        profile["foreign"] = c.foreign_company
        profile["secondary"] = c.secondary_listing
        return [ConnectDataUpdated(what="profile", instruments=[c.instrument]), *self._review([c.instrument], day)]

    def _fast_entry(self, c: EvaluateFastEntry, day: date) -> list[Event]:
        require(c.market_cap > 0, ConnectCode.BAD_VALUE, "market_cap", "must be positive")
        try:
            rule = SOUTHBOUND_ELIGIBILITY.in_force(c.listing_date)
        except LookupError:
            fail(ConnectCode.BAD_VALUE, "listing_date", f"no eligibility rule in force on {c.listing_date}")
        caps = [p["market_cap"] for i, p in self.profiles.items() if p["index"] in SIZE_INDEXES and i != c.instrument]
        rank = 1 + sum(1 for cap in caps if cap > c.market_cap)
        cutoff = -(-(len(caps) + 1) * rule.fast_entry_top_percent // 100)  # ceiling: the top N%
        qualifies = rule.fast_entry_top_percent > 0 and rank <= cutoff
        effective = add_business_days(c.listing_date, rule.fast_entry_trading_days) if qualifies else None
        profile = self._profile(c.instrument)
        profile["fast_entry_from"] = effective.isoformat() if effective else ""
        if not profile["listing_date"]:
            profile["listing_date"] = c.listing_date.isoformat() if profile["a_exchange"] else ""
        text = (
            f"Hang Seng fast entry: day-1 market cap HK${format_minor(c.market_cap)} ranks {rank} of {len(caps) + 1}; "
            f"the top {rule.fast_entry_top_percent}% (rank {cutoff} or better) join after the close of the "
            f"{rule.fast_entry_trading_days}th trading day"
        )
        return [
            FastEntryEvaluated(instrument=c.instrument, rank=rank, qualifies=qualifies, effective_from=effective, rule=text),
            *self._review([c.instrument], day),
        ]

    def _register_investor(self, c: RegisterSouthboundInvestor, day: date) -> list[Event]:
        require(
            c.investor_type in INVESTOR_TYPES,
            ConnectCode.BAD_INVESTOR_TYPE,
            "investor_type",
            f"{c.investor_type!r}: expected INDIVIDUAL or INSTITUTION",
        )
        require(c.assets_cny >= 0, ConnectCode.BAD_VALUE, "assets_cny", "must not be negative")
        if c.investor_type == "INDIVIDUAL":
            rule = SOUTHBOUND_INVESTORS.in_force(day)
            floor = rule.individual_min_assets_cny_minor
            require(
                c.assets_cny >= floor,
                ConnectCode.INVESTOR_BELOW_THRESHOLD,
                "assets_cny",
                f"RMB {format_minor(c.assets_cny)} is below the RMB {format_minor(floor)} an individual needs",
                rule.rule,
            )
        self.investors[c.account] = [c.investor_type, c.assets_cny]
        return [SouthboundInvestorRegistered(account=c.account, investor_type=c.investor_type, assets_cny=c.assets_cny)]

    # -- the gateway --------------------------------------------------------------------------------
    def _continuous(self, stamp: Stamp, day: date) -> bool:
        return hk_time(stamp.at_ns) >= trading_day(day).open

    def _to_cny(self, hkd_minor: int, rate: list[int]) -> int:
        return round_div(hkd_minor * rate[1], rate[0], Rounding.UP)

    def _place(self, c: PlaceSouthboundOrder, stamp: Stamp, day: date) -> list[Event]:
        order = c.order
        require(
            c.link in links_on(day),
            ConnectCode.UNKNOWN_LINK,
            "link",
            f"{c.link!r} is not a southbound link on {day} ({', '.join(links_on(day)) or 'none'})",
        )
        require(is_business_day(day), ConnectCode.NOT_A_BUSINESS_DAY, "link", f"{day} is not an XHKG business day")
        require(order.side in ("B", "S"), ConnectCode.BAD_VALUE, "order.side", f"{order.side!r}: expected B or S")
        require(order.quantity > 0, ConnectCode.BAD_VALUE, "order.quantity", "must be positive")
        investor = self.investors.get(order.account)
        require(
            investor is not None,
            ConnectCode.INVESTOR_NOT_REGISTERED,
            "order.account",
            f"{order.account} is not a registered southbound investor",
        )
        status, reasons = self.eligibility(order.instrument, c.link, day)
        rule = SOUTHBOUND_ELIGIBILITY.provision(day).source if day >= SOUTHBOUND_ELIGIBILITY.provisions[0].effective_from else ""
        if order.side == "B":
            require(
                status != SELL_ONLY,
                ConnectCode.SELL_ONLY,
                "order.instrument",
                f"{order.instrument} is sell-only southbound: {'; '.join(reasons)}",
                rule,
            )
        require(
            status != INELIGIBLE,
            ConnectCode.NOT_ELIGIBLE,
            "order.instrument",
            f"{order.instrument} is not southbound-eligible on {c.link}: {'; '.join(reasons)}",
            rule,
        )
        key = _res_key(order.participant, order.client_order_id)
        existing = self.reservations.get(key)
        if existing is not None and existing[1] != day.isoformat():
            existing = None  # an earlier day's order: purged below, once the command is accepted
        if existing is not None:
            require(
                existing[2] == order.side and existing[3] == order.price,
                ConnectCode.BAD_VALUE,
                "order.client_order_id",
                f"client order id {order.client_order_id!r} already used today for another order",
            )
            return [SouthboundOrderAdmitted(link=c.link, order=order, quota_used=0, quota_balance=self.quota_balance(c.link, day))]
        reserve, rate = 0, [1, 1]
        qkey = f"{c.link}|{day.isoformat()}"
        state = self.quota.get(qkey, [0, 0, 0])
        if order.side == "B":
            require(
                order.price > 0,
                ConnectCode.PRICE_REQUIRED,
                "order.price",
                "southbound buy orders need a limit price (the quota is reserved at it)",
            )
            found = self.hkd_per_cny(day)
            require(
                found is not None,
                ConnectCode.NO_EXCHANGE_RATE,
                "order",
                f"no CNY/HKD rate recorded on or before {day} (clearing RecordFxRates)",
            )
            assert found is not None
            rate = found
            balance = self.quota_balance(c.link, day)
            quota_rule = SOUTHBOUND_DAILY_QUOTA.in_force(day).rule
            require(
                not state[2],
                ConnectCode.QUOTA_EXHAUSTED,
                "order",
                f"the {c.link} southbound daily quota was used up in continuous trading today",
                quota_rule,
            )
            require(
                balance > 0,
                ConnectCode.QUOTA_EXHAUSTED,
                "order",
                f"the {c.link} southbound daily quota balance is RMB {format_minor(balance)}",
                quota_rule,
            )
            reserve = self._to_cny(consideration_minor(order.price, order.quantity), rate)
        self._purge(day)  # every check has passed: only now may the command change state
        status_events = self._mark_eligible(order.instrument, c.link, day, status, reasons)
        state = self.quota.setdefault(qkey, [0, 0, 0])
        state[0] += reserve
        self.reservations[key] = [c.link, day.isoformat(), order.side, order.price, order.quantity, reserve, 0, rate[0], rate[1]]
        balance = self.quota_balance(c.link, day)
        events: list[Event] = [*status_events, SouthboundOrderAdmitted(link=c.link, order=order, quota_used=reserve, quota_balance=balance)]
        if reserve and balance <= 0:
            continuous = self._continuous(stamp, day)
            if continuous:
                state[2] = 1
            events.append(SouthboundQuotaExhausted(link=c.link, day=day, balance=balance, rest_of_day=continuous))
        return events

    def _mark_eligible(self, instrument: str, link: str, day: date, status: str, reasons: list[str]) -> list[Event]:
        key = f"{instrument}|{link}"
        previous = self.status.get(key, INELIGIBLE)
        if status == ELIGIBLE and previous != ELIGIBLE:
            self.status[key] = ELIGIBLE
            self._profile(instrument)
            return [
                SouthboundEligibilityChanged(instrument=instrument, link=link, status=ELIGIBLE, previous=previous, day=day, reasons=reasons)
            ]
        return []

    def _purge(self, day: date) -> None:
        today = day.isoformat()
        stale = [k for k, r in self.reservations.items() if r[1] < today]
        for k in stale:
            order_id = self.reservations.pop(k)[6]
            self.by_order.pop(str(order_id), None)
        for qkey in [q for q in self.quota if q.split("|")[1] < today]:
            del self.quota[qkey]

    # -- observed events ----------------------------------------------------------------------------
    @staticmethod
    def observes(event: Event) -> bool:
        """Whether `observe` can act on ``event``, from the event alone: the acceptance or
        rejection of a southbound order (channel ``SB-…``), and every cancel, amend (they name no
        channel), trade and FX rate. A trading shard relays to the primary only these
        (`lionrock.scale.sharding`): most orders are not southbound."""
        if isinstance(event, (OrderAccepted, OrderRejected)):
            return event.channel.startswith(SOUTHBOUND_CHANNEL_PREFIX)
        return True

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        match event:
            case TradeExecuted():
                if str(event.buy_order_id) not in self.by_order and str(event.sell_order_id) not in self.by_order:
                    return []
                return self._on_trade(event, stamp)
            case OrderAccepted():
                if event.channel.startswith(SOUTHBOUND_CHANNEL_PREFIX):
                    res = self.reservations.get(_res_key(event.participant, event.client_order_id))
                    if res is not None and res[6] == 0:
                        res[6] = event.order_id
                        self.by_order[str(event.order_id)] = _res_key(event.participant, event.client_order_id)
                return []
            case OrderRejected():
                if not event.channel.startswith(SOUTHBOUND_CHANNEL_PREFIX):
                    return []
                key = _res_key(event.participant, event.client_order_id)
                res = self.reservations.get(key)
                if res is None or res[6]:
                    return []
                del self.reservations[key]
                return self._give_back(res, res[5], "REJECTED", 0, stamp)
            case OrderCancelled():
                cancelled = self.by_order.pop(str(event.order_id), None)
                if cancelled is None:
                    return []
                res = self.reservations.pop(cancelled)
                return self._give_back(res, res[5] if res[2] == "B" else 0, "CANCELLED", event.order_id, stamp)
            case OrderAmended():
                amended = self.by_order.get(str(event.order_id))
                if amended is None:
                    return []
                return self._on_amend(self.reservations[amended], event, stamp)
            case FxRatesRecorded():
                for base, quote, rate in event.rates:
                    if (base, quote) == ("CNY", "HKD"):
                        self._set_fx(event.day, [rate.numerator, rate.denominator])
                    elif (base, quote) == ("HKD", "CNY") and rate.numerator:
                        self._set_fx(event.day, [rate.denominator, rate.numerator])
                return []
        return []

    def _set_fx(self, day: date, rate: list[int]) -> None:
        iso = day.isoformat()
        if iso not in self.fx:
            bisect.insort(self._fx_days, iso)
        self.fx[iso] = rate

    def _give_back(self, res: Reservation, amount: int, reason: str, order_id: int, stamp: Stamp) -> list[Event]:
        """Return quota to the link's balance for the reservation's day (only that same day)."""
        day = hk_date(stamp.at_ns)
        if amount <= 0 or res[1] != day.isoformat():
            return []
        state = self.quota.setdefault(f"{res[0]}|{res[1]}", [0, 0, 0])
        before = self.quota_balance(res[0], day)
        if before <= 0 and self._continuous(stamp, day):
            state[2] = 1
        state[1] += amount
        return [SouthboundQuotaReturned(link=res[0], day=day, amount=amount, balance=before + amount, reason=reason, order_id=order_id)]

    def _on_amend(self, res: Reservation, e: OrderAmended, stamp: Stamp) -> list[Event]:
        res[4] = e.quantity
        if res[2] != "B":
            return []
        res[3] = e.price or res[3]
        new = self._to_cny(consideration_minor(res[3], res[4]), [res[7], res[8]])
        delta = res[5] - new
        res[5] = new
        # trading refuses to increase a southbound buy (TradingCode.SOUTHBOUND_AMEND_INCREASE): the
        # quota was checked at entry, so an amendment can only give quota back
        invariant(delta >= 0, f"southbound buy order {e.order_id} was amended upward past the quota check")
        if delta > 0:
            return self._give_back(res, delta, "AMENDED", e.order_id, stamp)
        return []

    def _on_trade(self, e: TradeExecuted, stamp: Stamp) -> list[Event]:
        events: list[Event] = []
        for order_id, is_buy in ((e.buy_order_id, True), (e.sell_order_id, False)):
            key = self.by_order.get(str(order_id))
            if key is None:
                continue
            res = self.reservations[key]
            rate = [res[7], res[8]]
            res[4] -= e.quantity
            if is_buy:
                filled = self._to_cny(consideration_minor(e.price, e.quantity), rate)
                new = self._to_cny(consideration_minor(res[3], max(res[4], 0)), rate)
                back = res[5] - new - filled
                res[5] = new
                events += self._give_back(res, back, "BETTER_PRICE", order_id, stamp)
            else:
                found = self.hkd_per_cny(hk_date(stamp.at_ns)) or rate
                events += self._give_back(res, self._to_cny(consideration_minor(e.price, e.quantity), found), "SELL_TRADE", order_id, stamp)
            if res[4] <= 0:
                del self.reservations[key]
                del self.by_order[str(order_id)]
        return events

    # -- state --------------------------------------------------------------------------------------
    def snapshot(self) -> Any:
        return {
            "profiles": self.profiles,
            "status": self.status,
            "investors": self.investors,
            "quota": self.quota,
            "reservations": self.reservations,
            "by_order": self.by_order,
            "fx": self.fx,
        }

    def restore(self, data: Any) -> None:
        self.profiles = {k: dict(v) for k, v in data["profiles"].items()}
        self.status = dict(data["status"])
        self.investors = {k: list(v) for k, v in data["investors"].items()}
        self.quota = {k: list(v) for k, v in data["quota"].items()}
        self.reservations = {k: list(v) for k, v in data["reservations"].items()}
        self.by_order = dict(data["by_order"])
        self.fx = {k: list(v) for k, v in data["fx"].items()}
        self._fx_days = sorted(self.fx)

    def canonical_state(self) -> Any:
        return self.snapshot()


__all__ = ["ConnectContext"]
