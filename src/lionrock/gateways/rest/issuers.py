"""The issuer pipeline over REST (tags ``issuers``): submit a profile (JSON or an uploaded TOML
file), read its eligibility and its timetable. Reads come from the read model's ``issuer_profiles``
row (the submitted profile, the filed route and date), never from the engine: the assessment is
pure, computed in the request's thread."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any, NamedTuple

import msgspec
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from lionrock.files.profiles import IssuerProfileIn, decode_profile_json, profile_from_dict
from lionrock.listing import (
    ROUTES,
    IssuerProfile,
    ProfileError,
    SubmitIssuerProfile,
    assess,
    timetable,
)
from lionrock.readmodel import queries
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.policy import ServiceCode
from lionrock.service.root import Service

from .http import (
    Me,
    Svc,
    json_response,
    need,
    outcome_body,
    rejection_error,
    service_error,
    struct_body,
)
from .models import IdentifierPath
from .offerings import read_upload, toml_data

router = APIRouter(tags=["issuers"])


class IssuerRecordView(NamedTuple):
    profile: Any
    route: str
    filed_on: date | None


async def submit_profile(service: Service, p: Principal, decode: Callable[[str | bytes], IssuerProfile], raw: str | bytes) -> Response:
    """Decode the profile (400 naming the field that broke the schema or a cross-field check), then submit it."""
    need(p, Role.ISSUER, Role.SPONSOR, Role.OPERATOR)
    try:
        profile = decode(raw)
    except ProfileError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, exc.field, str(exc), "issuer profile schema (docs/listing.md)") from exc
    outcome = await service.submit(p, SubmitIssuerProfile(profile=profile))
    if outcome.rejection is not None:
        raise rejection_error(outcome.rejection)
    submitted = next((e for e in outcome_body(outcome)["events"] if e["type"] == "IssuerProfileSubmitted"), None)
    return json_response(
        {
            "seq": outcome.seq,
            "IssuerProfileSubmitted": submitted,
            "issuer_id": profile.issuer_id,
            "events": outcome_body(outcome)["events"],
        },
        201,
    )


@router.post(
    "/v1/issuers",
    tags=["issuers"],
    status_code=201,
    openapi_extra=struct_body(
        IssuerProfileIn, "The issuer profile file's tables as JSON (docs/listing.md); the same schema reads the TOML file."
    ),
)
async def submit_issuer(request: Request, p: Me, service: Svc) -> Response:
    """Submit (or, before filing, replace) an issuer profile: the profile file's tables as a JSON
    object (docs/listing.md), decoded by the file's own schema (`lionrock.files.profiles.IssuerProfileIn`)."""
    need(p, Role.ISSUER, Role.SPONSOR, Role.OPERATOR)
    return await submit_profile(service, p, decode_profile_json, await request.body())


@router.post("/v1/issuers/toml", tags=["issuers"], status_code=201)
async def submit_issuertoml_data(
    p: Me, service: Svc, file: Annotated[UploadFile, File(description="An issuer profile (TOML, docs/listing.md)")]
) -> Response:
    need(p, Role.ISSUER, Role.SPONSOR, Role.OPERATOR)
    return await submit_profile(service, p, _profile_from_toml, await read_upload(file))


def _profile_from_toml(text: str | bytes) -> IssuerProfile:
    data = toml_data(text if isinstance(text, str) else text.decode("utf-8"))
    return profile_from_dict(data)


def profile_of(service: Service, p: Principal, issuer_id: str) -> tuple[IssuerRecordView, date]:
    """The submitted profile (read model row) and the day it was assessed."""
    profile_json, assessed_on, route, filed_on = queries.issuer_profile(service.read, p, issuer_id)
    profile = msgspec.json.decode(profile_json, type=IssuerProfile)
    return IssuerRecordView(profile, route, date.fromisoformat(filed_on) if filed_on else None), date.fromisoformat(assessed_on)


@router.get("/v1/issuers/{issuer_id}/eligibility", tags=["issuers"])
def eligibility(issuer_id: IdentifierPath, p: Me, service: Svc, on: date | None = None) -> Response:
    """Every eligibility test and route under the rules in force ``on`` (default: the day the profile was assessed)."""
    record, assessed_on = profile_of(service, p, issuer_id)
    day = on or assessed_on
    with _rules_cover(day, "on"):
        return json_response(msgspec.to_builtins(assess(record.profile, day)))


@router.get("/v1/issuers/{issuer_id}/timetable", tags=["issuers"])
def issuer_timetable(issuer_id: IdentifierPath, p: Me, service: Svc, route: str | None = None, filed_on: date | None = None) -> Response:
    """Filing to listing: rule deadlines and an indicative path. Defaults: the filed route and date,
    else the first open route and the assessment day."""
    record, assessed_on = profile_of(service, p, issuer_id)
    day = filed_on or record.filed_on or assessed_on
    with _rules_cover(day, "filed_on"):
        chosen = route or record.route or next(iter(assess(record.profile, day).open_routes), "")
    if chosen not in ROUTES:
        raise service_error(
            400,
            ServiceCode.MALFORMED_REQUEST,
            "route",
            f"no listing route open for {issuer_id} on {day}; pass ?route= (one of {', '.join(ROUTES)})",
        )
    with _rules_cover(day, "filed_on"):
        milestones = [
            {"name": m.name, "on": m.on.isoformat(), "basis": m.basis, "reference": m.reference, "calendar": m.calendar}
            for m in timetable(record.profile, chosen, day)
        ]
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
        raise service_error(
            422,
            ServiceCode.MALFORMED_REQUEST,
            field,
            f"{field} {day.isoformat()} is outside the rules and calendar this service holds: {exc}",
        ) from exc


__all__ = ["router"]
