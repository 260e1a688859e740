"""The writer in its own process (``lionrock serve --writer process``, `lionrock.service.writer_process`).

- Differential: the tiny scenario's commands (every context: listing, offering, trading,
  clearing, Stock Connect) submitted through a service with the writer in a thread and through
  one with the writer in a child process, at the same market-clock moments, give byte-identical
  outcomes, the same event stream to the hub and the same state hash at a clean stop.
- The gateways over a writer process: REST orders that trade, the WebSocket stream fed from the
  child's batches, FIX, the venue's market clock moved in the child, the allocation preview's
  engine call, health.
- Failures: the child killed alone answers every later command "engine unavailable" (503); a
  start-up failure in the child raises the child's own exception in the parent; ``memory:`` is
  refused with a clear message.
(``kill -9`` of the whole service under load, with the writer in a process: test_kill_postgres.)
"""

from __future__ import annotations

import io
import operator
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from datetime import time as dtime
from pathlib import Path

import httpx
import msgspec
import pytest

from lionrock.engine import Outcome
from lionrock.gateways.server import BackgroundServer
from lionrock.kernel.messages import Codec, Command
from lionrock.kernel.xhkg import hk_ns
from lionrock.service.root import Service, market_clock
from lionrock.service.writer import RunnerStopped
from lionrock.storage.locations import open_existing_journal
from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay, TradingTick

TINY = str(Path(__file__).parents[1] / "sim" / "tiny.toml")
DAY = date(2025, 11, 24)
_ENC = msgspec.msgpack.Encoder()


