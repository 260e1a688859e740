"""The scale-out processes a test runs in its own process: the shard engines (`run_shard`) and,
when asked, the stream projector (`run_projector`), on one event loop in a thread; and fresh
streams for each test."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from _workload import fresh_streams

from lionrock.scale.nats import connect, ensure_streams, run_shard
from lionrock.scale.projector import run_projector
from lionrock.scale.sharding import ShardMap

MAP = ShardMap(("t0", "t1"))


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
