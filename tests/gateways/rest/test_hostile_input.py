"""A hostile client against the REST edge (issue 13, stream A): bounded input, never a 500, never
an engine stop, identifiers in one charset, the channel set by the server, documented errors, and
WebSocket snapshots that say which sequence number they reflect.

Each test names the defect it pins; before the fix, each failed (a 500, an engine that answered 503
to everyone after one order, an SOH byte accepted in a client order id, ``quantity: true`` taken as
1, ``limit=-1`` lifting the cap, ``channel: "FIX"`` from REST, a snapshot without ``seq``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from lionrock.gateways.server import BackgroundServer
from testkit.service_world import PASSWORD, STOCK, next_id, open_world

HUGE = "99999999999999999999999999.00"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    service, _ = open_world(str(tmp_path_factory.mktemp("hostile") / "lionrock.db"))
    server = BackgroundServer(service, fix=False).start()
    yield server
    server.stop()
    service.close()


@pytest.fixture(scope="module")
def clients(srv: BackgroundServer) -> Iterator[dict[str, httpx.Client]]:
    out = {}
    for user in ("inv1", "inv2", "op", "spo"):
        c = httpx.Client(base_url=srv.url, timeout=30)
        assert c.post("/v1/session", json={"username": user, "password": PASSWORD}).status_code == 200
        out[user] = c
    yield out
    for c in out.values():
        c.close()


def _order(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"instrument": STOCK, "side": "B", "quantity": 100, "price": "49.80", "client_order_id": next_id("h")}
    body.update(overrides)
    return body


def _error(r: httpx.Response, status: int, field: str | None = None) -> dict[str, object]:
    assert r.status_code == status, (r.status_code, r.text)
    error = r.json()["error"]
    assert set(error) >= {"code", "reason", "field", "message", "rule"}
    if field is not None:
        assert error["field"] == field, error
    return error


def _engine_serves(c: httpx.Client) -> None:
    """Everyone's next order is still accepted: the engine did not stop."""
    r = c.post("/v1/orders", json=_order(price="49.70"))
    assert r.status_code == 201, r.text


# -- defect 1: one order stops the engine for everyone -------------------------------------------------
@pytest.mark.parametrize("price", [HUGE, "1e400", "NaN", "Infinity", "-Infinity", "5e1", "4_9.90", "10000.000"])
def test_order_price_out_of_format_or_bounds_is_400_and_engine_keeps_serving(clients: dict[str, httpx.Client], price: str) -> None:
    error = _error(clients["inv1"].post("/v1/orders", json=_order(price=price)), 400, "price")
    assert "price" in str(error["message"]) and "finer" not in str(error["message"])
    assert "access policy" not in str(error["rule"])
    _engine_serves(clients["inv2"])


def test_amend_own_order_to_huge_price_is_400_and_engine_keeps_serving(clients: dict[str, httpx.Client]) -> None:
    placed = clients["inv1"].post("/v1/orders", json=_order(price="49.60"))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order"]["order_id"]
    _error(clients["inv1"].patch(f"/v1/orders/{order_id}", json={"price": HUGE}), 400, "price")
    _engine_serves(clients["inv2"])


@pytest.mark.parametrize("price", [10**30, 2**63, 2**64 - 1])
def test_generic_command_with_integer_beyond_64_bits_is_rejected_not_a_stop(clients: dict[str, httpx.Client], price: int) -> None:
    body = {
        "type": "PlaceOrder",
        "instrument": STOCK,
        "participant": "B1",
        "account": "C:B1:I1",
        "client_order_id": next_id("h"),
        "side": "B",
        "order_type": "LIMIT",
        "price": price,
        "quantity": 100,
    }
    r = clients["inv1"].post("/v1/commands", content=json.dumps(body))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["field"] == "price", r.text
    _engine_serves(clients["inv2"])


def test_ioi_limit_price_huge_is_400(clients: dict[str, httpx.Client]) -> None:
    body = {"ioi_id": "HOSTILE-1", "investor": "LIM1", "account": "C:B1:I1", "steps": [{"limit_price": HUGE, "shares": 1000}]}
    _error(clients["op"].post("/v1/offerings/OFF-A/iois", json=body), 400, "steps[0].limit_price")
    _engine_serves(clients["inv2"])


# -- defect 2: FIX injection through REST identifiers ----------------------------------------------------
@pytest.mark.parametrize("client_order_id", ["a\x01b", "x\x0110=000\x01", "a b", "a\nb", "caf\u00e9", "x" * 65])
def test_order_client_order_id_outside_identifier_charset_is_400(clients: dict[str, httpx.Client], client_order_id: str) -> None:
    error = _error(clients["inv1"].post("/v1/orders", json=_order(client_order_id=client_order_id)), 400, "client_order_id")
    assert "identifier" in str(error["message"])


