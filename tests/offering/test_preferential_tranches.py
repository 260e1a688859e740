"""Preferential tranches out of the public offer or the international offering, one or several
(Dtech 1377, Jul 2026: overseas employees out of the public offer, PRC employees out of the
international offering): definition checks, allocation, the engine path, the offering file."""

from __future__ import annotations

import tomllib
from datetime import time
from typing import Any

import msgspec
import numpy as np
import pytest
from offering_builders import batch, spec

from lionrock.engine import Engine
from lionrock.files.offerings import parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.xhkg import add_business_days, hk_ns
from lionrock.offering import OfferingContext
from lionrock.offering._codes import OfferingCode
from lionrock.offering.allocation import PreferentialApplications, allocate
from lionrock.offering.books import application_book_from_batches, ioi_book_from_iois
from lionrock.offering.commands import (
    DefineOffering,
    Ioi,
    IoiStep,
    LodgePreferentialApplications,
    PreferentialBatch,
    PreferentialOfferingSpec,
)
from lionrock.offering.definition import validate_offering
from lionrock.offering.pricing import set_price
from lionrock.rules import offering as rules

OVERSEAS = PreferentialOfferingSpec(
    kind="employee", reference="Overseas Employee Preferential Offering", reserved_shares=10_000, source="public"
)
PRC = PreferentialOfferingSpec(kind="employee", reference="PRC Employee Preferential Offering", reserved_shares=90_000)
TWO = spec(preferential_tranches=[OVERSEAS, PRC])  # 1,000,000 shares, Mechanism B 10%: public 100,000


def _refused(**overrides: Any) -> Any:
    with pytest.raises(Reject) as caught:
        validate_offering(spec(**overrides))
    return caught.value.rejection


def test_two_tranches_resolve_to_their_sources() -> None:
    ro = validate_offering(TWO)
    assert [(x.source, x.reserved_shares) for x in ro.preferential_tranches] == [("public", 10_000), ("international", 90_000)]
    assert (ro.initial_public_shares, ro.public_reserved_shares, ro.public_subscription_shares) == (100_000, 10_000, 90_000)
    assert ro.preferential_reserved_shares == 90_000  # out of the international offering
    assert ro.max_application_shares == 45_000  # half of the public offer excluding its reserved shares


def test_employee_reserved_shares_count_toward_the_bookbuilding_minimum() -> None:
    """40% of 1,000,000 = 400,000; the international offering is 900,000: with 90,000 employee
    shares placed there, cornerstones may take 500,000 (900,000 - 400,000), not 410,000. An assured
    entitlement's reserved shares stay outside the bookbuilding tranche."""
    assert validate_offering(TWO).cornerstone_room_shares == 500_000
    assured = msgspec.structs.replace(PRC, kind="assured_entitlement")
    assert validate_offering(spec(preferential=assured)).cornerstone_room_shares == 410_000


def test_both_preferential_forms_refused() -> None:
    r = _refused(preferential=PRC, preferential_tranches=[OVERSEAS])
    assert (r.code, r.field) == (OfferingCode.INVALID_FIELD, "preferential_tranches")


def test_unknown_source_refused() -> None:
    r = _refused(preferential_tranches=[msgspec.structs.replace(OVERSEAS, source="retail")])
    assert (r.code, r.field) == (OfferingCode.INVALID_FIELD, "preferential_tranches[0].source")


def test_reserved_shares_taking_the_whole_public_offer_refused() -> None:
    r = _refused(preferential_tranches=[msgspec.structs.replace(OVERSEAS, reserved_shares=100_000)])
    assert (r.code, r.rule) == (OfferingCode.OUTSIDE_RULES, rules.RESERVED_OUT_OF_PUBLIC_RULE)


def test_employee_tranches_above_rule_10_01_refused() -> None:
    """10% of 1,000,000 = 100,000 employee shares in all: 10,000 + 90,100 is one lot over."""
    r = _refused(preferential_tranches=[OVERSEAS, msgspec.structs.replace(PRC, reserved_shares=90_100)])
    assert (r.code, r.field, r.rule) == (OfferingCode.OUTSIDE_RULES, "preferential_tranches", rules.EMPLOYEE_PREFERENTIAL_RULE)


def test_assured_entitlement_into_the_bookbuilding_minimum_refused() -> None:
    big = PreferentialOfferingSpec(kind="assured_entitlement", reference="PN15", reserved_shares=500_100)
    r = _refused(preferential=big)
    assert r.code == OfferingCode.OUTSIDE_RULES and "Practice Note 15" in r.rule


