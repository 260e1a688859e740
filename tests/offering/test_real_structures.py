"""Real structures expressible (issue 12 item 2): cornerstones by money amount in a stated
currency converted at the final price with a cutback, "maximum offer price only" offers and their
refunds, and a preferential offering tranche out of the international offering."""

from __future__ import annotations

import json
from datetime import date

import msgspec
import numpy as np
import pytest
from offering_builders import (
    apps_for_demand,
    at_price,
    batch,
    book,
    cornerstone,
    ioi_book,
    resolved,
    spec,
)

from lionrock.files.offerings import decode_offering_json, parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.kernel.price import TICKS_PER_MINOR
from lionrock.offering.allocation import PreferentialApplications, allocate, amount_payable
from lionrock.offering.books import ioi_book_from_iois
from lionrock.offering.commands import Ioi, IoiStep, PreferentialOfferingSpec
from lionrock.offering.definition import cornerstone_allotment, validate_offering
from lionrock.offering.pricing import set_price
from lionrock.offering.settlement import settlement_instructions

SEED = 7

# Longsys 9976 (H shares, prospectus 2026; code index id 70768714610, pp. 290-293): cornerstone
# commitments in US$ and HK$, "such number of Offer Shares (rounded down to the nearest whole board
# lot of 50 H Shares) that may be purchased for an aggregate amount of approximately US$151.13
# million (or approximately HK$1,185.32 million, calculated based on the exchange rate as disclosed
# in this prospectus)"; at the maximum offer price HK$240.60 the table gives the shares below,
# 4,926,050 in total. The rate is [I]: (1,185.32m - HK$301m) / US$112.75m = 7.8432, and it
# reproduces every row. 26,077,800 offer shares.
LONGSYS_RATE = Rate(78432, 10000)
LONGSYS = [  # (name, currency, amount in major units, published shares at HK$240.60)
    ("Transsion", "USD", 25_000_000, 814_950),
    ("YuFeng", "USD", 10_000_000, 325_950),
    ("YuFeng LPF", "USD", 10_000_000, 325_950),
    ("CITIC AM HK", "HKD", 150_000_000, 623_400),
    ("AHGO SPC", "USD", 12_750_000, 415_600),
    ("Lenovo", "USD", 10_000_000, 325_950),
    ("Lens Technology HK", "USD", 10_000_000, 325_950),
    ("Ingenic Semiconductor HK", "USD", 10_000_000, 325_950),
    ("Ju Yuen International", "USD", 10_000_000, 325_950),
    ("Colorful Technology", "HKD", 75_000_000, 311_700),
    ("HOSIN HK", "HKD", 56_000_000, 232_750),
    ("Huadeng Technology", "USD", 5_000_000, 162_950),
    ("Wind Sabre", "USD", 5_000_000, 162_950),
    ("CQTech", "USD", 5_000_000, 162_950),
    ("SDMC HK", "HKD", 20_000_000, 83_100),
]


def _longsys(**overrides):  # type: ignore[no-untyped-def]
    cornerstones = [
        cornerstone(
            f"CS{i:02d}",
            amount_minor=amount * 100,
            amount_currency="" if cur == "HKD" else cur,
            fx_rate=Rate(0, 1) if cur == "HKD" else LONGSYS_RATE,
        )
        for i, (_, cur, amount, _) in enumerate(LONGSYS)
    ]
    base = dict(
        shares_offered=26_077_800, board_lot=50, price_low=0, price_high=240_600, cornerstones=cornerstones, cornerstone_cutback="pro_rata"
    )
    base.update(overrides)
    return resolved(**base)


def test_longsys_cornerstones_in_us_and_hk_dollars_reproduce_the_prospectus_table_at_the_maximum_price() -> None:
    ro = _longsys()
    take = cornerstone_allotment(ro, 240_600)
    assert list(take.shares) == [shares for *_, shares in LONGSYS]
    assert take.total == 4_926_050 and not take.reasons


