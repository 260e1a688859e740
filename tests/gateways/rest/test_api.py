"""REST and WebSocket API conformance, roles and tenancy, on SQLite, on PostgreSQL and over the bus.

The same module runs once per service (``venue`` fixture): the journal and the read models in
SQLite files, then in a throwaway PostgreSQL server, then the edge over NATS JetStream
(``lionrock serve --nats``: shards and projector behind it, `testkit.bus_world`; issue 17: the same
REST and WebSocket behaviour as the single-process service).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from lionrock.gateways.server import BackgroundServer
from lionrock.service.auth import AuthError
from testkit.bus_world import open_bus_world
from testkit.service_world import PASSWORD, ROLES, STOCK, next_id, open_world

CROSS, STREAM = "02526", "02527"

_CLIENTS: list[httpx.Client] = []


def _close_clients() -> None:
    while _CLIENTS:
        _CLIENTS.pop().close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration), "edge over NATS"])
def venue(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, BackgroundServer]]:
    if request.param == "edge over NATS":
        server = request.getfixturevalue("pg_server")
        world = open_bus_world(
            request.getfixturevalue("nats_url"),
            f"{server.url}?schema=api_{next_id('m')}",
            tmp_path_factory.mktemp("bus"),
            stocks=(STOCK, CROSS, STREAM),
        )
        service, close = world.service, world.close
    else:
        db = (
            str(tmp_path_factory.mktemp("api") / "lionrock.db")
            if request.param == "sqlite"
            else f"{request.getfixturevalue('pg_server').url}?schema=api_{next_id('m')}"
        )
        service, _ = open_world(db, stocks=(STOCK, CROSS, STREAM))
        close = service.close
    srv = BackgroundServer(service, fix=False).start()
    yield service, srv
    _close_clients()
    srv.stop()
    close()


def client(srv: BackgroundServer, user: str | None) -> httpx.Client:
    c = httpx.Client(base_url=srv.url, timeout=30)
    _CLIENTS.append(c)
    if user is not None:
        r = c.post("/v1/session", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
    return c


def order(
    c: httpx.Client, side: str, qty: int = 100, price: str = "50.00", account: str | None = None, instrument: str = STOCK
) -> httpx.Response:
    body = {"instrument": instrument, "side": side, "quantity": qty, "price": price, "client_order_id": next_id()}
    if account:
        body["account"] = account
    return c.post("/v1/orders", json=body)


def test_api_orders_cross_and_fill_positions_follow(venue) -> None:  # type: ignore[no-untyped-def]
    _, srv = venue
    inv1, inv2 = client(srv, "inv1"), client(srv, "inv2")
    buy = order(inv1, "B", 200, "49.90", instrument=CROSS)
    assert buy.status_code == 201, buy.text
    oid = buy.json()["order"]["order_id"]
    sell = order(inv2, "S", 100, "49.90", instrument=CROSS)
    assert sell.status_code == 201 and sell.json()["order"]["status"] == "filled"
    mine = inv1.get(f"/v1/orders/{oid}").json()
    assert (mine["status"], mine["filled"], mine["remaining"]) == ("partially_filled", 100, 100)
    executed = {h["asset"]: h["amount"] for h in inv1.get("/v1/accounts").json()["executed"]}
    assert executed[f"SEC:{CROSS}"] == 100 and executed["CASH:HKD"] <= -499_000
    settled = {h["asset"] for h in inv1.get("/v1/accounts/C:B1:I1/positions").json()}
    assert f"SEC:{CROSS}" not in settled  # positions are the clearing ledger's: the trade settles T+2
    trades = inv1.get(f"/v1/market/{CROSS}/trades").json()
    assert trades and "buyer" not in trades[0]  # market data names no accounts
    assert inv1.delete(f"/v1/orders/{oid}").json()["order"]["status"] == "cancelled"


def test_api_bars_add_up_to_the_trades(venue) -> None:  # type: ignore[no-untyped-def]
    """OHLCV bars (issue 3, market data): every interval's bars hold the instrument's trades."""
    _, srv = venue
    inv1, inv2 = client(srv, "inv1"), client(srv, "inv2")
    for price in ("49.80", "49.84", "49.76"):
        made = order(inv1, "B", 100, price, instrument=CROSS)
        assert made.status_code == 201, made.text
        assert order(inv2, "S", 100, price, instrument=CROSS).json()["order"]["status"] == "filled"
    trades = inv1.get(f"/v1/market/{CROSS}/trades", params={"limit": 2000}).json()
    prices = [t["price"] for t in trades]
    for interval in (60, 300, 3600):
        bars = inv1.get(f"/v1/market/{CROSS}/bars", params={"interval": interval}).json()
        assert sum(b["volume"] for b in bars) == sum(t["quantity"] for t in trades)
        assert sum(b["trades"] for b in bars) == len(trades)
        assert max(b["high"] for b in bars) == max(prices) and min(b["low"] for b in bars) == min(prices)
        assert bars[-1]["close"] == trades[0]["price"]  # the newest trade closes the newest bar
        assert all(b["start_ns"] % (60 * 10**9) == 0 and b["low"] <= b["open"] <= b["high"] for b in bars)
    bad = inv1.get(f"/v1/market/{CROSS}/bars", params={"interval": 7})
    error = bad.json()["error"]
    assert bad.status_code == 422 and error["field"] == "interval" and "divides a day" in error["message"]
    assert inv1.get(f"/v1/market/{CROSS}/bars", params={"limit": 0}).json()["error"]["field"] == "limit"


def test_api_engine_rejection_is_422_with_code_field_rule(venue) -> None:  # type: ignore[no-untyped-def]
    _, srv = venue
    r = order(client(srv, "inv1"), "B", 150)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["reason"] == "ODD_LOT" and err["field"] == "quantity" and err["rule"] and 2000 <= err["code"] < 3000


def test_api_malformed_request_is_400_naming_the_field(venue) -> None:  # type: ignore[no-untyped-def]
    _, srv = venue
    c = client(srv, "inv1")
    r = order(c, "B", price="49.9001")
    assert r.status_code == 400 and r.json()["error"]["field"] == "price"
    r = c.post("/v1/orders", json={"instrument": STOCK, "side": "X", "quantity": 100, "client_order_id": "x"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "side" and r.json()["error"]["code"] == 7005
    r = c.post("/v1/commands", json={"type": "PlaceOrder", "instrument": STOCK})
    assert r.status_code == 400 and r.json()["error"]["field"] == "participant"
    r = c.post("/v1/commands", json={"type": "PlaceOrders"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "type" and "unknown command type" in r.json()["error"]["message"]


def test_api_amend_changes_price_and_keeps_tenancy(venue) -> None:  # type: ignore[no-untyped-def]
    _, srv = venue
    inv1, inv2 = client(srv, "inv1"), client(srv, "inv2")
    made = order(inv1, "B", 300, "49.70")
    assert made.status_code == 201, made.text
    oid = made.json()["order"]["order_id"]
    assert inv2.patch(f"/v1/orders/{oid}", json={"price": "49.76"}).status_code == 404
    r = inv1.patch(f"/v1/orders/{oid}", json={"price": "49.76", "quantity": 200})
    assert r.status_code == 200, r.text
    assert (r.json()["order"]["price_text"], r.json()["order"]["remaining"]) == ("49.76", 200)
    inv1.delete(f"/v1/orders/{oid}")


ALLOWED_ORDER_ENTRY = {"inv1", "brk1", "op"}
SEES_INV1 = {"inv1", "brk1", "op", "reg"}


@pytest.mark.parametrize("user", ROLES)
def test_api_role_and_tenant_matrix(venue, user: str) -> None:  # type: ignore[no-untyped-def]
    """Every endpoint for every role, including reading and cancelling another tenant's order."""
    _, srv = venue
    owner = client(srv, "inv1")
    made = order(owner, "B", 100, "49.60")
    assert made.status_code == 201, made.text
    target = made.json()["order"]["order_id"]
    c = client(srv, user)
    expect: list[tuple[str, str, dict[str, object] | None, int]] = [
        ("GET", "/v1/me", None, 200),
        ("GET", "/v1/orders", None, 200),
        ("GET", f"/v1/orders/{target}", None, 200 if user in SEES_INV1 else 404),
        ("GET", "/v1/accounts/C:B1:I1/positions", None, 200 if user in SEES_INV1 else 404),
        ("GET", "/v1/accounts", None, 200),
        ("GET", f"/v1/market/{STOCK}/depth", None, 200),
        ("GET", "/v1/market/instruments", None, 200),
        ("GET", "/v1/offerings", None, 200),
        ("GET", "/v1/issuers", None, 200),
        ("GET", "/v1/events", None, 200),
        ("GET", "/v1/audit", None, 200),
        ("GET", "/v1/users", None, 200 if user in ("op", "reg") else 403),
        ("POST", "/v1/users", {"username": f"new-{user}", "password": "password123", "role": "investor"}, 200 if user == "op" else 403),
        (
            "POST",
            "/v1/commands",
            {"type": "ListInstrument", "instrument": f"9{len(user)}{user[:2]}", "board_lot": 100, "nominal_price": 10_000},
            200 if user == "op" else 403,
        ),
        (
            "POST",
            "/v1/orders",
            {"instrument": STOCK, "side": "B", "quantity": 100, "price": "49.56", "client_order_id": next_id(), "account": "C:B1:I1"},
            201 if user in ALLOWED_ORDER_ENTRY else 403,
        ),
        ("PATCH", f"/v1/orders/{target}", {"price": "49.64"}, 200 if user in ALLOWED_ORDER_ENTRY else 404),
        ("DELETE", f"/v1/orders/{target}", None, 200 if user in ALLOWED_ORDER_ENTRY else 404),
    ]
    got = []
    for method, path, body, status in expect:
        r = c.request(method, path, json=body)
        got.append((method, path, r.status_code))
        assert r.status_code == status, f"{user} {method} {path}: {r.status_code} {r.text}"
        if status >= 400:
            err = r.json()["error"]
            assert {"code", "reason", "field", "message", "rule"} <= set(err)
    if user not in SEES_INV1:  # nothing of inv1's leaks through the event feed either
        for e in c.get("/v1/events").json():
            assert "C:B1:I1" not in json.dumps(e)
        assert all(o["account"] != "C:B1:I1" for o in c.get("/v1/orders").json())
    anonymous = client(srv, None)
    for method, path, body, _ in expect:
        r = anonymous.request(method, path, json=body)
        assert r.status_code == 401 and r.json()["error"]["reason"] == "UNAUTHENTICATED", f"{method} {path}"