def test_generic_command_identifier_with_soh_is_400(clients: dict[str, httpx.Client]) -> None:
    body = {
        "type": "PlaceOrder",
        "instrument": STOCK,
        "participant": "B1",
        "account": "C:B1:I1",
        "client_order_id": "a\x01b",
        "side": "B",
        "order_type": "LIMIT",
        "price": 49_800,
        "quantity": 100,
    }
    _error(clients["inv1"].post("/v1/commands", content=json.dumps(body)), 400, "client_order_id")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/offerings/OFF-A/iois", {"ioi_id": "I\x01", "investor": "LIM1", "account": "C:B1:I1", "steps": [{"shares": 1000}]}, "ioi_id"),
        (
            "/v1/offerings/OFF-A/applications",
            {"applications": [{"applicant": "HK\x01ID", "account": "C:B1:I1", "participant": "B1", "shares": 1000}]},
            "applications.0.applicant",
        ),
        ("/v1/users", {"username": "eve\x01", "password": "long enough password", "role": "investor"}, "username"),
        ("/v1/users", {"username": "eve", "password": "long enough password", "role": "investor", "accounts": ["C:B1:\x01"]}, "accounts.0"),
    ],
)
def test_identifiers_in_other_bodies_are_checked(clients: dict[str, httpx.Client], path: str, body: dict[str, object], field: str) -> None:
    _error(clients["op"].post(path, json=body), 400, field)


def test_api_key_label_with_control_character_is_400(clients: dict[str, httpx.Client]) -> None:
    _error(clients["inv1"].post("/v1/api-keys", params={"label": "lap\x01top"}), 400, "label")
    assert clients["inv1"].post("/v1/api-keys", params={"label": "laptop-2"}).status_code == 200


def test_offering_id_with_control_character_is_400(clients: dict[str, httpx.Client]) -> None:
    _error(clients["op"].post("/v1/offerings/OFF%01A/close"), 400, "offering_id")


# -- defect 5: 500s instead of 4xx, caps lifted, lax types, extra fields ---------------------------------
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/orders/99999999999999999999", {}, "order_id"),
        ("/v1/orders/0", {}, "order_id"),
        ("/v1/events", {"after": 2**70}, "after"),
        ("/v1/events", {"after": -1}, "after"),
        ("/v1/events", {"limit": -(10**30)}, "limit"),
        ("/v1/events", {"limit": -1}, "limit"),
        ("/v1/orders", {"limit": -1}, "limit"),
        ("/v1/orders", {"limit": 5001}, "limit"),
        ("/v1/audit", {"limit": -1}, "limit"),
        (f"/v1/market/{STOCK}/depth", {"levels": -5}, "levels"),
        (f"/v1/market/{STOCK}/trades", {"limit": -1}, "limit"),
    ],
)
def test_path_and_query_integers_are_bounded_400(
    clients: dict[str, httpx.Client], path: str, params: dict[str, object], field: str
) -> None:
    _error(clients["inv1"].get(path, params=params), 400, field)


def test_amend_and_cancel_with_order_id_beyond_64_bits_is_400(clients: dict[str, httpx.Client]) -> None:
    _error(clients["inv1"].patch(f"/v1/orders/{2**64}", json={"quantity": 100}), 400, "order_id")
    _error(clients["inv1"].delete(f"/v1/orders/{2**64}"), 400, "order_id")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": True}, "quantity"),
        ({"quantity": "100"}, "quantity"),
        ({"quantity": 100.0}, "quantity"),
        ({"quantity": 10**13}, "quantity"),
        ({"short_sell": "yes"}, "short_sell"),
        ({"clOrdId": "x"}, "clOrdId"),
        ({"channel": "FIX"}, "channel"),
        ({"price": 49.8}, "price"),
    ],
)
def test_order_body_is_strict_and_refuses_unknown_fields(
    clients: dict[str, httpx.Client], overrides: dict[str, object], field: str
) -> None:
    _error(clients["inv1"].post("/v1/orders", json=_order(**overrides)), 400, field)


