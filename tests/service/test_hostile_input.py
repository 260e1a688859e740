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

from lionrock.api.server import BackgroundServer
from service.world import PASSWORD, STOCK, next_id, open_world

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
    body = {"type": "PlaceOrder", "instrument": STOCK, "participant": "B1", "account": "C:B1:I1", "client_order_id": next_id("h"),
            "side": "B", "order_type": "LIMIT", "price": price, "quantity": 100}
    r = clients["inv1"].post("/v1/commands", content=json.dumps(body))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["field"] == "price", r.text
    _engine_serves(clients["inv2"])


def test_ioi_limit_price_huge_is_400(clients: dict[str, httpx.Client]) -> None:
    body = {"ioi_id": "HOSTILE-1", "investor": "LIM1", "account": "C:B1:I1", "steps": [{"limit_price": HUGE, "shares": 1000}]}
    _error(clients["op"].post("/v1/offerings/OFF-A/iois", json=body), 400, "steps[0].limit_price")
    _engine_serves(clients["inv2"])