def test_api_denials_and_commands_are_audited_append_only(venue) -> None:  # type: ignore[no-untyped-def]
    service, srv = venue
    inv2 = client(srv, "inv2")
    assert order(inv2, "B", account="C:B1:I1").status_code == 403
    log = client(srv, "op").get("/v1/audit", params={"actor": "inv2"}).json()
    assert any(row["outcome"] == "denied" and row["action"] == "command:PlaceOrder" for row in log)
    assert client(srv, "inv2").get("/v1/audit", params={"actor": "inv1"}).json()[0]["actor"] == "inv2"  # own rows only
    assert service.auth.verify_audit_chain() > 0
    with pytest.raises(Exception, match="append-only"):
        service.auth.store.execute("UPDATE audit SET outcome = 'ok' WHERE id = 1")
    with pytest.raises(Exception, match="append-only"):
        service.auth.store.execute("DELETE FROM audit WHERE id = 1")


def test_api_keys_hashed_work_and_revoke(venue) -> None:  # type: ignore[no-untyped-def]
    service, srv = venue
    c = client(srv, "brk1")
    made = c.post("/v1/api-keys", params={"label": "desk"}).json()
    stored = service.auth.store.one("SELECT key_hash FROM api_keys WHERE key_id = ?", (made["key_id"],))
    assert (
        stored is not None and stored[0].startswith("$argon2id$") and made["key"].split("_", 2)[2] not in stored[0]
    )  # the whole secret (it may contain "_")
    keyed = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {made['key']}"})
    _CLIENTS.append(keyed)
    assert keyed.get("/v1/me").json()["username"] == "brk1"
    assert order(keyed, "B", account="C:B1:I7").status_code == 201  # a broker trades its clients' accounts
    assert order(keyed, "B", account="C:B2:I2").status_code == 403
    assert c.delete(f"/v1/api-keys/{made['key_id']}").status_code == 200
    assert keyed.get("/v1/me").status_code == 401


