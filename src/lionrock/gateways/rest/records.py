"""Offerings, issuers and the event log as the read models hold them, and the service's health
(tags ``offerings``, ``issuers``, ``events``, ``service``). Tenancy filters every answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from lionrock.readmodel import queries

from .http import Me, Svc, json_response
from .models import AfterSeq, IdentifierPath, RowsLimit, ShortTextQuery

router = APIRouter()


@router.get("/v1/offerings", tags=["offerings"])
def offerings(p: Me, service: Svc) -> Response:
    return json_response(queries.offerings(service.read, p))


@router.get("/v1/offerings/{offering_id}", tags=["offerings"])
def offering(offering_id: IdentifierPath, p: Me, service: Svc) -> Response:
    return json_response(queries.offering(service.read, p, offering_id))


@router.get("/v1/issuers", tags=["issuers"])
def issuers(p: Me, service: Svc) -> Response:
    return json_response(queries.issuers(service.read, p))


@router.get("/v1/issuers/{issuer_id}", tags=["issuers"])
def issuer(issuer_id: IdentifierPath, p: Me, service: Svc) -> Response:
    return json_response(queries.issuer(service.read, p, issuer_id))


@router.get("/v1/events", tags=["events"])
def events(p: Me, service: Svc, after: AfterSeq = 0, type: ShortTextQuery = None, limit: RowsLimit = 500) -> Response:  # noqa: A002
    return json_response(queries.events(service.read, p, after=after, type_=type, limit=min(limit, 5000)))


@router.get("/v1/health", tags=["service"])
def health(service: Svc) -> dict[str, Any]:
    return service.health()


__all__ = ["router"]
