"""The scenario driver: seeded agent processes that submit every command of a run, in time order.

Each actor is a generator (an issuer's listing, the venue's day, one stock's order flow for a
day) that yields the Hong Kong time at which it next wants to act; `Driver.run` merges them on a
heap and resumes the earliest. Agents learn only from the events the engine returns, as any
client would. All randomness comes from the run seed, so a run is reproducible command for
command, which is also what lets an interrupted run resume (`Engine.catch_up`).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import numpy as np

from lionrock.clearing import commands as cc
from lionrock.clearing import events as ce
from lionrock.connect import commands as xc
from lionrock.connect import events as xe
from lionrock.engine import Engine, Outcome
from lionrock.files.profiles import load_profile
from lionrock.kernel.account import client_account, client_part, participant_of
from lionrock.kernel.messages import Command, Event
from lionrock.kernel.money import Rate, Rounding
from lionrock.kernel.xhkg import add_business_days, hk_date, hk_ns
from lionrock.listing import commands as lc
from lionrock.listing import events as le
from lionrock.offering import commands as oc
from lionrock.offering import events as oe
from lionrock.rules.clearing import trade_charges
from lionrock.rules.trading import AUCTION_LIMITS, PRICE_CHECKS, SPREAD_TABLE
from lionrock.sim import population
from lionrock.sim.scenario import ListingPlan, Scenario, parse_fraction, resolve
from lionrock.trading import commands as tc
from lionrock.trading import events as te
from lionrock.trading._grid import Grid

Gen = Iterator[int]
HSCI_CONSTITUENTS = 500
TRADER_CASH_MINOR = 300_000_000 * 100
MARKET_MAKER_CASH_MINOR = 20_000_000_000 * 100
SOUTHBOUND_CASH_CNY_MINOR = 50_000_000 * 100
SOUTHBOUND_BUY_SHARE = 0.3
MM_ASK_LOTS = 5 + 10 + 15  # the market maker's three ask levels
APPLICATION_BATCH = 20_000
RMB_INVESTOR_CASH_CNY_MINOR = 50_000_000 * 100
DUAL_AGENT_CASH_MINOR = 5_000_000_000 * 100  # the dual-counter market maker and the arbitrageur, per currency
HKD_CHARGES_FLOAT_MINOR = 100_000 * 100
"""HKD kept by an RMB-counter seller for the charges, which clearing collects in HKD."""
PREFERENCE_TRANSFERS = 300
"""At most this many mainland allottees move part of their allotment to the RMB counter at listing."""
ARB_MAX_LOTS = 10
LOT_CHOICES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 50, 80, 100, 150, 200, 300, 500, 800, 1000, 2000, 3000, 5000])


@dataclass
class Stock:
    """What the agents know about one listed stock."""

    instrument: str
    name: str
    board_lot: int
    offer_price: int
    fair: float
    """The agents' shared view of value, in ticks (a belief, not a price)."""
    grid: Grid
    listed_on: date
    days_traded: int = 0
    bid: int = 0
    ask: int = 0
    last: int = 0
    prev_close: int = 0
    cas_low: int = 0
    cas_high: int = 0
    live: dict[int, tuple[str, str, str, int]] = field(default_factory=dict)
    """order id -> (account, participant, side, remaining) of the agents' resting orders."""
    mm_orders: list[int] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)
    holder_set: set[str] = field(default_factory=set)
    mm_lifted: bool = False
    """A market-maker quote was filled: it requotes before the next order (quoting obligation)."""
    lender: str = ""
    """Where the market maker borrows stock: the controlling shareholder's pre-IPO shares."""
    loan_block: int = 0
    currency: str = "HKD"
    counter: str = ""
    """The other counter of a dual-counter stock (the RMB counter of an HKD counter, and back)."""
    maker: population.Trader = population.MARKET_MAKER
    """Who quotes this counter: the market maker, or the dual-counter market maker on an RMB counter."""
    bid_qty: int = 0
    ask_qty: int = 0
    flow_share: float = 1.0
    """The counter's order flow as a share of the scale's orders per day."""
    vcm_band: tuple[int, int] = (0, 0)
    """The price band of a cooling-off period in progress (the venue rejects orders outside it)."""
    premium: float = 0.0
    premium_mean: float = 0.0
    """RMB counter: where its crowd values the stock against the HKD price at the day's rate (a belief)."""


