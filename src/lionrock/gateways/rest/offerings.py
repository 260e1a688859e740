"""Dedicated REST endpoints for the offering lifecycle and the issuer pipeline.

Each endpoint builds one engine command and sends it through `Service.submit`, so the same
policy (role, tenancy), audit and durable-outcome path apply as for ``POST /v1/commands``; the
endpoints add a role check of their own first (below) and shape the answers.

Each step, its endpoints, and the roles that may call them:

- define (JSON or uploaded TOML): ``POST /v1/offerings``, ``POST /v1/offerings/toml``;
  sponsor (becomes its offering), operator
- IOIs: ``POST /v1/offerings/{id}/iois``, ``DELETE …/iois/{ioi_id}``; sponsor of the offering, operator
- public applications: ``POST /v1/offerings/{id}/applications``; sponsor of the offering, broker (its
  participant's client accounts only), investor (its own accounts only), operator
- preferential applications: ``POST /v1/offerings/{id}/preferential-applications``; sponsor of the
  offering, operator
- close, price, allocate, settle: ``POST /v1/offerings/{id}/close`` / ``price`` / ``allocate`` /
  ``settle``; sponsor of the offering, operator
- results, announcement: ``GET /v1/offerings/{id}/results``, ``…/announcement``; anyone who may see
  the offering
- allocation preview (before allocate): ``GET /v1/offerings/{id}/allocation-preview?seed=N``; sponsor
  (or issuer) of the offering, operator, regulator
- mechanism comparison: ``GET /v1/offerings/{id}/compare``; sponsor (or issuer) of the offering,
  operator, regulator
- allocations: ``GET /v1/offerings/{id}/allocations[/{account}]``; sponsor of the offering, operator,
  regulator: all; investor / broker: own accounts only
- issuers: ``POST /v1/issuers`` (JSON), ``POST /v1/issuers/toml``, ``GET …/{id}/eligibility``,
  ``…/timetable``; issuer, sponsor (their issuers), operator; reads also regulator

Another tenant's offering or issuer answers 404, like an unknown one.

The allocation preview is the one read that needs the engine: the read model holds neither the
IOI book nor the application book (up to millions of rows). So a query on the writer thread, between
batches and never journaled, takes references to the offering context's books (immutable once the
offering is priced: a new IOI or batch builds new ones), and the allocation and the mechanism
comparison are computed from them in a worker thread, off the writer and off the event loop, one
preview at a time (`PreviewGate`). Nothing is recorded; the same seed then allocates the same way.
"""

from __future__ import annotations

import asyncio
import functools
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from lionrock.engine import Engine, Outcome
from lionrock.files.offerings import OfferingDefinitionIn, decode_offering_json, loads_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.messages import Command
from lionrock.offering import OfferingCode, OfferingContext, ResolvedOffering, commands, set_price
from lionrock.offering import allocate as allocate_offering
from lionrock.offering.allocation import PreferentialApplications
from lionrock.offering.announcement import markdown_to_html
from lionrock.offering.books import ApplicationBook, IoiBook
from lionrock.offering.commands import OfferingSpec
from lionrock.offering.compare import compare_mechanisms, comparison_json, comparison_lines
from lionrock.offering.lifecycle import Stage
from lionrock.readmodel import queries
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.policy import ServiceCode
from lionrock.service.root import Service

from .http import (
    Me,
    Svc,
    json_body,
    json_response,
    need,
    outcome_body,
    rejection_error,
    schema_error,
    service_error,
    struct_body,
)
from .models import (
    AllocateIn,
    ApplicationBatchIn,
    FixPriceIn,
    IdentifierPath,
    IoiIn,
    PreferentialBatchIn,
    SeedQuery,
)
from .orders import price_ticks

router = APIRouter(tags=["offering lifecycle"])
MAX_UPLOAD_BYTES = 1_000_000


def _event(outcome: Outcome, name: str) -> dict[str, Any] | None:
    for e in outcome_body(outcome)["events"]:
        if e["type"] == name:
            return e
    return None


