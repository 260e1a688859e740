"""The rules as practised in real Hong Kong IPOs (2024-2026 allotment results announcements,
examples/deals): rounding to board lots, 18C and the bookbuilding minimum, waiver ladders with any
threshold, the offer size adjustment split, and the regime picker's reasons."""

from __future__ import annotations

import tomllib

import pytest
from offering_builders import (
    PRE_2025,
    apps_for_demand,
    at_price,
    book,
    cornerstone,
    ioi_book,
    resolved,
)

from lionrock.files.offerings import parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering.allocation import allocate
from lionrock.offering.commands import ClawbackWaiverSpec
from lionrock.offering.definition import public_share_of, share_of


@pytest.mark.parametrize(
    ("initial_offer", "share_pct", "lot", "published"),
    [
        (25_389_220, 5, 20, 1_269_480),  # MiniMax 0100 initial (1,269,461 exact)
        (25_389_220, 20, 20, 5_077_860),  # MiniMax final (5,077,844)
        (37_419_500, 5, 100, 1_871_000),  # Knowledge Atlas 2513 initial (1,870,975)
        (37_419_500, 20, 100, 7_483_900),  # Knowledge Atlas final (exact)
        (14_010_800, 20, 100, 2_802_200),  # Transwarp 6727 final (2,802,160)
        (1_355_106_600, 10, 600, 135_511_200),  # Horizon Robotics 9660 initial (135,510,660)
        (8_280_550, 10, 50, 828_100),  # TenNor 6872 (828,055)
        (23_140_590, 5, 30, 1_157_040),  # Mech-Mind 9615 initial (1,157,029.5)
        (23_140_590, 20, 30, 4_628_130),  # Mech-Mind final (4,628,118)
        (273_951_400, 10, 100, 27_395_200),  # Muyuan 2714 (27,395,140)
        (10_112_280, 10, 60, 1_011_240),  # Keytop 2272 (1,011,228)
        (52_259_100, 10, 100, 5_226_000),  # Longcheer 9611 (5,225,910)
        (28_205_000, 10, 500, 2_820_500),  # Ridge Outdoor 2720 (exact)
    ],
)
def test_public_tranche_rounds_up_to_a_board_lot_as_every_real_deal(initial_offer: int, share_pct: int, lot: int, published: int) -> None:
    """Every allotment announcement found rounds the public tranche UP to a board lot."""
    assert public_share_of(Rate(share_pct, 100), initial_offer, lot) == published


@pytest.mark.parametrize(
    ("offer", "lot", "published"),
    [
        (23_140_590, 30, 3_471_060),  # Mech-Mind 9615: 3,471,088.5 down
        (273_951_400, 100, 41_092_700),  # Muyuan 2714: 41,092,710 down
        (52_259_100, 100, 7_838_800),  # Longcheer 9611: 7,838,865 down
        (29_197_600, 20, 4_379_640),  # MiniMax 0100 (offer after the adjustment option): exact
    ],
)
def test_over_allocation_rounds_down_to_a_board_lot(offer: int, lot: int, published: int) -> None:
    assert share_of(Rate(15, 100), offer, lot) == published


def test_initial_public_tranche_and_max_application_round_as_published() -> None:
    """Mech-Mind 9615 shape: 5% of 23,140,590 in lots of 30 is 1,157,040 (up); Ridge Outdoor 2720
    shape: the maximum application is half the initial tranche rounded DOWN to a lot."""
    ro = resolved(chapter="18C", mechanism="", public_share=None, shares_offered=23_140_590, board_lot=30)
    assert ro.initial_public_shares == 1_157_040 and ro.max_application_shares == 578_520
    ridge = resolved(shares_offered=28_205_000, board_lot=500)
    assert ridge.initial_public_shares == 2_820_500 and ridge.max_application_shares == 1_410_000


def test_chapter_18c_cornerstones_above_the_40_percent_room_are_accepted() -> None:
    """MiniMax 0100 and Knowledge Atlas 2513 (18C, prospectuses Dec 2025): cornerstones took 65.00%
    and 68.63% of the shares initially offered; the 40% bookbuilding minimum is not applied to 18C."""
    ro = resolved(chapter="18C", mechanism="", public_share=None, cornerstones=[cornerstone(amount_minor=6_300_000_00)])  # 700,000 at HK$9
    assert ro.bookbuilding_min.numerator == 0
    assert any("not applied to Chapter 18C" in r for r in ro.regime_reasons)


def test_main_board_bookbuilding_minimum_still_binds_after_august_2025() -> None:
    """Mechanisms A/B: 40% of the shares initially offered to the bookbuilding placing (S)."""
    with pytest.raises(Reject) as exc:
        resolved(cornerstones=[cornerstone(amount_minor=6_300_000_00)])
    assert exc.value.rejection.field == "cornerstones"


