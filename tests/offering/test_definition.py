"""Offering files: parsing, validation errors that name the field, the rules in force by date."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from offering_builders import PRE_2025, cornerstone, resolved

from lionrock.files.offerings import load_offering, parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering.definition import validate_offering

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "offerings"


@pytest.mark.parametrize("name", sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.toml")))
def test_example_offering_files_validate(name: str) -> None:
    ro = validate_offering(load_offering(EXAMPLES / name))
    assert ro.initial_public_shares > 0 and ro.timetable.listing > ro.timetable.price_fixing


def _data(**offering: object) -> dict:
    data = tomllib.loads((EXAMPLES / "mechanism_b_ai.toml").read_text())
    data["offering"].update(offering)
    return data


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"price_range": ["40.00"]}, "offering.price_range", "[low, high]"),
        ({"price_range": ["40.00", "abc"]}, "offering.price_range", "price"),
        ({"shares_offered": "many"}, "offering.shares_offered", "whole number"),
        ({"public_share": "ten"}, "offering.public_share", "percentage"),
        ({"colour": "red"}, "offering.colour", "unknown key"),
        ({"prospectus_date": "2025-11-24"}, "offering.prospectus_date", "TOML date"),
    ],
)
def test_bad_offering_file_names_field_and_expectation(change: dict, field: str, words: str) -> None:
    with pytest.raises(Reject) as exc:
        validate_offering(parse_offering(_data(**change)))
    assert exc.value.rejection.field == field and words in exc.value.rejection.message


def test_missing_required_field_named() -> None:
    data = _data()
    del data["offering"]["board_lot"]
    with pytest.raises(Reject) as exc:
        parse_offering(data)
    assert exc.value.rejection.field == "offering.board_lot" and "required" in exc.value.rejection.message


def _reject(**kw: object) -> Reject:
    with pytest.raises(Reject) as exc:
        resolved(**kw)
    return exc.value


def test_mechanism_b_public_share_bounds() -> None:
    """PN18 para 4.2 as amended 4 Aug 2025: Mechanism B between 10% and 60%."""
    assert resolved(public_share=Rate(10, 100)).initial_public_shares == 100_000
    assert resolved(public_share=Rate(60, 100)).initial_public_shares == 600_000
    assert _reject(public_share=Rate(9, 100)).rejection.field == "offering.public_share"
    assert _reject(public_share=Rate(61, 100)).rejection.field == "offering.public_share"


def test_mechanisms_not_available_before_4_august_2025() -> None:
    """Prospectuses before 4 Aug 2025 follow PN18; Mechanism A/B did not exist."""
    assert _reject(prospectus_date=PRE_2025, mechanism="A").rejection.field == "offering.mechanism"
    assert resolved(prospectus_date=PRE_2025, mechanism="", public_share=None).regime == "PN18"
    assert _reject(prospectus_date=PRE_2025, mechanism="", public_share=Rate(5, 100)).rejection.field == "offering.public_share"


def test_price_range_wider_than_30_percent_has_no_downward_flexibility() -> None:
    """HKEX 2 Feb 2018: up to 10% below the range only if the top is at most 30% above the bottom."""
    ok = resolved(price_low=10_000, price_high=13_000, downward_flexibility=True)
    assert ok.price_floor == 9_000
    bad = _reject(price_low=10_000, price_high=13_010, downward_flexibility=True)
    assert bad.rejection.field == "offering.price_range" and "30%" in bad.rejection.message
    assert resolved(price_low=10_000, price_high=13_000).price_floor == 10_000


def test_options_capped_at_15_percent() -> None:
    """Offer size adjustment and over-allotment up to 15% of the offer shares."""
    assert resolved(offer_size_adjustment=Rate(15, 100)).max_upsize_shares == 150_000
    assert _reject(offer_size_adjustment=Rate(16, 100)).rejection.field == "offering.offer_size_adjustment"
    assert _reject(over_allotment=Rate(151, 1000)).rejection.field == "offering.over_allotment"


def test_cornerstone_lockup_at_least_six_months() -> None:
    """Cornerstone shares are locked up for six months (retained in the Aug 2025 conclusions)."""
    assert _reject(cornerstones=[cornerstone(lockup_months=3)]).rejection.field == "cornerstones[0].lockup_months"
    ro = resolved(cornerstones=[cornerstone()])
    assert ro.timetable.cornerstone_lockup_end.month == 6 and ro.timetable.cornerstone_lockup_end.year == 2026


def test_bookbuilding_minimum_limits_cornerstones_from_august_2025() -> None:
    """PN18 para 3.2 as amended: >= 40% of the shares initially offered to bookbuilding placees,
    so with a 10% public tranche cornerstones may take at most 50% at the lowest price."""
    assert resolved(cornerstones=[cornerstone(amount_minor=4_500_000_00)]).spec.cornerstones  # 500,000 shares at HK$9.00
    bad = _reject(cornerstones=[cornerstone(amount_minor=4_500_900_00)])
    assert bad.rejection.field == "cornerstones" and "bookbuilding" in bad.rejection.rule
    # before the reform there was no such minimum
    assert resolved(prospectus_date=PRE_2025, mechanism="", public_share=None, cornerstones=[cornerstone(amount_minor=6_000_000_00)])


def test_fini_timetable_t_plus_2() -> None:
    """FINI (from 22 Nov 2023): public offer closes T-1, results T+1, dealings T+2."""
    t = resolved().timetable
    assert (str(t.public_offer_close), str(t.price_fixing), str(t.results), str(t.listing)) == (
        "2025-11-27",
        "2025-11-28",
        "2025-12-01",
        "2025-12-02",
    )