def test_api_session_cookie_tampering_refused(venue) -> None:  # type: ignore[no-untyped-def]
    service, srv = venue
    token = service.auth.issue_session("inv1")
    payload, sig = token.split(".")
    import base64

    forged = base64.urlsafe_b64encode(b"op|9999999999").decode().rstrip("=") + "." + sig
    with pytest.raises(AuthError):
        service.auth.verify_session(forged)
    c = httpx.Client(base_url=srv.url, cookies={"lr_session": forged})
    _CLIENTS.append(c)
    assert c.get("/v1/me").status_code == 401
    bad = client(srv, None).post("/v1/session", json={"username": "inv1", "password": "wrong password"})
    assert bad.status_code == 401 and bad.json()["error"]["field"] == "password"


def test_api_websocket_streams_market_and_own_events_only(venue) -> None:  # type: ignore[no-untyped-def]
    _, srv = venue
    inv1, inv2 = client(srv, "inv1"), client(srv, "inv2")
    key2 = inv2.post("/v1/api-keys").json()["key"]
    ws_base = srv.url.replace("http://", "ws://")
    with connect(f"{ws_base}/v1/ws/market/{STREAM}?key={key2}") as market, connect(f"{ws_base}/v1/ws/me?key={key2}") as mine:
        snapshot = json.loads(market.recv(timeout=10))
        assert snapshot["type"] == "snapshot" and "bids" in snapshot["depth"]
        assert json.loads(mine.recv(timeout=10))["type"] == "snapshot"  # /v1/ws/me opens with one too (issue 13)
        assert (
            order(inv1, "B", 100, "49.80", instrument=STREAM).status_code == 201
        )  # inv1's order: on the market stream, not on inv2's own stream
        got = json.loads(market.recv(timeout=10))
        assert got["event"]["type"] == "MarketDepthUpdated" and "account" not in got["event"]  # market data only
        mine_order = order(inv2, "S", 100, "49.80", instrument=STREAM)
        assert mine_order.status_code == 201
        types = set()
        for _ in range(3):
            msg = json.loads(mine.recv(timeout=10))
            types.add(msg["event"]["type"])
            assert "C:B1:I1" not in json.dumps(msg)  # the counterparty is not named
        assert "OrderAccepted" in types and "TradeExecuted" in types


