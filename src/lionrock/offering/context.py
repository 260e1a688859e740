"""`OfferingContext`: IPOs driven through the engine, from definition to stabilisation.

Stages (the table is `lionrock.offering.lifecycle`; a command outside its row is rejected with ``WRONG_STAGE``)::

    DefineOffering        -> bookbuilding
    SubmitIoi / WithdrawIoi            bookbuilding, closed
    LodgePublicApplications            bookbuilding
    LodgePreferentialApplications      bookbuilding   (an offering with a preferential offering)
    ClosePublicOffer      bookbuilding -> closed      (IpoApplicationsFunded; from 12:00 on the close day, T-1)
    FixOfferPrice         closed       -> priced      (on the price determination date T, by 12:00)
    AllocateOffering      priced       -> allocated   (seeded ballot; same code as the CLI)
    SettleOffering        allocated    -> settled     (on or after the listing date, T+2)

The dates are the FINI timetable's (`ResolvedOffering.timetable`): a step before its date is
refused with ``TOO_EARLY`` citing it, a price after noon on T with ``PRICING_DEADLINE_PASSED``.
Each public application's share count is judged when it is lodged, by the rules the file reader
and the allocation use (`books.application_share_faults`: positive, whole board lots, at most
half the initial public tranche): a batch with a bad application is refused whole, every bad one
listed with its index and reason, so a client fixes and resends it without lodging anything
twice. Multiple applications stay the allocation's check (they need the whole book).
    CloseStabilisation    settled      -> stabilised

The heavy books are rebuilt from the journaled commands (IOIs and application batches) and cached;
the allocation is recomputed from (price, upsize, seed) after a restore, so a snapshot holds only
the messages. Everything is deterministic: no clock, no I/O, randomness only from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, assert_never, cast

import msgspec

from lionrock.kernel.errors import IllegalTransition, Reject, fail, require
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.xhkg import hk_date, hk_ns
from lionrock.offering._codes import OfferingCode
from lionrock.offering.allocation import AllocationResult, PreferentialApplications, allocate
from lionrock.offering.books import (
    ApplicationBook,
    IoiBook,
    application_book_from_batches,
    application_share_faults,
    check_batch,
    ioi_book_from_iois,
)
from lionrock.offering.commands import (
    OFFERING_COMMANDS,
    AllocateOffering,
    ApplicationBatch,
    ClosePublicOffer,
    CloseStabilisation,
    DefineOffering,
    FixOfferPrice,
    Ioi,
    LodgePreferentialApplications,
    LodgePublicApplications,
    OfferingCommand,
    OfferingSpec,
    PreferentialBatch,
    SettleOffering,
    SubmitIoi,
    WithdrawIoi,
)
from lionrock.offering.definition import ORIGINS, ResolvedOffering, validate_offering
from lionrock.offering.events import (
    IoiReceived,
    IoiWithdrawn,
    IpoApplicationsFunded,
    OfferingAllocated,
    OfferingDefined,
    OfferingSettled,
    OfferingStabilisationClosed,
    OfferPriceFixed,
    PlaceeAllotment,
    PreferentialApplicationsLodged,
    PublicApplicationsLodged,
    PublicOfferClosed,
)
from lionrock.offering.lifecycle import (
    ALLOCATED_STAGES,
    INITIAL_STAGE,
    Stage,
    Trigger,
    next_stage,
    stages_allowing,
)
from lionrock.offering.pricing import PricingDecision, set_price
from lionrock.offering.settlement import (
    exercise_instruction,
    holds_by_account,
    settlement_instructions,
)
from lionrock.rules import offering as rules

MAX_OFFERINGS = 10_000
MAX_IOIS_PER_OFFERING = 100_000
MAX_APPLICATIONS_PER_OFFERING = 5_000_000
MAX_STEPS_PER_IOI = 50
MAX_FAULTS_LISTED = 20
"""Bad applications named one by one in a batch's rejection; the rest are counted."""
APPLICATION_RULE = (
    "PN18 para 3.1 (at most half the initial public tranche per application); the prospectus's table of "
    "share numbers that may be applied for (whole board lots)"
)