@pytest.fixture(scope="module")
def tiny_stream(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, Command]]:
    """(at_ns, command) of every command of the tiny scenario's journal except the venue's timer
    ticks (a service's writer makes its own when a timer comes due)."""
    out = tmp_path_factory.mktemp("tiny")
    subprocess.run(
        [sys.executable, "-m", "lionrock.cli", "demo", "--scenario", TINY, "--scale", "small", "--seed", "9", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    journal = open_existing_journal(str(out / "journal.sqlite"))
    codec = Codec()
    try:
        stream = [(rec.at_ns, codec.decode_command(rec.body)) for rec in journal.records()]
    finally:
        journal.close()
    return [(at, command) for at, command in stream if not isinstance(command, TradingTick)]


def _run(db: str, writer: str, stream: list[tuple[int, Command]]) -> tuple[list[bytes], list[bytes], tuple[int, str] | None]:
    """Submit ``stream`` at its moments; the outcomes (encoded), what the hub was given, the stop."""
    service = Service(db, writer=writer, clock=market_clock(stream[0][0], speed=0.0))
    published: list[bytes] = []  # what a listener beside the event hub is given, batch by batch
    service.runner.add_listener(lambda batch: published.extend(_ENC.encode((o.seq, o.at_ns, o.events)) for _, o in batch))
    try:
        op = service.auth.create_user("op", "password one", "operator")
        outcomes = []
        for at, command in stream:
            service.clock.advance_to(at)  # type: ignore[attr-defined]
            outcome = service.submit_sync(op, command)
            outcomes.append(_ENC.encode((outcome.seq, outcome.at_ns, outcome.events, outcome.rejection)))
    finally:
        service.close()
    return outcomes, published, service.runner.stopped_at


def test_the_tiny_scenario_through_a_writer_process_gives_the_same_outcomes_events_and_state(
    tiny_stream: list[tuple[int, Command]], tmp_path: Path
) -> None:
    threaded = _run(str(tmp_path / "thread.db"), "thread", tiny_stream)
    remote = _run(str(tmp_path / "process.db"), "process", tiny_stream)
    assert len(threaded[0]) == len(tiny_stream) > 2000
    for i, (ours, theirs) in enumerate(zip(threaded[0], remote[0], strict=True)):
        assert ours == theirs, f"command {i} ({type(tiny_stream[i][1]).__name__}): the outcomes differ"
    assert threaded[1] == remote[1], "the event hub was fed a different stream"
    assert len(threaded[1]) > len(tiny_stream)  # every sequenced outcome, timer ticks included
    assert threaded[2] is not None and threaded[2] == remote[2], "the state hashes at the clean stop differ"


# -- the gateways over a writer process -------------------------------------------------------------
@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[Service, BackgroundServer, dict[str, str]]]:
    service = Service(str(tmp_path / "svc.db"), writer="process", clock=market_clock(hk_ns(DAY, dtime(10, 0)), speed=0.0))
    op = service.auth.create_user("op", "password one", "operator")
    keys = {"op": service.auth.create_api_key("op")}
    for k in (1, 2):
        service.auth.create_user(f"b{k}", "password one", "broker", participant=f"B{k}", accounts=[f"C:B{k}:X"])
        keys[f"b{k}"] = service.auth.create_api_key(f"b{k}")
    for command in (StartTradingDay(day=DAY.isoformat()), ListInstrument(instrument="02525", board_lot=100, nominal_price=50_000)):
        assert service.submit_sync(op, command).rejection is None
    server = BackgroundServer(service).start()
    try:
        yield service, server, keys
    finally:
        server.stop()
        service.close()


def _order(server: BackgroundServer, key: str, side: str, coid: str) -> httpx.Response:
    body = {"instrument": "02525", "side": side, "quantity": 100, "price": "50.00", "client_order_id": coid}
    return httpx.post(f"{server.url}/v1/orders", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_rest_orders_trade_and_the_websocket_stream_is_fed_by_the_writer_process(
    remote: tuple[Service, BackgroundServer, dict[str, str]],
) -> None:
    import websockets.sync.client

    service, server, keys = remote
    with websockets.sync.client.connect(
        f"ws://127.0.0.1:{server.port}/v1/ws/market/02525", additional_headers={"Authorization": f"Bearer {keys['op']}"}
    ) as ws:
        assert msgspec.json.decode(ws.recv(timeout=10))["type"] == "snapshot"  # subscribed to the hub before it
        sell = _order(server, keys["b1"], "S", "s1")
        assert sell.status_code == 201, sell.text
        buy = _order(server, keys["b2"], "B", "b1")
        assert buy.status_code == 201, buy.text
        assert buy.json()["order"]["status"] == "filled"
        assert [e["type"] for e in buy.json()["events"]].count("TradeExecuted") == 1
        seen = []
        deadline = time.monotonic() + 10
        while "TradeExecuted" not in seen and time.monotonic() < deadline:
            message = msgspec.json.decode(ws.recv(timeout=10))
            seen.append(message["event"]["type"])
        assert "TradeExecuted" in seen, seen
    listed = httpx.get(f"{server.url}/v1/orders", headers={"Authorization": f"Bearer {keys['op']}"}, timeout=30).json()
    assert {o["client_order_id"] for o in listed} == {"s1", "b1"}  # read from the read models the child wrote
    health = httpx.get(f"{server.url}/v1/health", headers={"Authorization": f"Bearer {keys['op']}"}, timeout=30).json()
    assert health["writer"] == "process" and health["seq"] == health["durable_seq"] == health["projected_seq"] > 0


def test_the_venue_clock_moves_in_the_writer_process(remote: tuple[Service, BackgroundServer, dict[str, str]]) -> None:
    service, _, _ = remote
    op = service.auth.principal("op", via="test")
    later = hk_ns(DAY, dtime(14, 0))
    assert service.clock.advance_to(later)  # type: ignore[attr-defined]
    assert not service.clock.advance_to(later - 1)  # type: ignore[attr-defined]  # never back
    outcome = service.submit_sync(
        op,
        PlaceOrder(
            instrument="02525",
            participant="B1",
            account="C:B1:X",
            client_order_id="late",
            side="B",
            order_type="LIMIT",
            price=49_000,
            quantity=100,
        ),
    )
    assert outcome.at_ns == later  # stamped by the child's clock, which moved
    assert service.clock() == later  # and the parent's mirror with it


def test_an_engine_call_runs_in_the_writer_process(remote: tuple[Service, BackgroundServer, dict[str, str]]) -> None:
    service, _, _ = remote
    assert service.runner.call(operator.attrgetter("seq")).result(30) == service.health()["seq"]
    with pytest.raises(RuntimeError, match="cannot load the call"):  # a function the child cannot import
        service.runner.call(_here).result(30)
    assert service.runner.running and service.runner.call(operator.attrgetter("seq")).result(30) > 0


def _here(engine: object) -> None:
    """A function of this test module, which the writer process cannot import."""


def test_the_writer_process_killed_alone_answers_engine_unavailable(remote: tuple[Service, BackgroundServer, dict[str, str]]) -> None:
    service, server, keys = remote
    assert _order(server, keys["b1"], "S", "before").status_code == 201
    os.kill(service.runner._proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while service.runner.running and time.monotonic() < deadline:
        time.sleep(0.05)
    answer = _order(server, keys["b1"], "S", "after")
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["reason"] == "ENGINE_UNAVAILABLE"
    with pytest.raises(RunnerStopped):
        service.submit_sync(service.auth.principal("op", via="test"), StartTradingDay(day="2025-11-25"))
    assert service.health()["running"] is False


def test_a_start_up_failure_in_the_writer_process_is_raised_as_itself(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    thread_error = process_error = None
    db.write_bytes(b"this is not a SQLite database, nor a journal" * 100)
    for writer in ("thread", "process"):
        try:
            Service(str(db), writer=writer).close()
        except Exception as exc:
            if writer == "thread":
                thread_error = exc
            else:
                process_error = exc
    assert thread_error is not None and process_error is not None
    assert type(process_error) is type(thread_error) and str(process_error) == str(thread_error)


def test_a_writer_process_needs_a_store_both_processes_open() -> None:
    with pytest.raises(ValueError, match="SQLite path or PostgreSQL"):
        Service("memory:", writer="process")


def test_outcomes_round_trip_the_wire_unchanged() -> None:
    """The batch frame's decoder gives back the Structs the engine made (a unit check of the codec)."""
    from lionrock.service.writer_process import _frame, _read_frame, _Wire

    outcome = Outcome(7, 123, [], None)
    data = _frame("batch", ((7, 7, 1, 1), [(1, outcome.seq, outcome.at_ns, outcome.events, outcome.rejection, None, "")]))
    kind, body = _read_frame(io.BytesIO(data))  # type: ignore[misc]
    assert kind == "batch"
    status, entries = _Wire().batch.decode(body)
    assert status == (7, 7, 1, 1) and entries == [(1, 7, 123, [], None, None, "")]
