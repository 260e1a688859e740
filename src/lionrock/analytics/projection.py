"""`RunProjection`: the read model of a run, folded from the engine's published events.

It sees only what any subscriber sees (stamp, command, events), so a replay of the journal
rebuilds exactly the same report (``lionrock replay JOURNAL --report FILE``). Investor origin is
read from the account naming convention of the simulator (``C:<participant>:<origin>.<kind>.<n>``)
and from the origins the offering events carry.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lionrock.analytics.model import (
    BandRow,
    Bar,
    DualCounter,
    InstrumentTape,
    IssuerRow,
    OfferingRow,
    RunData,
)
from lionrock.clearing import events as ce
from lionrock.connect import events as xe
from lionrock.kernel.account import Account, AccountKind
from lionrock.kernel.messages import Command, CommandRejected, Event, Stamp
from lionrock.kernel.xhkg import HkDay, hk_date, hk_time
from lionrock.listing import commands as lc
from lionrock.listing import events as le
from lionrock.offering import events as oe
from lionrock.trading import events as te

MAX_FIRST_DAY_POINTS = 1500
MAX_PRICE_TICKS = 9_995_000  # the top of the HKEX spread table (HK$9,995)


def account_kind(account: str) -> str:
    """``C:BRK:mainland.retail.12`` → ``retail``; other accounts → their origin or type."""
    labels = _client_labels(account)
    return labels[1] if len(labels) >= 3 else account_origin(account)


def account_origin(account: str) -> str:
    """``C:BRK:mainland.southbound.12`` → ``mainland``; other accounts → their kind."""
    labels = _client_labels(account)
    if len(labels) >= 2:
        return labels[0]
    parsed = Account.parse(account)
    return "other" if parsed is None else _KIND_ORIGINS.get(parsed.kind, "other")


_KIND_ORIGINS = {
    AccountKind.ISSUER: "issuer",
    AccountKind.PARTICIPANT: "participant",
    AccountKind.COLLECTOR: "fees",
    AccountKind.CLEARING_HOUSE: "clearing house",
    AccountKind.EXTERNAL: "external",
}
"""The origin a report gives an account that is not a simulated client's."""


def _client_labels(account: str) -> list[str]:
    """The simulator's client name split at its dots (``origin.kind.n``); [] for any other account."""
    parsed = Account.parse(account)
    return parsed.client.split(".") if parsed is not None and parsed.kind is AccountKind.CLIENT else []


def pre_money_minor(shares_in_issue: int, offer_shares: int, price_ticks: int) -> int:
    """The IPO's pre-money valuation in HKD cents: the offer price times the shares in issue
    before the new ones (price ticks are 0.001 HKD, so ticks x shares // 10 is cents). The
    post-IPO market cap includes the new money, so comparing it with a private round's
    post-money valuation overstates the re-pricing of an existing share."""
    return (shares_in_issue - offer_shares) * price_ticks // 10


