"""The read model written a batch at a time (one multi-row statement per table) equals the read
model written a record at a time, whatever the batch size, on SQLite and on PostgreSQL: orders
filled, amended and cancelled across batches, trades, bars, holdings, balances, rejections."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lionrock.kernel.messages import Command, Event, Stamp
from lionrock.readmodel.projector import Projector
from lionrock.storage.sql import SqlStore
from lionrock.trading.commands import AmendOrder, CancelOrder, PlaceOrder
from testkit.service_world import STOCK, open_world

TABLES = ("events", "event_parties", "orders", "trades", "bars", "holdings", "balances", "rejections", "rm_meta")
Record = tuple[Stamp, Command, list[Event]]


def _records(seed: int, count: int) -> list[Record]:
    """A seeded order flow through a live service: crossing limit orders, amends, cancels, and
    commands the venue rejects; every record the engine made, from the first."""
    service, _ = open_world()
    records: list[Record] = []
    try:
        service.runner.add_listener(lambda batch: records.extend((Stamp(o.seq, o.at_ns), c, o.events) for c, o in batch))
        rng = random.Random(seed)
        for i in range(count):
            k = rng.randrange(2)
            participant, account = f"B{k + 1}", f"C:B{k + 1}:W{k + 1}"
            roll = rng.random()
            if roll < 0.1:
                service.runner.submit_wait(
                    CancelOrder(instrument=STOCK, participant=participant, client_order_id=f"c{rng.randrange(max(1, i))}")
                )
            elif roll < 0.2:
                service.runner.submit_wait(
                    AmendOrder(
                        instrument=STOCK,
                        participant=participant,
                        client_order_id=f"c{rng.randrange(max(1, i))}",
                        quantity=100 * rng.randint(1, 3),
                    )
                )
            else:
                price = 49_900 + rng.choice((-100, -50, 0, 0, 50, 100, 10**9))
                service.runner.submit_wait(
                    PlaceOrder(
                        instrument=STOCK,
                        participant=participant,
                        account=account,
                        client_order_id=f"c{i}",
                        side=rng.choice("BS"),
                        order_type="LIMIT",
                        price=price,
                        quantity=100 * rng.randint(1, 5),
                    )
                )
    finally:
        service.close()
    return records


def _project(url: str, records: list[Record], batch: int, *, live: bool = False) -> dict[str, list[tuple[object, ...]]]:
    """``live``: as the writer feeds it (orders a batch accepts are not read back), each batch by
    a fresh projector that remembers no open orders, so every earlier order a batch names is read."""
    store = SqlStore(url)
    try:
        projector = Projector(store)
        for start in range(0, len(records), batch):
            if live:
                projector = Projector(store)
            projector._project(records[start : start + batch], live=live)
        return {t: sorted((tuple(r) for r in store.execute(f"SELECT * FROM {t}")), key=repr) for t in TABLES}
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_projector_batches_of_any_size_equal_record_at_a_time(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    records = _records(seed=19, count=400)
    if backend == "sqlite":
        urls = [str(tmp_path / f"rm{n}.db") for n in range(4)]
    else:
        base = request.getfixturevalue("pg_url")
        urls = [f"{base}{n}" for n in range(4)]
    one_at_a_time = _project(urls[0], records, 1)
    assert len(one_at_a_time["trades"]) > 20 and len(one_at_a_time["rejections"]) > 5
    assert {r[10] for r in one_at_a_time["orders"]} >= {"new", "partially_filled", "filled", "cancelled"}
    assert _project(urls[1], records, 16) == one_at_a_time
    assert _project(urls[2], records, 1000) == one_at_a_time
    assert _project(urls[3], records, 16, live=True) == one_at_a_time


def test_projector_joining_a_transaction_that_rolls_back_remembers_none_of_its_orders(tmp_path: Path) -> None:
    """The stream projector projects inside its own transaction, which may roll back after the
    projector's part succeeded: the open orders the batch changed must not be remembered as
    written, or the next batch would fold its fills into rows the store never kept."""
    records = _records(seed=7, count=160)
    half = len(records) // 2
    store = SqlStore(str(tmp_path / "rm.db"))
    try:
        projector = Projector(store)
        projector._project(records[:half])
        with pytest.raises(RuntimeError, match="the caller's own write failed"), store.transaction():
            projector._project(records[half:])
            raise RuntimeError("the caller's own write failed")
        projector.projected_seq = records[half - 1][0].seq  # the caller's to restore, as its transaction rolled back
        projector._project(records[half:])
        projected = {t: sorted((tuple(r) for r in store.execute(f"SELECT * FROM {t}")), key=repr) for t in TABLES}
    finally:
        store.close()
    assert projected == _project(str(tmp_path / "whole.db"), records, 1)
