"""The dashboard end to end in headless Chromium (Debian's chromium, Playwright's Python client):
sign in, place an order, see it fill live; nothing is fetched from outside loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from lionrock.api.server import BackgroundServer
from service.world import PASSWORD, next_id, open_world

WEBSTOCK = "02529"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[object, BackgroundServer]]:
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        pytest.skip("chromium not installed (apt-get install chromium)")
    service, _ = open_world(stocks=(WEBSTOCK,))
    srv = BackgroundServer(service, fix=False).start()
    yield service, srv
    srv.stop()
    service.close()


@pytest.fixture
def page(site) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    _, srv = site
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context()
        context.on("request", lambda req: outside.append(req.url) if not req.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        yield pg
        context.close()
        browser.close()
    assert outside == [], f"requests left loopback: {outside}"


def sign_in(page, srv: BackgroundServer, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{srv.url}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#who")


def test_web_sign_in_place_order_and_see_it_fill(site, page) -> None:  # type: ignore[no-untyped-def]
    _, srv = site
    sign_in(page, srv, "inv1")
    assert "inv1" in page.inner_text("#who")
    page.goto(f"{srv.url}/market/{WEBSTOCK}")
    page.wait_for_function("() => window.Plotly !== undefined")
    page.select_option("#side", "B")
    page.fill("#quantity", "200")
    page.fill("#price", "49.90")
    page.click("#place")
    page.wait_for_selector("#my-orders tr.status-new")
    assert "49.90" in page.inner_text("#depth")
    # a counterparty sells into the bid over REST; the page updates live (WebSockets)
    seller = httpx.Client(base_url=srv.url)
    seller.post("/v1/session", json={"username": "inv2", "password": PASSWORD})
    r = seller.post("/v1/orders", json={"instrument": WEBSTOCK, "side": "S", "quantity": 200, "price": "49.90", "client_order_id": next_id()})
    seller.close()
    assert r.status_code == 201, r.text
    page.wait_for_selector("#my-orders tr.status-filled")
    page.wait_for_function("() => document.querySelector('#trades tbody').innerText.includes('49.90')")
    page.goto(f"{srv.url}/account")
    assert f"SEC:{WEBSTOCK}" in page.inner_text("#executed")  # settles T+2; #positions is the clearing ledger


def test_web_rejected_order_shows_the_rule_and_bad_login_fails(site, page) -> None:  # type: ignore[no-untyped-def]
    _, srv = site
    page.goto(f"{srv.url}/login")
    page.fill("#username", "inv1")
    page.fill("#password", "wrong password")
    page.click("#sign-in")
    page.wait_for_selector("#login-error")
    sign_in(page, srv, "inv1")
    page.goto(f"{srv.url}/market/{WEBSTOCK}")
    page.fill("#quantity", "150")
    page.fill("#price", "49.90")
    page.click("#place")
    page.wait_for_selector("#order-result.error")
    assert "ODD_LOT" in page.inner_text("#order-result")
    page.goto(f"{srv.url}/")
    assert WEBSTOCK in page.inner_text("#instruments")