async def read_upload(file: UploadFile) -> str:
    raw = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "file", f"larger than {MAX_UPLOAD_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "file", f"not UTF-8: {exc}") from exc


def toml_data(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "file", f"not valid TOML: {exc}") from exc


async def run(service: Service, p: Principal, command: Command) -> Outcome:
    outcome = await service.submit(p, command)
    if outcome.rejection is not None:
        raise rejection_error(outcome.rejection)
    return outcome


def answer(outcome: Outcome, main: str, status: int = 200, **extra: Any) -> Response:
    return json_response({"seq": outcome.seq, main: _event(outcome, main), **extra, "events": outcome_body(outcome)["events"]}, status)


# -- offering lifecycle ---------------------------------------------------------------------
async def define[R: (str, bytes)](service: Service, p: Principal, decode: Callable[[R], OfferingSpec], raw: R) -> Response:
    """Decode the offering (400 naming the field that broke the schema), then define it (422 for a rule it breaks)."""
    try:
        spec = decode(raw)
    except Reject as exc:
        raise schema_error(exc) from exc
    outcome = await run(service, p, commands.DefineOffering(offering=spec))
    return answer(outcome, "OfferingDefined", 201, offering_id=spec.offering_id)


@router.post(
    "/v1/offerings",
    tags=["offering lifecycle"],
    status_code=201,
    openapi_extra=struct_body(
        OfferingDefinitionIn, "The offering file's tables as JSON (docs/offering.md); the same schema reads the TOML file."
    ),
)
async def define_offering(request: Request, p: Me, service: Svc) -> Response:
    """Define an offering from JSON (the offering file's tables, decoded by the file's own schema,
    `lionrock.files.offerings.OfferingDefinitionIn`). A sponsor defining a new id becomes its sponsor."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    return await define(service, p, decode_offering_json, await request.body())


@router.post("/v1/offerings/toml", tags=["offering lifecycle"], status_code=201)
async def define_offering_toml(
    p: Me, service: Svc, file: Annotated[UploadFile, File(description="An offering file (TOML, docs/offering.md)")]
) -> Response:
    """Define an offering from an uploaded offering file (multipart field ``file``)."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    return await define(service, p, loads_offering, await read_upload(file))


@router.post(
    "/v1/offerings/{offering_id}/iois",
    tags=["offering lifecycle"],
    status_code=201,
    openapi_extra=struct_body(IoiIn, "An indication of interest: the investor, its account and its demand steps."),
)
async def submit_ioi(offering_id: IdentifierPath, p: Me, service: Svc, body: Annotated[IoiIn, json_body(IoiIn)]) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    c = commands
    ioi = c.Ioi(
        ioi_id=body.ioi_id,
        investor=body.investor,
        account=body.account,
        participant=body.participant,
        investor_type=body.investor_type,
        origin=body.origin,
        tier=body.tier,
        independent=body.independent,
        steps=[c.IoiStep(price_ticks(s.limit_price, f"steps[{i}].limit_price"), s.shares) for i, s in enumerate(body.steps)],
    )
    return answer(await run(service, p, c.SubmitIoi(offering_id=offering_id, ioi=ioi)), "IoiReceived", 201)


@router.delete("/v1/offerings/{offering_id}/iois/{ioi_id}", tags=["offering lifecycle"])
async def withdraw_ioi(offering_id: IdentifierPath, ioi_id: IdentifierPath, p: Me, service: Svc) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    return answer(await run(service, p, commands.WithdrawIoi(offering_id=offering_id, ioi_id=ioi_id)), "IoiWithdrawn")


@router.post(
    "/v1/offerings/{offering_id}/applications",
    tags=["offering lifecycle"],
    status_code=201,
    openapi_extra=struct_body(ApplicationBatchIn, "Public applications, one object per application."),
)
async def lodge_applications(
    offering_id: IdentifierPath, p: Me, service: Svc, body: Annotated[ApplicationBatchIn, json_body(ApplicationBatchIn)]
) -> Response:
    """Lodge public applications. A broker lodges for its own participant's client accounts (as in FINI), an
    investor for its own accounts (e-IPO through its broker); the offering's sponsor (as the registrar's agent) any."""
    need(p, Role.SPONSOR, Role.BROKER, Role.INVESTOR, Role.OPERATOR)
    c = commands
    apps = body.applications
    batch = c.ApplicationBatch(
        applicants=[a.applicant for a in apps],
        accounts=[a.account for a in apps],
        participants=[a.participant for a in apps],
        shares=[a.shares for a in apps],
    )
    return answer(await run(service, p, c.LodgePublicApplications(offering_id=offering_id, batch=batch)), "PublicApplicationsLodged", 201)


