"""Synthetic, seeded demand for an offering: retail applications and institutional IOIs.

Pure functions of (resolved offering, counts, seed) for the simulator, the benchmark and the tests.
Retail application sizes follow the prospectus convention of permitted sizes (1-10 lots, then
1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9 x 10^k lots up to the cap); most applicants ask for one lot
(the "one-lot" habit), the rest fall off as a power of the size, and a small share apply in pool B.
A few applicants apply twice (multiple applications) and a few above the cap, so the rejection
paths are exercised. IOIs are one to three price-limited steps per investor across the range.
"""

from __future__ import annotations

import numpy as np

from lionrock.kernel.account import client_account
from lionrock.offering.allocation import amount_payable
from lionrock.offering.books import ApplicationBook, content_digest, list_column
from lionrock.offering.commands import ApplicationBatch, Ioi, IoiStep
from lionrock.offering.definition import ResolvedOffering
from lionrock.offering.pricing import bookbuilding_tranche

ORIGIN_MIX = (("international", 0.6), ("mainland", 0.25), ("hong_kong", 0.15))
INVESTOR_TYPES = ("long_only", "hedge_fund", "sovereign", "corporate", "family_office", "private_bank")


def permitted_sizes_lots(max_lots: int) -> np.ndarray:
    """Application sizes (in lots) a prospectus table would allow, up to ``max_lots``."""
    sizes = set(range(1, 11))
    k = 1
    while 10**k <= max_lots:
        for m in (10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90):
            v = m * 10 ** (k - 1)
            if v <= max_lots:
                sizes.add(v)
        k += 1
    sizes.add(max_lots)
    return np.asarray(sorted(s for s in sizes if 1 <= s <= max_lots), dtype=np.int64)