class RunProjection:
    def __init__(self, scenario: str = "", title: str = "", seed: int = 0, scale: str = "") -> None:
        self.data = RunData(scenario=scenario, title=title, seed=seed, scale=scale)
        self.trades = 0
        self._investor_origin: dict[str, str] = {}
        self._offering_by_instrument: dict[str, str] = {}
        self._first_day: dict[str, str] = {}
        self._turnover: dict[tuple[str, str], int] = defaultdict(int)
        self._levels: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        """instrument -> (bid levels, ask levels): price -> quantity, first trading day only."""
        self._profiles: dict[str, lc.IssuerProfile] = {}
        self._quota: dict[tuple[str, str], int] = {}
        """(day, link) -> lowest quota balance seen that day (RMB minor units)."""
        self._day = HkDay()
        self._origins: dict[str, str] = {}
        """account -> `account_origin` (a trade names two accounts; most trade again)."""

    @classmethod
    def from_journal_meta(cls, journal: Any) -> RunProjection:
        return cls(
            scenario=journal.get_meta("scenario") or "",
            title=journal.get_meta("title") or "",
            seed=int(journal.get_meta("seed") or 0),
            scale=journal.get_meta("scale") or "",
        )

    # -- the subscriber ----------------------------------------------------------------------
    def on_events(self, stamp: Stamp, command: Command, events: list[Event]) -> None:
        d = self.data
        d.commands += 1
        d.events += len(events)
        if isinstance(command, lc.SubmitIssuerProfile):
            self._profiles[command.profile.issuer_id] = command.profile
        for ev in events:
            handler = _HANDLERS.get(type(ev))
            if handler is not None:
                handler(self, stamp, ev)

    def finish(self, state_hash: str) -> RunData:
        from datetime import date

        from lionrock.rules.connect import SOUTHBOUND_DAILY_QUOTA

        d = self.data
        d.state_hash = state_hash
        d.southbound = []
        for (day, link), balance in sorted(self._quota.items()):
            quota = SOUTHBOUND_DAILY_QUOTA.in_force(date.fromisoformat(day)).daily_quota_cny_minor
            d.southbound.append((day, link, quota - balance, quota))
        for instrument, tape in d.tapes.items():
            for bar in tape.bars:
                bar.turnover_minor = self._turnover.get((instrument, bar.day), 0)
        return d

    # -- handlers ----------------------------------------------------------------------------
    def _rejected(self, stamp: Stamp, ev: Event) -> None:
        self.data.rejections += 1

    def _profile(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, le.IssuerProfileSubmitted)
        from lionrock.listing.eligibility import assess

        profile = self._profiles[ev.issuer_id]
        assessment = assess(profile, ev.assessed_on)
        opened = [r for r in assessment.routes if r.open]
        if opened:  # why it qualifies: the first route open, with the figures of its tests
            route = opened[0]
            reasons = [f"open: {r.title}" for r in opened]
            specific = [t for t in route.tests if not t.startswith(("mb.min_", "mb.management", "mb.ownership", "mb.trading"))]
            for test_id in specific[:5]:  # the route's own tests (profit, revenue, R&D ...), not the common ones
                t = assessment.test(test_id)
                reasons.append(f"{t.name}: {t.actual} (threshold {t.threshold}; {t.rule})")
        else:  # why not: for each route, the first thing that would have to change
            reasons = [f"{r.title}: {r.changes_needed[0]}" for r in assessment.routes if r.changes_needed]
        rounds = sorted(profile.funding_rounds, key=lambda r: r.on)
        last = rounds[-1] if rounds else None
        self.data.issuers[ev.issuer_id] = IssuerRow(
            issuer_id=ev.issuer_id,
            name=ev.name,
            sub_sector=ev.sub_sector,
            routes_open=list(ev.routes_open),
            reasons=reasons,
            eligible=bool(ev.routes_open),
            last_round_name=f"{last.name} ({last.on:%b %Y})" if last else "",
            last_round_post_money_minor=last.post_money_valuation_hkd if last else 0,
            assessed_on=ev.assessed_on.isoformat(),
        )

    def _filed(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, le.ListingApplicationFiled)
        row = self.data.issuers.get(ev.issuer_id)
        if row:
            row.filed_on = ev.filed_on.isoformat()
            row.stage = "filed"
            row.milestones.append(("application_filed", row.filed_on))

    def _advanced(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, le.ListingAdvanced)
        row = self.data.issuers.get(ev.issuer_id)
        if row:
            row.stage = ev.to_state
            if not row.milestones or row.milestones[-1][0] != ev.to_state:  # vetting rounds repeat the state
                row.milestones.append((ev.to_state, ev.on.isoformat()))

    def _lapsed(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, le.ListingApplicationLapsed)
        row = self.data.issuers.get(ev.issuer_id)
        if row:
            row.stage = "lapsed"

    def _listed(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, le.IssuerListed)
        row = self.data.issuers.get(ev.issuer_id)
        if row:
            row.listed_on = ev.listed_on.isoformat()
            row.stage = "listed"
            if not row.milestones or row.milestones[-1][0] != "listed":
                row.milestones.append(("listed", row.listed_on))

    def _offering_defined(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, oe.OfferingDefined)
        issuer = self.data.issuers.get(ev.issuer_id)
        self.data.offerings[ev.offering_id] = OfferingRow(
            offering_id=ev.offering_id,
            issuer_id=ev.issuer_id,
            name=issuer.name if issuer else ev.issuer_id,
            instrument=ev.instrument,
            sub_sector=issuer.sub_sector if issuer else "",
            regime=ev.regime,
            currency=ev.currency,
            board_lot=ev.board_lot,
            price_low=ev.price_low,
            price_high=ev.price_high,
            shares_offered=ev.shares_offered,
            price_fixed_on=ev.timetable.price_fixing.isoformat(),
            public_offer_open=ev.timetable.public_offer_open.isoformat(),
        )
        self._offering_by_instrument[ev.instrument] = ev.offering_id

    def _ioi(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, oe.IoiReceived)
        self._investor_origin[ev.investor] = ev.origin

    def _price_fixed(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, oe.OfferPriceFixed)
        row = self.data.offerings[ev.offering_id]
        row.offer_price = ev.price
        row.institutional_coverage = ev.coverage_bp / 10_000
        row.price_reason = "; ".join(ev.reasons)

    def _allocated(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, oe.OfferingAllocated)
        s = ev.summary
        row = self.data.offerings[ev.offering_id]
        row.shares_allotted = s.offer_shares + s.over_allocated_shares
        row.gross_proceeds_minor = s.gross_proceeds_minor
        row.public_multiple = s.subscription_multiple_bp / 10_000
        row.public_initial_pct = s.initial_public_shares / s.offer_shares * 100 if s.offer_shares else 0.0
        row.public_final_pct = s.final_public_shares / s.offer_shares * 100 if s.offer_shares else 0.0
        row.clawback = s.clawback_reason
        row.regime = s.regime
        row.applications = s.valid_applications
        row.seed = s.seed
        row.cornerstone_shares = s.cornerstone_shares
        row.offer_shares = s.offer_shares
        row.lockups = [(c.lockup_end.isoformat(), c.name, c.shares) for c in ev.cornerstones]
        issuer = self._profiles.get(row.issuer_id)
        if issuer is not None and issuer.offering.shares_in_issue_after_listing:
            # shares in issue as planned, plus any offer size adjustment exercised at pricing
            row.shares_in_issue = issuer.offering.shares_in_issue_after_listing + s.upsize_shares
            row.market_cap_minor = row.shares_in_issue * s.price // 10
            row.pre_money_minor = pre_money_minor(row.shares_in_issue, s.offer_shares, s.price)
        row.bands = [
            BandRow(
                pool=b.pool,
                band=f"{b.shares_applied:,}",
                applications=b.applications,
                basis=b.basis,
                allotted_pct=f"{b.allotted_bp / 100:.2f}%",
            )
            for b in s.bands
        ]
        one_lot = [b for b in s.bands if b.pool == "A" and b.applications and b.shares_applied == row.board_lot]
        if one_lot:  # the one-lot band: the success rate everyone quotes
            band = one_lot[0]
            won = band.applications if band.guaranteed_lots else band.ballot_winners
            row.one_lot_success_pct = won / band.applications * 100
        by_origin: dict[str, int] = defaultdict(int)
        for c in ev.cornerstones:
            by_origin[self._investor_origin.get(c.investor, account_origin(c.account))] += c.shares
        for p in ev.placees:
            by_origin[self._investor_origin.get(p.investor, account_origin(p.account))] += p.shares
        by_origin["retail (public offer)"] += s.final_public_shares
        row.allocation_by_origin = dict(by_origin)

    def _settled(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, oe.OfferingSettled)
        row = self.data.offerings[ev.offering_id]
        row.listed_on = ev.listing_date.isoformat()

    def _instrument_listed(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, te.InstrumentListed)
        oid = self._offering_by_instrument.get(ev.instrument)
        shares = self.data.offerings[oid].shares_in_issue if oid is not None else 0
        self.data.tapes[ev.instrument] = InstrumentTape(ev.instrument, ev.name or ev.instrument, ev.currency, shares)
        if ev.counter_of:
            self.data.dual_counters[ev.instrument] = DualCounter(hkd_counter=ev.counter_of, rmb_counter=ev.instrument)

    def _trade(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, te.TradeExecuted)
        self.trades += 1
        value = ev.price * ev.quantity // 10
        day = self._day.iso(stamp.at_ns)
        self._turnover[(ev.instrument, day)] += value
        first = self._first_day.setdefault(ev.instrument, day)
        tape = self.data.tapes.get(ev.instrument)
        if tape is not None and first == day and len(tape.first_day_prices) < MAX_FIRST_DAY_POINTS:
            t = hk_time(stamp.at_ns)
            tape.first_day_prices.append(((t.hour - 9) * 3600 + t.minute * 60 + t.second, ev.price))
        if ev.currency != "HKD":  # flows are compared in HKD, at the day's recorded rate
            rate = self.data.cny_hkd.get(day) if ev.currency == "CNY" else None
            value = value * rate[0] // rate[1] if rate else 0
        flows = self.data.flows_by_origin.setdefault(ev.instrument, {})
        origins = self._origins
        buyer = origins.get(ev.buyer)
        if buyer is None:
            buyer = origins[ev.buyer] = account_origin(ev.buyer)
        seller = origins.get(ev.seller)
        if seller is None:
            seller = origins[ev.seller] = account_origin(ev.seller)
        if buyer != seller:
            flows[buyer] = flows.get(buyer, 0) + value
            flows[seller] = flows.get(seller, 0) - value

    def _depth(self, stamp: Stamp, ev: Event) -> None:
        """Keep the price levels of stocks in their first day (the updates are incremental:
        changed levels only, quantity 0 for a level that emptied)."""
        assert isinstance(ev, te.MarketDepthUpdated)
        tape = self.data.tapes.get(ev.instrument)
        if tape is None or tape.bars:
            return
        bids, asks = self._levels.setdefault(ev.instrument, ({}, {}))
        for side, rows in ((bids, ev.bids), (asks, ev.asks)):
            for price, qty, _orders in rows:
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)

    def _set_depth(self, tape: InstrumentTape) -> None:
        bids, asks = self._levels.get(tape.instrument, ({}, {}))
        prices = sorted(set(bids) | set(asks))
        tape.close_depth = [(p, bids.get(p, 0), asks.get(p, 0)) for p in prices if 0 < p <= MAX_PRICE_TICKS]

    def _continuous_closed(self, stamp: Stamp, ev: Event) -> None:
        """16:00 on the first day: keep the book as continuous trading left it (at the day's end
        the venue expires every order, so a later snapshot would be empty)."""
        assert isinstance(ev, te.ClosingAuctionReferenceSet)
        tape = self.data.tapes.get(ev.instrument)
        if tape is not None and not tape.bars:
            self._set_depth(tape)

    def _close(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, te.ClosingPriceSet)
        tape = self.data.tapes.get(ev.instrument)
        if tape is None:
            return
        tape.bars.append(
            Bar(ev.day, ev.open_price or ev.price, ev.high_price or ev.price, ev.low_price or ev.price, ev.price, ev.volume, 0)
        )

    def _quota_seen(self, stamp: Stamp, ev: Event) -> None:
        """Track the lowest southbound quota balance of each day and link (= the most used)."""
        assert isinstance(ev, xe.SouthboundOrderAdmitted | xe.SouthboundQuotaReturned)
        balance = ev.quota_balance if isinstance(ev, xe.SouthboundOrderAdmitted) else ev.balance
        key = (self._day.iso(stamp.at_ns), ev.link)
        self._quota[key] = min(self._quota.get(key, balance), balance)

    def _settlement_failed(self, stamp: Stamp, ev: Event) -> None:
        self.data.settlement_failures += 1

    def _cleared(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, ce.TradeCleared)
        if ev.currency == "CNY" and ev.instrument in self.data.dual_counters:
            dual = self.data.dual_counters[ev.instrument]
            dual.cleared_cny_trades += 1
            dual.cleared_cny_minor += ev.consideration
        fees = self.data.fees_collected_minor
        for collector, amount in (*ev.buyer_charges, *ev.seller_charges):
            fees[collector] = fees.get(collector, 0) + amount

    def _fx(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, ce.FxRatesRecorded)
        for base, quote, rate in ev.rates:
            if (base, quote) == ("CNY", "HKD"):
                self.data.cny_hkd[ev.day.isoformat()] = (rate.numerator, rate.denominator)

    def _counters_transferred(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, ce.CountersTransferred)
        duals = self.data.dual_counters
        dual = duals.get(ev.from_instrument) or duals.get(ev.to_instrument)
        if dual is None:
            return
        direction = "HKD->CNY" if ev.from_instrument == dual.hkd_counter else "CNY->HKD"
        dual.transfers.append((hk_date(stamp.at_ns).isoformat(), account_kind(ev.account), direction, ev.quantity))

    def _vcm(self, stamp: Stamp, ev: Event) -> None:
        assert isinstance(ev, te.VolatilityCoolingOffStarted)
        tape = self.data.tapes.get(ev.instrument)
        if tape is not None:
            tape.vcm_triggers += 1