@router.post(
    "/v1/offerings/{offering_id}/preferential-applications",
    tags=["offering lifecycle"],
    status_code=201,
    openapi_extra=struct_body(PreferentialBatchIn, "Applications under the preferential offering, one object per application."),
)
async def lodge_preferential_applications(
    offering_id: IdentifierPath, p: Me, service: Svc, body: Annotated[PreferentialBatchIn, json_body(PreferentialBatchIn)]
) -> Response:
    """Lodge applications under the offering's preferential offering (assured entitlements or employees), as the registrar's agent."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    apps = body.applications
    batch = commands.PreferentialBatch(
        applicants=[a.applicant for a in apps],
        accounts=[a.account for a in apps],
        participants=[a.participant for a in apps],
        shares=[a.shares for a in apps],
        entitlements=[a.entitlement for a in apps],
        tranche=msgspec.UNSET if body.tranche is None else body.tranche,
    )
    command = commands.LodgePreferentialApplications(offering_id=offering_id, batch=batch)
    return answer(await run(service, p, command), "PreferentialApplicationsLodged", 201)


@router.post("/v1/offerings/{offering_id}/close", tags=["offering lifecycle"])
async def close_public_offer(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    """Close the public offer; the answer carries the application book digest and the funds held."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    return answer(await run(service, p, commands.ClosePublicOffer(offering_id=offering_id)), "PublicOfferClosed")


@router.post(
    "/v1/offerings/{offering_id}/price",
    tags=["offering lifecycle"],
    openapi_extra=struct_body(FixPriceIn, "The price and upsize; no body: the offering's pricing policy decides both.", required=False),
)
async def fix_price(
    offering_id: IdentifierPath, p: Me, service: Svc, body: Annotated[FixPriceIn, json_body(FixPriceIn, optional=True)]
) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    command = commands.FixOfferPrice(offering_id=offering_id, price=price_ticks(body.price, "price"), upsize_shares=body.upsize_shares)
    return answer(await run(service, p, command), "OfferPriceFixed")


@router.post(
    "/v1/offerings/{offering_id}/allocate",
    tags=["offering lifecycle"],
    openapi_extra=struct_body(AllocateIn, "The ballot seed, and the application book's digest to check."),
)
async def allocate(offering_id: IdentifierPath, p: Me, service: Svc, body: Annotated[AllocateIn, json_body(AllocateIn)]) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    command = commands.AllocateOffering(offering_id=offering_id, seed=body.seed, applications_digest=body.applications_digest)
    return answer(await run(service, p, command), "OfferingAllocated")


@router.post("/v1/offerings/{offering_id}/settle", tags=["offering lifecycle"])
async def settle(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    """Settle on the listing date: clearing moves shares, consideration, refunds and fees in its ledger."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    return answer(await run(service, p, commands.SettleOffering(offering_id=offering_id)), "OfferingSettled")


@router.get("/v1/offerings/{offering_id}/results", tags=["offering lifecycle"])
def results(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    """Price, the allotment summary with the basis of allocation, cornerstones; placees only for the
    offering's sponsor, operators and regulators."""
    return json_response(queries.offering_results(service.read, p, offering_id))


@router.get("/v1/offerings/{offering_id}/announcement", tags=["offering lifecycle"])
def announcement(offering_id: IdentifierPath, p: Me, service: Svc, format: str = "markdown") -> Response:  # noqa: A002
    """The allotment results announcement (``format=markdown`` or ``html``)."""
    if format not in ("markdown", "html"):
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "format", "expected markdown or html")
    queries.visible_offering(service.read, p, offering_id)
    md = queries.announcement_markdown(service.read, offering_id)
    if format == "html":
        return Response(markdown_to_html(md, f"{offering_id}: allotment results"), media_type="text/html; charset=utf-8")
    return Response(md, media_type="text/markdown; charset=utf-8")


