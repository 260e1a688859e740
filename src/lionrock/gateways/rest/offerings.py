"""Dedicated REST endpoints for the offering lifecycle and the issuer pipeline.

Each endpoint builds one engine command and sends it through `Service.submit`, so the same
policy (role, tenancy), audit and durable-outcome path apply as for ``POST /v1/commands``; the
endpoints add a role check of their own first (below) and shape the answers.

| step | endpoint | roles |
| --- | --- | --- |
| define (JSON or uploaded TOML) | ``POST /v1/offerings``, ``POST /v1/offerings/toml`` | sponsor (becomes its offering), operator |
| IOIs | ``POST /v1/offerings/{id}/iois``, ``DELETE …/iois/{ioi_id}`` | sponsor of the offering, operator |
| public applications | ``POST /v1/offerings/{id}/applications`` | sponsor of the offering, broker (its participant's client accounts only), investor (its own accounts only), operator |
| preferential applications | ``POST /v1/offerings/{id}/preferential-applications`` | sponsor of the offering, operator |
| close, price, allocate, settle | ``POST /v1/offerings/{id}/close`` / ``price`` / ``allocate`` / ``settle`` | sponsor of the offering, operator |
| results, announcement | ``GET /v1/offerings/{id}/results``, ``…/announcement`` | anyone who may see the offering |
| mechanism comparison | ``GET /v1/offerings/{id}/compare`` | sponsor (or issuer) of the offering, operator, regulator |
| allocations | ``GET /v1/offerings/{id}/allocations[/{account}]`` | sponsor of the offering, operator, regulator: all; investor / broker: own accounts only |
| issuers | ``POST /v1/issuers`` (JSON), ``POST /v1/issuers/toml``, ``GET …/{id}/eligibility``, ``…/timetable`` | issuer, sponsor (their issuers), operator; reads also regulator |

Another tenant's offering or issuer answers 404, like an unknown one.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from lionrock.engine import Outcome
from lionrock.files.offerings import parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.messages import Command
from lionrock.offering import commands
from lionrock.offering.announcement import markdown_to_html
from lionrock.readmodel import queries
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.policy import ServiceCode
from lionrock.service.root import Service

from .http import Me, Svc, json_response, need, outcome_body, rejection_error, service_error
from .models import (
    AllocateIn,
    ApplicationBatchIn,
    FixPriceIn,
    IdentifierPath,
    IoiIn,
    OfferingDefinitionIn,
    PreferentialBatchIn,
)
from .orders import price_ticks

router = APIRouter(tags=["offering lifecycle"])
MAX_UPLOAD_BYTES = 1_000_000


def _event(outcome: Outcome, name: str) -> dict[str, Any] | None:
    for e in outcome_body(outcome)["events"]:
        if e["type"] == name:
            return e
    return None


def _spec_from(data: dict[str, Any]) -> Any:
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
            raise service_error(400, ServiceCode.MALFORMED_REQUEST, field, str(exc)) from exc


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
async def define(service: Service, p: Principal, data: dict[str, Any]) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    spec = _spec_from(data)
    outcome = await run(service, p, commands.DefineOffering(offering=spec))
    return answer(outcome, "OfferingDefined", 201, offering_id=spec.offering_id)

@router.post("/v1/offerings", tags=["offering lifecycle"], status_code=201)
async def define_offering(body: OfferingDefinitionIn, p: Me, service: Svc) -> Response:
    """Define an offering from JSON (the offering file's tables). A sponsor defining a new id becomes its sponsor."""
    return await define(service, p, body.as_toml_data())

@router.post("/v1/offerings/toml", tags=["offering lifecycle"], status_code=201)
async def define_offeringtoml_data(p: Me, service: Svc, file: Annotated[UploadFile, File(description="An offering file (TOML, docs/offering.md)")]) -> Response:
    """Define an offering from an uploaded offering file (multipart field ``file``)."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    return await define(service, p, toml_data(await read_upload(file)))

@router.post("/v1/offerings/{offering_id}/iois", tags=["offering lifecycle"], status_code=201)
async def submit_ioi(offering_id: IdentifierPath, body: IoiIn, p: Me, service: Svc) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    c = commands
    ioi = c.Ioi(
        ioi_id=body.ioi_id, investor=body.investor, account=body.account, participant=body.participant, investor_type=body.investor_type,
        origin=body.origin, tier=body.tier, independent=body.independent,
        steps=[c.IoiStep(price_ticks(s.limit_price, f"steps[{i}].limit_price"), s.shares) for i, s in enumerate(body.steps)],
    )
    return answer(await run(service, p, c.SubmitIoi(offering_id=offering_id, ioi=ioi)), "IoiReceived", 201)

@router.delete("/v1/offerings/{offering_id}/iois/{ioi_id}", tags=["offering lifecycle"])
async def withdraw_ioi(offering_id: IdentifierPath, ioi_id: IdentifierPath, p: Me, service: Svc) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    return answer(await run(service, p, commands.WithdrawIoi(offering_id=offering_id, ioi_id=ioi_id)), "IoiWithdrawn")

@router.post("/v1/offerings/{offering_id}/applications", tags=["offering lifecycle"], status_code=201)
async def lodge_applications(offering_id: IdentifierPath, body: ApplicationBatchIn, p: Me, service: Svc) -> Response:
    """Lodge public applications. A broker lodges for its own participant's client accounts (as in FINI), an
    investor for its own accounts (e-IPO through its broker); the offering's sponsor (as the registrar's agent) any."""
    need(p, Role.SPONSOR, Role.BROKER, Role.INVESTOR, Role.OPERATOR)
    c = commands
    apps = body.applications
    batch = c.ApplicationBatch(
        applicants=[a.applicant for a in apps], accounts=[a.account for a in apps],
        participants=[a.participant for a in apps], shares=[a.shares for a in apps],
    )
    return answer(await run(service, p, c.LodgePublicApplications(offering_id=offering_id, batch=batch)), "PublicApplicationsLodged", 201)

@router.post("/v1/offerings/{offering_id}/preferential-applications", tags=["offering lifecycle"], status_code=201)
async def lodge_preferential_applications(offering_id: IdentifierPath, body: PreferentialBatchIn, p: Me, service: Svc) -> Response:
    """Lodge applications under the offering's preferential offering (assured entitlements or employees), as the registrar's agent."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    apps = body.applications
    batch = commands.PreferentialBatch(
        applicants=[a.applicant for a in apps], accounts=[a.account for a in apps], participants=[a.participant for a in apps],
        shares=[a.shares for a in apps], entitlements=[a.entitlement for a in apps],
    )
    command = commands.LodgePreferentialApplications(offering_id=offering_id, batch=batch)
    return answer(await run(service, p, command), "PreferentialApplicationsLodged", 201)