def test_offering_price_range_of_non_prices_is_4xx_not_500(clients: dict[str, httpx.Client]) -> None:
    from testkit.service_ipo import definition

    body = definition("HOSTILE-1", "09998")
    body["offering"]["price_range"] = ["INF", "Q"]
    r = clients["op"].post("/v1/offerings", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert "price" in r.json()["error"]["field"], r.text


def test_openapi_documents_the_error_responses(clients: dict[str, httpx.Client]) -> None:
    spec = clients["inv1"].get("/openapi.json").json()
    post_order = spec["paths"]["/v1/orders"]["post"]["responses"]
    for status in ("400", "401", "403", "404", "422", "429", "503"):
        assert status in post_order, status
        assert post_order[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "code" in spec["components"]["schemas"]["ErrorDetail"]["properties"]
    assert spec["components"]["schemas"]["NewOrderIn"]["additionalProperties"] is False


# -- defect 6 (part): the channel is the server's ----------------------------------------------------------
def test_generic_command_cannot_claim_the_fix_channel(srv: BackgroundServer, clients: dict[str, httpx.Client]) -> None:
    client_order_id = next_id("ch")
    body = {
        "type": "PlaceOrder",
        "instrument": STOCK,
        "participant": "B1",
        "account": "C:B1:I1",
        "client_order_id": client_order_id,
        "side": "B",
        "order_type": "LIMIT",
        "price": 49_800,
        "quantity": 100,
        "channel": "FIX",
    }
    r = clients["inv1"].post("/v1/commands", content=json.dumps(body))
    assert r.status_code == 200, r.text
    accepted = [e for e in r.json()["events"] if e["type"] == "OrderAccepted"]
    assert accepted and accepted[0].get("channel", "REST") == "REST"
    row = srv.service.read.one("SELECT channel FROM orders WHERE client_order_id = ?", (client_order_id,))
    assert row is not None and row[0] == "REST"


# -- WebSocket snapshots carry the seq they reflect; later events are after it --------------------------
def test_websocket_snapshots_carry_seq_and_events_follow_it(srv: BackgroundServer, clients: dict[str, httpx.Client]) -> None:
    key = clients["inv2"].post("/v1/api-keys").json()["key"]
    ws_base = srv.url.replace("http://", "ws://")
    # within 24 spreads of the nominal 50.00 (the limit when the book is empty: this test may run first)
    assert clients["inv1"].post("/v1/orders", json=_order(price="49.60")).status_code == 201
    with connect(f"{ws_base}/v1/ws/market/{STOCK}?key={key}") as market, connect(f"{ws_base}/v1/ws/me?key={key}") as mine:
        snapshot = json.loads(market.recv(timeout=10))
        own = json.loads(mine.recv(timeout=10))
        projected = srv.service.read.one("SELECT value FROM rm_meta WHERE key = 'projected_seq'")
        assert projected is not None
        assert snapshot["type"] == "snapshot" and 0 < snapshot["seq"] <= int(projected[0])
        assert any(level["price_text"] == "49.60" for level in snapshot["depth"]["bids"])
        assert own["type"] == "snapshot" and own["seq"] > 0 and isinstance(own["orders"], list)
        placed = clients["inv2"].post("/v1/orders", json=_order(price="49.56"))
        assert placed.status_code == 201
        event = json.loads(market.recv(timeout=10))
        assert event["seq"] > snapshot["seq"] and event["seq"] == placed.json()["seq"]
        mine_event = json.loads(mine.recv(timeout=10))
        assert mine_event["seq"] > own["seq"]


def test_uploaded_offering_file_with_control_character_in_an_id_is_400(clients: dict[str, httpx.Client]) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    text = (root / "examples/offerings/mechanism_b_ai.toml").read_text().replace('id = "DEEPCORE-2025"', 'id = "DEEP\\u0001CORE"')
    assert "DEEP\\u0001CORE" in text
    r = clients["op"].post("/v1/offerings/toml", files={"file": ("deal.toml", text.encode(), "application/toml")})
    error = _error(r, 400, "offering.id")
    assert "identifier" in str(error["message"])


@pytest.mark.parametrize(
    ("method", "path", "content", "headers", "status"),
    [
        ("POST", "/v1/orders", b"\xff\xfe-O4", {"Content-Type": "application/json"}, 400),
        ("POST", "/v1/offerings/toml", b"--b\r\nNone--b--\r\n", {"Content-Type": "multipart/form-data; boundary=b"}, 400),
        ("GET", "/v1/no-such-route", b"", {}, 404),
        ("PUT", "/v1/orders", b"", {}, 405),
    ],
)
def test_framework_errors_use_the_one_error_body(
    clients: dict[str, httpx.Client], method: str, path: str, content: bytes, headers: dict[str, str], status: int
) -> None:
    r = clients["op"].request(method, path, content=content, headers=headers)
    _error(r, status)
    assert "detail" not in r.json()
