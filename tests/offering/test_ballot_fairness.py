"""Statistical fairness of the ballot: every application in a band has the same chance."""

from __future__ import annotations

import numpy as np

from lionrock.offering.allocation import ballot, pool_basis


def test_ballot_success_rate_per_band_matches_basis_within_sampling_error() -> None:
    """Over many seeds each application's win frequency is its band's basis (winners / applications):
    a chi-square test on win counts by position, and every band's rate within 4 standard errors."""
    lots = np.concatenate([np.full(300, 1), np.full(200, 3), np.full(100, 8)]).astype(np.int64)
    rng_order = np.random.Generator(np.random.PCG64(0)).permutation(len(lots))
    lots = lots[rng_order]  # bands interleaved in lodging order
    basis = pool_basis(lots, 220, 6)
    band_rate = {int(s): int(w) / int(n) for s, n, w in zip(basis.sizes, basis.counts, basis.winners, strict=True)}
    guaranteed = {int(s): int(g) for s, g in zip(basis.sizes, basis.guaranteed, strict=True)}
    assert any(0 < r < 1 for r in band_rate.values())
    draws = 2_000
    wins = np.zeros(len(lots), dtype=np.int64)
    for seed in range(draws):
        allotted = ballot(lots, basis, np.random.Generator(np.random.PCG64(seed)))
        wins += allotted - np.asarray([guaranteed[int(x)] for x in lots])
    for size, rate in band_rate.items():
        if not 0 < rate < 1:
            continue
        members = wins[lots == size]
        observed = members.mean() / draws
        stderr = np.sqrt(rate * (1 - rate) / (draws * len(members)))
        assert abs(observed - rate) < 4 * stderr, (size, observed, rate)
        expected = draws * rate
        chi2 = float((((members - expected) ** 2) / (expected * (1 - rate))).sum())
        dof = len(members) - 1
        # chi-square with dof degrees of freedom: mean dof, sd sqrt(2 dof); 5 sd is p < 1e-6
        assert chi2 < dof + 5 * np.sqrt(2 * dof), (size, chi2, dof)
