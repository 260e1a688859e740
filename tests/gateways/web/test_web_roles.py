"""The operator, broker and investor in the dashboard (headless Chromium): the operator creates and
disables a user and runs the venue (move the demo clock to T+2, open the day, run settlement: a
trade leaves "awaiting settlement" for the ledger); the broker's order ticket warns as it types
(board lot, spread table, quotation limit) while the venue still decides; the investor's account
page shows money and shares formatted and its IPO results. One formatting table holds the Python
helper and its JavaScript twin to the same text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from lionrock.gateways.server import BackgroundServer
from lionrock.gateways.web import formatting
from testkit.service_world import next_id, open_world
from testkit.web_browser import api_client, sign_in

pytestmark = pytest.mark.integration
STOCK = "02533"
CASES = [  # (python function, js function, args, text)
    ("money", "money", (4413061, "HKD"), "HK$44,130.61"),
    ("money", "money", (-1000000, "HKD"), "-HK$10,000.00"),
    ("money", "money", (5, "CNY"), "RMB 0.05"),
    ("money", "money", (0, "USD"), "US$0.00"),
    ("shares", "shares", (1234500,), "1,234,500 shares"),
    ("shares", "shares", (1,), "1 share"),
    ("count", "count", (-1234,), "-1,234"),
    ("percent", "percent", (1250,), "12.5%"),
    ("percent", "percent", (10000,), "100%"),
    ("percent", "percent", (1,), "0.01%"),
    ("times", "times", (36542300,), "3,654.23x"),
    ("times", "times", (77749,), "7.77x"),
    ("price", "price", (9500, "HKD"), "HK$9.50"),
    ("price", "price", (1234567, "HKD"), "HK$1,234.567"),
]


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Any, BackgroundServer]]:
    service, _ = open_world(stocks=(STOCK,))
    srv = BackgroundServer(service, fix=False).start()
    yield service, srv
    srv.stop()
    service.close()


@pytest.mark.parametrize(("py", "js", "args", "text"), CASES)
def test_formatting_python_helper_reads_as_people_write(py: str, js: str, args: tuple[Any, ...], text: str) -> None:
    assert getattr(formatting, py)(*args) == text


def test_formatting_javascript_twin_matches_the_python_helper(site, browser_page) -> None:  # type: ignore[no-untyped-def]
    _, srv = site
    sign_in(browser_page, srv.url, "inv1")
    for py, js, args, text in CASES:
        assert browser_page.evaluate(f"(a) => LR.{js}(...a)", list(args)) == text == getattr(formatting, py)(*args)


def test_web_operator_creates_and_disables_a_user_and_settles_t_plus_2(site, browser_page, shot) -> None:  # type: ignore[no-untyped-def]
    service, srv = site
    with api_client(srv.url, "inv1") as buyer, api_client(srv.url, "inv2") as seller:
        for client, side in ((buyer, "B"), (seller, "S")):
            r = client.post(
                "/v1/orders", json={"instrument": STOCK, "side": side, "quantity": 1_000, "price": "50.00", "client_order_id": next_id()}
            )
            assert r.status_code == 201, r.text
    page = browser_page
    sign_in(page, srv.url, "op")
    page.click("#nav-venue")
    page.fill("#new-username", "inv9")
    page.fill("#new-password", "another long password")
    page.select_option("#new-role", "investor")
    page.fill("#new-participant", "B1")
    page.fill("#new-accounts", "C:B1:I9")
    page.click("#user-create")
    page.wait_for_selector("#user-list tr[data-user='inv9']")
    page.click("#user-list button[data-disable='inv9']")
    page.wait_for_selector("#user-list tr[data-user='inv9']", state="detached")
    assert not service.auth.is_active("inv9")

    page.fill("#clock-to", "2025-11-26T09:10")  # T+2 business days from Monday 24 November
    page.click("#move-clock")
    page.wait_for_function("() => document.querySelector('#venue-now').innerText.startsWith('2025-11-26')")
    page.fill("#venue-day", "2025-11-26")
    page.click("#open-day")
    page.wait_for_function("() => document.querySelector('#venue-day-started').innerText === '2025-11-26'")
    page.fill("#venue-day", "2025-11-26")
    page.click("#run-settlement")
    page.wait_for_function("() => document.querySelector('#venue-settlement').innerText.startsWith('2025-11-26')")
    assert "positions settled" in page.inner_text("#venue-settlement")
    shot(page, "operator-venue")
    with api_client(srv.url, "op") as op:
        run = op.get("/v1/venue").json()["last_settlement"]
    # the trade's positions came due and were settled or recorded as failed (the test accounts hold no cash or stock)
    assert run["day"] == "2025-11-26" and run["positions_settled"] + run["failures"] > 0, run


def test_web_broker_ticket_warns_as_it_types_and_the_venue_decides(site, browser_page, shot) -> None:  # type: ignore[no-untyped-def]
    _, srv = site
    page = browser_page
    sign_in(page, srv.url, "brk1")
    page.goto(f"{srv.url}/market/{STOCK}")
    page.wait_for_selector("#instrument-rules")
    page.fill("#account", "C:B1:I1")
    page.fill("#quantity", "150")
    assert "Board lot 100" in page.inner_text("#ticket-checks")
    page.fill("#quantity", "200")
    page.fill("#price", "50.03")
    assert "Spread table" in page.inner_text("#ticket-checks") and "50.00 or 50.05" in page.inner_text("#ticket-checks")
    page.fill("#price", "30.00")
    assert "Quotation rule" in page.inner_text("#ticket-checks")
    page.fill("#price", "49.90")
    page.wait_for_selector("#ticket-checks li.ok")
    assert "HK$9,980.00" in page.inner_text("#ticket-checks")
    shot(page, "broker-ticket")
    page.fill("#price", "49.91")  # the server still decides: a ticket warning does not stop the call
    page.click("#place")
    page.wait_for_selector("#order-result.error")
    assert re.match(
        r"^20\d\d [A-Z_]+: ", page.inner_text("#order-result")
    )  # the venue's coded refusal (off tick, or the session when the operator test moved the clock)


def test_web_investor_account_shows_formatted_money_shares_and_ipo_results(site, browser_page, shot) -> None:  # type: ignore[no-untyped-def]
    _, srv = site
    page = browser_page
    sign_in(page, srv.url, "inv1")
    page.goto(f"{srv.url}/account")
    text = page.inner_text("main")
    assert "IPO applications and results" in text
    for table in ("#positions", "#executed", "#orders"):
        cells = page.locator(f"{table} td:not(:first-child)").all_inner_texts()  # the first column is an id
        raw = [c for c in cells if c.strip().lstrip("-").isdigit() and not c.strip().startswith("0") and len(c.strip()) > 4]
        assert raw == [], (table, cells)  # no ungrouped amounts (stock codes like 02533 are codes, not numbers)
    shot(page, "investor-account")
