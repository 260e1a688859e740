"""``kill -9`` of ``lionrock serve`` on PostgreSQL under concurrent REST order load (issue 19).

The service runs as a subprocess over a throwaway PostgreSQL server (journal, read models and
users in it; a snapshot every 150 commands, so restarts recover from a snapshot and its tail).
Eight clients send crossing orders with unique client order ids as fast as they are answered; the
process is killed with SIGKILL while they are sending, twice, and restarted. An order whose answer
was lost in the kill is sent again with the same client order id (it either was made durable and
answers as the existing order, or was not and is made now). After each restart:

- every acknowledged order is listed, once, with its client order id and account; no client order
  id names two orders;
- the read models equal a rebuild: the journal replayed from its first record through a fresh
  projector into an empty schema gives the same rows in every read-model table;
- ``lionrock replay URL`` (snapshot + tail, the chain verified before the snapshot) reaches the
  rebuild's state hash at the journal's last command.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lionrock.engine import Engine
from lionrock.readmodel.projector import Projector
from lionrock.service.contexts import default_contexts
from lionrock.storage.locations import StorageSpec
from lionrock.storage.postgres_journal import PostgresJournal
from lionrock.storage.sql import SqlStore
from testkit.service_hostile import Serve
from testkit.service_world import STOCK, open_world

CLIENTS = 8
ACKED_BEFORE_KILL = 60
"""The kill comes once this many orders of the round are acknowledged (the clients still sending)."""
KILLS = 2
TABLES = ("events", "event_parties", "orders", "trades", "bars", "holdings", "balances", "rejections")
ACCOUNTS = {"brk1": "C:B1:W1", "brk2": "C:B2:W2"}


class Load:
    """Clients sending orders until stopped: what was acknowledged, what lost its answer."""

    def __init__(self, url: str, keys: dict[str, str], round_no: int) -> None:
        self.url, self.keys, self.round_no = url, keys, round_no
        self.acked: dict[str, tuple[int, dict[str, Any]]] = {}
        self.lost: dict[str, tuple[str, dict[str, Any]]] = {}
        self.refused: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _client(self, n: int) -> None:
        user = ("brk1", "brk2")[n % 2]
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[user]}"}, timeout=30) as client:
            for i in range(1_000_000):
                if self._stop.is_set():
                    return
                body = {
                    "instrument": STOCK,
                    "side": "BS"[(n // 2 + i) % 2],
                    "quantity": 100,
                    "price": "49.90",
                    "client_order_id": f"K{self.round_no}-{n}-{i}",
                    "account": ACCOUNTS[user],
                }
                try:
                    r = client.post("/v1/orders", json=body)
                except httpx.TransportError:  # the kill: answered or not, we cannot know
                    with self._lock:
                        self.lost[body["client_order_id"]] = (user, body)
                    return
                with self._lock:
                    if r.status_code == 201:
                        self.acked[body["client_order_id"]] = (int(r.json()["order"]["order_id"]), body)
                    else:
                        self.refused.append(f"{r.status_code} {r.text[:200]}")
                        return


@pytest.fixture(params=["thread", "process"])
def served(pg_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Serve, dict[str, str]]]:
    """``lionrock serve --writer thread`` and ``--writer process`` (the kill -9 is of the server
    process; its writer child dies with it)."""
    service, _ = open_world(pg_url)
    try:
        keys = {user: service.auth.create_api_key(user, "kill test") for user in ("op", "brk1", "brk2")}
    finally:
        service.close()
    server = Serve(pg_url, tmp_path / "serve.log", writer=request.param)  # type: ignore[arg-type]  # a --db value: a path or a URL
    try:
        yield server, keys
    finally:
        server.stop()


def test_serve_on_postgresql_killed_under_order_load_keeps_every_acknowledged_order_once_and_its_read_models(
    served: tuple[Serve, dict[str, str]], pg_url: str
) -> None:
    server, keys = served
    acked: dict[str, tuple[int, dict[str, Any]]] = {}
    server.start()
    for user in ACCOUNTS:  # each API key's first use runs argon2: once, before the load
        body = {
            "instrument": STOCK,
            "side": "B",
            "quantity": 100,
            "price": "49.80",
            "client_order_id": f"warm-{user}",
            "account": ACCOUNTS[user],
        }
        r = httpx.post(f"{server.url}/v1/orders", json=body, headers={"Authorization": f"Bearer {keys[user]}"}, timeout=60)
        assert r.status_code == 201, r.text
        acked[body["client_order_id"]] = (int(r.json()["order"]["order_id"]), body)
    for round_no in range(KILLS):
        load = Load(server.url, keys, round_no).start()
        deadline = time.monotonic() + 30
        while len(load.acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill9()
        load.stop()
        assert not load.refused, load.refused[:3]
        assert len(load.acked) >= ACKED_BEFORE_KILL, f"only {len(load.acked)} orders acknowledged in 30 s: no load to speak of"
        acked.update(load.acked)
        server.start()
        for coid, (user, body) in load.lost.items():  # sent again with the same client order id
            r = httpx.post(f"{server.url}/v1/orders", json=body, headers={"Authorization": f"Bearer {keys[user]}"}, timeout=30)
            assert r.status_code == 201, f"{coid}: {r.status_code} {r.text}"
            acked[coid] = (int(r.json()["order"]["order_id"]), body)
        _check_orders(server.url, keys["op"], acked, when=f"after kill {round_no + 1}")
    server.stop()
    _check_rebuild(pg_url)


def _check_orders(url: str, operator_key: str, acked: dict[str, tuple[int, dict[str, Any]]], *, when: str) -> None:
    r = httpx.get(f"{url}/v1/orders", params={"limit": 5000}, headers={"Authorization": f"Bearer {operator_key}"}, timeout=60)
    assert r.status_code == 200, r.text
    listed = r.json()
    by_coid: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for order in listed:
        by_coid.setdefault((order["participant"], order["client_order_id"]), []).append(order)
    doubled = {k: [o["order_id"] for o in v] for k, v in by_coid.items() if len(v) > 1}
    assert not doubled, f"{when}: client order ids naming more than one order: {doubled}"
    by_id = {int(o["order_id"]): o for o in listed}
    for coid, (order_id, body) in acked.items():
        order = by_id.get(order_id)
        assert order is not None, f"{when}: acknowledged order {order_id} ({coid}) is missing"
        assert (order["client_order_id"], order["account"]) == (coid, body["account"]), f"{when}: {order} acknowledged as {body}"
    assert len(listed) == len(acked) < 5000, f"{when}: {len(listed)} orders listed, {len(acked)} acknowledged"


def _check_rebuild(pg_url: str) -> None:
    """The journal replayed from its first record into an empty schema: the same rows."""
    rebuilt_url = StorageSpec(pg_url.replace("?schema=", "?schema=rebuilt_")).read_model_url
    rebuilt = SqlStore(rebuilt_url)
    journal = PostgresJournal(pg_url, readonly=True)
    try:
        projector = Projector(rebuilt)
        engine = Engine(default_contexts(), journal)
        engine.subscribe(projector.on_replay)
        engine.recover(use_snapshot=False)
        projector.finish_replay()
        live = SqlStore(StorageSpec(pg_url).read_model_url)
        try:
            for table in TABLES:
                ours, theirs = _rows(live, table), _rows(rebuilt, table)
                assert ours == theirs, (
                    f"read model {table}: {len(ours)} rows live, {len(theirs)} rebuilt; "
                    f"first difference {next(iter(set(ours) ^ set(theirs)), None)}"
                )
            assert live.one("SELECT value FROM rm_meta WHERE key = 'projected_seq'") == (str(journal.last_seq),)
        finally:
            live.close()
        state_hash, last_seq = engine.state_hash(), journal.last_seq
    finally:
        journal.close()
        rebuilt.close()
    replay = subprocess.run([sys.executable, "-m", "lionrock.cli", "replay", pg_url], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert f"state hash: {state_hash}" in replay.stdout and f"replayed {last_seq:,} commands" in replay.stdout, replay.stdout


def _rows(store: SqlStore, table: str) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in store.execute(f"SELECT * FROM {table}")), key=repr)
