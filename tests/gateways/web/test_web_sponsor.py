"""A sponsor runs an offering from the dashboard in headless Chromium: define it with the form,
read the IOI book as a grid (sort, filter by investor type / origin / price limit, export CSV)
beside the demand curve, close, fix the price (the reasons shown), preview the allocation with the
mechanism comparison, allocate (the previewed allocation recorded), read and download the
announcement, settle (refused before the listing date with the engine's code, done on it). Every
button calls the REST API, so the same policy and rules decide; the IOIs and applications come in
over REST as a bookrunner's and registrar's systems would send them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lionrock.gateways.server import BackgroundServer
from lionrock.kernel.xhkg import hk_ns
from testkit.service_ipo import T, application_rows, definition, ioi_bodies
from testkit.service_world import open_world
from testkit.web_browser import api_client, sign_in

pytestmark = pytest.mark.integration
OID, CODE = "IPO-DASH", "09916"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Any, BackgroundServer]]:
    service, _ = open_world(stocks=("02531",))
    srv = BackgroundServer(service, fix=False).start()
    yield service, srv
    srv.stop()
    service.close()


def test_web_sponsor_defines_runs_and_settles_an_offering(site, browser_page, shot) -> None:  # type: ignore[no-untyped-def]
    service, srv = site
    page = browser_page
    sign_in(page, srv.url, "spo")
    page.click("#nav-define")
    terms = definition(OID, CODE)["offering"]
    for field, value in (
        ("#f-id", OID),
        ("#f-issuer", terms["issuer_id"]),
        ("#f-issuer-name", terms["issuer_name"]),
        ("#f-instrument", CODE),
        ("#f-prospectus", terms["prospectus_date"]),
        ("#f-open", terms["public_offer_open"]),
        ("#f-fixing", terms["price_fixing_date"]),
    ):
        page.fill(field, value)
    shot(page, "offering-define")
    page.click("#define")
    page.wait_for_url(f"**/offerings/{OID}")
    assert "1,000,000 shares offered" in page.inner_text("main") and "HK$9.00 to HK$10.00" in page.inner_text("main")

    with api_client(srv.url, "spo") as spo, api_client(srv.url, "brk1") as brk1:
        for body in ioi_bodies("D", 12):
            assert spo.post(f"/v1/offerings/{OID}/iois", json=body).status_code == 201
        assert spo.post(f"/v1/offerings/{OID}/applications", json={"applications": application_rows(150, 5)}).status_code == 201
        r = brk1.post(
            f"/v1/offerings/{OID}/applications",
            json={"applications": [{"applicant": "HKID-INV1", "account": "C:B1:I1", "participant": "B1", "shares": 1_000}]},
        )
        assert r.status_code == 201, r.text
        iois = {b["ioi_id"]: b for b in ioi_bodies("D", 12)}

    page.reload()
    page.wait_for_selector("#demand-chart .main-svg")
    _check_ioi_grid(page, iois)

    move_clock(srv.url, f"{T.public_offer_close.isoformat()}T12:00")
    page.reload()
    step(page, "#do-close", "#closed")  # the page reloads with the step's result from the read model
    move_clock(srv.url, f"{T.price_fixing.isoformat()}T10:00")
    page.reload()
    step(page, "#do-price", "#price-reasons li")
    assert page.inner_text("#offer-price").startswith("HK$")
    assert "coverage" in page.inner_text("#pricing")
    previewed = _preview_allocation(page, shot)
    step(page, "#do-allocate", "#results-summary th")
    assert page.inner_text("#stage") == "allocated"
    assert previewed in page.inner_text("#results-summary")  # allocating with the previewed seed recorded the previewed allocation
    assert page.locator("#comparison table.comparison th.actual").count() == 1  # the comparison, kept from the allocation
    summary = page.inner_text("#results-summary")
    assert " shares" in summary and "," in summary  # 1,000,000 shares, not 1000000
    grid_rows = page.locator("#allocation-grid tbody tr").count()
    assert grid_rows > 100
    assert page.inner_text("#allocation-grid .grid-count").startswith(f"{grid_rows:,} of")
    page.locator("#announcement-preview").scroll_into_view_if_needed()  # loaded lazily, when it comes into view
    page.frame_locator("#announcement-preview").locator("h2").first.wait_for()
    with page.expect_download() as dl:
        page.click("#announcement-download")
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "Announcement of Allotment Results" in text
    page.locator("#demand-chart").scroll_into_view_if_needed()
    shot(page, "offering-sponsor", full_page=False)

    # settle: refused before the listing date (the engine's coded rejection), done on it
    page.click("#do-settle")
    page.wait_for_selector("#action-result.error")
    assert "listing" in page.inner_text("#action-result").lower()
    move_clock(srv.url, f"{T.listing.isoformat()}T09:00")
    assert service.clock() >= hk_ns(T.listing, time(9, 0))
    page.reload()
    step(page, "#do-settle", "#settled")
    assert "gross proceeds HK$" in page.inner_text("#settled")


def _preview_allocation(page: Any, shot: Any) -> str:
    """Before allocating: a seed that is not a whole number is refused on the page; a preview
    shows the allocation (basis of allocation, placing) and the mechanism comparison, and changes
    nothing (the stage stays priced). Returns the previewed allotment digest."""
    page.fill("#seed-input", "4.5")
    page.click("#do-preview")
    page.wait_for_selector("#preview-result.error")
    assert "Ballot seed: a whole number" in page.inner_text("#preview-result")
    page.fill("#seed-input", "42")
    page.click("#do-preview")
    page.wait_for_selector("#preview table.comparison")
    assert page.locator("#preview-result.error").count() == 0
    text = page.inner_text("#preview")
    assert "Allocation with seed 42" in text and "Basis of allocation" in text and " shares" in text
    assert page.locator("#preview table.comparison th.actual").count() == 1
    digest = page.locator("#preview table.summary tr", has_text="Allotment digest").locator("td").inner_text()
    assert len(digest) == 64
    page.reload()
    assert page.inner_text("#stage") == "priced"
    page.click("#do-preview")
    page.wait_for_selector("#preview table.comparison")
    page.locator("#preview table.comparison").scroll_into_view_if_needed()
    shot(page, "offering-preview")
    url = page.url.split("/offerings/")[0]
    with api_client(url, "reg") as reg, api_client(url, "inv1") as inv1:  # full scope reads the preview; others do not see it
        html = reg.get(f"/offerings/{OID}").text
        assert 'id="do-preview"' in html and 'id="seed-input"' in html and 'id="do-allocate"' not in html
        assert 'id="preview-section"' not in inv1.get(f"/offerings/{OID}").text
    return str(digest)


def move_clock(url: str, to: str) -> None:
    """The demo venue's operator moves the market clock (the operator page's button, tested in test_web_operator)."""
    with api_client(url, "op") as op:
        r = op.post("/v1/venue/clock", json={"to": to})
        assert r.status_code == 200, r.text


def step(page: Any, button: str, expect: str) -> None:
    """Click a lifecycle button and wait for the reloaded page to show ``expect``; a refusal fails with its text."""
    page.click(button)
    page.wait_for_selector(f"{expect}, #action-result.error")
    assert page.locator("#action-result.error").count() == 0, page.inner_text("#action-result")
    page.wait_for_selector(expect)


def _check_ioi_grid(page: Any, iois: dict[str, dict[str, Any]]) -> None:
    """Sort, filter by origin and by price limit, and export: the CSV holds the rows shown, raw."""
    grid = page.locator("#ioi-grid")
    assert grid.locator("tbody tr").count() == len(iois)
    grid.locator("th[data-key='shares_max']").click()
    grid.locator("th[data-key='shares_max']").click()  # descending
    first = grid.locator("tbody tr").first.locator("td").nth(7).inner_text()
    top = max(max(s["shares"] for s in b["steps"]) for b in iois.values())
    assert first == f"{top:,}"
    origins = sorted({b["origin"] for b in iois.values()})
    grid.locator("select[data-pick='origin']").select_option(origins[0])
    kept = [b for b in iois.values() if b["origin"] == origins[0]]
    assert grid.locator("tbody tr").count() == len(kept)
    with page.expect_download() as dl:
        grid.locator(".grid-export").click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    assert sorted(r["ioi_id"] for r in rows) == sorted(b["ioi_id"] for b in kept)
    assert all(r["origin"] == origins[0] and r["shares_max"].isdigit() for r in rows)
    grid.locator("select[data-pick='origin']").select_option("")
    grid.locator("input[data-min='limit_high']").fill("9.5")
    limited = [
        b
        for b in iois.values()
        if any(s["limit_price"] is None for s in b["steps"])  # a strike step: any price
        or max(Decimal(s["limit_price"]) for s in b["steps"]) >= Decimal("9.5")
    ]
    assert grid.locator("tbody tr").count() == len(limited)
    grid.locator("input[data-min='limit_high']").fill("")
