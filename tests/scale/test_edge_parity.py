"""Issue 17: "same REST, FIX and WebSocket behaviour as the single-process service". One client
session (REST orders, a FIX session per broker, the WebSocket streams) is run twice: against
``lionrock serve`` with its in-process engine, and against the edge over NATS JetStream
(``lionrock serve --nats``: two trading shards and the primary, the stream projector feeding the
read model). What each client sees (status codes, error bodies, event types and figures, FIX
execution reports, WebSocket messages) must be the same; only what differs by design is left out
of the comparison: order ids (each shard numbers its own range), sequence numbers and times, and
two answers docs/scale-out.md describes (`BY_DESIGN`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
import pytest
import simplefix
from websockets.sync.client import connect

from lionrock.gateways.server import BackgroundServer
from lionrock.kernel.xhkg import hk_ns
from lionrock.scale.edge import BusRunner
from lionrock.service.root import Service, market_clock
from testkit.bus_world import MAP, Shards, open_bus_world
from testkit.service_fixclient import RawFixClient
from testkit.service_world import DAY, PASSWORD, open_world

STOCK = "00700"  # a trading shard's instrument (the map routes it by code)
VOLATILE = {
    "seq",
    "at_ns",
    "order_id",
    "buy_order_id",
    "sell_order_id",
    "md_seq",
    "created_seq",
    "updated_seq",
}
"""Fields that differ by design between one engine and the shards: ids from each shard's own
order id range, and the sequence numbers and times of the journal that stamped the command."""
BY_DESIGN = {
    "TradeCleared": "clearing runs on the primary shard: over the bus its reaction to a trade is the primary's outcome of "
    "the relayed trade, after the trading shard's answer (docs/scale-out.md, 'Cross-shard reactions'); in one process it "
    "is part of the order's own outcome",
    "retry": "an exact retry inside the stream's duplicate window is answered with the first outcome over the bus, with "
    "OrderRetryAcknowledged by the venue in one process (docs/scale-out.md, 'The producer'); nothing trades twice either way",
}
FIX_COMPARED = (35, 150, 39, 11, 41, 54, 38, 44, 32, 31, 14, 151, 58, 103)
"""Execution report fields compared (not 37 OrderID, 17 ExecID, 52/60 times, 34 MsgSeqNum)."""


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _local_world(pg_url: str) -> Service:
    service, _ = open_world(pg_url, stocks=(STOCK,))
    return service


def _bus_world(nats_url: str, pg_url: str, tmp_path: Path) -> tuple[Service, Shards]:
    world = open_bus_world(nats_url, pg_url, tmp_path, stocks=(STOCK,))
    return world.service, world.shards


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Reads come from the read model, which the stream projector fills after the answer."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _drain(stream: Any, last: Callable[[dict[str, Any]], bool], quiet_s: float = 1.0) -> list[Any]:
    """Every message the stream sends until ``last`` holds for one (over the bus the events come
    after the projector's commit, later than on one process), then any more until it is quiet."""
    out: list[Any] = []
    deadline = time.monotonic() + 60
    while not (out and last(out[-1])):
        out.append(_stable(json.loads(stream.recv(timeout=max(0.1, deadline - time.monotonic())))))
    while True:
        try:
            out.append(_stable(json.loads(stream.recv(timeout=quiet_s))))
        except TimeoutError:
            return out


def _session(srv: BackgroundServer) -> dict[str, list[Any]]:
    """The client session, identical for both services: what each client saw, in order."""
    seen: dict[str, list[Any]] = {"rest": [], "fix_buyer": [], "fix_seller": [], "ws_me": [], "ws_market": []}

    def rest(c: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None, *, retry: bool = False) -> Any:
        r = c.request(method, path, json=body)
        answer = _stable(r.json())
        if isinstance(answer, dict) and "events" in answer:  # BY_DESIGN["TradeCleared"]
            answer["events"] = [e for e in answer["events"] if e.get("type") != "TradeCleared"]
        seen["rest"].append((method, path, r.status_code, "BY_DESIGN['retry']" if retry else answer))
        return r.json()

    inv1, inv2 = httpx.Client(base_url=srv.url, timeout=30), httpx.Client(base_url=srv.url, timeout=30)
    for c, user in ((inv1, "inv1"), (inv2, "inv2")):
        assert c.post("/v1/session", json={"username": user, "password": PASSWORD}).status_code == 200
    key1 = inv1.post("/v1/api-keys").json()["key"]
    ws = srv.url.replace("http://", "ws://")
    with connect(f"{ws}/v1/ws/me?key={key1}") as mine, connect(f"{ws}/v1/ws/market/{STOCK}?key={key1}") as market:
        assert json.loads(mine.recv(timeout=10))["type"] == "snapshot"
        assert json.loads(market.recv(timeout=10))["type"] == "snapshot"
        # REST: a resting sell, a crossing buy, refusals (odd lot, another's account, a malformed body), a cancel
        order = {"instrument": STOCK, "side": "S", "quantity": 300, "price": "50.00", "client_order_id": "s1"}
        rest(inv2, "POST", "/v1/orders", order)
        rest(inv1, "POST", "/v1/orders", {**order, "side": "B", "quantity": 200, "client_order_id": "b1"})
        rest(inv1, "POST", "/v1/orders", {**order, "side": "B", "quantity": 150, "client_order_id": "b2"})
        rest(inv1, "POST", "/v1/orders", {**order, "side": "B", "account": "C:B2:I2", "client_order_id": "b3"})
        rest(inv1, "POST", "/v1/orders", {**order, "side": "B", "quantity": "many", "client_order_id": "b4"})
        again = rest(inv1, "POST", "/v1/orders", {**order, "side": "B", "quantity": 200, "client_order_id": "b1"}, retry=True)
        assert again["order"]["client_order_id"] == "b1"
        _wait_for(lambda: any(o["client_order_id"] == "s1" and o["filled"] == 200 for o in inv2.get("/v1/orders").json()), "s1 filled")
        s1 = next(o for o in inv2.get("/v1/orders").json() if o["client_order_id"] == "s1")
        rest(inv2, "DELETE", f"/v1/orders/{s1['order_id']}")
        _wait_for(lambda: all(o["status"] == "cancelled" for o in inv2.get("/v1/orders").json()), "s1 cancelled in the read model")
        rest(inv2, "GET", "/v1/orders")
        rest(inv1, "GET", f"/v1/market/{STOCK}/trades")
        seen["ws_me"] = _drain(mine, lambda m: m["event"]["type"] == "TradeCleared")
        seen["ws_market"] = _drain(market, lambda m: m["event"]["type"] == "MarketDepthUpdated" and m["event"]["ask_quantity"] == 0)

    # FIX: a resting buy from one broker, a crossing sell from the other, an odd lot, a cancel
    buyer, seller = RawFixClient(srv.fix_port, "PARB"), RawFixClient(srv.fix_port, "PARS")
    assert buyer.logon("inv1", PASSWORD).get(35) == b"A" and seller.logon("inv2", PASSWORD).get(35) == b"A"

    def report(client: RawFixClient, name: str) -> simplefix.FixMessage:
        msg = client.recv_type(b"8")
        seen[name].append(tuple((tag, msg.get(tag)) for tag in FIX_COMPARED))
        return msg

    nos = [(55, STOCK), (38, 300), (40, 2), (44, "49.90"), (60, "20251124-02:00:00")]
    buyer.send(b"D", [(11, "FB1"), (54, 1), *nos])
    report(buyer, "fix_buyer")  # New
    seller.send(b"D", [(11, "FS1"), (54, 2), *nos[:1], (38, 100), *nos[2:]])
    report(seller, "fix_seller")  # New
    report(seller, "fix_seller")  # Trade (aggressor)
    report(buyer, "fix_buyer")  # Trade (passive)
    seller.send(b"D", [(11, "FS2"), (54, 2), *nos[:1], (38, 150), *nos[2:]])
    report(seller, "fix_seller")  # Rejected: odd lot
    buyer.send(b"F", [(11, "FX1"), (41, "FB1"), (55, STOCK), (54, 1), (60, "20251124-02:00:01")])
    report(buyer, "fix_buyer")  # Cancelled
    buyer.close()
    seller.close()
    inv1.close()
    inv2.close()
    return seen


def _sessions(nats_url: str, pg_server: Any, tmp_path: Path) -> dict[str, dict[str, list[Any]]]:
    answers = {}
    for world in ("single-process", "edge over NATS"):
        pg_url = f"{pg_server.url}?schema=parity_{'bus' if 'NATS' in world else 'one'}_{tmp_path.name[-12:].lower().replace('-', '_')}"
        shards = None
        if world == "single-process":
            service = _local_world(pg_url)
        else:
            service, shards = _bus_world(nats_url, pg_url, tmp_path)
        srv = BackgroundServer(service, fix=True).start()
        try:
            answers[world] = _session(srv)
        finally:
            srv.stop()
            service.close()
            if shards is not None:
                shards.stop()
    return answers


@pytest.fixture(scope="module")
def sessions(nats_url: str, pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[Any]]]:
    """The session run once against each service (both tests below read it)."""
    return _sessions(nats_url, pg_server, tmp_path_factory.mktemp("parity"))


