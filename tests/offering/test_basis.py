"""The basis-curve policy family and its calibration (lionrock.offering.basis)."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import pytest
from offering_builders import resolved

from lionrock.files.offerings import parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering.allocation import curve_weight, pool_basis
from lionrock.offering.basis import PublishedBand, calibrate_curve, expected_lots
from lionrock.offering.commands import PublicPolicySpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "offerings"


def test_curve_weight_is_linear_between_points_and_pro_rata_outside() -> None:
    points = [(1, Fraction(3, 100)), (10, Fraction(12, 100)), (100, Fraction(2))]
    assert curve_weight(1, points) == Fraction(3, 100)
    assert curve_weight(55, points) == Fraction(12, 100) + (2 - Fraction(12, 100)) * 45 / 90  # exact, no rounding
    assert curve_weight(300, points) == 6  # pro-rata top


def test_pool_basis_on_a_curve_gives_ballot_tiers_and_guaranteed_lots() -> None:
    """A curve through 'k of n receive one lot' small bands and guaranteed lots at the top."""
    import numpy as np

    lots = np.asarray([1] * 1000 + [10] * 100 + [100] * 10, dtype=np.int64)
    basis = pool_basis(lots, 50 + 20 + 30, 8, [(1, Fraction(5, 100)), (10, Fraction(2, 10)), (100, Fraction(3))])
    assert basis.guaranteed.tolist() == [0, 0, 3] and basis.winners.tolist() == [50, 20, 0]


def test_calibrate_curve_weighs_each_band_by_its_expected_lots() -> None:
    bands = [PublishedBand("A", 20, 139_314, 0, 3_911), PublishedBand("A", 4_000, 5_704, 20, 0), PublishedBand("A", 5_000, 5_035, 20, 589)]
    assert calibrate_curve(bands, 20) == [(1, Rate(3_911, 139_314)), (200, Rate(1, 1)), (250, Rate(296, 265))]  # 5,624 / 5,035 reduced
    assert expected_lots(bands[2], 20) == Rate(296, 265)
    with pytest.raises(Reject):
        calibrate_curve([PublishedBand("A", 20, 10, 0, 0)], 20)  # a band allotting nothing has no weight
    with pytest.raises(Reject):
        calibrate_curve([bands[0], PublishedBand("B", 40_000, 9_721, 100, 0)], 20)  # one pool at a time


def test_curve_parses_from_the_offering_file_and_is_validated() -> None:
    data = tomllib.loads((EXAMPLES / "mechanism_b_ai.toml").read_text())
    data["public"] = {"pool_a_curve": [[1, "0.0281"], [2, "0.0403"]], "pool_b_curve": [[400, "2.5"]]}
    spec = parse_offering(data)
    assert spec.public.pool_a_curve == [(1, Rate(281, 10_000)), (2, Rate(403, 10_000))]
    data["public"] = {"pool_a_curve": [[1, "0.0281"], ["2", "0.0403"]]}
    with pytest.raises(Reject) as exc:
        parse_offering(data)
    assert exc.value.rejection.field == "public.pool_a_curve[1]"
    with pytest.raises(Reject) as exc:
        resolved(public=PublicPolicySpec(pool_a_curve=[(2, Rate(1, 10)), (1, Rate(2, 10))]))
    assert exc.value.rejection.field == "public.pool_a_curve"