@dataclass
class _Offering:
    spec: OfferingSpec
    resolved: ResolvedOffering
    stage: Stage = INITIAL_STAGE
    iois: dict[str, Ioi] = field(default_factory=dict)
    batches: list[ApplicationBatch] = field(default_factory=list)
    preferential_batches: list[PreferentialBatch] = field(default_factory=list)
    applications: int = 0
    applied_shares: int = 0
    price: int = 0
    upsize: int = 0
    seed: int = -1
    bought_back: int = -1
    _ioi_book: IoiBook | None = None
    _app_book: ApplicationBook | None = None
    _allocation: AllocationResult | None = None
    _pricing: PricingDecision | None = None

    def ioi_book(self) -> IoiBook:
        if self._ioi_book is None:
            self._ioi_book = ioi_book_from_iois(list(self.iois.values()))
        return self._ioi_book

    def app_book(self) -> ApplicationBook:
        if self._app_book is None:
            self._app_book = application_book_from_batches(self.batches)
        return self._app_book

    def preferential(self) -> PreferentialApplications | None:
        """The preferential applications lodged (None: none, the reserved shares go back to the international offering)."""
        return PreferentialApplications.from_batches(self.preferential_batches) if self.preferential_batches else None

    def pricing(self) -> PricingDecision:
        if self._pricing is None:
            self._pricing = set_price(self.resolved, self.ioi_book(), self.price, self.upsize)
        return self._pricing

    def allocation(self) -> AllocationResult:
        if self._allocation is None:
            self._allocation = allocate(self.resolved, self.pricing(), self.ioi_book(), self.app_book(), self.seed, self.preferential())
        return self._allocation

    def state(self) -> dict[str, Any]:
        out = {
            "spec": msgspec.to_builtins(self.spec),
            "stage": self.stage.value,
            "iois": [msgspec.to_builtins(i) for i in self.iois.values()],
            "batches": [msgspec.to_builtins(b) for b in self.batches],
            "price": self.price,
            "upsize": self.upsize,
            "seed": self.seed,
            "bought_back": self.bought_back,
        }
        if self.preferential_batches:  # only when there are some: offerings without keep the state (and hash) they had
            out["preferential_batches"] = [msgspec.to_builtins(b) for b in self.preferential_batches]
        return out


