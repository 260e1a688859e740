"""`ListingContext`: issuers, their eligibility on the day, and the application workflow.

Deterministic: the date of every decision is the Hong Kong date of the command's stamp; no clock,
no I/O. Each command is validated completely before the state changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, assert_never, cast

import msgspec

from lionrock.kernel.errors import Reject, fail, require
from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.kernel.xhkg import hk_date
from lionrock.listing.codes import ListingCode
from lionrock.listing.commands import (
    LISTING_COMMANDS,
    AdvanceListing,
    CompleteCsrcFiling,
    EngageTechChannel,
    ExpireListingApplications,
    FileCsrc,
    FileListingApplication,
    IssuerProfile,
    ListingCommand,
    SubmitIssuerProfile,
)
from lionrock.listing.eligibility import (
    ROUTE_CHAPTER,
    ROUTES,
    add_months,
    assess,
    csrc_filing_required,
    stock_name_markers,
)
from lionrock.listing.events import (
    CsrcFilingCompleted,
    CsrcFilingSubmitted,
    IssuerListed,
    IssuerProfileSubmitted,
    ListingAdvanced,
    ListingApplicationFiled,
    ListingApplicationLapsed,
    TechChannelEngaged,
)
from lionrock.listing.profile import ProfileError, check_profile
from lionrock.listing.workflow import (
    ADVANCE_TRIGGERS,
    LAPSABLE,
    CsrcState,
    CsrcTrigger,
    IllegalTransition,
    State,
    Trigger,
    add_mainland_working_days,
    needs_csrc_before,
    next_csrc_state,
    next_state,
)
from lionrock.rules import listing as rules

MAX_ISSUERS = 10_000
MAX_VETTING_ROUNDS = 20
_EDITABLE = {State.PROFILE_SUBMITTED, State.TECH_ENGAGED, State.LAPSED, State.WITHDRAWN}


class IssuerRecord(msgspec.Struct, kw_only=True):
    """Everything the context knows about one issuer."""

    profile: IssuerProfile
    state: str = State.PROFILE_SUBMITTED.value
    route: str = ""
    filed_on: date | None = None
    expires_on: date | None = None
    attempts: int = 0
    confidential: bool = False
    tech_engaged: bool = False
    csrc_state: str = CsrcState.NOT_REQUIRED.value
    csrc_deadline: date | None = None
    csrc_filed_on: date | None = None
    csrc_completed_on: date | None = None
    vetting_rounds: int = 0
    listed_on: date | None = None


class ListingContext:
    name: ClassVar[str] = "listing"
    command_types: ClassVar[tuple[type[Command], ...]] = LISTING_COMMANDS
    observed_event_types: ClassVar[tuple[type[Event], ...]] = ()

    def __init__(self) -> None:
        self.issuers: dict[str, IssuerRecord] = {}

    # -- queries (read-only; projections should be preferred by adapters) ---------------------
    def record(self, issuer_id: str) -> IssuerRecord:
        return self.issuers[issuer_id]

    # -- commands ------------------------------------------------------------------------------
    def execute(self, command: Command, stamp: Stamp) -> list[Event]:
        on = hk_date(stamp.at_ns)
        command = cast(ListingCommand, command)  # the engine routes only `command_types` here
        match command:
            case SubmitIssuerProfile():
                return self._submit(command, on)
            case EngageTechChannel():
                return self._engage_tech(command, on)
            case FileListingApplication():
                return self._file(command, on)
            case FileCsrc():
                return self._file_csrc(command, on)
            case CompleteCsrcFiling():
                return self._complete_csrc(command, on)
            case AdvanceListing():
                return self._advance(command, on)
            case ExpireListingApplications():
                return self._expire(on)
            case _:
                assert_never(command)

    def observe(self, event: Event, stamp: Stamp) -> list[Event]:
        return []

    def _issuer(self, issuer_id: str) -> IssuerRecord:
        rec = self.issuers.get(issuer_id)
        if rec is None:
            fail(ListingCode.UNKNOWN_ISSUER, "issuer_id", f"no profile submitted for {issuer_id!r}")
        return rec

    @staticmethod
    def _move(rec: IssuerRecord, trigger: Trigger) -> State:
        try:
            return next_state(State(rec.state), trigger)
        except IllegalTransition as exc:
            raise Reject(ListingCode.ILLEGAL_TRANSITION, "trigger", str(exc)) from None

    def _submit(self, cmd: SubmitIssuerProfile, on: date) -> list[Event]:
        profile = cmd.profile
        try:
            check_profile(profile)
        except ProfileError as exc:
            raise Reject(ListingCode.PROFILE_INVALID, f"profile.{exc.field}", exc.message) from None
        existing = self.issuers.get(profile.issuer_id)
        if existing is None:
            require(len(self.issuers) < MAX_ISSUERS, ListingCode.LIMIT_EXCEEDED, "profile.issuer_id", f"at most {MAX_ISSUERS} issuers")
        else:
            require(
                State(existing.state) in _EDITABLE,
                ListingCode.PROFILE_LOCKED,
                "profile.issuer_id",
                f"{profile.issuer_id} is in state {existing.state}: the profile is fixed once the application is filed",
            )
        assessment = assess(profile, on)
        if existing is None:
            self.issuers[profile.issuer_id] = IssuerRecord(profile=profile)
        else:
            existing.profile = profile
        return [
            IssuerProfileSubmitted(
                issuer_id=profile.issuer_id,
                name=profile.name,
                sub_sector=profile.sub_sector,
                assessed_on=on,
                expected_market_cap_hkd=profile.offering.expected_market_cap,
                routes_open=assessment.open_routes,
                replaced=existing is not None,
            )
        ]

    def _engage_tech(self, cmd: EngageTechChannel, on: date) -> list[Event]:
        rec = self._issuer(cmd.issuer_id)
        tech = rules.TECH_CHANNEL.in_force(on)
        require(
            tech.available,
            ListingCode.TECH_NOT_AVAILABLE,
            "issuer_id",
            f"the TECH channel does not exist on {on}",
            rules.TECH_CHANNEL.provision(on).source,
        )
        open_routes = assess(rec.profile, on).open_routes
        eligible = [r for r in open_routes if ROUTE_CHAPTER[r] in tech.eligible_chapters]
        require(
            eligible,
            ListingCode.TECH_NOT_AVAILABLE,
            "issuer_id",
            f"TECH is for {'/'.join(tech.eligible_chapters)} applicants; open routes: {', '.join(open_routes) or 'none'}",
            tech.rule,
        )
        new = self._move(rec, Trigger.ENGAGE_TECH)
        rec.state, rec.tech_engaged = new.value, True
        return [TechChannelEngaged(issuer_id=cmd.issuer_id, on=on)]

    def _file(self, cmd: FileListingApplication, on: date) -> list[Event]:
        rec = self._issuer(cmd.issuer_id)
        require(cmd.route in ROUTES, ListingCode.UNKNOWN_ROUTE, "route", f"{cmd.route!r} is not one of {', '.join(ROUTES)}")
        new = self._move(rec, Trigger.FILE_APPLICATION)
        route = assess(rec.profile, on).route(cmd.route)
        require(route.open, ListingCode.ROUTE_NOT_OPEN, "route", f"{route.title} is closed on {on}: {'; '.join(route.changes_needed)}")
        tech = rules.TECH_CHANNEL.in_force(on)
        via_tech = tech.available and ROUTE_CHAPTER[cmd.route] in tech.eligible_chapters
        if cmd.confidential:
            require(
                via_tech and tech.confidential_filing,
                ListingCode.CONFIDENTIAL_NOT_ALLOWED,
                "confidential",
                f"confidential filing is for {'/'.join(tech.eligible_chapters) or 'no'} applicants on {on}",
                tech.rule,
            )
        required, _ = csrc_filing_required(rec.profile, on)
        csrc = CsrcState(rec.csrc_state)
        deadline = None
        if required and csrc is not CsrcState.COMPLETED:
            days = rules.CSRC_FILING.in_force(on).filing_deadline_working_days
            deadline = add_mainland_working_days(on, days)
            csrc = CsrcState.FILED if csrc is CsrcState.FILED else CsrcState.DUE
        elif not required:
            csrc = CsrcState.NOT_REQUIRED
        expires = add_months(on, rules.APPLICATION_VALIDITY.in_force(on).months)
        rec.state, rec.route, rec.filed_on, rec.expires_on = new.value, cmd.route, on, expires
        rec.attempts += 1
        rec.confidential, rec.vetting_rounds = cmd.confidential, 0
        rec.csrc_state = csrc.value
        if deadline is not None:
            rec.csrc_deadline = deadline
        return [
            ListingApplicationFiled(
                issuer_id=cmd.issuer_id,
                route=cmd.route,
                filed_on=on,
                expires_on=expires,
                csrc_required=required,
                csrc_deadline=deadline,
                confidential=cmd.confidential,
                via_tech=via_tech or rec.tech_engaged,
                attempt=rec.attempts,
            )
        ]

    def _file_csrc(self, cmd: FileCsrc, on: date) -> list[Event]:
        rec = self._issuer(cmd.issuer_id)
        require(
            rec.csrc_state != CsrcState.NOT_REQUIRED,
            ListingCode.CSRC_NOT_REQUIRED,
            "issuer_id",
            f"{cmd.issuer_id} needs no CSRC filing (or has not filed its listing application)",
        )
        try:
            new = next_csrc_state(CsrcState(rec.csrc_state), CsrcTrigger.FILE)
        except IllegalTransition as exc:
            raise Reject(ListingCode.ILLEGAL_TRANSITION, "issuer_id", str(exc)) from None
        c = rules.CSRC_FILING.in_force(on)
        assert rec.csrc_deadline is not None
        deadline = rec.csrc_deadline
        expected = add_mainland_working_days(on, c.review_working_days)
        rec.csrc_state, rec.csrc_filed_on = new.value, on
        return [
            CsrcFilingSubmitted(issuer_id=cmd.issuer_id, filed_on=on, deadline=deadline, late=on > deadline, expected_completion=expected)
        ]

    def _complete_csrc(self, cmd: CompleteCsrcFiling, on: date) -> list[Event]:
        rec = self._issuer(cmd.issuer_id)
        try:
            new = next_csrc_state(CsrcState(rec.csrc_state), CsrcTrigger.COMPLETE)
        except IllegalTransition as exc:
            raise Reject(ListingCode.ILLEGAL_TRANSITION, "issuer_id", str(exc)) from None
        rec.csrc_state, rec.csrc_completed_on = new.value, on
        return [CsrcFilingCompleted(issuer_id=cmd.issuer_id, completed_on=on)]

    def _advance(self, cmd: AdvanceListing, on: date) -> list[Event]:
        rec = self._issuer(cmd.issuer_id)
        try:
            trigger = Trigger(cmd.trigger)
        except ValueError:
            trigger = None
        require(
            trigger in ADVANCE_TRIGGERS,
            ListingCode.UNKNOWN_TRIGGER,
            "trigger",
            f"{cmd.trigger!r} is not one of {', '.join(sorted(t.value for t in ADVANCE_TRIGGERS))}",
        )
        assert trigger is not None
        state = State(rec.state)
        if state in LAPSABLE and rec.expires_on is not None and on >= rec.expires_on:
            validity = rules.APPLICATION_VALIDITY.in_force(on)
            fail(
                ListingCode.APPLICATION_LAPSED,
                "issuer_id",
                f"the application filed {rec.filed_on} lapsed on {rec.expires_on}: refile Form A1",
                validity.rule,
            )
        new = self._move(rec, trigger)
        if needs_csrc_before(trigger, on):
            require(
                rec.csrc_state in (CsrcState.NOT_REQUIRED, CsrcState.COMPLETED),
                ListingCode.CSRC_NOT_COMPLETED,
                "trigger",
                f"{trigger.value} needs the CSRC filing notice first (CSRC filing is {rec.csrc_state})",
                rules.CSRC_FILING.in_force(on).rule,
            )
        if trigger is Trigger.VETTING_ROUND:
            require(
                rec.vetting_rounds < MAX_VETTING_ROUNDS,
                ListingCode.LIMIT_EXCEEDED,
                "trigger",
                f"at most {MAX_VETTING_ROUNDS} vetting rounds",
            )
            rec.vetting_rounds += 1
        rec.state = new.value
        events: list[Event] = [
            ListingAdvanced(
                issuer_id=cmd.issuer_id,
                trigger=trigger.value,
                from_state=state.value,
                to_state=new.value,
                on=on,
                vetting_round=rec.vetting_rounds,
            )
        ]
        if new is State.LISTED:
            rec.listed_on = on
            p = rec.profile
            events.append(
                IssuerListed(
                    issuer_id=p.issuer_id,
                    name=p.name,
                    route=rec.route,
                    listed_on=on,
                    stock_name_markers=stock_name_markers(p, rec.route, on),
                    expected_market_cap_hkd=p.offering.expected_market_cap,
                    board_lot=p.offering.board_lot,
                )
            )
        return events

    def _expire(self, on: date) -> list[Event]:
        events: list[Event] = []
        for issuer_id in sorted(self.issuers):
            rec = self.issuers[issuer_id]
            if State(rec.state) in LAPSABLE and rec.expires_on is not None and on >= rec.expires_on:
                assert rec.filed_on is not None
                rec.state = next_state(State(rec.state), Trigger.LAPSE).value
                events.append(ListingApplicationLapsed(issuer_id=issuer_id, filed_on=rec.filed_on, lapsed_on=rec.expires_on))
        return events

    # -- state ---------------------------------------------------------------------------------
    def snapshot(self) -> Any:
        return msgspec.to_builtins({"issuers": self.issuers})

    def restore(self, data: Any) -> None:
        self.issuers = msgspec.convert(data["issuers"], dict[str, IssuerRecord])

    def canonical_state(self) -> Any:
        return [[k, msgspec.to_builtins(self.issuers[k])] for k in sorted(self.issuers)]


__all__ = ["MAX_ISSUERS", "MAX_VETTING_ROUNDS", "IssuerRecord", "ListingContext"]