_HANDLERS: dict[type, Any] = {
    CommandRejected: RunProjection._rejected,
    le.IssuerProfileSubmitted: RunProjection._profile,
    le.ListingApplicationFiled: RunProjection._filed,
    le.ListingAdvanced: RunProjection._advanced,
    le.ListingApplicationLapsed: RunProjection._lapsed,
    le.IssuerListed: RunProjection._listed,
    oe.OfferingDefined: RunProjection._offering_defined,
    oe.IoiReceived: RunProjection._ioi,
    oe.OfferPriceFixed: RunProjection._price_fixed,
    oe.OfferingAllocated: RunProjection._allocated,
    oe.OfferingSettled: RunProjection._settled,
    te.InstrumentListed: RunProjection._instrument_listed,
    te.TradeExecuted: RunProjection._trade,
    te.MarketDepthUpdated: RunProjection._depth,
    te.ClosingPriceSet: RunProjection._close,
    te.ClosingAuctionReferenceSet: RunProjection._continuous_closed,
    te.VolatilityCoolingOffStarted: RunProjection._vcm,
    xe.SouthboundOrderAdmitted: RunProjection._quota_seen,
    xe.SouthboundQuotaReturned: RunProjection._quota_seen,
    ce.SettlementFailed: RunProjection._settlement_failed,
    ce.TradeCleared: RunProjection._cleared,
    ce.FxRatesRecorded: RunProjection._fx,
    ce.CountersTransferred: RunProjection._counters_transferred,
}

__all__ = ["RunProjection", "account_kind", "account_origin", "pre_money_minor"]
