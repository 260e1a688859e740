"""Dedicated REST endpoints for the offering lifecycle and the issuer pipeline.

Each endpoint builds one engine command and sends it through `Service.submit`, so the same
policy (role, tenancy), audit and durable-outcome path apply as for ``POST /v1/commands``; the
endpoints add a role check of their own first (below) and shape the answers.

| step | endpoint | roles |
| --- | --- | --- |
| define (JSON or uploaded TOML) | ``POST /v1/offerings``, ``POST /v1/offerings/toml`` | sponsor (becomes its offering), operator |
| IOIs | ``POST /v1/offerings/{id}/iois``, ``DELETE …/iois/{ioi_id}`` | sponsor of the offering, operator |
| public applications | ``POST /v1/offerings/{id}/applications`` | sponsor of the offering, broker (its participant's client accounts only), investor (its own accounts only), operator |
| close, price, allocate, settle | ``POST /v1/offerings/{id}/close`` / ``price`` / ``allocate`` / ``settle`` | sponsor of the offering, operator |
| results, announcement | ``GET /v1/offerings/{id}/results``, ``…/announcement`` | anyone who may see the offering |
| allocations | ``GET /v1/offerings/{id}/allocations[/{account}]`` | sponsor of the offering, operator, regulator: all; investor / broker: own accounts only |
| issuers | ``POST /v1/issuers`` (JSON), ``POST /v1/issuers/toml``, ``GET …/{id}/eligibility``, ``…/timetable`` | issuer, sponsor (their issuers), operator; reads also regulator |

Another tenant's offering or issuer answers 404, like an unknown one.
"""

from __future__ import annotations

import contextlib
import json
import threading
import tomllib
import weakref
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import msgspec
import numpy as np
from fastapi import FastAPI, File, Request, UploadFile
from fastapi.responses import Response

from lionrock.engine import Engine, Outcome
from lionrock.gateways.rest.app import ApiError, Me, json_response, outcome_body, rejection_error
from lionrock.gateways.rest.models import (
    AllocateIn,
    ApplicationBatchIn,
    FixPriceIn,
    IdentifierPath,
    IoiIn,
    OfferingDefinitionIn,
)
from lionrock.kernel.errors import Reject
from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.messages import Command
from lionrock.kernel.price import consideration_minor
from lionrock.offering import commands
from lionrock.readmodel.queries import price_ticks
from lionrock.service.auth import Principal, Role
from lionrock.service.policy import ServiceCode
from lionrock.service.root import Service

MAX_UPLOAD_BYTES = 1_000_000


def _err(status: int, code: ServiceCode, field: str, message: str) -> ApiError:
    return ApiError(status, int(code), code.name, field, message, "service access policy (docs/service.md)")


def need(p: Principal, *roles: Role) -> None:
    if p.role not in roles:
        raise _err(403, ServiceCode.ROLE_NOT_ALLOWED, "role", f"role {p.role} may not do this (needs {', '.join(roles)})")


_ticks = price_ticks  # one price gate for every REST body (the kernel parser; its rule cited)


def _event(outcome: Outcome, name: str) -> dict[str, Any] | None:
    for e in outcome_body(outcome)["events"]:
        if e["type"] == name:
            return e
    return None


def _spec_from(data: dict[str, Any]) -> Any:
    from lionrock.offering.definition import parse_offering

    try:
        spec = parse_offering(data)
    except Reject as exc:
        raise rejection_error(exc.rejection) from exc
    _check_spec_identifiers(spec)
    return spec


def _check_spec_identifiers(spec: Any) -> None:
    """The ids of an offering (JSON or an uploaded TOML file) in the kernel's identifier charset:
    the JSON model checks its own fields, an uploaded file reaches here unchecked."""
    fields = [("offering.id", spec.offering_id, False), ("offering.issuer_id", spec.issuer_id, False), ("offering.instrument", spec.instrument, False),
              ("offering.rmb_counter", spec.rmb_counter, True), ("offering.underwriter_account", spec.underwriter_account, True),
              ("offering.stabilising_manager_account", spec.stabilising_manager_account, True), ("offering.stock_lender_account", spec.stock_lender_account, True)]
    for i, c in enumerate(spec.cornerstones):
        fields += [(f"cornerstones[{i}].investor", c.investor, False), (f"cornerstones[{i}].account", c.account, False), (f"cornerstones[{i}].participant", c.participant, True)]
    for field, value, allow_empty in fields:
        try:
            parse_identifier(value, field, allow_empty=allow_empty)
        except ValueError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, field, str(exc)) from exc


