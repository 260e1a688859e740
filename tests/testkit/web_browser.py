"""Helpers for the dashboard's browser tests: sign in on the page, or open a signed-in API client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from testkit.service_world import PASSWORD


def sign_in(page: Any, url: str, user: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_selector("#who")


@contextmanager
def api_client(url: str, user: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An API client signed in as ``user`` (session cookie), closed on leaving."""
    with httpx.Client(base_url=url, timeout=60) as client:
        r = client.post("/v1/session", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        yield client


__all__ = ["api_client", "sign_in"]
