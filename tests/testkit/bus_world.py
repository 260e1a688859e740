"""The service over the bus for a test, as ``lionrock serve --nats`` runs it: the shard engines
(two trading shards and the primary) and the stream projector on one event loop in a thread of
this process, fresh streams on the test's nats-server, and a `Service` whose commands go through
a `BusRunner`; the same users and market as `testkit.service_world.open_world`."""

from __future__ import annotations

import asyncio
import threading
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import nats.js.errors

from lionrock.kernel.xhkg import hk_ns
from lionrock.scale.edge import BusRunner
from lionrock.scale.nats import CMD_STREAM, EVT_STREAM, READ_STREAM, connect, ensure_streams, run_shard
from lionrock.scale.projector import run_projector
from lionrock.scale.sharding import ShardMap
from lionrock.service.root import Service, market_clock
from lionrock.trading.commands import ListInstrument, StartTradingDay, TradingTick
from testkit.service_world import DAY, PASSWORD, STOCK, USERS

MAP = ShardMap(("t0", "t1"))


async def fresh_streams(js: Any) -> None:
    """Delete the streams a previous test left (each test starts from empty streams)."""
    for name in (CMD_STREAM, EVT_STREAM, READ_STREAM):
        try:
            await js.delete_stream(name)
        except nats.js.errors.NotFoundError:
            pass
    await asyncio.sleep(0)


def fresh(url: str, duplicate_window_s: float = 120.0) -> None:
    """Delete the streams a previous test left and create them again."""

    async def go() -> None:
        nc, js = await connect(url)
        await fresh_streams(js)
        await ensure_streams(js, duplicate_window_s=duplicate_window_s)
        await nc.drain()

    asyncio.run(go())


class Shards:
    """The map's shard engines (`run_shard`), and the projector into ``projector_db`` if given, on
    one event loop in a thread: started, stopped, restarted."""

    def __init__(self, url: str, root: Path, projector_db: str | None = None) -> None:
        self.url, self.root, self.projector_db = url, root, projector_db
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> Shards:
        started = threading.Event()

        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            left = len(MAP.shards) + (self.projector_db is not None)

            def up(_: Any) -> None:
                nonlocal left
                left -= 1
                if left == 0:
                    started.set()

            runs = [run_shard(self.url, s, MAP, self.root / f"{s}.sqlite", stop=self._stop, on_started=up) for s in MAP.shards]
            if self.projector_db is not None:
                runs.append(run_projector(self.url, MAP, self.projector_db, stop=self._stop, on_started=up))
            await asyncio.gather(*runs)

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        assert started.wait(30), "the shards did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)
        self._thread = None


class BusWorld:
    """`open_bus_world`'s service and the shards behind it; ``close`` stops both."""

    def __init__(self, service: Service, shards: Shards) -> None:
        self.service, self.shards = service, shards

    def close(self) -> None:
        self.service.close()
        self.shards.stop()


def open_bus_world(nats_url: str, pg_url: str, root: Path, *, stocks: tuple[str, ...] = (STOCK,), hour: int = 10) -> BusWorld:
    """`open_world` over the bus: the users made, ``stocks`` listed at 50.00, the market open at
    ``hour``:00 HKT (the timers ticked through to continuous trading)."""
    fresh(nats_url)
    shards = Shards(nats_url, root, projector_db=pg_url).start()
    service = Service(pg_url, durability="group:2")
    service.use_bus(BusRunner(nats_url, MAP, clock=market_clock(hk_ns(DAY, clock_time(hour, 0))), timeout_s=30.0))
    for name, spec in USERS.items():
        service.auth.create_user(name, PASSWORD, **spec)  # type: ignore[arg-type]
    op = service.auth.principal("op", via="test")
    for code in stocks:  # listed first: once the day starts, its timers are due
        assert (
            service.submit_sync(op, ListInstrument(instrument=code, board_lot=100, nominal_price=50_000, name=f"Stock {code}")).rejection
            is None
        )
    assert service.submit_sync(op, StartTradingDay(day=DAY.isoformat())).rejection is None
    for _ in range(6):  # the day's timers are due (the clock is past 09:30): each tick moves one session on
        service.submit_sync(op, TradingTick())
    return BusWorld(service, shards)
