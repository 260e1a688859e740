"""A sponsor enters an indication of interest from the dashboard in headless Chromium.

The form checks what ``POST /v1/offerings/{id}/iois`` checks, from the same model's JSON schema
and the kernel's price format: a differential table holds the page's verdict (and the field it
names) equal to the route's 400 for each body. On the page, bad fields are marked as you type and
nothing is sent; a good IOI lands in the IOI grid; the engine's refusals (a duplicate id, a tier
the placing does not have) come back with their code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from lionrock.gateways.server import BackgroundServer
from lionrock.gateways.web.routes import IOI_SCHEMA
from lionrock.kernel.price import MAX_PRICE_TICKS
from testkit.service_ipo import definition
from testkit.service_world import open_world
from testkit.web_browser import api_client, sign_in

pytestmark = pytest.mark.integration
OID, CODE = "IPO-IOI", "09917"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Any, BackgroundServer]]:
    service, _ = open_world(stocks=("02532",))
    srv = BackgroundServer(service, fix=False).start()
    with api_client(srv.url, "spo") as spo:
        assert spo.post("/v1/offerings", json=definition(OID, CODE)).status_code == 201
    yield service, srv
    srv.stop()
    service.close()


def _ioi(ioi_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ioi_id": ioi_id,
        "investor": "INV-FORM",
        "account": "C:B1:FORM",
        "participant": "B1",
        "tier": 1,
        "origin": "international",
        "steps": [{"limit_price": "9.50", "shares": 10_000}],
    }
    body.update(changes)
    return body


def _step(**changes: Any) -> list[dict[str, Any]]:
    return [{"limit_price": "9.50", "shares": 10_000} | changes]


CASES: list[tuple[str, dict[str, Any]]] = [
    ("valid", _ioi("F-OK1")),
    ("valid strike step, grouped price", _ioi("F-OK2", steps=[{"shares": 5_000}, {"limit_price": "1,000.500", "shares": 100}])),
    ("valid empty participant", _ioi("F-OK3", participant="")),
    ("valid, tier the placing lacks (the engine's call)", _ioi("F-OK4", tier=9)),
    ("id with a space", _ioi("bad id")),
    ("empty id", _ioi("")),
    ("id too long", _ioi("F" * 65)),
    ("missing account", {k: v for k, v in _ioi("F-X1").items() if k != "account"}),
    ("unknown field", _ioi("F-X2", colour="red")),
    ("origin", _ioi("F-X3", origin="mars")),
    ("tier 0", _ioi("F-X4", tier=0)),
    ("tier 101", _ioi("F-X5", tier=101)),
    ("tier as text", _ioi("F-X6", tier="1")),
    ("independent as text", _ioi("F-X7", independent="yes")),
    ("no steps", _ioi("F-X8", steps=[])),
    ("51 steps", _ioi("F-X9", steps=[{"shares": 100}] * 51)),
    ("zero shares", _ioi("F-X10", steps=_step(shares=0))),
    ("negative shares", _ioi("F-X11", steps=_step(shares=-100))),
    ("too many shares", _ioi("F-X12", steps=_step(shares=10**12 + 1))),
    ("fractional shares", _ioi("F-X13", steps=_step(shares=1.5))),
    ("shares as text", _ioi("F-X14", steps=_step(shares="100"))),
    ("price finer than 0.001", _ioi("F-X15", steps=_step(limit_price="9.1234"))),
    ("price with exponent", _ioi("F-X16", steps=_step(limit_price="1e3"))),
    ("negative price", _ioi("F-X17", steps=_step(limit_price="-1"))),
    ("zero price", _ioi("F-X18", steps=_step(limit_price="0"))),
    ("price above the largest", _ioi("F-X19", steps=_step(limit_price="10000"))),
    ("price as words", _ioi("F-X20", steps=_step(limit_price="ten"))),
    ("price trailing zeros", _ioi("F-OK5", steps=_step(limit_price="9.5000"))),
]


def _field(text: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", text)


def test_web_ioi_form_refuses_what_the_route_refuses(site, browser_page) -> None:  # type: ignore[no-untyped-def]
    _, srv = site
    page = browser_page
    sign_in(page, srv.url, "spo")
    page.goto(f"{srv.url}/offerings/{OID}")
    page.wait_for_selector("#ioi-form")
    with api_client(srv.url, "spo") as spo:
        for name, body in CASES:
            problems = page.evaluate("([s, b, m]) => LR.ioiProblems(s, b, m)", [IOI_SCHEMA, body, MAX_PRICE_TICKS])
            r = spo.post(f"/v1/offerings/{OID}/iois", json=body)
            assert (r.status_code == 400) == bool(problems), f"{name}: route {r.status_code} {r.text[:200]}, page {problems}"
            if r.status_code == 400:
                assert _field(r.json()["error"]["field"]) in {p["field"] for p in problems}, f"{name}: {r.json()['error']} vs {problems}"
            else:
                assert r.status_code in (201, 422), f"{name}: {r.status_code} {r.text[:200]}"


def test_web_ioi_form_checks_as_you_type_and_enters_the_ioi(site, browser_page, shot) -> None:  # type: ignore[no-untyped-def]
    service, srv = site
    page = browser_page
    sign_in(page, srv.url, "spo")
    page.goto(f"{srv.url}/offerings/{OID}")
    page.wait_for_selector("#ioi-form")

    def events() -> int:
        return int(service.read.one("SELECT COUNT(*) FROM events WHERE offering_id = ?", (OID,))[0])

    page.fill("#ioi-id", "web ioi")
    page.fill("#ioi-investor", "INV-WEB")
    page.fill("#ioi-account", "C:B1:WEB")
    page.locator("#ioi-steps [name=limit_price]").first.fill("9.1234")
    page.locator("#ioi-steps [name=shares]").first.fill("0")
    checks = page.inner_text("#ioi-checks")
    assert "IOI id:" in checks and "Step 1 limit price: finer than 0.001" in checks and "Step 1 shares: more than 0" in checks
    assert page.locator("#ioi-id.invalid").count() == 1 and page.locator("#ioi-steps input.invalid").count() == 2
    before = events()
    page.click("#ioi-submit")
    assert "Not sent" in page.inner_text("#ioi-result")
    assert events() == before  # nothing reached the engine

    page.fill("#ioi-id", "WEB-1")
    page.locator("#ioi-steps [name=limit_price]").first.fill("9.80")
    page.locator("#ioi-steps [name=shares]").first.fill("20000")
    page.click("#ioi-add-step")
    page.locator("#ioi-steps [name=shares]").nth(1).fill("5,000")
    assert "Step 2 shares: a whole number" in page.inner_text("#ioi-checks")
    page.locator("#ioi-steps [name=shares]").nth(1).fill("5000")  # the second step: at any price
    page.select_option("#ioi-origin", "mainland")
    assert page.inner_text("#ioi-checks") == "Ready: 2 steps, 25,000 shares in all."
    page.locator("#ioi-entry").scroll_into_view_if_needed()
    shot(page, "offering-ioi-entry")
    page.click("#ioi-submit")
    page.wait_for_selector("#ioi-result.ok")
    assert "IOI WEB-1 received" in page.inner_text("#ioi-result")
    row = page.locator("#ioi-grid tbody tr", has_text="WEB-1")
    row.wait_for()  # the page reloads with the IOI in the grid (from the read model)
    assert row.count() == 1 and "mainland" in row.inner_text() and "20,000" in row.inner_text() and "any price" in row.inner_text()

    page.fill("#ioi-id", "WEB-1")  # the same id again: the engine refuses it, with its code
    page.fill("#ioi-investor", "INV-WEB")
    page.fill("#ioi-account", "C:B1:WEB")
    page.locator("#ioi-steps [name=shares]").first.fill("100")
    page.click("#ioi-submit")
    page.wait_for_selector("#ioi-result.error")
    assert "DUPLICATE_IOI" in page.inner_text("#ioi-result")
    page.fill("#ioi-id", "WEB-2")
    page.fill("#ioi-tier", "7")  # within the route's 1-100, beyond this placing's tiers: the engine's call
    page.click("#ioi-submit")
    page.wait_for_selector("#ioi-result.error")
    assert "INVALID_IOI" in page.inner_text("#ioi-result") and "tier" in page.inner_text("#ioi-result")
    for user in ("reg", "inv1", "brk1"):  # the form is the sponsor's (and operators'); the route would refuse the others anyway
        with api_client(srv.url, user) as other:
            assert 'id="ioi-form"' not in other.get(f"/offerings/{OID}").text, user
    page.locator("#ioi-steps .ioi-remove-step").first.click()
    assert page.locator("#ioi-steps tbody tr").count() == 0 and "Steps: at least 1" in page.inner_text("#ioi-checks")