@router.post("/v1/offerings/{offering_id}/close", tags=["offering lifecycle"])
async def close_public_offer(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    """Close the public offer; the answer carries the application book digest and the funds held."""
    need(p, Role.SPONSOR, Role.OPERATOR)
    return answer(await run(service, p, commands.ClosePublicOffer(offering_id=offering_id)), "PublicOfferClosed")

@router.post("/v1/offerings/{offering_id}/price", tags=["offering lifecycle"])
async def fix_price(offering_id: IdentifierPath, p: Me, service: Svc, body: FixPriceIn | None = None) -> Response:
    need(p, Role.SPONSOR, Role.OPERATOR)
    body = body or FixPriceIn()
    command = commands.FixOfferPrice(offering_id=offering_id, price=price_ticks(body.price, "price"), upsize_shares=body.upsize_shares)
    return answer(await run(service, p, command), "OfferPriceFixed")

@router.post("/v1/offerings/{offering_id}/allocate", tags=["offering lifecycle"])
async def allocate(offering_id: IdentifierPath, body: AllocateIn, p: Me, service: Svc) -> Response:
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
    """Price, the allotment summary with the basis of allocation, cornerstones; placees only for the offering's sponsor, operators and regulators."""
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

__all__ = ["MAX_UPLOAD_BYTES", "read_upload", "router", "toml_data"]
