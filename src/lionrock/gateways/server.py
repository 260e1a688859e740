"""Running the HTTP API (uvicorn) and the FIX gateway in one asyncio loop, on loopback by default.

`run` is what ``lionrock serve`` calls; `BackgroundServer` runs the same in a thread (tests,
benchmarks, the browser tests) and tells you the ports it got. Both run the loop on uvloop and
parse HTTP with httptools (``uvicorn[standard]``) when they are installed: under load the event
loop is the gateway's bottleneck (bench api), and the pure-Python loop and h11 parser cost
about a third of its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import signal
import socket
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any

import uvicorn

from lionrock.gateways.fix.gateway import FixGateway
from lionrock.gateways.rest.app import create_app
from lionrock.gateways.web import mount_web
from lionrock.service.root import Service

HTTP_PARSER = "httptools" if importlib.util.find_spec("httptools") else "h11"
"""uvicorn's HTTP/1.1 parser: httptools (C) when installed, else h11 (pure Python)."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (None: asyncio's default loop)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_loop[T](main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop when it is installed."""
    return asyncio.run(main, loop_factory=loop_factory())


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(service: Service, *, host: str = "127.0.0.1", port: int = 8000, fix_port: int | None = 9878) -> None:
    """Serve until interrupted (``lionrock serve``). SIGTERM stops it like Ctrl-C: uvicorn finishes
    its requests, then re-raises the signal it caught under the handler it found, which here raises
    `KeyboardInterrupt`, so the caller's ``finally`` closes the service (without it the default
    handler would end the process before the journal is closed and the stop is reported)."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        run_loop(serve(service, host=host, port=port, fix_port=fix_port))
    finally:
        signal.signal(signal.SIGTERM, previous)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def serve(
    service: Service,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    fix_port: int | None = 9878,
    started: threading.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    app = create_app(service)
    mount_web(app, service)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        lifespan="off",
        access_log=False,
        http=HTTP_PARSER,
        proxy_headers=False,
    )  # limits.client_address trusts no X-Forwarded-For (loopback would be "trusted")
    server = uvicorn.Server(config)
    gateway = None
    if fix_port is not None:
        gateway = FixGateway(service, host=host, port=fix_port)
        await gateway.start()
    task = asyncio.ensure_future(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if started is not None:
        started.set()
    try:
        if stop is None:
            await task
        else:
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            stopper.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
    finally:
        if gateway is not None:
            await gateway.stop()


class BackgroundServer:
    """The API (and FIX gateway) on free loopback ports in a background thread."""

    def __init__(self, service: Service, *, fix: bool = True) -> None:
        self.service = service
        self.port = free_port()
        self.fix_port = free_port() if fix else None
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lionrock-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self.service, port=self.port, fix_port=self.fix_port, started=self._started, stop=self._stop)

        try:
            run_loop(main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._started.set()

    def start(self) -> BackgroundServer:
        self._thread.start()
        if not self._started.wait(30) or self._error is not None:
            raise RuntimeError(f"server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


__all__ = ["HTTP_PARSER", "BackgroundServer", "free_port", "loop_factory", "run", "run_loop", "serve"]