def test_api_restart_recovers_orders_and_state(tmp_path: Path) -> None:
    """Crash-only: a restarted service replays the journal; read models and state hash agree."""
    db = str(tmp_path / "venue.db")
    service, _ = open_world(db)
    srv = BackgroundServer(service, fix=False).start()
    c = client(srv, "inv1")
    oid = order(c, "B", 100, "49.86").json()["order"]["order_id"]
    digest = service.runner.call(lambda e: e.state_hash()).result(10)
    _close_clients()
    srv.stop()
    service.close()
    from lionrock.service.contexts import default_contexts
    from lionrock.service.root import Service

    again = Service(db, contexts=default_contexts()).start()
    try:
        assert again.engine.state_hash() == digest
        assert again.order_owner(oid) == "C:B1:I1"
        assert again.auth.verify_password("inv1", PASSWORD).username == "inv1"
    finally:
        again.close()


def test_api_short_sale_needs_a_designated_security_and_is_shown(venue) -> None:  # type: ignore[no-untyped-def]
    """Regulated short selling (Schedule 11): ``short_sell`` on an order; refused (422, naming the
    field) until the operator designates the stock; the order shows it afterwards."""
    _, srv = venue
    inv2, op = client(srv, "inv2"), client(srv, "op")
    body = {"instrument": CROSS, "side": "S", "quantity": 100, "price": "50.50", "short_sell": True}
    r = inv2.post("/v1/orders", json={**body, "client_order_id": next_id("ss")})
    err = r.json()["error"]
    assert (r.status_code, err["reason"], err["field"]) == (422, "SHORT_SELL_NOT_DESIGNATED", "short_sell") and "Schedule 11" in err["rule"]
    r = op.post("/v1/commands", json={"type": "DesignateShortSelling", "instrument": CROSS, "designated": True})
    assert r.status_code in (200, 201), r.text
    r = inv2.post("/v1/orders", json={**body, "client_order_id": next_id("ss")})
    assert r.status_code == 201, r.text
    made = r.json()["order"]
    assert made["short_sell"] is True and inv2.get(f"/v1/orders/{made['order_id']}").json()["short_sell"] is True
    assert inv2.delete(f"/v1/orders/{made['order_id']}").json()["order"]["status"] == "cancelled"
    plain = order(inv2, "S", 100, "50.50", instrument=CROSS)
    assert plain.status_code == 201 and plain.json()["order"]["short_sell"] is False
    inv2.delete(f"/v1/orders/{plain.json()['order']['order_id']}")
    # short-selling turnover by day: a short sale and an ordinary sale both trade
    before = {d["day"]: d for d in inv2.get(f"/v1/market/{CROSS}/short-selling").json()}
    for short in (True, False):
        r = inv2.post("/v1/orders", json={**body, "price": "49.70", "short_sell": short, "client_order_id": next_id("ss")})
        assert r.status_code == 201, r.text
        assert order(client(srv, "inv1"), "B", 100, "49.70", instrument=CROSS).json()["order"]["status"] == "filled"
    days = inv2.get(f"/v1/market/{CROSS}/short-selling").json()
    today, was = days[-1], before.get(days[-1]["day"], {"short_shares": 0, "short_turnover_minor": 0, "turnover_minor": 0})
    assert today["short_shares"] - was["short_shares"] == 100
    assert today["short_turnover_minor"] - was["short_turnover_minor"] == 497_000  # HK$4,970.00 in cents
    assert today["turnover_minor"] - was["turnover_minor"] >= 2 * 497_000
    assert today["short_share_bp"] == today["short_turnover_minor"] * 10_000 // today["turnover_minor"]
    assert inv2.get(f"/v1/market/{CROSS}/short-selling", params={"days": 0}).json()["error"]["field"] == "days"