class Driver:
    def __init__(self, scenario: Scenario, seed: int, scale: str, engine: Engine, projection: Any, progress: Any = None) -> None:
        self.scenario = scenario
        self.scale = scenario.scales[scale]
        self.seed = seed
        self.engine = engine
        self.progress = progress
        self.rng = random.Random(seed)
        self.now = 0
        self._heap: list[tuple[int, int, int, Gen]] = []
        self._order = itertools.count()
        self.stocks: dict[str, Stock] = {}
        self.holdings: dict[str, dict[str, int]] = {}
        self.reserved: dict[tuple[str, str], int] = {}
        self.outcomes: dict[str, list[Event]] = {}
        self.lapsed: set[str] = set()
        self.institutions = population.institutions(self.rng, self.scale.institutions)
        self.traders = population.traders(self.rng, self.scale.retail_traders)
        self.southbound = population.southbound_investors(self.rng, self.scale.southbound_investors)
        self.sb_links: dict[str, set[str]] = {}
        self.rmb_investors = population.rmb_investors(self.traders, self.institutions)
        self._fx_walk = parse_fraction(scenario.fx.cny_hkd)
        """The rate path the driver feeds clearing (input data); agents never read it."""
        self.cny_hkd = 0.0
        """The day's CNY/HKD rate as recorded with clearing (learned from `FxRatesRecorded`)."""
        self.settled: dict[tuple[str, str], int] = {}
        """(liquidity agent, security) -> shares the ledger holds (what an inter-counter transfer can move)."""
        self._funded: set[tuple[str, str]] = set()
        self._movers: set[str] = set()
        """Allottees who moved stock to an RMB counter: their HKD may all be held for a later IPO."""
        self._charges_due: dict[str, dict[str, int]] = {}
        """settlement day -> mover -> HKD charges of its RMB-counter sales due that day."""
        self.end_day: date | None = None
        self._task: Any = None
        self._coid = itertools.count(1)
        self._over_allocated: dict[str, int] = {}

    # -- plumbing ------------------------------------------------------------------------------
    def submit(self, command: Command) -> Outcome:
        out = self.engine.submit(command, self.now)
        for ev in out.events:
            learn = _LEARN.get(type(ev))
            if learn is not None:
                learn(self, ev)
        return out

    def spawn(self, gen: Gen, at_ns: int, priority: int = 1) -> None:
        heapq.heappush(self._heap, (at_ns, priority, next(self._order), gen))

    def run(self) -> None:
        first = min(p.filed for p in self.scenario.listings)
        last_fix = max(p.price_fixing for p in self.scenario.listings)
        self.end_day = add_business_days(add_business_days(last_fix, 2), self.scenario.trading_days - 1)
        for i, plan in enumerate(self.scenario.listings):
            self.spawn(self._listing(i, plan), hk_ns(plan.filed, time(8, 0)))
        self.spawn(self._calendar(first), hk_ns(first, time(7, 0)))
        total_days = max((self.end_day - first).days, 1)
        if self.progress is not None:
            self._task = self.progress.add_task("simulating", total=total_days)
        while self._heap:
            at, priority, _, gen = heapq.heappop(self._heap)
            self.now = at
            try:
                nxt = next(gen)
            except StopIteration:
                continue
            heapq.heappush(self._heap, (nxt, priority, next(self._order), gen))
        if self._task is not None:
            self.progress.update(self._task, completed=total_days)

    # -- the calendar: daily timers, the venue's day ---------------------------------------
    def _calendar(self, first: date) -> Gen:
        day = add_business_days(first, 0)
        assert self.end_day is not None
        while day <= self.end_day:
            self.submit(lc.ExpireListingApplications())
            if self._task is not None:
                self.progress.update(self._task, completed=(day - first).days)
            self._fx_walk *= math.exp(self.rng.gauss(0.0, parse_fraction(self.scenario.fx.cny_daily_move)))
            yield hk_ns(day, time(7, 5))
            self.submit(
                cc.RecordFxRates(
                    day=day,
                    rates=[
                        cc.FxQuote(base="CNY", quote="HKD", rate=Rate(round(self._fx_walk * 10_000), 10_000)),
                        cc.FxQuote(base="USD", quote="HKD", rate=Rate.parse(self.scenario.fx.usd_hkd)),
                    ],
                )
            )
            yield hk_ns(day, time(7, 10))
            self.submit(xc.ReviewSouthboundEligibility())
            if day == add_business_days(first, 0):  # the market exists before the first filing
                yield hk_ns(day, time(7, 20))
                self._market_setup()
            if self.stocks:
                yield hk_ns(day, time(8, 50))
                out = self.submit(tc.StartTradingDay(day=day.isoformat(), seed=self.rng.randrange(2**31)))
                timers = sorted({t[0] for ev in out.events if isinstance(ev, te.TradingDayStarted) for t in ev.timers})
                if timers:
                    self.spawn(self._ticks(timers), timers[0], priority=0)
                for stock in list(self.stocks.values()):
                    if stock.listed_on <= day:
                        self.spawn(self._order_flow(stock, day), hk_ns(day, time(9, 0, 1)))
                yield hk_ns(day, time(17, 30))
                self._pay_in_charges(day)
                self.submit(cc.RunSettlement(day=day))  # continuous net settlement of what is due (T+2)
            day = add_business_days(day, 1)
            yield hk_ns(day, time(7, 0))

    def _market_setup(self) -> None:
        """The market the IPOs join: the Hang Seng Composite constituents (for southbound scope
        and fast entry), funded trading accounts, registered southbound investors."""
        rng = random.Random(self.seed * 7919 + 1)
        caps = sorted((int(math.exp(rng.gauss(math.log(12e9), 1.3)) * 100) for _ in range(HSCI_CONSTITUENTS)), reverse=True)
        codes = [f"{n:05d}" for n in range(1, HSCI_CONSTITUENTS + 1)]
        large, mid = int(HSCI_CONSTITUENTS * 0.2), int(HSCI_CONSTITUENTS * 0.6)
        self.submit(xc.SetIndexConstituents(index="HSLI", instruments=codes[:large]))
        self.submit(xc.SetIndexConstituents(index="HSMI", instruments=codes[large:mid]))
        self.submit(xc.SetIndexConstituents(index="HSSI", instruments=codes[mid:]))
        self.submit(xc.SetMarketCaps(market_caps=list(zip(codes, caps, strict=True))))
        for trader in self.traders:
            self.submit(cc.DepositCash(account=trader.account, currency="HKD", amount=TRADER_CASH_MINOR))
        mm = population.MARKET_MAKER
        self.submit(cc.DepositCash(account=mm.account, currency="HKD", amount=MARKET_MAKER_CASH_MINOR))
        for investor in self.southbound:
            # mainland money arrives in RMB and is converted to HKD, the settlement currency
            self.submit(
                xc.RegisterSouthboundInvestor(account=investor.account, investor_type="INDIVIDUAL", assets_cny=SOUTHBOUND_CASH_CNY_MINOR)
            )
            self.submit(
                cc.DepositCash(account=investor.account, currency="CNY", amount=SOUTHBOUND_CASH_CNY_MINOR, source="X:MAINLAND_BANK")
            )
            self.submit(
                cc.ConvertCurrency(account=investor.account, sell_currency="CNY", buy_currency="HKD", sell_amount=SOUTHBOUND_CASH_CNY_MINOR)
            )

    def _ticks(self, timers: list[int]) -> Gen:
        for i, at in enumerate(timers):
            if i:
                yield at
            self.submit(tc.TradingTick())

    # -- an issuer: profile, application, CSRC, hearing, offering, listing --------------------
    def _listing(self, index: int, plan: ListingPlan) -> Gen:
        profile = load_profile(resolve(plan.profile))
        issuer = profile.issuer_id
        out = self.submit(lc.SubmitIssuerProfile(profile=profile))
        routes = [r for ev in out.events if isinstance(ev, le.IssuerProfileSubmitted) for r in ev.routes_open]
        if not routes:
            return
        route = _choose_route(routes, plan)
        if route.startswith("18"):
            self.submit(lc.EngageTechChannel(issuer_id=issuer))
        out = self.submit(lc.FileListingApplication(issuer_id=issuer, route=route))
        csrc = any(ev.csrc_required for ev in out.events if isinstance(ev, le.ListingApplicationFiled))
        T = plan.price_fixing
        day = add_business_days(plan.filed, 1)
        yield hk_ns(day, time(8, 0))
        if csrc:
            self.submit(lc.FileCsrc(issuer_id=issuer))
        hearing = add_business_days(T, -12)
        vetting = add_business_days(plan.filed, 15)
        csrc_done = add_business_days(plan.filed, 40) if csrc else None
        while vetting < hearing:
            yield hk_ns(vetting, time(8, 0))
            if issuer in self.lapsed:  # the application lapsed: file again (a new Form A1)
                self.lapsed.discard(issuer)
                self.submit(lc.FileListingApplication(issuer_id=issuer, route=route))
                vetting = add_business_days(vetting, 10)
                continue
            self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="vetting_round"))
            if csrc_done is not None and vetting >= csrc_done:
                self.submit(lc.CompleteCsrcFiling(issuer_id=issuer))
                csrc_done = None
            vetting = add_business_days(vetting, 20)
        yield hk_ns(hearing, time(8, 0))
        if csrc_done is not None:
            self.submit(lc.CompleteCsrcFiling(issuer_id=issuer))
        if not self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="pass_hearing")).accepted:
            return
        yield from self._offering(index, plan, profile, route)

    def _offering(self, index: int, plan: ListingPlan, profile: lc.IssuerProfile, route: str) -> Gen:
        issuer = profile.issuer_id
        T = plan.price_fixing
        launch = add_business_days(T, -5)
        yield hk_ns(launch, time(8, 0))
        spec = self._offering_spec(plan, profile, route, launch)
        self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="launch"))
        if not self.submit(oc.DefineOffering(offering=spec)).accepted:
            self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="withdraw"))
            return
        self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="open_book"))
        iois = self._iois(plan, spec)
        batches = self._applications(index, plan, spec)
        book_days = [add_business_days(launch, k) for k in range(5)]
        for k, day in enumerate(book_days):
            todays = iois[k :: len(book_days)]
            for j, ioi in enumerate(todays):
                yield hk_ns(day, time(10, 0)) + j * 7_000_000_000
                self.submit(oc.SubmitIoi(offering_id=spec.offering_id, ioi=ioi))
            if k >= 1:  # the public offer runs T-4 .. noon T-1
                for batch in batches[k - 1 :: 4]:
                    yield hk_ns(day, time(11, 30))
                    self.submit(oc.LodgePublicApplications(offering_id=spec.offering_id, batch=batch))
        yield hk_ns(add_business_days(T, -1), time(12, 0))
        self.submit(oc.ClosePublicOffer(offering_id=spec.offering_id))
        yield hk_ns(T, time(11, 0))
        fixed = self.submit(oc.FixOfferPrice(offering_id=spec.offering_id))
        if not fixed.accepted:
            self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="withdraw"))
            return
        price = next(ev.price for ev in fixed.events if isinstance(ev, oe.OfferPriceFixed))
        self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="fix_price"))
        yield hk_ns(add_business_days(T, 1), time(10, 0))
        self.submit(oc.AllocateOffering(offering_id=spec.offering_id, seed=self.seed * 1000 + index))
        self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="allot"))
        listing_day = add_business_days(T, 2)
        yield hk_ns(listing_day, time(7, 30))
        self.submit(oc.SettleOffering(offering_id=spec.offering_id))
        yield hk_ns(listing_day, time(8, 30))
        self.submit(
            tc.ListInstrument(
                instrument=plan.instrument,
                board_lot=spec.board_lot,
                nominal_price=price,
                currency="HKD",
                vcm_class=plan.vcm_class,
                name=profile.name.split(" ")[0],
            )
        )
        self.submit(lc.AdvanceListing(issuer_id=issuer, trigger="list"))
        self.submit(xc.SetConnectProfile(instrument=plan.instrument, currency="HKD", listing_date=listing_day))
        rmb_nominal = self._cny_price(price, listing_day) if plan.rmb_counter else 0
        if plan.rmb_counter:
            self.submit(cc.RegisterSecurity(security=plan.instrument, counters=[(plan.instrument, "HKD"), (plan.rmb_counter, "CNY")]))
            self.submit(
                tc.ListInstrument(
                    instrument=plan.rmb_counter,
                    board_lot=spec.board_lot,
                    counter_of=plan.instrument,
                    nominal_price=rmb_nominal,
                    currency="CNY",
                    vcm_class=plan.vcm_class,
                    name=profile.name.split(" ")[0] + "-R",
                )
            )
        grid = Grid(SPREAD_TABLE.in_force(listing_day))
        fair = price * math.exp(self.rng.gauss(plan.pop_fraction, 0.08))
        stock = Stock(
            plan.instrument,
            profile.name.split(" ")[0],
            spec.board_lot,
            price,
            fair,
            grid,
            listing_day,
            prev_close=price,
            lender=spec.lender_account,
            loan_block=spec.shares_offered // 50 // spec.board_lot * spec.board_lot,
        )
        stock.holders = sorted(a for a, h in self.holdings.items() if h.get(plan.instrument, 0) > 0)
        stock.holder_set = set(stock.holders)
        self.stocks[plan.instrument] = stock
        self._borrow(stock)
        if plan.rmb_counter:
            self._open_rmb_counter(stock, plan, rmb_nominal)
        yield hk_ns(listing_day, time(17, 0))
        # Hang Seng fast entry: the first day's market cap ranked against the HSCI constituents
        close = stock.prev_close or price
        self.submit(
            xc.EvaluateFastEntry(
                instrument=plan.instrument, listing_date=listing_day, market_cap=close * spec.shares_outstanding_after // 10
            )
        )
        stab_end = add_business_days(listing_day, 21)
        if self.end_day is not None and stab_end <= self.end_day:
            yield hk_ns(stab_end, time(17, 0))
            below = stock.last and stock.last < price
            over = self._over_allocated.get(spec.offering_id, 0)
            self.submit(
                oc.CloseStabilisation(
                    offering_id=spec.offering_id, shares_bought_back=over if below else 0, average_price=stock.last if below else 0
                )
            )

    def _cny_price(self, hkd_price: int, day: date) -> int:
        """The HKD price in CNY at the day's recorded rate, on the spread grid (rounded down)."""
        assert self.cny_hkd > 0, "Invariant: no CNY/HKD rate recorded before a dual counter listed"
        grid = Grid(SPREAD_TABLE.in_force(day))
        p = int(hkd_price / self.cny_hkd)
        return p if grid.is_valid(p) else grid.neighbours(p)[0]

    def _offering_spec(self, plan: ListingPlan, profile: lc.IssuerProfile, route: str, launch: date) -> oc.OfferingSpec:
        o = profile.offering
        mid = (o.price_range_low + o.price_range_high) // 2
        lot = o.board_lot
        shares = o.planned_offering_size * 10 // mid // lot * lot  # cents -> ticks: x10
        value_minor = shares * mid // 10
        corner_total = plan.rate("cornerstone_share").apply(value_minor, Rounding.DOWN)
        tier1 = [i for i in self.institutions if i.tier == 1] or self.institutions
        picks = self.rng.sample(tier1, k=min(3, len(tier1)))
        parts = [0.5, 0.3, 0.2][: len(picks)]
        cornerstones = [
            oc.CornerstoneSpec(
                investor=inst.investor,
                name=inst.name,
                account=inst.account,
                participant=inst.participant,
                origin=inst.origin,
                amount_minor=int(corner_total * w),
            )
            for inst, w in zip(picks, parts, strict=True)
            if corner_total
        ]
        chapter = "18C" if route.startswith("18c") else ("18A" if route.startswith("18a") else "main")
        return oc.OfferingSpec(
            offering_id=f"IPO-{plan.instrument}",
            issuer_id=profile.issuer_id,
            issuer_name=profile.name,
            instrument=plan.instrument,
            rmb_counter=plan.rmb_counter,
            chapter=chapter,
            pre_commercial=route == "18c_pre_commercial",
            shares_offered=shares,
            board_lot=lot,
            price_low=o.price_range_low,
            price_high=o.price_range_high,
            prospectus_date=launch,
            public_offer_open=add_business_days(launch, 1),
            price_fixing_date=plan.price_fixing,
            mechanism=plan.mechanism if chapter == "main" else "",
            public_share=plan.rate("public_share") if plan.public_share and chapter == "main" else None,
            offer_size_adjustment=plan.rate("offer_size_adjustment"),
            over_allotment=plan.rate("over_allotment"),
            cornerstones=cornerstones,
            shares_outstanding_after=o.shares_in_issue_after_listing,
        )

    def _iois(self, plan: ListingPlan, spec: oc.OfferingSpec) -> list[oc.Ioi]:
        heat = float(plan.rate("institutional_heat").numerator) / plan.rate("institutional_heat").denominator
        corner = {c.investor for c in spec.cornerstones}
        pool = [i for i in self.institutions if i.investor not in corner]
        chosen = [i for i in pool if self.rng.random() < 0.7] or pool[:1]
        total = heat * spec.shares_offered
        weight = sum(i.size for i in chosen)
        lot = spec.board_lot
        grid = Grid(SPREAD_TABLE.in_force(spec.price_fixing_date))
        mid = (spec.price_low + spec.price_high) / 2
        iois = []
        for n, inst in enumerate(chosen):
            ticket = int(total * inst.size / weight) // lot * lot
            if ticket < lot:
                continue
            view = mid * (1 + inst.valuation_bias + plan.pop_fraction / 2)
            limit = min(max(int(view), spec.price_low), spec.price_high)
            limit = grid.neighbours(limit)[0] if not grid.is_valid(limit) else limit
            firm = ticket * 2 // 5 // lot * lot
            steps = [oc.IoiStep(0, firm)] if firm else []
            steps.append(oc.IoiStep(max(limit, spec.price_low), ticket - firm))
            iois.append(
                oc.Ioi(
                    ioi_id=f"{spec.offering_id}-{n}",
                    investor=inst.investor,
                    account=inst.account,
                    participant=inst.participant,
                    investor_type=inst.investor_type,
                    origin=inst.origin,
                    tier=inst.tier,
                    steps=steps,
                )
            )
        return iois

    def _applications(self, index: int, plan: ListingPlan, spec: oc.OfferingSpec) -> list[oc.ApplicationBatch]:
        rng = np.random.Generator(np.random.PCG64([self.seed, index, 7]))
        heat = plan.rate("retail_heat").numerator / plan.rate("retail_heat").denominator
        n = max(int(self.scale.retail_applications * min(max(heat, 0.2), 4.0)), 10)
        mean_lots = max(1.5, 2.0 * heat)
        raw = rng.lognormal(mean=math.log(mean_lots), sigma=1.25, size=n)
        idx = np.searchsorted(LOT_CHOICES, raw, side="right") - 1
        lots = LOT_CHOICES[np.clip(idx, 0, len(LOT_CHOICES) - 1)]
        shares = (lots * spec.board_lot).astype(np.int64)
        people = rng.choice(n * 3, size=n, replace=False)
        twins = np.flatnonzero(rng.random(n) < 0.001)  # a few multiple applications (same identity as
        people[twins] = people[(twins + 1) % n]  # the next applicant), which the registrar must reject
        brokers = population.BROKERS
        applicants = [f"HKID{p:08d}" for p in people.tolist()]
        origins = ["hong_kong", "hong_kong", "hong_kong", "mainland"]
        accounts = [client_account(brokers[p % len(brokers)], f"{origins[p % 4]}.retail.{p}") for p in people.tolist()]
        participants = [brokers[p % len(brokers)] for p in people.tolist()]
        share_list = shares.tolist()
        return [
            oc.ApplicationBatch(
                applicants=applicants[s : s + APPLICATION_BATCH],
                accounts=accounts[s : s + APPLICATION_BATCH],
                participants=participants[s : s + APPLICATION_BATCH],
                shares=share_list[s : s + APPLICATION_BATCH],
            )
            for s in range(0, n, APPLICATION_BATCH)
        ]

    # -- one stock's order flow for one day ------------------------------------------------
    def _order_flow(self, stock: Stock, day: date) -> Gen:
        rng = self.rng
        first_day = stock.days_traded == 0
        stock.days_traded += 1
        stock.vcm_band = (0, 0)
        rmb = stock.currency != "HKD"
        if rmb:
            stock.premium += rng.gauss(0.0, 0.004)  # the day's news for the RMB counter's crowd
            self._follow_counter(stock)
        elif not first_day:
            stock.fair *= math.exp(rng.gauss(0.0, 0.03))
        n = max(int(self.scale.orders_per_day * stock.flow_share), 1)
        # pre-opening order input: at-auction limit orders around the agents' view
        for _ in range(max(n // 20, 4) * (3 if first_day else 1)):
            yield hk_ns(day, time(9, 0, 1)) + rng.randrange(14 * 60 * 10**9)
            self._auction_order(stock, spread=0.04)
        times = sorted(
            rng.randrange(150 * 60 * 10**9) if rng.random() < 0.45 else 150 * 60 * 10**9 + rng.randrange(180 * 60 * 10**9) for _ in range(n)
        )
        base_am, base_pm = hk_ns(day, time(9, 30, 0, 1)), hk_ns(day, time(13, 0, 0, 1))
        for i, t in enumerate(times):
            yield (base_am + t) if t < 150 * 60 * 10**9 else (base_pm + t - 150 * 60 * 10**9)
            if rmb:
                self._follow_counter(stock)
            else:
                stock.fair *= math.exp(rng.gauss(0.0, 0.0015))
            if i % 40 == 0 or stock.mm_lifted:
                self._requote(stock)
            else:
                self._continuous_order(stock)
            if rmb:
                self._arbitrage(stock)
        # closing auction order input (16:01-16:06) inside the reference band
        for _ in range(max(n // 30, 3)):
            yield hk_ns(day, time(16, 1, 1)) + rng.randrange(4 * 60 * 10**9)
            self._auction_order(stock, spread=0.02, closing=True)
        if rmb:  # after the close, the arbitrageur evens out its stock between the two counters
            yield hk_ns(day, time(16, 30))
            self._rebalance(stock)

    def _auction_order(self, stock: Stock, spread: float, closing: bool = False) -> None:
        rng = self.rng
        side = tc.BUY if rng.random() < 0.5 else tc.SELL
        price = stock.fair * (1 + rng.uniform(-spread, spread))
        if closing and stock.cas_low:  # closing auction: inside the reference price band
            low, high = stock.cas_low, stock.cas_high
        else:  # pre-opening: inside the rulebook's limit around the previous close, one spread in
            limit = AUCTION_LIMITS.in_force(stock.listed_on).pos_limit
            low = stock.grid.step(stock.prev_close - limit.apply(stock.prev_close, Rounding.DOWN), 1)
            high = stock.grid.step(stock.prev_close + limit.apply(stock.prev_close, Rounding.DOWN), -1)
        p = self._on_grid(stock, min(max(price, low), high), side)
        if p > high:
            p = self._on_grid(stock, high, tc.BUY)
        if p < low:
            p = self._on_grid(stock, low, tc.SELL)
        self._place(stock, side, p, tc.AT_AUCTION_LIMIT, rng.randint(1, 8))

    def _continuous_order(self, stock: Stock) -> None:
        rng = self.rng
        r = rng.random()
        mid = (stock.bid + stock.ask) / 2 if stock.bid and stock.ask else stock.fair
        buy_bias = 0.5 + max(min((stock.fair - mid) / max(mid, 1) * 8, 0.3), -0.3)
        side = tc.BUY if rng.random() < buy_bias else tc.SELL
        if r < 0.2 and stock.live:
            order_id = rng.choice(list(stock.live))
            _, participant, _, _ = stock.live[order_id]
            self.submit(tc.CancelOrder(instrument=stock.instrument, participant=participant, order_id=order_id))
            return
        touch_other = stock.ask if side == tc.BUY else stock.bid
        if r < 0.55 and touch_other:  # take liquidity: at the touch, or through a few queues
            if rng.random() < 0.7:
                self._place(stock, side, touch_other, tc.LIMIT, rng.randint(1, 6))
            else:
                limit = stock.grid.step(touch_other, 2 if side == tc.BUY else -2)
                self._place(stock, side, limit, tc.ENHANCED_LIMIT, rng.randint(2, 12))
            return
        touch = stock.bid if side == tc.BUY else stock.ask
        anchor = touch or self._near_nominal(stock, side)
        price = stock.grid.step(anchor, -rng.randint(0, 4) if side == tc.BUY else rng.randint(0, 4))
        if side == tc.BUY and stock.ask and price >= stock.ask:
            price = stock.grid.step(stock.ask, -1)
        if side == tc.SELL and stock.bid and price <= stock.bid:
            price = stock.grid.step(stock.bid, 1)
        self._place(stock, side, price, tc.LIMIT, rng.randint(1, 10))

    def _near_nominal(self, stock: Stock, side: str, centre: float = 0.0) -> int:
        """A passive price toward ``centre`` (the agents' view unless given), but a few spreads
        inside the venue's limit around the best price on that side, or the nominal price (the
        rulebook's price checks)."""
        nominal = (stock.bid if side == tc.BUY else stock.ask) or stock.last or stock.prev_close
        target = self._on_grid(stock, (centre or stock.fair) * (0.997 if side == tc.BUY else 1.003), side)
        reach = PRICE_CHECKS.in_force(stock.listed_on).passive_max_spreads - 4
        lo, hi = stock.grid.step(nominal, -reach), stock.grid.step(nominal, reach)
        return min(max(target, lo), hi)

    def _borrow(self, stock: Stock, agent: population.Trader | None = None) -> None:
        """A liquidity agent (the counter's market maker unless given) borrows a block of stock
        from the lender, so it can always quote asks. Stock lent on an RMB counter is delivered on
        the HKD counter and moved across by an inter-counter transfer."""
        agent = agent or stock.maker
        home = self.stocks[stock.counter] if stock.currency != "HKD" else stock
        self.submit(cc.CreditSecurities(account=agent.account, instrument=home.instrument, source=stock.lender, quantity=stock.loan_block))
        held = self.holdings.setdefault(agent.account, {})
        held[home.instrument] = held.get(home.instrument, 0) + stock.loan_block
        if home is not stock:
            self._transfer(agent.account, home, stock, stock.loan_block)

    def _requote(self, stock: Stock) -> None:
        """The market maker replaces its quotes: its resting quotes cancelled, then three levels a side.

        Each is submitted on its own. Sent as two batches (`Engine.submit_batch`: the cancels, then
        the quotes priced from the touch the cancels leave, a quote kept out of the batch if it
        could trade or if a sell's stock check could depend on an earlier sell's outcome), the run
        is the same (tried for issue 18: the same state hash at the tiny, small and default scales,
        the same journal at the small one; 57,572 batches carried 332,105 of the default demo's
        599,969 commands) but slower: 74.6 s against 61.4 s for the default demo, same machine,
        same minute. A batch of five or six commands pays fixed costs it cannot spread: building
        its numpy columns from the commands, and rebuilding every command's events from the tape
        for the subscribers, together about 40 us a command in a profile of the small scale.
        Tried again after the batch path kept its commands and read its tape as lists (7 Dec,
        later): still slower, small scale 6.6 s CPU against 5.4 s (median of 3, back to back,
        same journal and events). The batch's saving is the event objects it need not build,
        and here the projection and the agents read every event of every command; what is left
        is the columns and the tape, which cost more than the per-command engine work they
        replace. The rest of the order flow cannot be batched at all: each order reads the touch,
        the live orders and the holdings the previous one left, and draws from the one seeded
        stream in that order."""
        mm = stock.maker
        for order_id in stock.mm_orders:
            if order_id in stock.live:
                self.submit(tc.CancelOrder(instrument=stock.instrument, participant=mm.participant, order_id=order_id))
        stock.mm_orders = []
        stock.mm_lifted = False
        if self._available(mm.account, stock.instrument) < MM_ASK_LOTS * stock.board_lot:
            self._borrow(stock)
        # the dual-counter market maker quotes the RMB counter around the HKD counter's price at
        # the day's rate; the market maker quotes around the agents' view
        centre = self._parity(stock) if stock.currency != "HKD" else 0.0
        bid = self._near_nominal(stock, tc.BUY, centre)
        if stock.ask:  # never through the best ask (the bid is clamped before the ask is set from it)
            bid = min(bid, stock.grid.step(stock.ask, -1))
        ask = max(self._near_nominal(stock, tc.SELL, centre), stock.grid.step(bid, 1))
        if stock.bid:
            ask = max(ask, stock.grid.step(stock.bid, 1))
        for level in range(3):
            for side, price in ((tc.BUY, stock.grid.step(bid, -level)), (tc.SELL, stock.grid.step(ask, level))):
                order_id = self._place(stock, side, price, tc.LIMIT, 5 + level * 5, trader=mm)  # 5, 10, 15 lots
                if order_id:
                    stock.mm_orders.append(order_id)

    def _place(self, stock: Stock, side: str, price: int, order_type: str, lots: int, trader: population.Trader | None = None) -> int:
        low, high = stock.vcm_band
        if high and not low <= price <= high:  # a cooling-off period: agents stay inside its band
            return 0
        qty = lots * stock.board_lot
        if trader is None:
            if side == tc.SELL:
                seller = self._seller(stock)
                if seller is None:
                    return 0
                account, participant, available = seller
                qty = min(qty, available // stock.board_lot * stock.board_lot)
            else:  # the RMB counter's buyers are the investors who prefer it
                t = self.rng.choice(self.traders if stock.currency == "HKD" or not self.rmb_investors else self.rmb_investors)
                account, participant = t.account, t.participant
        else:
            account, participant = trader.account, trader.participant
            if side == tc.SELL and self._available(account, stock.instrument) < qty:
                return 0
        # Southbound Stock Connect trading of RMB counters was envisaged but its status is not
        # confirmed (docs/rules.md section 7, dual counters): southbound money buys HKD counters only.
        links = self.sb_links.get(stock.instrument) if stock.currency == "HKD" else None
        if side == tc.BUY and trader is None and links and self.southbound and self.rng.random() < SOUTHBOUND_BUY_SHARE:
            investor = self.rng.choice(self.southbound)
            account, participant = investor.account, investor.participant
        if side == tc.SELL:
            self.reserved[(account, stock.instrument)] = self.reserved.get((account, stock.instrument), 0) + qty
        order = tc.PlaceOrder(
            instrument=stock.instrument,
            participant=participant,
            account=account,
            client_order_id=f"{next(self._coid)}",
            side=side,
            order_type=order_type,
            price=price,
            quantity=qty,
        )
        if participant.startswith("SB"):  # mainland investors reach the venue through Stock Connect
            out = self.submit(xc.PlaceSouthboundOrder(link=participant[2:], order=order))
        else:
            out = self.submit(order)
        for ev in out.events:
            if isinstance(ev, te.OrderAccepted):
                return ev.order_id
        if side == tc.SELL:
            self.reserved[(account, stock.instrument)] -= qty
        return 0

    def _seller(self, stock: Stock) -> tuple[str, str, int] | None:
        """A holder with at least one board lot not already offered; sells at most what it has."""
        if not stock.holders:
            return None
        for _ in range(8):
            account = self.rng.choice(stock.holders)
            available = self._available(account, stock.instrument)
            if available >= stock.board_lot:
                return account, participant_of(account), available
        return None

    def _available(self, account: str, instrument: str) -> int:
        return self.holdings.get(account, {}).get(instrument, 0) - self.reserved.get((account, instrument), 0)

    def _on_grid(self, stock: Stock, price: float, side: str) -> int:
        p = int(price)
        p = min(max(p, stock.grid.min_price), stock.grid.max_price)
        if stock.grid.is_valid(p):
            return p
        below, above = stock.grid.neighbours(p)
        return below if side == tc.BUY else above

    # -- dual counters: the RMB counter, its market maker, the arbitrageur -----------------------
    def _open_rmb_counter(self, hkd: Stock, plan: ListingPlan, nominal: int) -> None:
        """The RMB counter opens beside the HKD counter (same share class, same board lot). Its
        crowd values the stock at the HKD view converted at the day's rate, shaded by the
        scenario's premium; the investors who prefer it get offshore RMB; some mainland allottees
        move part of their allotment across; the dual-counter market maker and the arbitrageur
        take stock onto it by inter-counter transfer."""
        premium = parse_fraction(plan.rmb_premium)
        rmb = Stock(
            plan.rmb_counter,
            hkd.name + "-R",
            hkd.board_lot,
            nominal,
            hkd.fair / self.cny_hkd * (1 + premium),
            hkd.grid,
            hkd.listed_on,
            prev_close=nominal,
            lender=hkd.lender,
            loan_block=hkd.loan_block,
            currency="CNY",
            counter=hkd.instrument,
            maker=population.DUAL_COUNTER_MARKET_MAKER,
            flow_share=parse_fraction(plan.rmb_flow),
            premium=premium,
            premium_mean=premium,
        )
        hkd.counter = rmb.instrument
        self.stocks[rmb.instrument] = rmb
        for investor in self.rmb_investors:
            self._fund(investor.account, "CNY", RMB_INVESTOR_CASH_CNY_MINOR)
            self._fund(investor.account, "HKD", HKD_CHARGES_FLOAT_MINOR)
        for agent in (population.DUAL_COUNTER_MARKET_MAKER, population.ARBITRAGEUR):
            self._fund(agent.account, "HKD", DUAL_AGENT_CASH_MINOR)
            self._fund(agent.account, "CNY", DUAL_AGENT_CASH_MINOR)
        lot = hkd.board_lot
        movers = [a for a in hkd.holders if client_part(a).startswith("mainland.") and self._available(a, hkd.instrument) >= lot]
        movers = [a for a in movers if self.rng.random() < 0.5][:PREFERENCE_TRANSFERS]
        for account in movers:
            self._movers.add(account)
            self._transfer(account, hkd, rmb, max(self._available(account, hkd.instrument) // 2 // lot * lot, lot))
        self._borrow(rmb)
        self._borrow(hkd, population.ARBITRAGEUR)
        self._transfer(population.ARBITRAGEUR.account, hkd, rmb, hkd.loan_block // 2)

    def _fund(self, account: str, currency: str, amount: int) -> None:
        """Cash an agent brings once: HKD from its bank, CNY as offshore RMB (CNH) from its bank."""
        if (account, currency) in self._funded:
            return
        self._funded.add((account, currency))
        self.submit(
            cc.DepositCash(account=account, currency=currency, amount=amount, source="X:BANK" if currency == "HKD" else "X:CNH_BANK")
        )

    def _pay_in_charges(self, day: date) -> None:
        """Clearing collects an RMB-counter trade's charges in HKD. An allottee who sold on the RMB
        counter may hold no HKD (all of it can be held for another IPO application), so before the
        settlement run its broker pays in the HKD charges of the sales due that day."""
        for account, amount in sorted(self._charges_due.pop(day.isoformat(), {}).items()):
            self.submit(cc.DepositCash(account=account, currency="HKD", amount=amount))

    def _transfer(self, account: str, source: Stock, target: Stock, quantity: int) -> int:
        """Move whole board lots between the counters of one stock (`TransferBetweenCounters`); a
        liquidity agent moves no more than the ledger holds (clearing checks the security's balance,
        which trades reach only when they settle)."""
        qty = min(quantity, self._available(account, source.instrument)) // source.board_lot * source.board_lot
        if account in population.AGENT_ACCOUNTS:
            security = source.instrument if source.currency == "HKD" else source.counter
            qty = min(qty, self.settled.get((account, security), 0) // source.board_lot * source.board_lot)
        if qty <= 0:
            return 0
        out = self.submit(
            cc.TransferBetweenCounters(account=account, from_instrument=source.instrument, to_instrument=target.instrument, quantity=qty)
        )
        if not out.accepted:
            return 0
        held = self.holdings.setdefault(account, {})
        held[source.instrument] -= qty
        held[target.instrument] = held.get(target.instrument, 0) + qty
        if account not in target.holder_set and account not in population.AGENT_ACCOUNTS:
            target.holders.append(account)
            target.holder_set.add(account)
        return qty

    def _parity(self, rmb: Stock) -> float:
        """The HKD counter's price (mid, else last, else previous close) at the day's rate, in CNY ticks."""
        hkd = self.stocks[rmb.counter]
        price = (hkd.bid + hkd.ask) / 2 if hkd.bid and hkd.ask else (hkd.last or hkd.prev_close)
        return price / self.cny_hkd

    def _follow_counter(self, rmb: Stock) -> None:
        """The RMB crowd's view: the HKD view at the day's rate, times a premium that wanders
        around the scenario's mean (agent beliefs, not prices)."""
        rmb.premium += 0.02 * (rmb.premium_mean - rmb.premium) + self.rng.gauss(0.0, 0.0006)
        rmb.fair = self.stocks[rmb.counter].fair / self.cny_hkd * (1 + rmb.premium)

    def _arbitrage(self, rmb: Stock) -> None:
        """Buy on the cheaper counter and sell on the dearer one when the gap at the touches, at the
        day's rate, beats both legs' charges (the rulebook's stamp duty, fees and levies); stock is
        moved to the dearer counter first by an inter-counter transfer when the inventory there is short."""
        hkd = self.stocks[rmb.counter]
        if not (hkd.bid and hkd.ask and rmb.bid and rmb.ask):
            return
        arb = population.ARBITRAGEUR
        lot, rate, day = rmb.board_lot, self.cny_hkd, hk_date(self.now)
        for cheap, dear in ((rmb, hkd), (hkd, rmb)):
            qty = min(cheap.ask_qty, dear.bid_qty, ARB_MAX_LOTS * lot) // lot * lot
            if qty <= 0:
                continue
            bought = cheap.ask * qty / 10 * (rate if cheap is rmb else 1.0)  # HKD minor units
            sold = dear.bid * qty / 10 * (rate if dear is rmb else 1.0)
            costs = sum(c.amount_minor for c in (*trade_charges(int(bought), day), *trade_charges(int(sold), day)))
            if sold - bought <= costs:
                continue
            short = qty - self._available(arb.account, dear.instrument)
            if short > 0:
                self._transfer(arb.account, cheap, dear, (short + lot - 1) // lot * lot)
                qty = min(qty, self._available(arb.account, dear.instrument) // lot * lot)
                if qty <= 0:
                    return
            filled = self._take(cheap, tc.BUY, cheap.ask, qty, arb)
            if filled:
                self._take(dear, tc.SELL, dear.bid, filled, arb)
            return

    def _rebalance(self, rmb: Stock) -> None:
        arb = population.ARBITRAGEUR.account
        hkd = self.stocks[rmb.counter]
        gap = (self._available(arb, hkd.instrument) - self._available(arb, rmb.instrument)) // 2
        if gap >= 5 * rmb.board_lot:
            self._transfer(arb, hkd, rmb, gap)
        elif -gap >= 5 * rmb.board_lot:
            self._transfer(arb, rmb, hkd, -gap)

    def _take(self, stock: Stock, side: str, price: int, quantity: int, agent: population.Trader) -> int:
        """A special limit order (fill what it can up to ``price``, cancel the rest): the filled quantity."""
        out = self.submit(
            tc.PlaceOrder(
                instrument=stock.instrument,
                participant=agent.participant,
                account=agent.account,
                client_order_id=f"{next(self._coid)}",
                side=side,
                order_type=tc.SPECIAL_LIMIT,
                price=price,
                quantity=quantity,
            )
        )
        mine = "buyer" if side == tc.BUY else "seller"
        return sum(ev.quantity for ev in out.events if isinstance(ev, te.TradeExecuted) and getattr(ev, mine) == agent.account)

    # -- learning from events ------------------------------------------------------------------
    def _learn_settlement(self, ev: oe.IpoSettlementInstructed) -> None:
        for account, shares, _ in ev.allotments:
            h = self.holdings.setdefault(account, {})
            h[ev.instrument] = h.get(ev.instrument, 0) + shares

    def _learn_allocated(self, ev: oe.OfferingAllocated) -> None:
        self._over_allocated[ev.offering_id] = ev.summary.over_allocated_shares

    def _learn_trade(self, ev: te.TradeExecuted) -> None:
        stock = self.stocks.get(ev.instrument)
        for account, sign in ((ev.buyer, 1), (ev.seller, -1)):
            h = self.holdings.setdefault(account, {})
            h[ev.instrument] = h.get(ev.instrument, 0) + sign * ev.quantity
        key = (ev.seller, ev.instrument)
        if key in self.reserved:
            self.reserved[key] = max(self.reserved[key] - ev.quantity, 0)
        if stock is not None:
            stock.last = ev.price
            if ev.buyer not in stock.holder_set and ev.buyer not in population.AGENT_ACCOUNTS:
                stock.holders.append(ev.buyer)
                stock.holder_set.add(ev.buyer)
            if (ev.buyer == stock.maker.account or ev.seller == stock.maker.account) and ev.aggressor != "A":
                stock.mm_lifted = True
            for order_id, remaining in ((ev.buy_order_id, ev.buy_remaining), (ev.sell_order_id, ev.sell_remaining)):
                if order_id in stock.live:
                    if remaining:
                        a, p, s, _ = stock.live[order_id]
                        stock.live[order_id] = (a, p, s, remaining)
                    else:
                        del stock.live[order_id]

    def _learn_accepted(self, ev: te.OrderAccepted) -> None:
        stock = self.stocks.get(ev.instrument)
        if stock is not None and ev.order_type in (tc.LIMIT, tc.ENHANCED_LIMIT, tc.AT_AUCTION_LIMIT):
            stock.live[ev.order_id] = (ev.account, ev.participant, ev.side, ev.quantity)

    def _learn_cancelled(self, ev: te.OrderCancelled) -> None:
        stock = self.stocks.get(ev.instrument)
        if stock is None:
            return
        entry = stock.live.pop(ev.order_id, None)
        if entry is not None and entry[2] == tc.SELL:
            key = (entry[0], ev.instrument)
            if key in self.reserved:
                self.reserved[key] = max(self.reserved[key] - ev.remaining, 0)

    def _learn_depth(self, ev: te.MarketDepthUpdated) -> None:
        stock = self.stocks.get(ev.instrument)
        if stock is not None:
            stock.bid, stock.ask = ev.bid_price, ev.ask_price
            stock.bid_qty, stock.ask_qty = ev.bid_quantity, ev.ask_quantity

    def _learn_close(self, ev: te.ClosingPriceSet) -> None:
        stock = self.stocks.get(ev.instrument)
        if stock is not None:
            stock.prev_close = ev.price
            stock.cas_low = stock.cas_high = 0

    def _learn_cas(self, ev: te.ClosingAuctionReferenceSet) -> None:
        stock = self.stocks.get(ev.instrument)
        if stock is not None:
            stock.cas_low, stock.cas_high = ev.lower_price, ev.upper_price

    def _learn_vcm(self, ev: te.VolatilityCoolingOffStarted) -> None:
        """A cooling-off period started: its end is a venue timer, sent as a `TradingTick` when due."""
        self.spawn(self._ticks([ev.ends_at_ns]), ev.ends_at_ns, priority=0)
        stock = self.stocks.get(ev.instrument)
        if stock is not None:
            stock.vcm_band = (ev.lower_price, ev.upper_price)

    def _learn_vcm_end(self, ev: te.VolatilityCoolingOffEnded) -> None:
        stock = self.stocks.get(ev.instrument)
        if stock is not None:
            stock.vcm_band = (0, 0)

    def _learn_fx(self, ev: ce.FxRatesRecorded) -> None:
        for base, quote, rate in ev.rates:
            if (base, quote) == ("CNY", "HKD"):
                self.cny_hkd = rate.numerator / rate.denominator

    def _learn_cleared(self, ev: ce.TradeCleared) -> None:
        if ev.seller in self._movers and ev.currency != "HKD":
            due = self._charges_due.setdefault(ev.settle_date.isoformat(), {})
            due[ev.seller] = due.get(ev.seller, 0) + sum(amount for _, amount in ev.seller_charges)

    def _learn_credited(self, ev: ce.SecuritiesCredited) -> None:
        if ev.account in population.AGENT_ACCOUNTS:
            key = (ev.account, ev.security)
            self.settled[key] = self.settled.get(key, 0) + ev.quantity

    def _learn_settled(self, ev: ce.SettlementRunCompleted) -> None:
        agents = population.AGENT_ACCOUNTS
        for p in ev.postings:
            if p.asset.startswith("SEC:") and (p.source in agents or p.destination in agents):
                for account, sign in ((p.source, -1), (p.destination, 1)):
                    if account in agents:
                        key = (account, p.asset[4:])
                        self.settled[key] = self.settled.get(key, 0) + sign * p.amount

    def _learn_lapsed(self, ev: le.ListingApplicationLapsed) -> None:
        self.lapsed.add(ev.issuer_id)

    def _learn_eligibility(self, ev: xe.SouthboundEligibilityChanged) -> None:
        links = self.sb_links.setdefault(ev.instrument, set())
        if ev.status == "ELIGIBLE":
            links.add(ev.link)
        else:
            links.discard(ev.link)


_LEARN: dict[type, Any] = {
    oe.IpoSettlementInstructed: Driver._learn_settlement,
    oe.OfferingAllocated: Driver._learn_allocated,
    te.TradeExecuted: Driver._learn_trade,
    te.OrderAccepted: Driver._learn_accepted,
    te.OrderCancelled: Driver._learn_cancelled,
    te.MarketDepthUpdated: Driver._learn_depth,
    te.ClosingAuctionReferenceSet: Driver._learn_cas,
    te.ClosingPriceSet: Driver._learn_close,
    le.ListingApplicationLapsed: Driver._learn_lapsed,
    xe.SouthboundEligibilityChanged: Driver._learn_eligibility,
    te.VolatilityCoolingOffStarted: Driver._learn_vcm,
    te.VolatilityCoolingOffEnded: Driver._learn_vcm_end,
    ce.FxRatesRecorded: Driver._learn_fx,
    ce.SecuritiesCredited: Driver._learn_credited,
    ce.TradeCleared: Driver._learn_cleared,
    ce.SettlementRunCompleted: Driver._learn_settled,
}


def _choose_route(routes: list[str], plan: ListingPlan) -> str:
    main = [r for r in routes if r.startswith("main_board")]
    if plan.mechanism and main:
        return main[0]
    specialist = [r for r in routes if r.startswith("18c")]
    return (specialist or main or routes)[0]


__all__ = ["Driver"]