@router.get("/v1/offerings/{offering_id}/compare", tags=["offering lifecycle"])
def compare(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    """The book allotted under every mechanism the deal could choose, at its final price and seed (the
    sponsor's table for choosing a mechanism): integers beside formatted text, derived once when the
    offering was allocated. The offering's sponsor or issuer, operators and regulators only."""
    return json_response(queries.offering_comparison(service.read, p, offering_id))


# -- allocation preview --------------------------------------------------------------------------
PREVIEW_RUNNING = 1
PREVIEW_WAITING = 4
PreviewInputs = tuple[ResolvedOffering, IoiBook, ApplicationBook, PreferentialApplications | None]


PREVIEW_RETRY_AFTER_S = 1
"""``Retry-After`` (seconds) of a preview refused because too many are running or waiting."""


class PreviewGate:
    """One allocation preview computed at a time (each is up to six allocations over the books, on
    two shared cores), at most `PREVIEW_WAITING` more waiting; beyond that a preview is refused
    with 429, before any work."""

    def __init__(self, running: int = PREVIEW_RUNNING, waiting: int = PREVIEW_WAITING) -> None:
        self._slots = asyncio.Semaphore(running)
        self._limit = running + waiting
        self._pending = 0

    @asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self._pending >= self._limit:
            raise service_error(
                429,
                ServiceCode.RATE_LIMITED,
                "offering_id",
                f"{self._pending} allocation previews running or waiting; try again shortly",
                headers={"Retry-After": str(PREVIEW_RETRY_AFTER_S)},
            )
        self._pending += 1
        try:
            async with self._slots:
                yield
        finally:
            self._pending -= 1


def _gate(request: Request) -> PreviewGate:
    gate: PreviewGate | None = getattr(request.app.state, "preview_gate", None)
    if gate is None:
        gate = request.app.state.preview_gate = PreviewGate()
    return gate


def _preview_price(read: Any, p: Principal, offering_id: str) -> dict[str, Any]:
    """The offering's ``OfferPriceFixed`` body, for a full-scope caller of a priced, unallocated offering."""
    stage = queries.full_scope_stage(read, p, offering_id)
    priced = queries.latest_event(read, offering_id, "OfferPriceFixed")
    if stage != Stage.PRICED or priced is None:
        after = "; the allocation is done: GET /v1/offerings/{id}/compare has the comparison" if priced is not None else ""
        raise Reject(
            OfferingCode.WRONG_STAGE,
            "offering_id",
            f"{offering_id} is {stage or 'not defined'}; an allocation preview needs a priced offering{after}",
            "offering lifecycle (docs/offering.md): close, price, allocate",
        )
    return priced


def _preview_inputs(engine: Engine, offering_id: str) -> PreviewInputs | None:
    """On the writer thread, between batches: references to the offering's definition and books
    (no copy, no journal record; the books are immutable objects once priced)."""
    ctx = engine.contexts.get("offering")
    if not isinstance(ctx, OfferingContext) or offering_id not in ctx.offerings:
        return None
    iois, apps = ctx.books(offering_id)
    return ctx.offering(offering_id), iois, apps, ctx.preferential(offering_id)


def preview_body(offering_id: str, inputs: PreviewInputs, price: int, upsize_shares: int, seed: int) -> dict[str, Any]:
    """The allocation at the fixed price with ``seed`` (what ``allocate`` with that seed will
    record) and the mechanism comparison (`offering.compare`, as ``GET …/compare`` gives it after
    the allocation): integers beside formatted text. Pure; raises `Reject` as the allocation would."""
    ro, iois, apps, preferential = inputs
    pricing = set_price(ro, iois, price, upsize_shares)
    result = allocate_offering(ro, pricing, iois, apps, seed, preferential)
    comparison = compare_mechanisms(
        ro.spec, iois, apps, seed, price=pricing.price, upsize_shares=pricing.upsize_shares, preferential=preferential
    )
    compared = comparison_json(comparison)
    compared["table"] = [{"figure": name, "text": texts, "values": values} for name, texts, values in comparison_lines(comparison)]
    placees = [
        {"investor": iois.investor[i], "account": iois.account[i], "shares": int(result.placee_shares[i])}
        for i in range(iois.investors)
        if result.placee_shares[i]
    ]
    return {
        "offering_id": offering_id,
        "preview": True,
        "stage": "priced",
        "seed": seed,
        "price": pricing.price,
        "upsize_shares": pricing.upsize_shares,
        "applications_digest": apps.digest,
        "summary": msgspec.to_builtins(result.summary),
        "cornerstones": msgspec.to_builtins(result.cornerstones),
        "placees": placees,
        "comparison": compared,
    }


@router.get("/v1/offerings/{offering_id}/allocation-preview", tags=["offering lifecycle"])
async def allocation_preview(offering_id: IdentifierPath, seed: SeedQuery, p: Me, service: Svc, request: Request) -> Response:
    """The allocation a priced offering would get with ``seed``, before it is allocated, and the
    mechanism comparison at the fixed price: the summary (tranches, clawback, pools, basis of
    allocation, placing, cornerstones), the placees and every mechanism's figures. Changes
    nothing (no command, no journal record); ``allocate`` with the same seed and the returned
    ``applications_digest`` records exactly this allocation (the same ``allotment_digest``).
    The offering's sponsor or issuer, operators and regulators only (others 404); 422 WRONG_STAGE
    before pricing or after allocation; 429 while too many previews are being computed."""
    try:
        priced = await service.read_async(_preview_price, p, offering_id)
    except Reject as exc:
        raise rejection_error(exc.rejection) from exc
    call = getattr(service.runner, "call", None)
    if call is None:  # commands go to the shards over NATS (lionrock serve --nats): no engine here
        raise service_error(
            503,
            ServiceCode.ENGINE_UNAVAILABLE,
            "",
            "the allocation preview needs the engine in this process (lionrock serve without --nats)",
        )
    async with _gate(request).enter():
        # a partial of a module function: it pickles, so the writer may be a process of its own
        inputs = await asyncio.wrap_future(call(functools.partial(_preview_inputs, offering_id=offering_id)))
        if inputs is None:
            raise service_error(
                503, ServiceCode.ENGINE_UNAVAILABLE, "offering_id", f"the engine has no offering {offering_id} yet; try again"
            )
        try:
            body = await asyncio.to_thread(preview_body, offering_id, inputs, int(priced["price"]), int(priced["upsize_shares"]), seed)
        except Reject as exc:
            raise rejection_error(exc.rejection) from exc
    return json_response(body)


@router.get("/v1/offerings/{offering_id}/allocations", tags=["offering lifecycle"])
def allocations(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    """Allocations per account (public applications, placing, cornerstone). Investors and brokers see their own accounts only."""
    return json_response(queries.allocations_for(service.read, p, offering_id))


@router.get("/v1/offerings/{offering_id}/allocations/{account}", tags=["offering lifecycle"])
def allocation(offering_id: IdentifierPath, account: IdentifierPath, p: Me, service: Svc) -> Response:
    """One account's allocation (404 for an account that is not yours, like an unknown one)."""
    full = queries.visible_offering(service.read, p, offering_id)
    if not full and not p.can_read_account(account):
        raise service_error(404, ServiceCode.NOT_FOUND, "account", f"no account {account} of yours")
    for r in queries.all_allocations(service.read, offering_id, account):
        return json_response(r)
    raise service_error(404, ServiceCode.NOT_FOUND, "account", f"no allocation to {account} in {offering_id}")


__all__ = [
    "MAX_UPLOAD_BYTES",
    "PREVIEW_RUNNING",
    "PREVIEW_WAITING",
    "PreviewGate",
    "PreviewInputs",
    "preview_body",
    "read_upload",
    "router",
    "toml_data",
]
