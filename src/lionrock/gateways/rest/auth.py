"""Signing in and out, API keys, creating and listing users, the audit log (tags ``auth``).

The audit log keeps what the journal cannot: sign-ins (and their failures and throttling),
denials, user and key administration. Commands themselves are in the journal, with who sent them
and through which channel (docs/service.md, "One log").
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lionrock.kernel.ids import parse_identifier
from lionrock.readmodel.tenancy import Role
from lionrock.service.auth import SESSION_COOKIE, AuthError, LoginThrottled
from lionrock.service.policy import ServiceCode

from .http import Me, Svc, json_body, json_response, need, service_error, struct_body, struct_response
from .limits import Limited, client_address
from .models import ApiKeyOut, IdentifierPath, IdentifierQuery, LoginIn, NewUserIn, RowsLimit

router = APIRouter()


@router.post("/v1/session", tags=["auth"], openapi_extra=struct_body(LoginIn, "A username and its password."))
def login(request: Request, service: Svc, body: Annotated[LoginIn, json_body(LoginIn)]) -> Response:
    try:
        p = service.auth.verify_password(body.username, body.password, address=client_address(request))
    except LoginThrottled as exc:
        service.auth.audit(body.username, "", "session", "login", client_address(request), "throttled", str(exc))
        raise Limited(429, ServiceCode.LOGIN_THROTTLED, "username", str(exc), exc.retry_after_s) from exc
    except AuthError as exc:
        service.auth.audit(body.username, "", "session", "login", "", "failed", "")
        raise service_error(401, ServiceCode.UNAUTHENTICATED, "password", str(exc)) from exc
    service.auth.audit(p.username, str(p.role), "session", "login", "", "ok")
    resp = json_response(p.public())
    resp.set_cookie(
        SESSION_COOKIE, service.auth.issue_session(p.username), httponly=True, samesite="strict", max_age=service.auth.session_ttl_s
    )
    return resp


@router.delete("/v1/session", tags=["auth"])
def logout(p: Me, service: Svc) -> Response:
    service.auth.revoke_sessions(p.username)  # the cookie's token (and any copy) stops working
    service.auth.audit(p.username, str(p.role), p.via, "logout", "", "ok")
    resp = json_response({"signed_out": True})
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/v1/me", tags=["auth"])
def me(p: Me, service: Svc) -> dict[str, Any]:
    return p.public() | {"via": p.via}


@router.post("/v1/api-keys", tags=["auth"], responses={200: struct_response(ApiKeyOut, "The new key, shown once.")})
def new_key(p: Me, service: Svc, label: Annotated[str, Query(max_length=64)] = "") -> Response:
    try:
        parse_identifier(label, "label", allow_empty=True)
    except ValueError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "label", str(exc)) from exc
    key = service.auth.create_api_key(p.username, label)
    service.auth.audit(p.username, str(p.role), p.via, "api_key:create", key.split("_")[1], "ok", label)
    return json_response(ApiKeyOut(key=key, key_id=key.split("_")[1], label=label))


@router.get("/v1/api-keys", tags=["auth"])
def list_keys(p: Me, service: Svc) -> list[dict[str, Any]]:
    return service.auth.api_keys(p.username)


@router.delete("/v1/api-keys/{key_id}", tags=["auth"])
def revoke_key(key_id: IdentifierPath, p: Me, service: Svc) -> dict[str, Any]:
    if not service.auth.revoke_api_key(p.username, key_id):
        raise service_error(404, ServiceCode.NOT_FOUND, "key_id", f"no API key {key_id} of yours")
    service.auth.audit(p.username, str(p.role), p.via, "api_key:revoke", key_id, "ok")
    return {"revoked": key_id}


@router.post("/v1/users", tags=["auth"], openapi_extra=struct_body(NewUserIn, "The new user, its role and what it may see."))
def create_user(p: Me, service: Svc, body: Annotated[NewUserIn, json_body(NewUserIn)]) -> dict[str, Any]:
    need(p, Role.OPERATOR)
    try:
        u = service.auth.create_user(
            body.username,
            body.password,
            body.role,
            participant=body.participant,
            accounts=tuple(body.accounts),
            offerings=tuple(body.offerings),
            issuers=tuple(body.issuers),
        )
    except ValueError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "username", str(exc)) from exc
    service.auth.audit(p.username, str(p.role), p.via, "user:create", body.username, "ok", body.role)
    return u.public()


@router.get("/v1/users", tags=["auth"])
def list_users(p: Me, service: Svc) -> list[dict[str, Any]]:
    need(p, Role.OPERATOR, Role.REGULATOR)
    return [u.public() for u in service.auth.users()]


@router.get("/v1/audit", tags=["auth"])
def audit(p: Me, service: Svc, actor: IdentifierQuery = None, limit: RowsLimit = 200) -> list[dict[str, Any]]:
    if not p.sees_all:
        actor = p.username  # everyone may read what they did; only operators/regulators everyone's
    return service.auth.audit_log(actor=actor, limit=min(limit, 5000))


__all__ = ["router"]