def test_rest_and_fix_clients_see_the_same_on_one_process_and_over_the_bus(sessions: dict[str, dict[str, list[Any]]]) -> None:
    one, bus = sessions["single-process"], sessions["edge over NATS"]
    for stream in ("rest", "fix_buyer", "fix_seller"):  # one stream at a time: a difference names where it is
        assert bus[stream] == one[stream], stream
    # not vacuous: the session traded, refused and cancelled as the rules say
    assert [status for _, _, status, _ in one["rest"]] == [201, 201, 422, 403, 400, 201, 200, 200, 200]
    traded = one["rest"][1][3]["events"]
    assert [e["type"] for e in traded] == ["OrderAccepted", "TradeExecuted", "MarketDepthUpdated"]
    trades = one["rest"][-1][3]
    trades = trades.get("trades", trades) if isinstance(trades, dict) else trades
    assert [(t["quantity"], t["price"]) for t in trades] == [(200, 50_000)]  # the retry traded nothing
    assert [dict(r)[150] for r in one["fix_seller"]] == [b"0", b"F", b"8"]
    assert [dict(r)[150] for r in one["fix_buyer"]] == [b"0", b"F", b"4"]
    for world in (one, bus):  # the buyer's own stream: its order and its fill once each, the retry's outcome is not news
        mine = [m["event"]["type"] for m in world["ws_me"]]
        assert (mine.count("OrderAccepted"), mine.count("TradeExecuted")) == (1, 1), mine