class OfferingContext:
    """The offering bounded context (see the module docstring for the stage table)."""

    name: ClassVar[str] = "offering"
    command_types: ClassVar[tuple[type[Command], ...]] = OFFERING_COMMANDS
    observed_event_types: ClassVar[tuple[type[Event], ...]] = ()

    def __init__(self) -> None:
        self.offerings: dict[str, _Offering] = {}

    # -- helpers ---------------------------------------------------------------------------------
    def _get(self, offering_id: str, trigger: Trigger) -> _Offering:
        """The offering, if ``trigger`` is legal in its stage (`lifecycle.TRANSITIONS`); else reject."""
        o = self.offerings.get(offering_id)
        if o is None:
            fail(OfferingCode.UNKNOWN_OFFERING, "offering_id", f"no offering {offering_id!r}")
        try:
            next_stage(o.stage, trigger)
        except IllegalTransition:
            fail(OfferingCode.WRONG_STAGE, "offering_id", f"{offering_id} is {o.stage}; this needs {' or '.join(stages_allowing(trigger))}")
        return o

    def offering(self, offering_id: str) -> ResolvedOffering:
        """The resolved definition (read-only; for projections and the simulator)."""
        return self.offerings[offering_id].resolved

    def allocation(self, offering_id: str) -> AllocationResult:
        """The allocation arrays of an allocated offering (read-only; for reports)."""
        return self.offerings[offering_id].allocation()

    def preferential(self, offering_id: str) -> PreferentialApplications | None:
        """The preferential applications lodged (read-only; None when there are none)."""
        return self.offerings[offering_id].preferential()

    def books(self, offering_id: str) -> tuple[IoiBook, ApplicationBook]:
        o = self.offerings[offering_id]
        return o.ioi_book(), o.app_book()

    # -- commands --------------------------------------------------------------------------------
    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        command = cast(OfferingCommand, command)  # the engine routes only `command_types` here
        match command:
            case DefineOffering():
                return self._define(command)
            case SubmitIoi():
                return self._submit_ioi(command)
            case WithdrawIoi():
                return self._withdraw_ioi(command)
            case LodgePublicApplications():
                return self._lodge(command)
            case LodgePreferentialApplications():
                return self._lodge_preferential(command)
            case ClosePublicOffer():
                return self._close(command, stamp)
            case FixOfferPrice():
                return self._price(command, stamp)
            case AllocateOffering():
                return self._allocate(command)
            case SettleOffering():
                return self._settle(command, stamp)
            case CloseStabilisation():
                return self._stabilisation(command)
            case _:
                assert_never(command)

    def _define(self, c: DefineOffering) -> list[Event]:
        spec = c.offering
        require(
            spec.offering_id not in self.offerings, OfferingCode.DUPLICATE_OFFERING, "offering.id", f"{spec.offering_id!r} already defined"
        )
        require(len(self.offerings) < MAX_OFFERINGS, OfferingCode.LIMIT_EXCEEDED, "offering.id", f"at most {MAX_OFFERINGS} offerings")
        ro = validate_offering(spec)
        self.offerings[spec.offering_id] = _Offering(spec, ro)
        return [
            OfferingDefined(
                offering_id=spec.offering_id,
                issuer_id=spec.issuer_id,
                instrument=spec.instrument,
                currency=spec.currency,
                shares_offered=spec.shares_offered,
                board_lot=spec.board_lot,
                price_low=spec.price_low,
                price_high=spec.price_high,
                price_floor=ro.price_floor,
                regime=ro.regime,
                regime_rule=ro.regime_rule,
                initial_public_shares=ro.initial_public_shares,
                timetable=ro.timetable,
            )
        ]

    def _submit_ioi(self, c: SubmitIoi) -> list[Event]:
        o = self._get(c.offering_id, Trigger.SUBMIT_IOI)
        ioi = c.ioi
        require(ioi.ioi_id not in o.iois, OfferingCode.DUPLICATE_IOI, "ioi.ioi_id", f"{ioi.ioi_id!r} already received")
        require(len(o.iois) < MAX_IOIS_PER_OFFERING, OfferingCode.LIMIT_EXCEEDED, "ioi", f"at most {MAX_IOIS_PER_OFFERING} IOIs")
        require(ioi.investor and ioi.account, OfferingCode.INVALID_IOI, "ioi.investor", "investor and account must not be empty")
        require(ioi.origin in ORIGINS, OfferingCode.INVALID_IOI, "ioi.origin", f"expected one of {ORIGINS}, got {ioi.origin!r}")
        tiers = len(o.spec.placing.tier_weights)
        require(
            1 <= ioi.tier <= tiers,
            OfferingCode.INVALID_IOI,
            "ioi.tier",
            f"expected a whole number 1 to {tiers} (the placing's tier_weights), got {ioi.tier}",
        )
        require(0 < len(ioi.steps) <= MAX_STEPS_PER_IOI, OfferingCode.INVALID_IOI, "ioi.steps", f"expected 1..{MAX_STEPS_PER_IOI} steps")
        for i, s in enumerate(ioi.steps):
            require(
                s.shares > 0 and s.limit_price >= 0,
                OfferingCode.INVALID_IOI,
                f"ioi.steps[{i}]",
                "expected shares > 0 and a limit price >= 0 (0: any price)",
            )
        cornerstone_ids = {cs.investor for cs in o.spec.cornerstones}
        require(
            ioi.investor not in cornerstone_ids,
            OfferingCode.INVALID_IOI,
            "ioi.investor",
            f"{ioi.investor!r} is a cornerstone investor (fixed amount, not in the bookbuilding)",
        )
        o.iois[ioi.ioi_id] = ioi
        o._ioi_book = None
        book = o.ioi_book()
        return [
            IoiReceived(
                offering_id=c.offering_id,
                ioi_id=ioi.ioi_id,
                investor=ioi.investor,
                investor_type=ioi.investor_type,
                origin=ioi.origin,
                tier=ioi.tier,
                steps=[(s.limit_price, s.shares) for s in ioi.steps],
                book_investors=book.investors,
                book_demand_at_top=int(book.demand_at(o.spec.price_high).sum()),
            )
        ]

    def _withdraw_ioi(self, c: WithdrawIoi) -> list[Event]:
        o = self._get(c.offering_id, Trigger.WITHDRAW_IOI)
        ioi = o.iois.get(c.ioi_id)
        if ioi is None:
            fail(OfferingCode.UNKNOWN_IOI, "ioi_id", f"no IOI {c.ioi_id!r} in {c.offering_id}")
        del o.iois[c.ioi_id]
        o._ioi_book = None
        return [IoiWithdrawn(offering_id=c.offering_id, ioi_id=c.ioi_id, investor=ioi.investor)]

    def _lodge(self, c: LodgePublicApplications) -> list[Event]:
        o = self._get(c.offering_id, Trigger.LODGE_PUBLIC_APPLICATIONS)
        problem = check_batch(c.batch)
        require(not problem, OfferingCode.INVALID_APPLICATIONS, "batch", problem)
        _refuse_share_faults(o.resolved, c.batch.shares)
        n = len(c.batch.shares)
        require(
            o.applications + n <= MAX_APPLICATIONS_PER_OFFERING,
            OfferingCode.LIMIT_EXCEEDED,
            "batch",
            f"at most {MAX_APPLICATIONS_PER_OFFERING:,} applications per offering",
        )
        shares = sum(max(s, 0) for s in c.batch.shares)
        o.batches.append(c.batch)
        o.applications += n
        o.applied_shares += shares
        o._app_book = None
        return [
            PublicApplicationsLodged(
                offering_id=c.offering_id, count=n, shares=shares, total_count=o.applications, total_shares=o.applied_shares
            )
        ]

    def _lodge_preferential(self, c: LodgePreferentialApplications) -> list[Event]:
        o = self._get(c.offering_id, Trigger.LODGE_PREFERENTIAL_APPLICATIONS)
        tranches = o.spec.preferential_list
        require(bool(tranches), OfferingCode.INVALID_APPLICATIONS, "offering_id", f"{c.offering_id} has no preferential offering")
        b = c.batch
        k = b.tranche if isinstance(b.tranche, int) else 0
        require(
            0 <= k < len(tranches),
            OfferingCode.INVALID_APPLICATIONS,
            "batch.tranche",
            f"the offering has {len(tranches)} preferential tranche(s), numbered from 0, got {k}",
        )
        p = tranches[k]
        n = len(b.shares)
        require(
            len(b.applicants) == len(b.accounts) == len(b.participants) == len(b.entitlements) == n and n > 0,
            OfferingCode.INVALID_APPLICATIONS,
            "batch",
            "expected equal, non-empty columns: applicants, accounts, participants, shares, entitlements",
        )
        bad = [
            f"applications[{i}]: {s} shares, entitlement {e}"
            for i, (s, e) in enumerate(zip(b.shares, b.entitlements, strict=True))
            if s <= 0 or e < 0
        ]
        require(
            not bad,
            OfferingCode.INVALID_APPLICATIONS,
            "batch.shares",
            f"expected positive shares and an entitlement of 0 or more: {'; '.join(bad[:MAX_FAULTS_LISTED])}"
            + (f"; and {len(bad) - MAX_FAULTS_LISTED:,} more" if len(bad) > MAX_FAULTS_LISTED else ""),
            p.reference,
        )
        lodged = sum(len(x.shares) for x in o.preferential_batches)
        require(
            lodged + n <= MAX_APPLICATIONS_PER_OFFERING,
            OfferingCode.LIMIT_EXCEEDED,
            "batch",
            f"at most {MAX_APPLICATIONS_PER_OFFERING:,} preferential applications per offering",
        )
        o.preferential_batches.append(b)
        return [
            PreferentialApplicationsLodged(
                offering_id=c.offering_id,
                count=n,
                shares=sum(b.shares),
                total_count=lodged + n,
                total_shares=sum(sum(x.shares) for x in o.preferential_batches),
            )
        ]

    def _close(self, c: ClosePublicOffer, stamp: Stamp) -> list[Event]:
        o = self._get(c.offering_id, Trigger.CLOSE_PUBLIC_OFFER)
        fini = rules.FINI.in_force(o.spec.prospectus_date)
        close_day = o.resolved.timetable.public_offer_close
        require(
            stamp.at_ns >= hk_ns(close_day, fini.public_offer_close_time),
            OfferingCode.TOO_EARLY,
            "offering_id",
            f"the application lists close at {fini.public_offer_close_time:%H:%M} on {close_day} "
            f"(T-{fini.public_offer_close_days_before_pricing} for pricing on {o.spec.price_fixing_date})",
            f"{fini.rule} timetable",
        )
        book = o.app_book()
        holds = holds_by_account(o.resolved, book)
        o.stage = next_stage(o.stage, Trigger.CLOSE_PUBLIC_OFFER)
        return [
            PublicOfferClosed(offering_id=c.offering_id, applications=len(book), shares_applied=o.applied_shares, book_digest=book.digest),
            IpoApplicationsFunded(offering_id=c.offering_id, currency=o.spec.currency, holds=holds),
        ]

    def _price(self, c: FixOfferPrice, stamp: Stamp) -> list[Event]:
        o = self._get(c.offering_id, Trigger.FIX_PRICE)
        require(
            hk_date(stamp.at_ns) >= o.spec.price_fixing_date,
            OfferingCode.TOO_EARLY,
            "offering_id",
            f"the offer price is determined on the price determination date {o.spec.price_fixing_date}",
            "prospectus expected timetable (price determination date T)",
        )
        cutoff = o.resolved.pricing_rules.price_deadline
        deadline = hk_ns(o.spec.price_fixing_date, cutoff)
        require(
            stamp.at_ns <= deadline,
            OfferingCode.PRICING_DEADLINE_PASSED,
            "offering_id",
            f"the offer price must be agreed by {cutoff:%H:%M} on {o.spec.price_fixing_date}; the offering lapses",
            "prospectus: the global offering lapses if the price is not agreed by noon on the price determination date",
        )
        decision = set_price(o.resolved, o.ioi_book(), c.price, c.upsize_shares)
        o.price, o.upsize, o._pricing = decision.price, decision.upsize_shares, decision
        o.stage = next_stage(o.stage, Trigger.FIX_PRICE)
        return [
            OfferPriceFixed(
                offering_id=c.offering_id,
                price=decision.price,
                upsize_shares=decision.upsize_shares,
                offer_shares=o.spec.shares_offered + decision.upsize_shares,
                policy=decision.policy,
                reasons=list(decision.reasons),
                coverage_bp=decision.coverage_bp,
                demand_curve=decision.curve_for_event(),
            )
        ]

    def _allocate(self, c: AllocateOffering) -> list[Event]:
        o = self._get(c.offering_id, Trigger.ALLOCATE)
        require(c.seed >= 0, OfferingCode.INVALID_FIELD, "seed", f"expected a non-negative integer, got {c.seed}")
        book = o.app_book()
        require(
            not c.applications_digest or c.applications_digest == book.digest,
            OfferingCode.BOOK_DIGEST_MISMATCH,
            "applications_digest",
            f"the lodged application book has digest {book.digest}, not {c.applications_digest}",
        )
        o.seed = c.seed
        o._allocation = None
        result = o.allocation()
        o.stage = next_stage(o.stage, Trigger.ALLOCATE)
        iois = o.ioi_book()
        placees = [
            PlaceeAllotment(iois.investor[i], iois.account[i], int(result.placee_shares[i]))
            for i in range(iois.investors)
            if result.placee_shares[i]
        ]
        return [OfferingAllocated(offering_id=c.offering_id, summary=result.summary, cornerstones=result.cornerstones, placees=placees)]

    def _settle(self, c: SettleOffering, stamp: Stamp) -> list[Event]:
        o = self._get(c.offering_id, Trigger.SETTLE)
        listing = o.resolved.timetable.listing
        require(
            hk_date(stamp.at_ns) >= listing,
            OfferingCode.TOO_EARLY,
            "offering_id",
            f"settlement is on the listing date {listing} (T+2 from price fixing)",
            "FINI timetable",
        )
        result = o.allocation()
        instructions = settlement_instructions(o.resolved, o.ioi_book(), o.app_book(), result, o.preferential())
        o.stage = next_stage(o.stage, Trigger.SETTLE)
        refunds = sum(r for ins in instructions for _, r in ins.refunds)
        return [
            *instructions,
            OfferingSettled(
                offering_id=c.offering_id,
                listing_date=listing,
                shares_issued=result.summary.offer_shares,
                gross_proceeds_minor=result.summary.gross_proceeds_minor,
                refunds_minor=refunds,
            ),
        ]

    def _stabilisation(self, c: CloseStabilisation) -> list[Event]:
        o = self._get(c.offering_id, Trigger.CLOSE_STABILISATION)
        over = o.allocation().summary.over_allocated_shares
        require(
            0 <= c.shares_bought_back <= over and c.shares_bought_back % o.spec.board_lot == 0,
            OfferingCode.INVALID_STABILISATION,
            "shares_bought_back",
            f"expected 0..{over:,} shares in whole board lots, got {c.shares_bought_back:,}",
        )
        require(c.average_price >= 0, OfferingCode.INVALID_STABILISATION, "average_price", "must not be negative")
        exercised = over - c.shares_bought_back
        o.bought_back = c.shares_bought_back
        o.stage = next_stage(o.stage, Trigger.CLOSE_STABILISATION)
        events: list[Event] = []
        if exercised:
            events.append(exercise_instruction(o.resolved, o.price, exercised))
        events.append(
            OfferingStabilisationClosed(
                offering_id=c.offering_id,
                over_allocated_shares=over,
                shares_bought_back=c.shares_bought_back,
                over_allotment_exercised=exercised,
                average_price=c.average_price,
            )
        )
        return events

    # -- engine port -----------------------------------------------------------------------------
    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        return []

    def snapshot(self) -> Any:
        return {k: o.state() for k, o in sorted(self.offerings.items())}

    def restore(self, data: Any) -> None:
        self.offerings = {}
        for key, s in data.items():
            spec = msgspec.convert(s["spec"], OfferingSpec)
            o = _Offering(spec, validate_offering(spec), stage=Stage(s["stage"]))
            for i in s["iois"]:
                ioi = msgspec.convert(i, Ioi)
                o.iois[ioi.ioi_id] = ioi
            o.batches = [msgspec.convert(b, ApplicationBatch) for b in s["batches"]]
            o.preferential_batches = [msgspec.convert(b, PreferentialBatch) for b in s.get("preferential_batches", [])]
            o.applications = sum(len(b.shares) for b in o.batches)
            o.applied_shares = sum(max(x, 0) for b in o.batches for x in b.shares)
            o.price, o.upsize, o.seed, o.bought_back = int(s["price"]), int(s["upsize"]), int(s["seed"]), int(s["bought_back"])
            self.offerings[str(key)] = o

    def canonical_state(self) -> Any:
        out: dict[str, Any] = {}
        for key, o in sorted(self.offerings.items()):
            state = o.state()
            state.pop("batches")
            state["applications"] = o.applications
            state["application_book"] = o.app_book().digest if o.batches else ""
            state["allotment"] = o.allocation().summary.allotment_digest if o.stage in ALLOCATED_STAGES else ""
            out[key] = state
        return out


def _refuse_share_faults(ro: ResolvedOffering, shares: list[int]) -> None:
    """Refuse a batch with any application the rules refuse, naming each (index, reason)."""
    faults = application_share_faults(shares, ro.lot, ro.max_application_shares)
    if not faults:
        return
    listed = "; ".join(f"applications[{i}]: {reason}: {message}" for i, reason, message in faults[:MAX_FAULTS_LISTED])
    more = f"; and {len(faults) - MAX_FAULTS_LISTED:,} more" if len(faults) > MAX_FAULTS_LISTED else ""
    raise Reject(
        OfferingCode.INVALID_APPLICATIONS,
        f"batch.shares[{faults[0][0]}]",
        f"{len(faults):,} of {len(shares):,} applications refused, none lodged: {listed}{more}",
        APPLICATION_RULE,
    )


__all__ = ["OfferingContext"]