def test_cornerstones_are_converted_at_the_final_price_not_the_bottom_of_the_range() -> None:
    """At a lower final price the same amounts buy more shares (the engine counted them at the
    bottom of the range before issue 12): HK$150m at HK$200.00 is 750,000 shares."""
    ro = _longsys()
    shares = cornerstone_allotment(ro, 200_000).shares
    assert shares[3] == 150_000_000 * 100 * TICKS_PER_MINOR // 200_000 // 50 * 50 == 750_000
    assert shares[0] == (2_500_000_000 * 78432 // 10000) * TICKS_PER_MINOR // 200_000 // 50 * 50


def test_cornerstones_beyond_the_room_are_cut_back_pro_rata_to_whole_lots_with_the_reason() -> None:
    """Money amounts fixed at about half the offer (the issue's refused Main Board deal): at the
    bottom of a range they would exceed what the public tranche and the 40% bookbuilding minimum
    leave; with the prospectus's cutback each is reduced in proportion, to whole lots."""
    cs = [
        cornerstone("BIG", amount_minor=300_000_000 * 100, amount_currency="USD", fx_rate=Rate(78, 10)),
        cornerstone("SMALL", amount_minor=100_000_000 * 100, amount_currency="USD", fx_rate=Rate(78, 10)),
    ]
    with pytest.raises(Reject) as refused:  # without a cutback rule: refused, and the message says what to state
        resolved(shares_offered=100_000_000, price_low=40_000, price_high=48_000, cornerstones=cs)
    assert "cornerstone_cutback" in refused.value.rejection.message
    ro = resolved(shares_offered=100_000_000, price_low=40_000, price_high=48_000, cornerstones=cs, cornerstone_cutback="pro_rata")
    room = 100_000_000 - ro.initial_public_shares - ro.bookbuilding_min_shares
    assert ro.cornerstone_room_shares == room == 50_000_000
    at_top = cornerstone_allotment(ro, 48_000)  # US$300m and US$100m x 7.8 / HK$48 = 48,750,000 + 16,250,000 > 50,000,000
    assert at_top.before_cutback == 65_000_000 and at_top.shares == (37_500_000, 12_500_000) and at_top.total == room
    big, small = 48_750_000, 16_250_000
    assert cornerstone_allotment(ro, 40_000).before_cutback == 78_000_000  # at the bottom of the range: more shares, cut to the same room
    iois = ioi_book(ro, 200_000_000)
    apps = book(apps_for_demand(ro.initial_public_shares * 3, ro.max_application_shares, 100))
    result = allocate(ro, at_price(48_000), iois, apps, SEED)
    s = result.summary
    assert [c.shares for c in result.cornerstones] == [big * room // (big + small) // 100 * 100, small * room // (big + small) // 100 * 100]
    assert s.cornerstone_shares == 50_000_000 and s.cornerstone_cutback_shares == 65_000_000 - 50_000_000
    assert any("cut back pro rata" in n for n in s.notes) and s.bookbuilding_ok


def test_cornerstone_amount_parsed_with_its_currency_and_the_stated_rate() -> None:
    data = {
        "offering": {
            "id": "X",
            "issuer_id": "X",
            "issuer_name": "X Ltd",
            "instrument": "09999",
            "shares_offered": 10_000_000,
            "board_lot": 100,
            "maximum_offer_price": "31.00",
            "prospectus_date": date(2025, 11, 24),
            "public_offer_open": date(2025, 11, 24),
            "price_fixing_date": date(2025, 11, 28),
            "mechanism": "B",
            "public_share": "10%",
            "cornerstone_cutback": "pro_rata",
        },
        "cornerstones": [{"investor": "Q", "name": "Q Ventures", "account": "C:CS:Q", "amount": "US$2,000,000", "fx_rate": "7.8"}],
    }
    parsed = parse_offering(data)
    assert (parsed.price_low, parsed.price_high) == (0, 31_000)
    c = parsed.cornerstones[0]
    assert (c.amount_minor, c.amount_currency, c.fx_rate) == (200_000_000, "USD", Rate(78, 10))
    assert cornerstone_allotment(validate_offering(parsed), 31_000).shares == (15_600_000 // 31 // 100 * 100,)
    data["cornerstones"][0].pop("fx_rate")
    with pytest.raises(Reject) as refused:
        validate_offering(parse_offering(data))
    assert refused.value.rejection.field == "cornerstones[0].fx_rate"


def test_maximum_price_only_offer_without_a_cutback_is_refused_with_cornerstones() -> None:
    with pytest.raises(Reject) as refused:
        _longsys(cornerstone_cutback="none")
    assert refused.value.rejection.field == "offering.cornerstone_cutback"
    with pytest.raises(Reject):
        resolved(price_low=0, downward_flexibility=True)


def test_maximum_price_only_prices_from_the_book_and_refunds_the_difference_with_its_charges() -> None:
    """Applicants pay the maximum offer price (plus brokerage and levies) on application; after
    pricing below it each is refunded the hold less the consideration and charges at the final
    price on the shares allotted (Longcheer 9611 was offered at "not more than HK$31.00")."""
    ro = resolved(price_low=0, price_high=31_000)
    assert ro.maximum_price_only and ro.price_floor == 1
    iois = ioi_book_from_iois(
        [Ioi(ioi_id=f"I{i}", investor=f"INV{i}", account=f"C:S:{i}", steps=[IoiStep(28_500, 1_000_000)]) for i in range(9)]
    )
    decision = set_price(ro, iois)
    assert decision.price == 28_500 and [pt.price for pt in decision.curve] == [31_000, 28_500]
    apps = book(batch([1_000, 500, 200] * 50))
    result = allocate(ro, decision, iois, apps, SEED)
    hold = amount_payable(31_000, apps.shares, ro.charges)
    paid = amount_payable(28_500, result.app_allotted, ro.charges)
    refunds = dict(settlement_instructions(ro, iois, apps, result)[0].refunds)
    assert all(refunds[apps.account_values[i]] == int(hold[i] - paid[i]) for i in range(len(apps)))
    assert int((hold - paid).min()) > 0  # every applicant gets money back: the price is below the maximum


def _preferential_offering(reserved: int, **kw):  # type: ignore[no-untyped-def]
    p = PreferentialOfferingSpec(
        kind="assured_entitlement",
        reference="Preferential Offering to Qualifying Parent Shareholders (PN15 para 3(f))",
        reserved_shares=reserved,
        **kw,
    )
    return resolved(preferential=p)


def _pref(shares: list[int], entitlements: list[int], names: list[str] | None = None) -> PreferentialApplications:
    names = names or [f"Q{i}" for i in range(len(shares))]
    return PreferentialApplications(
        names,
        [f"C:P1:{n}" for n in names],
        ["P1"] * len(names),
        np.asarray(shares, dtype=np.int64),
        np.asarray(entitlements, dtype=np.int64),
    )


def test_preferential_entitlements_in_full_excess_by_its_basis_and_reserved_shares_out_of_international() -> None:
    ro = _preferential_offering(100_000)
    assert ro.preferential_reserved_shares == 100_000 and ro.cornerstone_room_shares == 1_000_000 - 100_000 - 400_000 - 100_000
    iois = ioi_book(ro, 5_000_000)
    apps = book(apps_for_demand(ro.initial_public_shares * 2, ro.max_application_shares, 100))
    pref = _pref([30_000, 20_050, 40_000, 60_000, 0], [30_000, 20_050, 10_000, 0, 5_000])  # an odd-lot entitlement is assured in whole lots
    result = allocate(ro, at_price(10_000), iois, apps, SEED, preferential=pref)
    s, got = result.summary, result.preferential_allotted
    assert got[:2].tolist() == [30_000, 20_000] and got[4] == 0
    assert got[2] >= 10_000 and got[2] % 100 == 0 and got[3] % 100 == 0
    assert got[2] - 10_000 + got[3] == 100_000 - 60_000  # the excess (30,000 + 60,000 applied) shares what the entitlements leave
    assert s.preferential_shares == int(got.sum()) == 100_000
    assert s.preferential_to_international_shares == 0 and s.preferential_valid_applications == 4
    assert (
        s.cornerstone_shares + s.final_public_shares + s.placing_shares - s.over_allocated_shares + s.preferential_shares == s.offer_shares
    )


def test_preferential_undersubscribed_gives_the_rest_to_the_international_offering() -> None:
    """Longcheer 9611's employee offering: 5,225,000 reserved, 3,339,500 taken (0.64x), 1,885,500
    "made available to the International Offer" (see also test_real_deals for the whole deal)."""
    ro = resolved(
        shares_offered=52_259_100,
        preferential=PreferentialOfferingSpec(kind="employee", reference="Employee Preferential Offering", reserved_shares=5_225_000),
    )
    pref = _pref([15_000] * 221 + [3_339_500 - 15_000 * 221], [0] * 222)
    iois = ioi_book(ro, 400_000_000)
    apps = book(apps_for_demand(ro.initial_public_shares * 3, ro.max_application_shares, 100))
    s = allocate(ro, at_price(10_000), iois, apps, SEED, preferential=pref).summary
    assert (s.preferential_shares, s.preferential_to_international_shares) == (3_339_500, 1_885_500)
    assert any("1,885,500 of the 5,225,000 reserved shares reallocated to the international offering" in n for n in s.notes)


def test_preferential_multiple_applications_are_invalid_and_validation_bounds_the_reservation() -> None:
    ro = _preferential_offering(10_000)
    out = allocate(
        ro,
        at_price(10_000),
        ioi_book(ro, 5_000_000),
        book(apps_for_demand(ro.initial_public_shares, ro.max_application_shares, 100)),
        SEED,
        preferential=_pref([1_000, 1_000, 500], [1_000, 1_000, 500], names=["A", "A", "B"]),
    )
    assert out.preferential_allotted.tolist() == [0, 0, 500]
    with pytest.raises(Reject):
        _preferential_offering(1_000_050)  # not whole lots and beyond the room
    with pytest.raises(Reject):
        validate_offering(spec(preferential=PreferentialOfferingSpec(kind="rights", reference="x", reserved_shares=100)))


def test_over_allocation_as_the_coordinators_state_it_within_the_option() -> None:
    """Wenge AI 1956 (allotment results, 25 Jun 2026, p.3): 1,335,000 shares over-allocated of
    14,834,600 with the placing 20.70x covered, where the whole 15% option would be 2,225,000;
    SHEIN 0625: 41,998,500, three lots under 15% (examples/deals). ``over_allocate_shares`` states
    the coordinators' count: whole lots, only as far as demand goes, never above the option;
    unset, the whole option (and the policy encodes as before)."""
    from lionrock.offering.commands import PlacingPolicySpec

    def over_allocated(shares: int | None, placing_demand: int) -> int:
        policy = PlacingPolicySpec() if shares is None else PlacingPolicySpec(over_allocate_shares=shares)
        ro = resolved(over_allotment=Rate(15, 100), placing=policy)
        return allocate(ro, at_price(10_000), ioi_book(ro, placing_demand), book(), seed=SEED).summary.over_allocated_shares

    assert over_allocated(None, 20_000_000) == 150_000  # 15% of 1,000,000
    assert over_allocated(90_000, 20_000_000) == 90_000
    assert over_allocated(149_700, 20_000_000) == 149_700  # three lots under the option
    assert over_allocated(0, 20_000_000) == 0
    assert over_allocated(90_000, 1_060_000) == 60_000  # no public demand, so a 1,000,000 placing: 60,000 beyond it
    assert b"over_allocate_shares" not in msgspec.json.encode(PlacingPolicySpec())
    for wrong in (150_100, 90_050, -100):  # above the option, not whole lots, negative
        with pytest.raises(Reject) as refused:
            resolved(over_allotment=Rate(15, 100), placing=PlacingPolicySpec(over_allocate_shares=wrong))
        assert refused.value.rejection.field == "placing.over_allocate_shares"
    table = {
        "offering": {
            "id": "X",
            "issuer_id": "X",
            "issuer_name": "X Ltd",
            "instrument": "09999",
            "shares_offered": 1_000_000,
            "board_lot": 100,
            "price_range": ["9.00", "10.00"],
            "prospectus_date": date(2025, 11, 24),
            "public_offer_open": date(2025, 11, 24),
            "price_fixing_date": date(2025, 11, 28),
            "over_allotment": "15%",
        },
        "placing": {"over_allocate_shares": 90_000},
    }
    parsed = parse_offering(table)
    assert parsed.placing.over_allocate_shares == 90_000
    assert decode_offering_json(json.dumps(table, default=str)) == parsed  # the REST body: the same spec