def synthetic_application_columns(
    ro: ResolvedOffering,
    count: int,
    seed: int,
    *,
    participants: int = 40,
    one_lot_share: float = 0.35,
    size_exponent: float = 1.2,
    pool_b_share: float = 0.002,
    multiple_share: float = 0.001,
    over_cap_share: float = 0.0005,
) -> dict[str, np.ndarray]:
    """Columns of ``count`` applications: ``applicant`` (int identity), ``participant`` (int),
    ``shares``. The account of applicant i at participant p is ``C:P<p>:<i>``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    lot = ro.lot
    max_lots = ro.max_application_shares // lot
    sizes = permitted_sizes_lots(max_lots)
    payable = amount_payable(ro.spec.price_high, sizes * lot, ro.charges)
    in_a = sizes[payable <= ro.pools.pool_a_max_amount_minor]
    in_b = sizes[payable > ro.pools.pool_a_max_amount_minor]
    weights = in_a.astype(np.float64) ** -size_exponent
    weights[0] = 0.0
    weights = weights / weights.sum() * (1 - one_lot_share)
    weights[0] = one_lot_share
    lots = rng.choice(in_a, size=count, p=weights / weights.sum())
    if len(in_b):
        b = rng.random(count) < pool_b_share
        lots[b] = rng.choice(in_b, size=int(b.sum()))
    over = rng.random(count) < over_cap_share
    lots[over] = max_lots + 1 + rng.integers(0, max(max_lots // 10, 1), size=int(over.sum()))
    applicant = np.arange(count, dtype=np.int64)
    dup = np.flatnonzero(rng.random(count) < multiple_share)
    if len(dup):
        applicant[dup] = rng.integers(0, count, size=len(dup))
    return {"applicant": applicant, "participant": rng.integers(0, participants, size=count), "shares": lots * lot}


def applicant_key(i: int) -> str:
    return f"HK{i:09d}"


def synthetic_application_batch(ro: ResolvedOffering, count: int, seed: int, **kwargs: float) -> ApplicationBatch:
    """A lodgeable batch (for `LodgePublicApplications`): no application over the cap unless
    ``over_cap_share`` asks for some (the offering context refuses a batch that has one)."""
    kwargs.setdefault("over_cap_share", 0.0)
    cols = synthetic_application_columns(ro, count, seed, **kwargs)  # type: ignore[arg-type]
    applicants = [applicant_key(int(i)) for i in cols["applicant"]]
    participants = [f"P{int(p):03d}" for p in cols["participant"]]
    accounts = [client_account(p, a) for p, a in zip(participants, applicants, strict=True)]
    return ApplicationBatch(applicants=applicants, accounts=accounts, participants=participants, shares=cols["shares"].tolist())


def synthetic_application_book(
    ro: ResolvedOffering, count: int, seed: int, *, with_digest: bool = False, **kwargs: float
) -> ApplicationBook:
    """The same applications as an `ApplicationBook` directly (codes, no per-row strings)."""
    cols = synthetic_application_columns(ro, count, seed, **kwargs)  # type: ignore[arg-type]
    uniq, applicant = np.unique(cols["applicant"], return_inverse=True)
    applicant_values = [applicant_key(int(i)) for i in uniq]
    participant_values = [f"P{i:03d}" for i in range(int(cols["participant"].max()) + 1)] if count else []
    pairs = cols["participant"].astype(np.int64) * (count + 1) + cols["applicant"]
    upairs, account = np.unique(pairs, return_inverse=True)
    account_values = [client_account(participant_values[int(p) // (count + 1)], applicant_key(int(p) % (count + 1))) for p in upairs]
    digest = ""
    if with_digest:
        rows = (
            [applicant_values[i] for i in applicant],
            [account_values[i] for i in account],
            [participant_values[i] for i in cols["participant"]],
        )
        digest = content_digest(cols["shares"], [list_column(r) for r in rows])
    return ApplicationBook(
        applicant.astype(np.int32),
        account.astype(np.int32),
        cols["participant"].astype(np.int32),
        cols["shares"].astype(np.int64),
        applicant_values,
        account_values,
        participant_values,
        digest,
    )


def synthetic_iois(
    ro: ResolvedOffering, count: int, seed: int, *, coverage: float = 8.0, strike_share: float = 0.1, price_step: int = 50
) -> list[Ioi]:
    """``count`` IOIs whose demand at the bottom of the range is about ``coverage`` times the
    bookbuilding tranche; limits spread over the range on a ``price_step``-tick grid."""
    rng = np.random.Generator(np.random.PCG64(seed))
    lot = ro.lot
    lo, hi = ro.price_floor, ro.spec.price_high
    tranche = max(bookbuilding_tranche(ro, ro.spec.price_low), lot)
    size = rng.lognormal(mean=0.0, sigma=1.2, size=count)
    size = size / size.sum() * coverage * tranche
    origins = [o for o, _ in ORIGIN_MIX]
    origin_idx = rng.choice(len(origins), size=count, p=[w for _, w in ORIGIN_MIX])
    out: list[Ioi] = []
    grid = np.arange(lo, hi + 1, price_step, dtype=np.int64)
    if grid[-1] != hi:
        grid = np.append(grid, hi)
    for i in range(count):
        total_lots = max(int(size[i] // lot), 1)
        n_steps = int(rng.integers(1, 4))
        if rng.random() < strike_share:
            steps = [IoiStep(0, total_lots * lot)]
        else:
            limits = np.sort(rng.choice(grid, size=n_steps))[::-1]
            parts = (
                rng.multinomial(total_lots - n_steps, [1 / n_steps] * n_steps) + 1 if total_lots >= n_steps else np.asarray([total_lots])
            )
            steps = [IoiStep(int(limit), int(p) * lot) for limit, p in zip(limits, parts, strict=False) if p > 0]
        out.append(
            Ioi(
                ioi_id=f"IOI{i:06d}",
                investor=f"INV{i:06d}",
                account=client_account("SYND", f"INV{i:06d}"),
                participant=f"P{int(rng.integers(0, 12)):03d}",
                investor_type=INVESTOR_TYPES[int(rng.integers(0, len(INVESTOR_TYPES)))],
                origin=origins[int(origin_idx[i])],
                tier=int(rng.choice(3, p=[0.3, 0.5, 0.2])) + 1,
                independent=bool(rng.random() < 0.9),
                steps=steps,
            )
        )
    return out


__all__ = [
    "applicant_key",
    "permitted_sizes_lots",
    "synthetic_application_batch",
    "synthetic_application_book",
    "synthetic_application_columns",
    "synthetic_iois",
]