def test_waiver_ladder_with_a_fractional_threshold() -> None:
    """A waiver may set any threshold and share (Horizon Robotics 9660 shape: 10% -> 15%)."""
    waiver = ClawbackWaiverSpec(
        reference="waiver", initial=Rate(10, 100), steps=[(Rate(335, 10), Rate(15, 100)), (Rate(100, 1), Rate(175, 1000))]
    )
    ro = resolved(prospectus_date=PRE_2025, mechanism="", public_share=None, waiver=waiver)
    initial = ro.initial_public_shares
    iois = ioi_book(ro, 10_000_000)

    def final(demand: int) -> int:
        result = allocate(ro, at_price(ro.spec.price_high), iois, book(apps_for_demand(demand, ro.max_application_shares, ro.lot)), seed=1)
        return result.summary.final_public_shares

    assert final(33 * initial) == 100_000
    assert final(33 * initial + initial // 2) == 150_000  # 33.5x reached exactly
    assert final(100 * initial) == 175_000
    assert "33.5" in " ".join(ro.regime_reasons)


def test_waiver_steps_parse_from_the_offering_file() -> None:
    text = """
[offering]
id = "W1"
issuer_id = "ISS"
issuer_name = "Waiver Co"
instrument = "09998"
shares_offered = 1_000_000
board_lot = 100
price_range = ["9.00", "10.00"]
prospectus_date = 2024-10-02
public_offer_open = 2024-10-02
price_fixing_date = 2024-10-08

[offering.waiver]
reference = "Horizon-style waiver"
initial = "10%"
steps = [["33.5", "15%"], [100, "17.5%"]]
"""
    spec = parse_offering(tomllib.loads(text))
    assert spec.waiver is not None and spec.waiver.steps[0] == (Rate(335, 10), Rate(15, 100))
    bad = tomllib.loads(text.replace('["33.5", "15%"]', '["15%", "15%"]'))
    with pytest.raises(Reject) as exc:
        parse_offering(bad)
    assert exc.value.rejection.field == "offering.waiver.steps[0]"


def test_offer_size_adjustment_goes_to_the_international_offering_by_default() -> None:
    """MiniMax 0100: the whole option to the international offering; the 20% clawback is of the
    shares initially offered, not of the enlarged offer."""
    ro = resolved(chapter="18C", mechanism="", public_share=None, offer_size_adjustment=Rate(15, 100))
    apps = book(apps_for_demand(60 * ro.initial_public_shares, ro.max_application_shares, ro.lot))
    s = allocate(ro, at_price(ro.spec.price_high, upsize=150_000), ioi_book(ro, 10_000_000), apps, seed=1).summary
    assert s.final_public_shares == 200_000 and s.offer_shares == 1_150_000
    assert s.placing_shares - s.over_allocated_shares + s.cornerstone_shares == 950_000


def test_offer_size_adjustment_split_between_tranches_as_stated() -> None:
    ro = resolved(offer_size_adjustment=Rate(15, 100), offer_size_adjustment_public_share=Rate(10, 100))
    apps = book(apps_for_demand(5 * ro.initial_public_shares, ro.max_application_shares, ro.lot))
    s = allocate(ro, at_price(ro.spec.price_high, upsize=150_000), ioi_book(ro, 10_000_000), apps, seed=1).summary
    assert s.final_public_shares == 100_000 + 15_000
    assert s.placing_shares - s.over_allocated_shares == 1_150_000 - 115_000


@pytest.mark.parametrize(
    ("kw", "mechanism", "words"),
    [
        (dict(prospectus_date=PRE_2025, mechanism="", public_share=None), "PN18", "one mandatory ladder"),
        (dict(mechanism="B"), "B", "elected 'B'"),
        (dict(mechanism="", public_share=None), "B", "rulebook's default 'B'"),
        (dict(chapter="18C", mechanism="", public_share=None), "18C", "Mechanisms A/B are not open"),
    ],
)
def test_regime_picker_explains_the_mechanism(kw: dict, mechanism: str, words: str) -> None:
    ro = resolved(**kw)
    text = " ".join(ro.regime_reasons)
    assert words in text
    assert ro.spec.chapter == "18C" or str(ro.spec.prospectus_date) in text


def test_chapter_18c_cannot_elect_mechanism_a() -> None:
    with pytest.raises(Reject) as exc:
        resolved(chapter="18C", mechanism="A", public_share=None)
    assert exc.value.rejection.field == "offering.mechanism"