async def _read_upload(file: UploadFile) -> str:
    raw = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise _err(400, ServiceCode.MALFORMED_REQUEST, "file", f"larger than {MAX_UPLOAD_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _err(400, ServiceCode.MALFORMED_REQUEST, "file", f"not UTF-8: {exc}") from exc


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(400, ServiceCode.MALFORMED_REQUEST, "file", f"not valid TOML: {exc}") from exc


# -- read side: results and allocations (computed once per allocated offering, on the engine thread) --
class _ResultCache:
    """Allocations and announcements of allocated offerings (immutable once allocated)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, str, str], Any] = {}

    def get(self, key: tuple[str, str, str], make: Any) -> Any:
        with self._lock:
            if key in self._data:
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
        return value


_CACHES: weakref.WeakKeyDictionary[Service, _ResultCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_of(service: Service) -> _ResultCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(service)
        if cache is None:
            cache = _CACHES[service] = _ResultCache()
        return cache


def _allocated_key(service: Service, offering_id: str, kind: str) -> tuple[str, str, str]:
    allocated = _latest(service, offering_id, "OfferingAllocated")
    if allocated is None:
        raise _err(404, ServiceCode.NOT_FOUND, "offering_id", f"offering {offering_id} is not allocated yet")
    return (offering_id, str(allocated["summary"]["allotment_digest"]), kind)


def all_allocations(service: Service, offering_id: str) -> list[dict[str, Any]]:
    """Every account's allocation of an allocated offering (no tenancy: callers filter)."""
    key = _allocated_key(service, offering_id, "allocations")
    return _cache_of(service).get(key, lambda: service.runner.call(lambda e: _allocation_rows(e, offering_id)).result(60))  # type: ignore[no-any-return]


def allocations_for(service: Service, p: Principal, offering_id: str) -> dict[str, Any]:
    """The caller's view: all accounts in full scope, its own accounts otherwise."""
    full = visible_offering(service, p, offering_id)
    rows = all_allocations(service, offering_id)
    if not full:
        rows = [r for r in rows if p.can_read_account(r["account"])]
    return {"offering_id": offering_id, "scope": "full" if full else "your accounts", "allocations": rows}


def announcement_markdown_of(service: Service, offering_id: str) -> str:
    key = _allocated_key(service, offering_id, "announcement")
    priced = _latest(service, offering_id, "OfferPriceFixed") or {}
    return _cache_of(service).get(key, lambda: service.runner.call(lambda e: _announcement(e, offering_id, priced)).result(60))  # type: ignore[no-any-return]


def _allocation_rows(engine: Engine, offering_id: str) -> list[dict[str, Any]]:
    """Per account: public shares (applications), placing shares, cornerstone shares, consideration."""
    ctx: Any = engine.contexts["offering"]
    result = ctx.allocation(offering_id)
    iois, apps = ctx.books(offering_id)
    price = int(result.summary.price)
    rows: dict[str, dict[str, int]] = {}

    def row(account: str) -> dict[str, int]:
        return rows.setdefault(account, {"applications": 0, "shares_applied": 0, "public_shares": 0, "placing_shares": 0, "cornerstone_shares": 0})

    if len(apps):
        n = len(apps.account_values)
        allotted = np.zeros(n, dtype=np.int64)
        applied = np.zeros(n, dtype=np.int64)
        count = np.zeros(n, dtype=np.int64)
        np.add.at(allotted, apps.account, result.app_allotted.astype(np.int64))
        np.add.at(applied, apps.account, np.maximum(apps.shares, 0).astype(np.int64))
        np.add.at(count, apps.account, 1)
        for code in np.flatnonzero(count):
            r = row(str(apps.account_values[int(code)]))
            r["applications"] += int(count[code])
            r["shares_applied"] += int(applied[code])
            r["public_shares"] += int(allotted[code])
    for i in range(iois.investors):
        if int(result.placee_shares[i]):
            row(str(iois.account[i]))["placing_shares"] += int(result.placee_shares[i])
    for c in result.cornerstones:
        row(c.account)["cornerstone_shares"] += int(c.shares)
    out = []
    for account in sorted(rows):
        r = rows[account]
        shares = r["public_shares"] + r["placing_shares"] + r["cornerstone_shares"]
        out.append({"account": account, **r, "shares": shares, "consideration_minor": consideration_minor(price, shares) if shares else 0})
    return out


def _announcement(engine: Engine, offering_id: str, priced: dict[str, Any]) -> str:
    from lionrock.offering.announcement import announcement_markdown
    from lionrock.offering.pricing import PricingDecision

    ctx: Any = engine.contexts["offering"]
    _, apps = ctx.books(offering_id)
    pricing = PricingDecision(
        price=int(priced["price"]), upsize_shares=int(priced["upsize_shares"]), policy=str(priced["policy"]),
        reasons=tuple(priced["reasons"]), curve=(), coverage_bp=int(priced["coverage_bp"]),
    )
    return announcement_markdown(ctx.offering(offering_id), pricing, ctx.allocation(offering_id), book_digest=apps.digest)


def _latest(service: Service, offering_id: str, etype: str) -> dict[str, Any] | None:
    row = service.read.one("SELECT body FROM events WHERE offering_id = ? AND type = ? ORDER BY seq DESC, idx DESC LIMIT 1", (offering_id, etype))
    return None if row is None else json.loads(row[0])


STAGES = (("OfferingStabilisationClosed", "stabilised"), ("OfferingSettled", "settled"), ("OfferingAllocated", "allocated"),
          ("OfferPriceFixed", "priced"), ("PublicOfferClosed", "closed"), ("OfferingDefined", "bookbuilding"))


def offering_stage(service: Service, offering_id: str) -> str:
    types = {r[0] for r in service.read.execute("SELECT DISTINCT type FROM events WHERE offering_id = ?", (offering_id,))}
    for etype, stage in STAGES:
        if etype in types:
            return stage
    return ""


def visible_offering(service: Service, p: Principal, offering_id: str) -> bool:
    """True for full scope; False for the public part; 404 when the caller may not see it at all."""
    exists = service.read.one("SELECT 1 FROM events WHERE offering_id = ? AND type = 'OfferingDefined' LIMIT 1", (offering_id,)) is not None
    full = p.can_read_offering(offering_id)
    if not exists or not (full or p.role in (Role.INVESTOR, Role.BROKER)):
        raise _err(404, ServiceCode.NOT_FOUND, "offering_id", f"no offering {offering_id} visible to you")
    return full


def offering_results(service: Service, p: Principal, offering_id: str) -> dict[str, Any]:
    """Price, allotment summary (basis of allocation), settlement: public figures; placees only in full scope."""
    full = visible_offering(service, p, offering_id)
    defined = _latest(service, offering_id, "OfferingDefined") or {}
    allocated = _latest(service, offering_id, "OfferingAllocated")
    out: dict[str, Any] = {
        "offering_id": offering_id, "stage": offering_stage(service, offering_id), "scope": "full" if full else "public and your own",
        "defined": defined, "closed": _latest(service, offering_id, "PublicOfferClosed"),
        "priced": _latest(service, offering_id, "OfferPriceFixed"), "settled": _latest(service, offering_id, "OfferingSettled"),
        "summary": None, "cornerstones": [], "placees": None,
    }
    if allocated is not None:
        out["summary"] = allocated["summary"]
        out["cornerstones"] = allocated["cornerstones"]
        if full:
            out["placees"] = [{"investor": i, "account": a, "shares": s} for i, a, s in allocated["placees"]]
    return out


def mount_lifecycle(app: FastAPI, service: Service) -> None:
    async def run(p: Principal, command: Command) -> Outcome:
        outcome = await service.submit(p, command)
        if outcome.rejection is not None:
            raise rejection_error(outcome.rejection)
        return outcome

    def answer(outcome: Outcome, main: str, status: int = 200, **extra: Any) -> Response:
        return json_response({"seq": outcome.seq, main: _event(outcome, main), **extra, "events": outcome_body(outcome)["events"]}, status)

    # -- offering lifecycle ---------------------------------------------------------------------
    async def define(p: Principal, data: dict[str, Any]) -> Response:
        need(p, Role.SPONSOR, Role.OPERATOR)
        spec = _spec_from(data)
        outcome = await run(p, commands.DefineOffering(offering=spec))
        return answer(outcome, "OfferingDefined", 201, offering_id=spec.offering_id)

    @app.post("/v1/offerings", tags=["offering lifecycle"], status_code=201)
    async def define_offering(body: OfferingDefinitionIn, p: Me) -> Response:
        """Define an offering from JSON (the offering file's tables). A sponsor defining a new id becomes its sponsor."""
        return await define(p, body.as_toml_data())

    @app.post("/v1/offerings/toml", tags=["offering lifecycle"], status_code=201)
    async def define_offering_toml(p: Me, file: Annotated[UploadFile, File(description="An offering file (TOML, docs/offering.md)")]) -> Response:
        """Define an offering from an uploaded offering file (multipart field ``file``)."""
        need(p, Role.SPONSOR, Role.OPERATOR)
        return await define(p, _toml(await _read_upload(file)))

    @app.post("/v1/offerings/{offering_id}/iois", tags=["offering lifecycle"], status_code=201)
    async def submit_ioi(offering_id: IdentifierPath, body: IoiIn, p: Me) -> Response:
        need(p, Role.SPONSOR, Role.OPERATOR)
        c = commands
        ioi = c.Ioi(
            ioi_id=body.ioi_id, investor=body.investor, account=body.account, participant=body.participant, investor_type=body.investor_type,
            origin=body.origin, tier=body.tier, independent=body.independent,
            steps=[c.IoiStep(_ticks(s.limit_price, f"steps[{i}].limit_price"), s.shares) for i, s in enumerate(body.steps)],
        )
        return answer(await run(p, c.SubmitIoi(offering_id=offering_id, ioi=ioi)), "IoiReceived", 201)

    @app.delete("/v1/offerings/{offering_id}/iois/{ioi_id}", tags=["offering lifecycle"])
    async def withdraw_ioi(offering_id: IdentifierPath, ioi_id: IdentifierPath, p: Me) -> Response:
        need(p, Role.SPONSOR, Role.OPERATOR)
        return answer(await run(p, commands.WithdrawIoi(offering_id=offering_id, ioi_id=ioi_id)), "IoiWithdrawn")

    @app.post("/v1/offerings/{offering_id}/applications", tags=["offering lifecycle"], status_code=201)
    async def lodge_applications(offering_id: IdentifierPath, body: ApplicationBatchIn, p: Me) -> Response:
        """Lodge public applications. A broker lodges for its own participant's client accounts (as in FINI), an
        investor for its own accounts (e-IPO through its broker); the offering's sponsor (as the registrar's agent) any."""
        need(p, Role.SPONSOR, Role.BROKER, Role.INVESTOR, Role.OPERATOR)
        c = commands
        apps = body.applications
        batch = c.ApplicationBatch(
            applicants=[a.applicant for a in apps], accounts=[a.account for a in apps],
            participants=[a.participant for a in apps], shares=[a.shares for a in apps],
        )
        return answer(await run(p, c.LodgePublicApplications(offering_id=offering_id, batch=batch)), "PublicApplicationsLodged", 201)

    @app.post("/v1/offerings/{offering_id}/close", tags=["offering lifecycle"])
    async def close_public_offer(offering_id: IdentifierPath, p: Me) -> Response:
        """Close the public offer; the answer carries the application book digest and the funds held."""
        need(p, Role.SPONSOR, Role.OPERATOR)
        return answer(await run(p, commands.ClosePublicOffer(offering_id=offering_id)), "PublicOfferClosed")

    @app.post("/v1/offerings/{offering_id}/price", tags=["offering lifecycle"])
    async def fix_price(offering_id: IdentifierPath, p: Me, body: FixPriceIn | None = None) -> Response:
        need(p, Role.SPONSOR, Role.OPERATOR)
        body = body or FixPriceIn()
        command = commands.FixOfferPrice(offering_id=offering_id, price=_ticks(body.price, "price"), upsize_shares=body.upsize_shares)
        return answer(await run(p, command), "OfferPriceFixed")

    @app.post("/v1/offerings/{offering_id}/allocate", tags=["offering lifecycle"])
    async def allocate(offering_id: IdentifierPath, body: AllocateIn, p: Me) -> Response:
        need(p, Role.SPONSOR, Role.OPERATOR)
        command = commands.AllocateOffering(offering_id=offering_id, seed=body.seed, applications_digest=body.applications_digest)
        return answer(await run(p, command), "OfferingAllocated")

    @app.post("/v1/offerings/{offering_id}/settle", tags=["offering lifecycle"])
    async def settle(offering_id: IdentifierPath, p: Me) -> Response:
        """Settle on the listing date: clearing moves shares, consideration, refunds and fees in its ledger."""
        need(p, Role.SPONSOR, Role.OPERATOR)
        return answer(await run(p, commands.SettleOffering(offering_id=offering_id)), "OfferingSettled")

    @app.get("/v1/offerings/{offering_id}/results", tags=["offering lifecycle"])
    def results(offering_id: IdentifierPath, p: Me) -> Response:
        """Price, the allotment summary with the basis of allocation, cornerstones; placees only for the offering's sponsor, operators and regulators."""
        return json_response(offering_results(service, p, offering_id))

    @app.get("/v1/offerings/{offering_id}/announcement", tags=["offering lifecycle"])
    def announcement(offering_id: IdentifierPath, p: Me, format: str = "markdown") -> Response:  # noqa: A002
        """The allotment results announcement (``format=markdown`` or ``html``)."""
        if format not in ("markdown", "html"):
            raise _err(400, ServiceCode.MALFORMED_REQUEST, "format", "expected markdown or html")
        visible_offering(service, p, offering_id)
        md = announcement_markdown_of(service, offering_id)
        if format == "html":
            from lionrock.offering.announcement import markdown_to_html

            return Response(markdown_to_html(md, f"{offering_id}: allotment results"), media_type="text/html; charset=utf-8")
        return Response(md, media_type="text/markdown; charset=utf-8")

    @app.get("/v1/offerings/{offering_id}/allocations", tags=["offering lifecycle"])
    def allocations(offering_id: IdentifierPath, p: Me) -> Response:
        """Allocations per account (public applications, placing, cornerstone). Investors and brokers see their own accounts only."""
        return json_response(allocations_for(service, p, offering_id))

    @app.get("/v1/offerings/{offering_id}/allocations/{account}", tags=["offering lifecycle"])
    def allocation(offering_id: IdentifierPath, account: IdentifierPath, p: Me) -> Response:
        """One account's allocation (404 for an account that is not yours, like an unknown one)."""
        full = visible_offering(service, p, offering_id)
        if not full and not p.can_read_account(account):
            raise _err(404, ServiceCode.NOT_FOUND, "account", f"no account {account} of yours")
        for r in all_allocations(service, offering_id):
            if r["account"] == account:
                return json_response(r)
        raise _err(404, ServiceCode.NOT_FOUND, "account", f"no allocation to {account} in {offering_id}")

    # -- issuers --------------------------------------------------------------------------------
    async def submit_profile(p: Principal, data: Any) -> Response:
        need(p, Role.ISSUER, Role.SPONSOR, Role.OPERATOR)
        from lionrock.listing import ProfileError, SubmitIssuerProfile, profile_from_dict

        try:
            profile = profile_from_dict(data)
        except ProfileError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, exc.field, str(exc)) from exc
        outcome = await run(p, SubmitIssuerProfile(profile=profile))
        return answer(outcome, "IssuerProfileSubmitted", 201, issuer_id=profile.issuer_id)

    @app.post("/v1/issuers", tags=["issuers"], status_code=201)
    async def submit_issuer(request: Request, p: Me) -> Response:
        """Submit (or, before filing, replace) an issuer profile: the profile file's tables as a JSON object (docs/listing.md)."""
        need(p, Role.ISSUER, Role.SPONSOR, Role.OPERATOR)
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, "", f"not JSON: {exc}") from exc
        return await submit_profile(p, data)

    @app.post("/v1/issuers/toml", tags=["issuers"], status_code=201)
    async def submit_issuer_toml(p: Me, file: Annotated[UploadFile, File(description="An issuer profile (TOML, docs/listing.md)")]) -> Response:
        need(p, Role.ISSUER, Role.SPONSOR, Role.OPERATOR)
        return await submit_profile(p, _toml(await _read_upload(file)))

    def profile_of(p: Principal, issuer_id: str) -> tuple[Any, dict[str, Any]]:
        submitted = _latest_issuer(service, issuer_id, "IssuerProfileSubmitted") if p.can_read_issuer(issuer_id) else None
        if submitted is None:
            raise _err(404, ServiceCode.NOT_FOUND, "issuer_id", f"no issuer {issuer_id} visible to you")
        record = service.runner.call(lambda e: e.contexts["listing"].record(issuer_id)).result(30)
        return record, submitted

    @app.get("/v1/issuers/{issuer_id}/eligibility", tags=["issuers"])
    def eligibility(issuer_id: IdentifierPath, p: Me, on: date | None = None) -> Response:
        """Every eligibility test and route under the rules in force ``on`` (default: the day the profile was assessed)."""
        from lionrock.listing import assess

        record, submitted = profile_of(p, issuer_id)
        day = on or date.fromisoformat(submitted["assessed_on"])
        with _rules_cover(day, "on"):
            return json_response(msgspec.to_builtins(assess(record.profile, day)))

    @app.get("/v1/issuers/{issuer_id}/timetable", tags=["issuers"])
    def issuer_timetable(issuer_id: IdentifierPath, p: Me, route: str | None = None, filed_on: date | None = None) -> Response:
        """Filing to listing: rule deadlines and an indicative path. Defaults: the filed route and date, else the first open route and the assessment day."""
        from lionrock.listing import ROUTES, assess, timetable

        record, submitted = profile_of(p, issuer_id)
        day = filed_on or record.filed_on or date.fromisoformat(submitted["assessed_on"])
        with _rules_cover(day, "filed_on"):
            chosen = route or record.route or next(iter(assess(record.profile, day).open_routes), "")
        if chosen not in ROUTES:
            raise _err(400, ServiceCode.MALFORMED_REQUEST, "route", f"no listing route open for {issuer_id} on {day}; pass ?route= (one of {', '.join(ROUTES)})")
        with _rules_cover(day, "filed_on"):
            milestones = [{"name": m.name, "on": m.on.isoformat(), "basis": m.basis, "reference": m.reference, "calendar": m.calendar}
                          for m in timetable(record.profile, chosen, day)]
        return json_response({"issuer_id": issuer_id, "route": chosen, "filed_on": day.isoformat(), "milestones": milestones})


@contextlib.contextmanager
def _rules_cover(day: date, field: str) -> Iterator[None]:
    """A day the rulebook has no provisions for (before its first, e.g. 0516-07-21) or the
    exchange calendar does not reach (e.g. 2200-01-01) is the caller's bad input: a 422 naming
    the field, not the 500 that the rulebook's LookupError or the calendar's ValueError would be."""
    try:
        yield
    except (LookupError, ValueError) as exc:
        if type(exc) not in (LookupError, ValueError):  # a KeyError, IndexError, ... is a bug: let it crash loudly
            raise
        raise _err(422, ServiceCode.MALFORMED_REQUEST, field, f"{field} {day.isoformat()} is outside the rules and calendar this service holds: {exc}") from exc


def _latest_issuer(service: Service, issuer_id: str, etype: str) -> dict[str, Any] | None:
    row = service.read.one("SELECT body FROM events WHERE issuer_id = ? AND type = ? ORDER BY seq DESC, idx DESC LIMIT 1", (issuer_id, etype))
    return None if row is None else json.loads(row[0])


__all__ = ["STAGES", "all_allocations", "allocations_for", "announcement_markdown_of", "mount_lifecycle", "need", "offering_results", "offering_stage", "visible_offering"]
