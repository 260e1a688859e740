"""User administration over REST: disable and enable users, list and revoke their API keys.

An operator must be able to stop a user at once (a leaked key, a departed employee, a client
under investigation) without deleting anything: the audit log and the user's orders keep naming
it. Disabling refuses the user's password, sessions and API keys from that moment (the session
epoch moves on and the key cache is cleared; the FIX gateway checks `AuthStore.is_active`, the
WebSocket streams close); enabling again lets it sign in afresh with its old keys. Revoking keys
ends them for good.

| endpoint | what | roles |
| --- | --- | --- |
| ``GET /v1/users/{username}`` | the user, disabled or not, with its live key count | operator, regulator |
| ``POST /v1/users/{username}/disable``, ``…/enable`` | disable / enable (an operator cannot disable itself: 409, code 7015) | operator |
| ``GET /v1/users/{username}/api-keys`` | its live keys (ids, labels, created; never secrets) | operator, regulator |
| ``DELETE /v1/users/{username}/api-keys/{key_id}``, ``DELETE …/api-keys`` | revoke one key / all its keys | operator |

Every change is audited (``user:disable``, ``user:enable``, ``api_key:revoke``,
``api_key:revoke_all``); an unknown user or key answers 404 naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.policy import ServiceCode
from lionrock.service.root import Service

from .http import Me, Svc, need, service_error

router = APIRouter(prefix="/v1/users", tags=["auth"])


def _record(service: Service, username: str) -> dict[str, Any]:
    try:
        return service.auth.user_record(username)
    except LookupError as exc:
        raise service_error(404, ServiceCode.NOT_FOUND, "username", f"no user {username!r}") from exc


@router.get("/{username}")
def user(username: str, p: Me, service: Svc) -> dict[str, Any]:
    """The user as an operator sees it: role, holdings of ids, ``disabled``, live key count."""
    need(p, Role.OPERATOR, Role.REGULATOR)
    return _record(service, username) | {"api_keys": len(service.auth.api_keys(username))}


def _set_disabled(service: Service, p: Principal, username: str, disabled: bool) -> dict[str, Any]:
    need(p, Role.OPERATOR)
    if disabled and username == p.username:
        raise service_error(
            409,
            ServiceCode.CANNOT_DISABLE_SELF,
            "username",
            "an operator cannot disable itself (another operator must: the venue must keep one)",
        )
    try:
        changed = service.auth.set_disabled(username, disabled)
    except LookupError as exc:
        raise service_error(404, ServiceCode.NOT_FOUND, "username", f"no user {username!r}") from exc
    action = "user:disable" if disabled else "user:enable"
    service.auth.audit(p.username, str(p.role), p.via, action, username, "ok" if changed else "unchanged")
    return {"username": username, "disabled": disabled, "changed": changed}


@router.post("/{username}/disable")
def disable(username: str, p: Me, service: Svc) -> dict[str, Any]:
    """Disable a user: its password, sessions and API keys stop working at once."""
    return _set_disabled(service, p, username, True)


@router.post("/{username}/enable")
def enable(username: str, p: Me, service: Svc) -> dict[str, Any]:
    """Enable a disabled user: it signs in again (old sessions stay signed out; its keys work again)."""
    return _set_disabled(service, p, username, False)


@router.get("/{username}/api-keys")
def keys(username: str, p: Me, service: Svc) -> list[dict[str, Any]]:
    """A user's live API keys (ids, labels, creation time; the secrets are never stored)."""
    need(p, Role.OPERATOR, Role.REGULATOR)
    _record(service, username)
    return service.auth.api_keys(username)


@router.delete("/{username}/api-keys/{key_id}")
def revoke_key(username: str, key_id: str, p: Me, service: Svc) -> dict[str, Any]:
    """Revoke one of a user's API keys."""
    need(p, Role.OPERATOR)
    _record(service, username)
    if not service.auth.revoke_api_key(username, key_id):
        raise service_error(404, ServiceCode.NOT_FOUND, "key_id", f"no live API key {key_id} of {username}")
    service.auth.audit(p.username, str(p.role), p.via, "api_key:revoke", key_id, "ok", f"of {username}")
    return {"username": username, "revoked": [key_id]}


@router.delete("/{username}/api-keys")
def revoke_all_keys(username: str, p: Me, service: Svc) -> dict[str, Any]:
    """Revoke every live API key of a user."""
    need(p, Role.OPERATOR)
    _record(service, username)
    revoked = service.auth.revoke_api_keys(username)
    service.auth.audit(p.username, str(p.role), p.via, "api_key:revoke_all", username, "ok", ",".join(revoked))
    return {"username": username, "revoked": revoked}


__all__ = ["router"]
