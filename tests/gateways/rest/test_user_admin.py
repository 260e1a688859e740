"""User administration: an operator disables and enables users and revokes their API keys.

A disabled user stops at once everywhere: password (REST, FIX), session cookies, API keys
(cached ones included), WebSocket streams; `AuthStore.is_active` answers from memory. The
storage part runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from lionrock.gateways.server import BackgroundServer
from lionrock.service.auth import AuthError, AuthStore
from lionrock.service.root import Service
from lionrock.storage.sql import SqlStore
from testkit.service_fixclient import RawFixClient
from testkit.service_world import PASSWORD, open_world


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[Service, BackgroundServer]]:
    service, _ = open_world()
    service.auth.create_user("op2", PASSWORD, "operator")
    for name in ("victim", "keyholder", "streamer", "fixer"):
        service.auth.create_user(name, PASSWORD, "investor", participant="B1", accounts=[f"C:B1:{name.upper()}"])
    srv = BackgroundServer(service, fix=True).start()
    yield service, srv
    srv.stop()
    service.close()


@contextmanager
def signed_in(srv: BackgroundServer, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.post("/v1/session", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield c


def error(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert set(body) >= {"code", "reason", "field", "message", "rule"}
    return body  # type: ignore[no-any-return]


def test_disabled_user_is_refused_at_once_by_password_session_and_key(venue: tuple[Service, BackgroundServer]) -> None:
    service, srv = venue
    with signed_in(srv, "op") as op, signed_in(srv, "victim") as victim:
        key = victim.post("/v1/api-keys", params={"label": "bot"}).json()["key"]
        by_key = {"Authorization": f"Bearer {key}"}
        assert victim.get("/v1/me", headers=by_key).status_code == 200  # verified: now in the key cache
        assert service.auth.is_active("victim")

        r = op.post("/v1/users/victim/disable")
        assert r.status_code == 200 and r.json() == {"username": "victim", "disabled": True, "changed": True}
        assert not service.auth.is_active("victim")
        assert error(victim.get("/v1/me"), 401)["code"] == 7001  # the session cookie
        assert error(victim.get("/v1/me", headers=by_key), 401)["code"] == 7001  # the cached key
        wrong = error(httpx.post(f"{srv.url}/v1/session", json={"username": "victim", "password": "not the password"}), 401)
        right = error(httpx.post(f"{srv.url}/v1/session", json={"username": "victim", "password": PASSWORD}), 401)
        assert right["message"] == wrong["message"]  # disabled reads like a wrong password
        record = op.get("/v1/users/victim").json()
        assert record["disabled"] is True and record["api_keys"] == 1
        assert "victim" not in [u["username"] for u in op.get("/v1/users").json()]
        assert op.post("/v1/users/victim/disable").json()["changed"] is False

        assert op.post("/v1/users/victim/enable").json() == {"username": "victim", "disabled": False, "changed": True}
        assert service.auth.is_active("victim")
        assert victim.get("/v1/me").status_code == 401  # old sessions stay signed out
        assert victim.get("/v1/me", headers=by_key).status_code == 200  # its keys work again
        assert httpx.post(f"{srv.url}/v1/session", json={"username": "victim", "password": PASSWORD}).status_code == 200
    actions = [(r["action"], r["target"], r["outcome"]) for r in service.auth.audit_log(actor="op")]
    assert ("user:disable", "victim", "ok") in actions and ("user:enable", "victim", "ok") in actions
    assert ("user:disable", "victim", "unchanged") in actions


def test_operator_revokes_and_lists_another_users_keys(venue: tuple[Service, BackgroundServer]) -> None:
    service, srv = venue
    with signed_in(srv, "op") as op, signed_in(srv, "keyholder") as holder, signed_in(srv, "reg") as reg:
        keys = [holder.post("/v1/api-keys", params={"label": f"k{i}"}).json() for i in range(3)]
        for k in keys:
            assert holder.get("/v1/me", headers={"X-API-Key": k["key"]}).status_code == 200
        listed = reg.get("/v1/users/keyholder/api-keys").json()  # regulators read
        assert [k["key_id"] for k in listed] == [k["key_id"] for k in keys] and all("key" not in k for k in listed)

        r = op.delete(f"/v1/users/keyholder/api-keys/{keys[0]['key_id']}")
        assert r.status_code == 200 and r.json()["revoked"] == [keys[0]["key_id"]]
        assert holder.get("/v1/me", headers={"X-API-Key": keys[0]["key"]}).status_code == 401
        assert holder.get("/v1/me", headers={"X-API-Key": keys[1]["key"]}).status_code == 200
        assert error(op.delete(f"/v1/users/keyholder/api-keys/{keys[0]['key_id']}"), 404)["field"] == "key_id"

        r = op.delete("/v1/users/keyholder/api-keys")
        assert sorted(r.json()["revoked"]) == sorted(k["key_id"] for k in keys[1:])
        assert all(holder.get("/v1/me", headers={"X-API-Key": k["key"]}).status_code == 401 for k in keys)
        assert op.get("/v1/users/keyholder/api-keys").json() == []
    actions = {r["action"] for r in service.auth.audit_log(actor="op")}
    assert {"api_key:revoke", "api_key:revoke_all"} <= actions


def test_user_admin_is_for_operators_and_names_the_problem(venue: tuple[Service, BackgroundServer]) -> None:
    service, srv = venue
    with signed_in(srv, "op") as op, signed_in(srv, "reg") as reg, signed_in(srv, "inv1") as inv, signed_in(srv, "brk1") as brk:
        for c in (reg, inv, brk):
            assert error(c.post("/v1/users/inv2/disable"), 403)["code"] == 7002
            assert error(c.delete("/v1/users/inv2/api-keys"), 403)["code"] == 7002
        for c in (inv, brk):
            assert error(c.get("/v1/users/inv2/api-keys"), 403)["code"] == 7002
            assert error(c.get("/v1/users/inv2"), 403)["code"] == 7002
        assert service.auth.is_active("inv2")
        self_disable = error(op.post("/v1/users/op/disable"), 409)
        assert (self_disable["code"], self_disable["reason"], self_disable["field"]) == (7015, "CANNOT_DISABLE_SELF", "username")
        assert service.auth.is_active("op")
        for r in (
            op.post("/v1/users/ghost/disable"),
            op.post("/v1/users/ghost/enable"),
            op.get("/v1/users/ghost"),
            op.get("/v1/users/ghost/api-keys"),
            op.delete("/v1/users/ghost/api-keys"),
        ):
            assert error(r, 404)["field"] == "username"
        assert not service.auth.is_active("ghost")


def test_disabling_a_user_closes_its_websocket_streams(venue: tuple[Service, BackgroundServer]) -> None:
    service, srv = venue
    key = service.auth.create_api_key("streamer")
    ws_base = srv.url.replace("http://", "ws://")
    with connect(f"{ws_base}/v1/ws/me?key={key}") as ws, signed_in(srv, "op2") as op:
        assert op.post("/v1/users/streamer/disable").status_code == 200
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - started < 10:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        assert time.monotonic() - started < 5
    service.auth.set_disabled("streamer", False)


def test_disabled_user_cannot_log_on_over_fix(venue: tuple[Service, BackgroundServer]) -> None:
    service, srv = venue
    service.auth.set_disabled("fixer", True)
    c = RawFixClient(srv.fix_port, "DISABLED")
    reply = c.logon("fixer", PASSWORD)
    c.close()
    assert reply.get(35) == b"5" and b"logon refused" in reply.get(58)
    service.auth.set_disabled("fixer", False)
    c = RawFixClient(srv.fix_port, "ENABLED")
    assert c.logon("fixer", PASSWORD).get(35) == b"A"
    c.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "auth.db")
    return str(request.getfixturevalue("pg_url"))


def test_disabled_state_and_revoked_keys_survive_a_restart(store_url: str) -> None:
    first = AuthStore(SqlStore(store_url))
    try:
        first.create_user("dora", PASSWORD, "investor", participant="B1", accounts=["C:B1:D"])
        first.create_user("eve", PASSWORD, "investor", participant="B1", accounts=["C:B1:E"])
        key = first.create_api_key("eve")
        token = first.issue_session("dora")
        assert first.verify_session(token).username == "dora"
        assert first.set_disabled("dora", True) and first.revoke_api_keys("eve") == [key.split("_")[1]]
    finally:
        first.store.close()
    again = AuthStore(SqlStore(store_url), session_secret=first.session_secret)
    try:
        assert not again.is_active("dora") and again.is_active("eve") and not again.is_active("nobody")
        with pytest.raises(AuthError):
            again.verify_session(token)
        with pytest.raises(AuthError):
            again.verify_password("dora", PASSWORD)
        with pytest.raises(AuthError):
            again.verify_api_key(key)
        assert again.user_record("dora")["disabled"] is True
        again.set_disabled("dora", False)
        with pytest.raises(AuthError):
            again.verify_session(token)  # enabling does not revive a session from before
        assert again.verify_password("dora", PASSWORD).username == "dora"
    finally:
        again.store.close()
