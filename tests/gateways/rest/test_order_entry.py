"""The order entry fast path (`lionrock.gateways.rest.order_entry`) answers as the route does.

The fast path takes ``POST /v1/orders`` from a recently verified API key and a body msgspec
decodes; everything else goes to the FastAPI route. These tests pin that it is taken when it
should be, that it accepts exactly the bodies the route's Struct accepts (a differential test
over generated bodies), and that for valid and hostile bodies alike the answer (status and error
body) is the route's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrock.gateways.rest import order_entry, orders
from lionrock.gateways.rest.http import ApiError, read_body
from lionrock.gateways.rest.models import NewOrderIn
from lionrock.gateways.rest.order_entry import decode_order
from lionrock.gateways.server import BackgroundServer
from testkit.service_world import PASSWORD, STOCK, next_id, open_world


def test_order_entry_fast_path_decodes_with_the_documented_struct() -> None:
    body = {"instrument": STOCK, "side": "B", "quantity": 100, "client_order_id": "c1"}
    assert isinstance(decode_order(json.dumps(body).encode()), NewOrderIn)
    (route,) = [r for r in orders.router.routes if getattr(r, "path", "") == "/v1/orders" and "POST" in getattr(r, "methods", ())]
    schema = route.openapi_extra["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[attr-defined]
    assert schema == {"$ref": "#/components/schemas/NewOrderIn"}


_TEXT = st.one_of(
    st.sampled_from(["", "02525", "B", "S", "b", "LIMIT", "limit", "LIMIT\n", "49.80", "C:B1:I1", "a" * 64, "a" * 65, "x\x01y", "é", " 1"]),
    st.text(max_size=70),
)
_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=2**64),
    st.floats(allow_nan=False),
    _TEXT,
    st.lists(st.integers(), max_size=2),
)
_FIELDS = st.sampled_from([*NewOrderIn.__struct_fields__, "clOrdId"])


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "instrument": st.one_of(st.just(STOCK), _VALUE),
            "side": st.one_of(st.sampled_from(["B", "S"]), _VALUE),
            "quantity": st.one_of(st.just(100), _VALUE),
            "client_order_id": st.one_of(st.just("c1"), _VALUE),
        },
        optional={"order_type": _VALUE, "price": _VALUE, "account": _VALUE, "short_sell": _VALUE},
    ),
    st.dictionaries(_FIELDS, _VALUE, max_size=2),
    st.lists(_FIELDS, max_size=2),
)
def test_order_entry_fast_path_accepts_only_what_the_model_accepts(base: dict[str, Any], extra: dict[str, Any], dropped: list[str]) -> None:
    body = {**base, **extra}
    for name in dropped:
        body.pop(name, None)
    raw = json.dumps(body).encode()
    fast = decode_order(raw)
    try:
        routed = read_body(raw, NewOrderIn)
    except ApiError as exc:
        assert fast is None, f"the fast path accepted what the route refuses: {raw!r}: {exc.body}"
        return
    assert fast is not None, f"the fast path left to the route what it accepts: {raw!r}"
    assert msgspec.structs.asdict(fast) == msgspec.structs.asdict(routed)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    service, _ = open_world(str(tmp_path_factory.mktemp("order_entry") / "lionrock.db"))
    server = BackgroundServer(service, fix=False).start()
    yield server
    server.stop()
    service.close()


@pytest.fixture(scope="module")
def clients(srv: BackgroundServer) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """inv1 twice: with an API key (the fast path, once the key is verified) and with a session cookie (the route)."""
    key = srv.service.auth.create_api_key("inv1", "fast")
    by_key = httpx.Client(base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {key}"})
    assert by_key.get("/v1/orders").status_code == 200  # verifies the key once (argon2), off the loop
    by_cookie = httpx.Client(base_url=srv.url, timeout=30)
    assert by_cookie.post("/v1/session", json={"username": "inv1", "password": PASSWORD}).status_code == 200
    yield by_key, by_cookie
    by_key.close()
    by_cookie.close()


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    place = order_entry.place_order

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await place(*args)

    monkeypatch.setattr(order_entry, "place_order", counted)
    return calls


def _order(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"instrument": STOCK, "side": "B", "quantity": 100, "price": "49.80", "client_order_id": next_id("oe")}
    body.update(overrides)
    return body


def test_order_entry_fast_path_is_taken_for_a_verified_key(clients: tuple[httpx.Client, httpx.Client], fast_calls: list[int]) -> None:
    by_key, by_cookie = clients
    fast = by_key.post("/v1/orders", json=_order())
    assert fast.status_code == 201, fast.text
    assert fast_calls == [1]
    routed = by_cookie.post("/v1/orders", json=_order())
    assert routed.status_code == 201, routed.text
    assert fast_calls == [1]
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    f, r = fast.json(), routed.json()
    assert set(f) == set(r) and set(f["order"]) == set(r["order"])
    for name in ("instrument", "side", "quantity", "price", "status", "channel", "account", "participant", "remaining"):
        assert f["order"][name] == r["order"][name], name
    assert [e["type"] for e in f["events"]] == [e["type"] for e in r["events"]]
    for answer in (fast, routed):  # each event object names its type once (json.loads would hide a repeated key)
        top = dict(json.loads(answer.content, object_pairs_hook=list))
        assert top["events"] and all([k for k, _ in event].count("type") == 1 for event in top["events"]), answer.text


HOSTILE: list[tuple[str, Any]] = [
    ("quantity true", _order(quantity=True)),
    ("quantity text", _order(quantity="100")),
    ("quantity float", _order(quantity=100.0)),
    ("quantity zero", _order(quantity=0)),
    ("quantity huge", _order(quantity=2**70)),
    ("unknown field", _order(clOrdId="x")),
    ("side lowercase", _order(side="b")),
    ("SOH in id", _order(client_order_id="a\x01b")),
    ("empty id", _order(client_order_id="")),
    ("long id", _order(client_order_id="a" * 65)),
    ("long instrument", _order(instrument="1" * 17)),
    ("order type lowercase", _order(order_type="limit")),
    ("order type newline", _order(order_type="LIMIT\n")),
    ("price huge", _order(price="99999999999999999999999999.00")),
    ("price text", _order(price="abc")),
    ("price exponent", _order(price="1e3")),
    ("price long", _order(price="1" * 41)),
    ("price off tick", _order(price="49.801")),
    ("empty account", _order(account="")),
    ("another's account", _order(account="C:B2:I2")),
    ("short sell as int", _order(short_sell=1)),
    ("unknown stock", _order(instrument="09998")),
    ("missing field", {"instrument": STOCK, "side": "B", "quantity": 100}),
]


@pytest.mark.parametrize(("case", "body"), HOSTILE, ids=[c for c, _ in HOSTILE])
def test_order_entry_fast_path_answers_hostile_bodies_as_the_route(
    clients: tuple[httpx.Client, httpx.Client], case: str, body: Any
) -> None:
    by_key, by_cookie = clients
    fast = by_key.post("/v1/orders", json=body)
    routed = by_cookie.post("/v1/orders", json=body)
    assert fast.status_code == routed.status_code and fast.status_code in (400, 403, 404, 422), (case, fast.text, routed.text)
    assert fast.json() == routed.json(), case


@pytest.mark.parametrize("content", [b"{not json", b"", b"[]", '{"quantity": 1}'.encode("utf-16")])
def test_order_entry_fast_path_leaves_malformed_json_to_the_route(
    clients: tuple[httpx.Client, httpx.Client], fast_calls: list[int], content: bytes
) -> None:
    by_key, by_cookie = clients
    headers = {"Content-Type": "application/json"}
    fast = by_key.post("/v1/orders", content=content, headers=headers)
    routed = by_cookie.post("/v1/orders", content=content, headers=headers)
    assert fast.status_code == routed.status_code == 400, (fast.text, routed.text)
    assert fast.json() == routed.json()
    assert fast_calls == []


def test_order_entry_fast_path_refuses_a_revoked_key_at_once(srv: BackgroundServer, fast_calls: list[int]) -> None:
    key = srv.service.auth.create_api_key("inv2", "revoked")
    with httpx.Client(base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as c:
        assert c.post("/v1/orders", json=_order(account="C:B2:I2")).status_code == 201
        srv.service.auth.revoke_api_key("inv2", key.split("_")[1])
        r = c.post("/v1/orders", json=_order(account="C:B2:I2"))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["reason"] == "UNAUTHENTICATED"
    assert fast_calls == []


def test_order_entry_fast_path_applies_the_body_limit(clients: tuple[httpx.Client, httpx.Client], fast_calls: list[int]) -> None:
    """The fast path runs before the limits middleware, so it checks the size itself (docs/service.md,
    Limits): a declared length over the limit, and a streamed body that passes it, are both 413."""
    by_key, _ = clients
    big = json.dumps(_order(client_order_id="x" * (2 << 20))).encode()
    declared = by_key.post("/v1/orders", content=big, headers={"Content-Type": "application/json"})

    def chunks() -> Iterator[bytes]:
        yield big[: 1 << 16]
        yield big[1 << 16 :]

    streamed = by_key.post("/v1/orders", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    for r in (declared, streamed):
        assert r.status_code == 413 and r.json()["error"]["reason"] == "REQUEST_TOO_LARGE", r.text
    assert fast_calls == []


def test_a_bug_answers_500_in_the_one_error_body_on_the_fast_path_and_the_route(
    clients: tuple[httpx.Client, httpx.Client], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception no handler knows (a bug) is logged with its traceback under a reference and
    answered 500 with code 7016 INTERNAL_ERROR in the one error body, never as plain text or a trace."""

    async def broken(*args: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(order_entry, "place_order", broken)
    monkeypatch.setattr(orders, "place_order", broken)
    by_key, by_cookie = clients
    for client in (by_key, by_cookie):  # the fast path, then the route
        r = client.post("/v1/orders", json=_order())
        assert r.status_code == 500 and r.headers["content-type"] == "application/json", r.text
        error = r.json()["error"]
        assert (error["code"], error["reason"]) == (7016, "INTERNAL_ERROR")
        assert "secret internals" not in r.text and "Traceback" not in r.text
        reference = error["message"].rsplit(" ", 1)[-1]
        assert any(reference in rec.getMessage() and rec.exc_info for rec in caplog.records), "not logged with its reference"
