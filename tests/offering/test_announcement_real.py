"""The allotment results announcement against real ones (issue 12 item 4): each section's figures
for a deal from the corpus (examples/deals) checked against its published.toml."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest
from real_deals import application_book, load, preferential_applications, read

from lionrock.kernel.price import format_price
from lionrock.offering.allocation import allocate, placee_concentration
from lionrock.offering.announcement import announcement_markdown
from lionrock.offering.books import ioi_book_from_iois
from lionrock.offering.commands import Ioi, IoiStep, LockupSpec, PlaceeConsentSpec
from lionrock.offering.definition import lockup_last_day, validate_offering
from lionrock.offering.pricing import set_price

SEED = 2026


def _pct(bp: int) -> str:
    return f"{bp / 100:.2f}%"


@pytest.mark.parametrize(
    "slug",
    ["minimax-0100-2026", "ridge-outdoor-2720-2026", "keytop-2272-2026", "tennor-6872-2026", "mech-mind-9615-2026", "transwarp-6727-2026"],
)
def test_placee_concentration_computed_as_hkex_publishes_it(slug: str) -> None:
    """From the published top-N holdings, the percentages of the international offering and of the
    offer shares equal the published ones: allotments include over-allocated shares, the bases
    exclude them (MiniMax's top 25 hold 100.24% of its international offering)."""
    data = read(slug)
    top = data["placee_concentration"]
    international, offer = (
        data["expected"]["international_final"],
        data["expected"]["public_final"] + data["expected"]["international_final"],
    )
    offer += data["expected"].get("employee_reserved_final", 0)
    shares, previous = [], 0
    for k, previous_k in ((1, 0), (5, 1), (10, 5), (25, 10)):
        if f"top{k}" not in top:
            continue
        block, count = top[f"top{k}"]["shares"] - previous, k - previous_k
        shares += [block // count] * (count - 1) + [block - block // count * (count - 1)]
        previous = top[f"top{k}"]["shares"]
    bp = placee_concentration(shares, international, offer, 0)
    for k in (1, 5, 10, 25):
        if f"top{k}" in top:
            assert (_pct(bp[f"top{k}_international"]), _pct(bp[f"top{k}_offer"])) == (
                top[f"top{k}"]["pct_international"],
                top[f"top{k}"]["pct_offer"],
            )


def _ridge_announcement() -> tuple[str, dict]:  # type: ignore[type-arg]
    """Ridge Outdoor 2720 as published: its cornerstones' 12-month lock-up, the controlling
    shareholder's holding and lock-up, 128,205,000 shares in issue, and a book whose demand gives
    the published international subscription level of 2.94 times."""
    deal = load("ridge-outdoor-2720-2026")
    data = deal.data
    lockups = [
        LockupSpec(
            holder="Mr. Yang (GreatCast, Outrider Partnership)",
            kind="controlling_shareholder",
            shares=94_770_000,
            ends=date(2027, 2, 9),
            rule="Rule 10.07",
        )
    ]
    consents = [
        PlaceeConsentSpec(investor="ridge-outdoor-2720-2026-INV00", relationship="connected client", consent="Appendix F1 para 5(1)")
    ]
    spec = msgspec.structs.replace(
        deal.spec,
        shares_outstanding_after=data["offer_shares"]["shares_in_issue_at_listing"],
        lockups=lockups,
        placee_consents=consents,
        cornerstones=[msgspec.structs.replace(c, lockup_months=12) for c in deal.spec.cornerstones],
    )
    ro = validate_offering(spec)
    international = data["offer_shares"]["international_initial"]
    demand = international * 294 // 100 - data["cornerstones_total"]["shares"]  # 2.94x with the cornerstones' shares
    each = demand // 40 // deal.lot * deal.lot
    iois = ioi_book_from_iois(
        [
            Ioi(
                ioi_id=f"R{i}",
                investor=f"ridge-outdoor-2720-2026-INV{i:02d}",
                account=f"C:S:{i}",
                steps=[IoiStep(0, each + (deal.lot if i < 12 else 0))],
            )
            for i in range(40)
        ]
    )
    result = allocate(ro, set_price(ro, iois, deal.price), iois, application_book(deal), SEED, preferential_applications(deal))
    return announcement_markdown(ro, set_price(ro, iois, deal.price), result, iois=iois), data


def test_ridge_outdoor_announcement_sections_match_the_published_figures() -> None:
    text, data = _ridge_announcement()
    e, published = data["expected"], data["public_offer"]
    # Hong Kong public offering: valid and successful applications, subscription level, final size
    assert f"| Number of valid applications | {e['valid_applications']:,} |" in text
    assert f"| Number of successful applications | {published['successful_applications']:,} |" in text
    assert f"| Subscription level | {float(e['subscription_multiple']):,.2f} times the 2,820,500 shares initially offered |" in text
    assert f"| Final number of shares under the Hong Kong Public Offering | {e['public_final']:,} (10.00% of the offer shares) |" in text
    # international offering: subscription level, final size
    assert (
        f"| Subscription level | {data['international_offer']['subscription_multiple']} times the 25,384,500 shares initially available"
        in text
    )
    assert "| Final number of shares under the International Offering | 25,384,500 shares (90.00% of the offer shares;" in text
    # placee concentration: the top placee is the largest cornerstone (6,530,500), as published
    top1 = data["placee_concentration"]["top1"]
    assert f"| Top 1 | {top1['pct_international']} | {top1['pct_offer']} | 5.09% |" in text  # 6,530,500 / 128,205,000
    # distribution of placees by size, placees with consent, lock-ups
    assert "### Distribution of the International Offer Shares" in text and "| Total | 42 | 25,384,500 | 100.00% |" in text
    assert "| ridge-outdoor-2720-2026-INV00 | connected client | Appendix F1 para 5(1) |" in text
    lockup_end = data["cornerstones_total"]["lockup_end"]
    assert lockup_end == lockup_last_day(date(2026, 2, 10), 12)
    for c in data["cornerstones"]:
        assert f"| {c['name']} | cornerstone investor | {c['shares']:,} | {lockup_end} |" in text
    assert "| Mr. Yang (GreatCast, Outrider Partnership) | controlling shareholder | 94,770,000 | 2027-02-09 | Rule 10.07 |" in text
    # public float (Rule 8.08) and free float (Rule 8.08A), as published: 33,435,000 = 26.08%
    pf = data["public_float"]
    assert f"{pf['public_shares']:,} shares held by the public, {pf['public_float_pct']} of the 128,205,000 shares" in text
    assert "against a minimum of 25%: complied" in text
    assert f"Free float (Listing Rules 8.08A): {pf['public_shares'] - data['cornerstones_total']['shares']:,} shares" in text
    # full basis table: every published band, with the published approximate percentage
    bands = data["basis"]["pool_a"] + data["basis"]["pool_b"]
    basis_rows = [
        r for r in text.split("### Basis of Allocation")[1].splitlines() if r.startswith("| ") and r.split("|")[1].strip()[0].isdigit()
    ]
    assert [int(r.split("|")[1].strip().replace(",", "")) for r in basis_rows] == [b["applied"] for b in bands]
    assert [r.split("|")[2].strip() for r in basis_rows] == [f"{b['valid']:,}" for b in bands]
    # money and shares for people
    assert "HK$" in text and f"HKD {format_price(12_250)} per share" in text


def test_longcheer_announcement_reports_the_preferential_offering_and_the_maximum_price_refund() -> None:
    """Longcheer 9611: the employee preferential offering (5,225,000 reserved, 222 applications,
    0.64 times as published, 3,339,500 allotted, 1,885,500 to the international offering) and the maximum
    offer price paid on application."""
    deal = load("longcheer-9611-2026")
    ro = validate_offering(deal.spec)
    iois = ioi_book_from_iois(
        [Ioi(ioi_id=f"L{i}", investor=f"L{i}", account=f"C:S:{i}", steps=[IoiStep(0, 10_000_000)]) for i in range(40)]
    )
    pricing = set_price(ro, iois, deal.price)
    result = allocate(ro, pricing, iois, application_book(deal), SEED, preferential_applications(deal))
    text = announcement_markdown(ro, pricing, result, iois=iois)
    assert (
        "5,225,000 shares reserved out of the International Offering; 222 valid applications for 3,339,500 shares "
        "(0.64 times the reserved shares); 3,339,500 shares allotted to 222 applicants; 1,885,500 shares reallocated"
    ) in text
    assert "Applicants paid the maximum offer price of HKD 31.00 per share" in text
    assert "| Final number of shares under the International Offering | 43,693,600 shares" in text
