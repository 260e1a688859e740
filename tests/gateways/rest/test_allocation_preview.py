"""The allocation preview's gate: one preview computed at a time, a few waiting, and beyond that a
429 before any work (previews are up to six allocations over the books on shared cores)."""

from __future__ import annotations

import asyncio

import pytest

from lionrock.gateways.rest.http import ApiError
from lionrock.gateways.rest.offerings import PreviewGate
from lionrock.service.policy import ServiceCode


def test_preview_gate_runs_one_queues_a_few_and_refuses_the_rest() -> None:
    async def scenario() -> list[str]:
        gate, log = PreviewGate(running=1, waiting=1), []
        release = asyncio.Event()

        async def preview(name: str, hold: bool) -> None:
            async with gate.enter():
                log.append(f"{name} runs")
                if hold:
                    await release.wait()

        first = asyncio.create_task(preview("first", True))
        await asyncio.sleep(0)
        second = asyncio.create_task(preview("second", False))
        await asyncio.sleep(0)
        with pytest.raises(ApiError) as refused:
            await preview("third", False)
        assert refused.value.status == 429 and refused.value.body["code"] == ServiceCode.RATE_LIMITED
        assert refused.value.headers == {"Retry-After": "1"}
        assert log == ["first runs"]  # the second waits for the first
        release.set()
        await asyncio.gather(first, second)
        await preview("fourth", False)  # room again
        return log

    assert asyncio.run(scenario()) == ["first runs", "second runs", "fourth runs"]


def test_a_refused_preview_answers_429_with_retry_after() -> None:
    """The service's error handler sends an `ApiError`'s headers with the one error body."""
    import httpx
    from fastapi import FastAPI

    from lionrock.gateways.rest.app import _install_error_handlers

    app = FastAPI()
    _install_error_handlers(app)
    gate = PreviewGate(running=0, waiting=0)

    @app.get("/preview")
    async def preview() -> dict[str, str]:
        async with gate.enter():
            return {}

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://preview.test") as client:
            return await client.get("/preview")

    answer = asyncio.run(ask())
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == ServiceCode.RATE_LIMITED
