"""Browser fixtures for the dashboard tests: one service and server per test module, a fresh
Chromium page per test that fails the test if anything leaves loopback, and `shot` to save what
the page looks like (to docs/screenshots/ when LIONROCK_SCREENSHOTS=1, else to a temporary folder:
the screenshot is taken either way, so a page that cannot render fails here too)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.system import missing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
LOOPBACK = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing("chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.on("request", lambda req: outside.append(req.url) if not req.url.startswith(LOOPBACK) else None)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()
    assert outside == [], f"requests left loopback: {outside}"


@pytest.fixture
def shot(tmp_path: Path) -> Callable[[Any, str], Path]:
    """Save a screenshot of the page (viewport) as ``name``.png."""
    folder = SCREENSHOTS if os.environ.get("LIONROCK_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        assert path.stat().st_size > 1_000
        return path

    return take