def _applications(**sizes: list[int]) -> PreferentialApplications:
    names = [f"{k}{i}" for k, v in sizes.items() for i in range(len(v))]
    tranche = [t for t, v in enumerate(sizes.values()) for _ in v]
    shares = [s for v in sizes.values() for s in v]
    n = len(names)
    return PreferentialApplications(
        names, [f"C:P1:{x}" for x in names], ["P1"] * n, np.asarray(shares), np.zeros(n, dtype=np.int64), np.asarray(tranche)
    )


def test_shortfalls_go_back_to_their_source_tranches() -> None:
    """Overseas 4,000 of 10,000 taken: 6,000 back to the public pools (96,000 = 90,000 + 6,000),
    public offer 100,000 including the 4,000; PRC 60,000 of 90,000: 30,000 back to the placing."""
    ro = validate_offering(TWO)
    iois = ioi_book_from_iois([Ioi(ioi_id=f"I{i}", investor=f"I{i}", account=f"C:S:I{i}", steps=[IoiStep(0, 500_000)]) for i in range(10)])
    apps_sizes = [1_000] * 900  # 900,000 shares: 10x the 90,000 excluding reserved shares
    book = application_book_from_batches([batch(apps_sizes)])
    pricing = set_price(ro, iois, 10_000)
    result = allocate(ro, pricing, iois, book, 7, preferential=_applications(O=[3_000, 1_000], P=[60_000]))
    s = result.summary
    assert s.public_subscription_shares == 90_000 and s.subscription_multiple_bp == 100_000
    assert s.final_public_shares == 100_000 and s.pool_a_shares + s.pool_b_shares == 96_000
    assert (s.preferential_shares, s.preferential_to_international_shares) == (60_000, 30_000)
    assert isinstance(s.preferential_tranches, list)
    assert [(x.source, x.allotted_shares, x.returned_shares) for x in s.preferential_tranches] == [
        ("public", 4_000, 6_000),
        ("international", 60_000, 30_000),
    ]
    assert result.preferential_allotted.tolist() == [3_000, 1_000, 60_000]
    placed = s.cornerstone_shares + s.placing_shares + s.underwriter_shares - s.over_allocated_shares
    assert s.final_public_shares + placed + s.preferential_shares == s.offer_shares


def test_lodging_for_a_tranche_the_offering_lacks_refused() -> None:
    engine = Engine([OfferingContext()])
    assert engine.submit(DefineOffering(offering=TWO), _open()).accepted
    batch = PreferentialBatch(applicants=["E1"], accounts=["C:P1:E1"], participants=["P1"], shares=[1_000], entitlements=[0], tranche=2)
    r = engine.submit(LodgePreferentialApplications(offering_id="T1", batch=batch), _open()).rejection
    assert r is not None and r.reason == "INVALID_APPLICATIONS" and "2 preferential tranche(s)" in r.message
    ok = msgspec.structs.replace(batch, tranche=1)
    assert engine.submit(LodgePreferentialApplications(offering_id="T1", batch=ok), _open()).accepted


def _open() -> int:
    ro = validate_offering(TWO)
    return hk_ns(add_business_days(ro.timetable.public_offer_open, 0), time(9, 0))


def test_without_the_new_fields_the_encoding_is_as_before() -> None:
    """A single tranche out of the international offering: no ``source``, no
    ``preferential_tranches`` in the encoded spec (journals and golden hashes unchanged)."""
    encoded = msgspec.json.decode(msgspec.json.encode(spec(preferential=PRC)))
    assert "preferential_tranches" not in encoded and "source" not in encoded["preferential"]


def test_offering_file_states_the_tranches() -> None:
    text = """
[offering]
id = "T1"
issuer_id = "ISS"
issuer_name = "Test AI Ltd"
instrument = "09999"
shares_offered = 1_000_000
board_lot = 100
price_range = ["9.00", "10.00"]
prospectus_date = 2025-11-24
public_offer_open = 2025-11-24
price_fixing_date = 2025-11-28
mechanism = "B"
public_share = "10%"

[[preferential_tranches]]
kind = "employee"
reference = "Overseas Employee Preferential Offering"
reserved_shares = 10_000
source = "public"

[[preferential_tranches]]
kind = "employee"
reference = "PRC Employee Preferential Offering"
reserved_shares = 90_000
"""
    parsed = parse_offering(tomllib.loads(text))
    assert parsed.preferential_tranches == [OVERSEAS, PRC]
    assert validate_offering(parsed).public_reserved_shares == 10_000


def test_reserved_shares_not_in_whole_lots_keep_their_code() -> None:
    """The same input is refused with the same code as before several tranches existed (3002)."""
    r = _refused(preferential_tranches=[msgspec.structs.replace(OVERSEAS, reserved_shares=10_050)])
    assert (r.code, r.field) == (OfferingCode.OUTSIDE_RULES, "preferential_tranches[0].reserved_shares")
