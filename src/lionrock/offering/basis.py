"""The basis of allocation as registrars publish it, and a calibration that fits the engine's
basis policy to a published table.

A published basis table gives, per band (application size), the valid applications, the shares
every applicant gets and how many applicants are drawn for one more board lot (for their only lot
when nothing is guaranteed). Read as expected lots per application, such tables run from nearly
flat ("1 out of 100 applicants receive one lot" in every small band) through a taper to strictly
pro rata at the top; in the real deals of ``examples/deals`` no power of the application size
fits a whole table (docs/offering.md, "Real deals"). So the policy family is a curve: the
registrar's expected allotment at each published size (`PublicPolicySpec.pool_a_curve`), which
`allocation.pool_basis` scales so that the pool is used exactly, turns into guaranteed lots and a
seeded ballot for the fraction, and extends pro rata above the last point. Calibrated to a
published table, the engine reproduces that table; the same curve then allots any other book
for the same pool (a sponsor's "what if the demand were twice as heavy").

Pure: no I/O; the caller reads the published table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lionrock.kernel.errors import require
from lionrock.kernel.money import Rate
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import PublicPolicySpec


@dataclass(frozen=True, slots=True)
class PublishedBand:
    """One row of a published basis of allocation."""

    pool: str
    """``A`` or ``B``."""
    shares_applied: int
    applications: int
    guaranteed_shares: int
    """Shares every applicant of the band receives."""
    extra_winners: int
    """Applicants drawn for one more board lot (for their only lot when nothing is guaranteed)."""


def expected_lots(band: PublishedBand, lot: int) -> Rate:
    """The band's expected allotment per application in lots, exactly."""
    require(
        band.applications > 0 and band.shares_applied % lot == 0 and band.guaranteed_shares % lot == 0,
        OfferingCode.INVALID_FIELD,
        "basis",
        f"band of {band.shares_applied:,} shares: expected applications > 0 and whole lots of {lot}",
    )
    require(
        0 <= band.extra_winners <= band.applications,
        OfferingCode.INVALID_FIELD,
        "basis",
        f"band of {band.shares_applied:,} shares: {band.extra_winners:,} winners of {band.applications:,} applications",
    )
    lots = band.guaranteed_shares // lot * band.applications + band.extra_winners
    common = math.gcd(lots, band.applications)
    return Rate(lots // common, band.applications // common)


def calibrate_curve(bands: Sequence[PublishedBand], lot: int) -> list[tuple[int, Rate]]:
    """The basis curve through a published pool's table: one point per band, at its size in lots,
    weighing its exact expected allotment. Bands must be of one pool with distinct sizes."""
    ordered = sorted(bands, key=lambda b: b.shares_applied)
    require(len({b.pool for b in ordered}) <= 1, OfferingCode.INVALID_FIELD, "basis", "calibrate one pool at a time")
    sizes = [b.shares_applied for b in ordered]
    require(len(set(sizes)) == len(sizes), OfferingCode.INVALID_FIELD, "basis", "two bands have the same application size")
    points = []
    for b in ordered:
        weight = expected_lots(b, lot)
        require(
            weight.numerator > 0,
            OfferingCode.INVALID_FIELD,
            "basis",
            f"band of {b.shares_applied:,} shares allots nothing: a curve needs positive weights",
        )
        points.append((b.shares_applied // lot, weight))
    return points


def calibrate_policy(bands: Sequence[PublishedBand], lot: int) -> PublicPolicySpec:
    """A public policy whose pool A and pool B curves go through the published table."""
    return PublicPolicySpec(
        pool_a_curve=calibrate_curve([b for b in bands if b.pool == "A"], lot),
        pool_b_curve=calibrate_curve([b for b in bands if b.pool == "B"], lot),
    )


__all__ = ["PublishedBand", "calibrate_curve", "calibrate_policy", "expected_lots"]
