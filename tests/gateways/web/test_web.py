"""The dashboard end to end in headless Chromium (Debian's chromium, Playwright's Python client):
sign in, place an order, see it fill live; nothing is fetched from outside loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from lionrock.gateways.server import BackgroundServer
from testkit.service_world import PASSWORD, next_id, open_world
from testkit.system import missing

WEBSTOCK = "02529"
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

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[object, BackgroundServer]]:
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        missing("chromium", "apt-get install chromium")
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
        context.on(
            "request",
            lambda req: (
                outside.append(req.url) if not req.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None
            ),
        )
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
    r = seller.post(
        "/v1/orders", json={"instrument": WEBSTOCK, "side": "S", "quantity": 200, "price": "49.90", "client_order_id": next_id()}
    )
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


def test_web_offering_page_shows_book_curve_and_allocation_results(site, page) -> None:  # type: ignore[no-untyped-def]
    """An offering driven through the REST API (define, IOIs, applications, close, price, allocate)
    seen in the browser: the priced book's demand curve (Plotly), the results and the basis of
    allocation, the investor's own allocation only, and the allotment results announcement."""
    from testkit.service_ipo import application_rows, definition_priced_on_day, ioi_bodies

    _, srv = site
    api: dict[str, httpx.Client] = {}
    for user in ("spo", "brk1"):
        api[user] = httpx.Client(base_url=srv.url, timeout=60)
        assert api[user].post("/v1/session", json={"username": user, "password": PASSWORD}).status_code == 200
    spo, oid = api["spo"], "IPO-WEB"
    try:
        steps = [
            spo.post("/v1/offerings", json=definition_priced_on_day(oid, "09915")),  # closes and prices on the world's day
            *(spo.post(f"/v1/offerings/{oid}/iois", json=body) for body in ioi_bodies("W", 10)),
            spo.post(f"/v1/offerings/{oid}/applications", json={"applications": application_rows(120, 9)}),
            api["brk1"].post(
                f"/v1/offerings/{oid}/applications",
                json={"applications": [{"applicant": "HKID-INV1", "account": "C:B1:I1", "participant": "B1", "shares": 1_000}]},
            ),
            spo.post(f"/v1/offerings/{oid}/close"),
            spo.post(f"/v1/offerings/{oid}/price", json={}),
            spo.post(f"/v1/offerings/{oid}/allocate", json={"seed": 42}),
        ]
        for r in steps:
            assert r.status_code in (200, 201), r.text
        priced = steps[-2].json()["OfferPriceFixed"]
        summary = steps[-1].json()["OfferingAllocated"]["summary"]
    finally:
        for c in api.values():
            c.close()
    sign_in(page, srv, "inv1")
    page.goto(f"{srv.url}/")
    page.click(f"#offerings a[href='/offerings/{oid}']")
    page.wait_for_selector("#demand-chart[data-rendered='1'] .main-svg")
    assert page.inner_text("#stage") == "allocated"
    book_rows = page.locator("#book tr").count() - 1
    assert book_rows == len(priced["demand_curve"]) > 1
    assert page.locator("#book tr.offer-price").count() == 1
    assert priced_text(priced["price"]) in page.inner_text("#results-summary")
    assert str(summary["seed"]) in page.inner_text("#results-summary")
    assert page.locator("#basis tr").count() - 1 == len(summary["bands"])
    mine = page.inner_text("#allocation-grid")
    assert "C:B1:I1" in mine and "C:P0" not in mine  # the investor sees its own allocation only
    page.click("#announcement-link")
    page.wait_for_selector("h2")
    assert "Announcement of Allotment Results" in page.content() and summary["allotment_digest"] in page.content()


def priced_text(ticks: int) -> str:
    from lionrock.kernel.price import format_price

    return format_price(ticks)