def test_websocket_clients_see_the_same_on_one_process_and_over_the_bus(sessions: dict[str, dict[str, list[Any]]]) -> None:
    one, bus = sessions["single-process"], sessions["edge over NATS"]
    assert [m["event"]["type"] for m in one["ws_me"]] == ["OrderAccepted", "TradeExecuted", "TradeCleared"]
    for stream in ("ws_me", "ws_market"):
        assert bus[stream] == one[stream], stream


def test_a_fix_session_on_one_edge_reports_the_fill_an_order_through_another_edge_made(
    nats_url: str, pg_server: Any, tmp_path: Path
) -> None:
    """Two edges over the same shards (two `lionrock serve --nats` behind a load balancer): a FIX
    client's resting order, entered through edge A, is filled by a REST order entered through
    edge B. Its execution report comes from edge A's event hub, which hears every shard outcome,
    not only the commands A submitted."""
    pg_url = f"{pg_server.url}?schema=parity_two_edges_{tmp_path.name[-12:].lower().replace('-', '_')}"
    edge_a, shards = _bus_world(nats_url, pg_url, tmp_path)
    edge_b = Service(pg_url, durability="group:2")  # the same users and read model: one database behind both edges
    edge_b.use_bus(BusRunner(nats_url, MAP, clock=market_clock(hk_ns(DAY, clock_time(10, 0))), timeout_s=30.0))
    srv_a, srv_b = BackgroundServer(edge_a, fix=True).start(), BackgroundServer(edge_b, fix=False).start()
    try:
        buyer = RawFixClient(srv_a.fix_port, "TWOEDGES")
        assert buyer.logon("inv1", PASSWORD).get(35) == b"A"
        buyer.send(b"D", [(11, "TB1"), (54, 1), (55, STOCK), (38, 300), (40, 2), (44, "50.00"), (60, "20251124-02:00:00")])
        assert buyer.recv_type(b"8").get(150) == b"0"
        with httpx.Client(base_url=srv_b.url, timeout=30) as inv2:
            assert inv2.post("/v1/session", json={"username": "inv2", "password": PASSWORD}).status_code == 200
            sell = {"instrument": STOCK, "side": "S", "quantity": 100, "price": "50.00", "client_order_id": "ts1"}
            assert inv2.post("/v1/orders", json=sell).status_code == 201
        fill = buyer.recv_type(b"8")
        assert (fill.get(150), fill.get(11), fill.get(32), fill.get(14), fill.get(151)) == (b"F", b"TB1", b"100", b"100", b"200")
        buyer.close()
    finally:
        srv_a.stop()
        srv_b.stop()
        edge_b.close()
        edge_a.close()
        shards.stop()
