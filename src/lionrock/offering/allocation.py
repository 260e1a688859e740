"""Allocation: cornerstones, the placing tranche, clawback, pools A/B, bands and the seeded ballot.

`allocate` is a pure function of (resolved offering, pricing decision, IOI book, application book,
seed). The CLI calls it directly; `OfferingContext` calls the same function inside the engine.
Every share count is an integer. The public pools' basis is exact (integers and fractions,
`pool_basis`), and so are the placing's proportional targets (`weighted_fill`): no float on the
way to an allotment. All allotments are integers in whole board lots, checked by invariants. The ballot
draws from ``numpy.random.Generator(PCG64(seed))`` in a documented order:
pool A then pool B, bands in ascending application size, applications in lodging order within a
band, one ``Generator.choice(n, winners, replace=False)`` per balloted band.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from fractions import Fraction

import msgspec
import numpy as np

from lionrock.kernel.errors import invariant
from lionrock.kernel.money import Rate
from lionrock.kernel.price import consideration_minor
from lionrock.offering.books import ApplicationBook, IoiBook, membership
from lionrock.offering.commands import CornerstoneSpec, DiscretionaryReallocationSpec, PreferentialBatch
from lionrock.offering.definition import (
    ResolvedOffering,
    ResolvedPreferential,
    cornerstone_allotment,
    lockup_last_day,
    public_share_of,
    share_of,
)
from lionrock.offering.events import AllotmentSummary, BandBasis, CornerstoneAllotment, PreferentialTrancheResult
from lionrock.offering.pricing import PricingDecision, ipsi_required
from lionrock.rules.offering import ApplicationCharges


class ApplicationStatus(IntEnum):
    VALID = 0
    MULTIPLE = 1
    """Multiple or suspected multiple applications (same identity): all rejected (PN18 para 3.1)."""
    OVER_CAP = 2
    """More shares than originally in one pool (half the initial public tranche) (PN18 para 3.1)."""
    NOT_BOARD_LOTS = 3
    DOUBLE_DIPPING = 4
    """The applicant also indicated interest in the placing or is a cornerstone investor."""
    NON_POSITIVE = 5


POOL_NONE, POOL_A, POOL_B = 0, 1, 2


@dataclass(frozen=True, slots=True)
class AllocationResult:
    summary: AllotmentSummary
    cornerstones: list[CornerstoneAllotment]
    placee_shares: np.ndarray
    """Shares allotted to each investor of the IOI book (includes over-allocated shares)."""
    app_status: np.ndarray
    app_pool: np.ndarray
    app_allotted: np.ndarray
    preferential_allotted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Shares allotted to each preferential application (in `PreferentialApplications` order)."""


# ------------------------------------------------------------------------------------------------
# amounts payable
# ------------------------------------------------------------------------------------------------
def _charge(amount: np.ndarray, rate: Rate) -> np.ndarray:
    """``amount x rate`` rounded half up to the cent, elementwise (exact integers)."""
    return (2 * amount * rate.numerator + rate.denominator) // (2 * rate.denominator)


def charges_on(consideration: np.ndarray, charges: ApplicationCharges) -> dict[str, np.ndarray]:
    """Brokerage, SFC levy, trading fee and AFRC levy on each consideration, each rounded to the cent."""
    return {
        "brokerage": _charge(consideration, charges.brokerage),
        "sfc_levy": _charge(consideration, charges.sfc_levy),
        "trading_fee": _charge(consideration, charges.trading_fee),
        "afrc_levy": _charge(consideration, charges.afrc_levy),
    }


def consideration_array(price: int, shares: np.ndarray) -> np.ndarray:
    """`consideration_minor` (half up) for an array of share counts."""
    return (price * shares + 5) // 10


def amount_payable(price: int, shares: np.ndarray, charges: ApplicationCharges) -> np.ndarray:
    """What an application for ``shares`` must pay at ``price``: price x shares plus each charge."""
    cons = consideration_array(price, shares)
    total = cons.copy()
    for part in charges_on(cons, charges).values():
        total += part
    return total


# ------------------------------------------------------------------------------------------------
# public applications: validity
# ------------------------------------------------------------------------------------------------
def application_status(ro: ResolvedOffering, apps: ApplicationBook, iois: IoiBook) -> np.ndarray:
    """Status of each application (`ApplicationStatus`); later checks do not overwrite earlier ones."""
    lot = ro.lot
    shares = apps.shares
    status = np.zeros(len(apps), dtype=np.int8)
    if not len(apps):
        return status
    if ro.pools.reject_multiple_applications:
        counts = np.bincount(apps.applicant, minlength=len(apps.applicant_values))
        status[counts[apps.applicant] > 1] = ApplicationStatus.MULTIPLE
    if ro.pools.reject_double_dipping:
        placing_ids = set(iois.investor) | {c.investor for c in ro.spec.cornerstones}
        if placing_ids:
            flagged = membership(apps.applicant_values, placing_ids)
            if flagged.any():
                status[(status == 0) & flagged[apps.applicant]] = ApplicationStatus.DOUBLE_DIPPING
    status[(status == 0) & (shares <= 0)] = ApplicationStatus.NON_POSITIVE
    status[(status == 0) & (shares % lot != 0)] = ApplicationStatus.NOT_BOARD_LOTS
    status[(status == 0) & (shares > ro.max_application_shares)] = ApplicationStatus.OVER_CAP
    return status


# ------------------------------------------------------------------------------------------------
# pools and bands
# ------------------------------------------------------------------------------------------------
TAPER_SCALE_BITS = 48
"""Taper weights ``a ** (taper/8)`` are irrational in general: they are taken as exact integers,
the floor of the weight times 2**48 (`taper_weight`), so the basis is exact rational arithmetic
from there on and the same on every platform."""


def taper_weight(lots: int, eighths: int) -> int:
    """``floor(lots ** (eighths / 8) * 2**48)``, exactly: ``isqrt(isqrt(isqrt(m)))`` is the floor
    of the eighth root of ``m`` for integers, and ``lots ** eighths * 2**(8 * 48)`` is an integer."""
    return math.isqrt(math.isqrt(math.isqrt(lots**eighths << (8 * TAPER_SCALE_BITS))))


def curve_weight(lots: int, points: Sequence[tuple[int, Fraction]]) -> Fraction:
    """The weight of an application of ``lots`` on a basis curve (`PublicPolicySpec.pool_a_curve`):
    linear between points, proportional to size below the first point and above the last (a
    pro-rata top). Exact: the points' weights are the curve's rates as fractions."""
    first_lots, first_w = points[0]
    if lots <= first_lots:
        return first_w * lots / first_lots
    for (a0, w0), (a1, w1) in zip(points, points[1:], strict=False):
        if lots <= a1:
            return w0 + (w1 - w0) * (lots - a0) / (a1 - a0)
    last_lots, last_w = points[-1]
    return last_w * lots / last_lots


def curve_points(curve: Sequence[tuple[int, Rate]]) -> list[tuple[int, Fraction]]:
    return [(lots, Fraction(w.numerator, w.denominator)) for lots, w in curve]


@dataclass(frozen=True, slots=True)
class PoolBasis:
    sizes: np.ndarray  # lots applied for, per band
    counts: np.ndarray  # applications per band
    guaranteed: np.ndarray  # lots every application in the band receives
    winners: np.ndarray  # applications in the band that win one more lot


def fill_level(sizes: Sequence[int], counts: Sequence[int], weights: Sequence[Fraction | int], pool_lots: int) -> Fraction:
    """The exact ``c`` with ``sum(n * min(a, c * w)) == pool_lots`` (water-filling; the caller has
    checked that demand exceeds the pool). Bands cap in the order of ``a / w``: with the first
    ``j`` capped, ``used(c) = sum(capped n * a) + c * sum(uncapped n * w)``, linear in ``c``, so
    the level is found by walking the caps once, with no iteration to convergence."""
    order = sorted(range(len(sizes)), key=lambda k: Fraction(sizes[k]) / weights[k])
    capped = 0  # lots of the bands capped so far (each takes its whole size)
    free = sum((Fraction(counts[k]) * weights[k] for k in order), Fraction(0))  # sum n * w of the uncapped
    for k in order:
        cap_at = Fraction(sizes[k]) / weights[k]
        if capped + cap_at * free > pool_lots:
            break
        capped += counts[k] * sizes[k]
        free -= counts[k] * weights[k]
    invariant(free > 0, "pool basis: demand does not exceed the pool")
    return (pool_lots - capped) / free


def pool_basis(lots: np.ndarray, pool_lots: int, taper_eighths: int, curve: Sequence[tuple[int, Fraction]] = ()) -> PoolBasis:
    """The basis of allocation for one pool: per band, guaranteed lots and ballot winners.

    Bands are the distinct application sizes. Each band's expected allotment per application is
    ``min(a, c x w(a))`` lots, ``w(a) = a ** (taper/8)`` or the basis curve's weight when one is
    given (`curve_weight`), with ``c`` chosen so the pool is used exactly (`fill_level`); the whole
    part is guaranteed, the fraction becomes a ballot for one more lot among the band's
    applications; lots left by rounding go to the bands with the largest remainders (smaller
    applications first on ties). So small bands get a ballot for one lot, middle bands guaranteed
    lots, large bands several lots plus a ballot for one more; the totals are exact. All of it is
    integer and rational arithmetic: no float on the way to an allotment.
    """
    counts_by_size = np.bincount(lots) if len(lots) else np.zeros(1, dtype=np.int64)
    sizes = np.flatnonzero(counts_by_size).astype(np.int64)
    counts = counts_by_size[sizes].astype(np.int64)
    demand = int((sizes * counts).sum())
    if demand <= pool_lots:
        return PoolBasis(sizes, counts, sizes.copy(), np.zeros_like(sizes))
    a: list[int] = sizes.tolist()
    n: list[int] = counts.tolist()
    w: list[Fraction | int] = [curve_weight(x, curve) for x in a] if curve else [taper_weight(x, taper_eighths) for x in a]
    c = fill_level(a, n, w, pool_lots)
    expected = [min(Fraction(ak), c * wk) for ak, wk in zip(a, w, strict=True)]
    guaranteed = np.asarray([math.floor(e) for e in expected], dtype=np.int64)
    extra = [nk * (e - math.floor(e)) for nk, e in zip(n, expected, strict=True)]
    winners = np.asarray([math.floor(x) for x in extra], dtype=np.int64)
    remainder = [x - math.floor(x) for x in extra]
    left = pool_lots - int((guaranteed * counts).sum()) - int(winners.sum())
    invariant(left >= 0, f"pool basis over-allots by {-left} lots")
    order = sorted(range(len(a)), key=lambda k: (-remainder[k], a[k]))
    while left > 0:
        given = 0
        for k in order:
            if left == 0:
                break
            if winners[k] < counts[k] and guaranteed[k] + 1 <= sizes[k]:
                winners[k] += 1
                left -= 1
                given += 1
            if winners[k] == counts[k] and guaranteed[k] < sizes[k]:
                guaranteed[k] += 1
                winners[k] = 0
        invariant(given > 0 or left == 0, f"pool basis cannot place {left} lots")
    invariant(int((guaranteed * counts).sum() + winners.sum()) == pool_lots, "pool basis does not use the pool exactly")
    return PoolBasis(sizes, counts, guaranteed, winners)


def ballot(lots: np.ndarray, basis: PoolBasis, rng: np.random.Generator) -> np.ndarray:
    """Lots allotted to each application of the pool (``lots`` in lodging order)."""
    if not len(lots):
        return np.zeros(0, dtype=np.int64)
    band_of_size = np.zeros(int(basis.sizes[-1]) + 1, dtype=np.int64)
    band_of_size[basis.sizes] = np.arange(len(basis.sizes))
    band = band_of_size[lots]
    small = band.astype(np.int16) if len(basis.sizes) < 2**15 else band
    order = np.argsort(small, kind="stable")
    won = np.zeros(len(lots), dtype=np.int64)
    start = 0
    for k in range(len(basis.sizes)):
        count, w = int(basis.counts[k]), int(basis.winners[k])
        if 0 < w < count:
            won[order[start + rng.choice(count, size=w, replace=False)]] = 1
        elif w == count and w:
            won[order[start : start + count]] = 1
        start += count
    allotted: np.ndarray = basis.guaranteed[band] + won
    return allotted


def _basis_text(size: int, count: int, g: int, w: int, lot: int) -> str:
    if g == size:
        return f"{g * lot:,} shares (in full)"
    if w == 0:
        return f"{g * lot:,} shares"
    if w == count:
        return f"{(g + 1) * lot:,} shares"
    if g == 0:
        return f"{w:,} out of {count:,} applicants to receive {lot:,} shares"
    return f"{g * lot:,} shares plus {w:,} out of {count:,} applicants to receive an additional {lot:,} shares"


def _bands(pool: str, basis: PoolBasis, lot: int) -> list[BandBasis]:
    out = []
    for size, count, g, w in zip(
        basis.sizes.tolist(), basis.counts.tolist(), basis.guaranteed.tolist(), basis.winners.tolist(), strict=True
    ):
        allotted = (g * count + w) * lot
        applied = size * count * lot
        out.append(
            BandBasis(
                pool=pool,
                shares_applied=size * lot,
                applications=count,
                guaranteed_lots=g,
                ballot_winners=w,
                shares_allotted=allotted,
                basis=_basis_text(size, count, g, w, lot),
                allotted_bp=allotted * 10_000 // applied,
            )
        )
    return out


def split_pools(public_lots: int, demand_a: int, demand_b: int) -> tuple[int, int]:
    """Pool sizes in lots: equal halves (pool A takes an odd lot), then an undersubscribed pool's
    surplus to the other (PN18 para 3.1)."""
    a, b = (public_lots + 1) // 2, public_lots // 2
    fa, fb = min(a, demand_a), min(b, demand_b)
    spare = public_lots - fa - fb
    ga = min(demand_a, fa + spare)
    spare -= ga - fa
    gb = min(demand_b, fb + spare)
    return ga, gb


# ------------------------------------------------------------------------------------------------
# preferential offering (assured entitlements, employees)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PreferentialApplications:
    """Applications under a preferential offering, as arrays (one entry per application)."""

    applicants: list[str]
    accounts: list[str]
    participants: list[str]
    shares: np.ndarray
    entitlements: np.ndarray
    tranche: np.ndarray | None = None
    """The preferential tranche of each application (its index in
    ``OfferingSpec.preferential_list``); None: all for the first."""

    def __len__(self) -> int:
        return len(self.applicants)

    @classmethod
    def from_batches(cls, batches: Sequence[PreferentialBatch]) -> PreferentialApplications:
        tranches = [b.tranche if isinstance(b.tranche, int) else 0 for b in batches]
        return cls(
            applicants=[a for b in batches for a in b.applicants],
            accounts=[a for b in batches for a in b.accounts],
            participants=[p for b in batches for p in b.participants],
            shares=np.asarray([x for b in batches for x in b.shares], dtype=np.int64),
            entitlements=np.asarray([x for b in batches for x in b.entitlements], dtype=np.int64),
            tranche=np.asarray([k for b, k in zip(batches, tranches, strict=True) for _ in b.shares], dtype=np.int64)
            if any(tranches)
            else None,
        )

    def of_tranche(self, index: int) -> np.ndarray:
        """Positions of the applications for tranche ``index``."""
        if self.tranche is None:
            return np.arange(len(self)) if index == 0 else np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.tranche == index)

    def subset(self, at: np.ndarray) -> PreferentialApplications:
        return PreferentialApplications(
            [self.applicants[i] for i in at],
            [self.accounts[i] for i in at],
            [self.participants[i] for i in at],
            self.shares[at],
            self.entitlements[at],
        )


@dataclass(frozen=True, slots=True)
class PreferentialOutcome:
    allotted: np.ndarray
    valid: int
    demand: int
    taken: int
    notes: list[str]


def allocate_preferential(
    ro: ResolvedOffering, apps: PreferentialApplications, rng: np.random.Generator, tranche: ResolvedPreferential | None = None
) -> PreferentialOutcome:
    """Assured entitlements in full (in whole lots: an odd-lot remainder is not assured), then
    excess applications (whole lots above the entitlement)
    from what the entitlements leave, by the offering's excess basis (`pool_basis` and a ballot
    drawn from the tranche's own stream of the seed, `preferential_rng`, so the order in which the
    tranches and the pools are allotted changes nothing). Multiple applications by one applicant and non-positive ones are
    invalid. If valid entitlements exceed the reservation they are scaled down pro rata (a note
    says so). Reserved shares not taken go back to the tranche they came from (Longcheer 9611:
    1,885,500 of 5,225,000 "made available to the International Offer"; Dtech 1377: 66,000 of the
    126,300 reserved out of the public offer back to it). ``tranche``: which one (default the first)."""
    invariant(bool(ro.preferential_tranches), "preferential applications without a preferential offering")
    tranche = tranche or ro.preferential_tranches[0]
    p, lot, notes = tranche.spec, ro.lot, []
    n = len(apps)
    codes = {a: i for i, a in enumerate(dict.fromkeys(apps.applicants))}
    ids = np.asarray([codes[a] for a in apps.applicants], dtype=np.int64)
    repeated = np.bincount(ids, minlength=len(codes))[ids] > 1 if n else np.zeros(0, dtype=bool)
    valid = (apps.shares > 0) & (apps.entitlements >= 0) & ~repeated
    shares = np.where(valid, apps.shares, 0)
    assured = np.minimum(shares, apps.entitlements) // lot * lot  # odd-lot entitlements are not modelled: whole lots only
    excess_lots = (shares - assured) // lot
    reserved = tranche.reserved_shares
    if int(assured.sum()) > reserved:
        assured = assured * reserved // int(assured.sum())
        notes.append(f"valid assured entitlements exceed the {reserved:,} reserved shares: scaled down pro rata")
    left_lots = (reserved - int(assured.sum())) // lot
    allotted = assured.copy()
    excess = np.flatnonzero(excess_lots > 0)
    if len(excess):
        lots = excess_lots[excess]
        basis = pool_basis(lots, min(left_lots, int(lots.sum())), p.excess_taper_eighths, curve_points(p.excess_curve))
        allotted[excess] += ballot(lots, basis, rng) * lot
    taken = int(allotted.sum())
    invariant(taken <= reserved and bool(np.all(allotted <= shares)), "preferential offering over-allotted")
    return PreferentialOutcome(allotted, int(valid.sum()), int(shares.sum()), taken, notes)


# ------------------------------------------------------------------------------------------------
# placing
# ------------------------------------------------------------------------------------------------
def _placing_weights(ro: ResolvedOffering, book: IoiBook, price: int) -> list[Fraction]:
    """Each investor's exact weight: its tier's, times (1 + early bonus), times (1 + price-setting bonus)."""
    policy = ro.spec.placing
    tiers = [Fraction(w.numerator, w.denominator) for w in policy.tier_weights]
    weights = [tiers[t] for t in np.clip(book.tier - 1, 0, len(tiers) - 1).tolist()]
    if policy.early_before_seq > 0 and policy.early_bonus.numerator:
        early = 1 + Fraction(policy.early_bonus.numerator, policy.early_bonus.denominator)
        weights = [w * early if seq < policy.early_before_seq else w for w, seq in zip(weights, book.first_seq.tolist(), strict=True)]
    if policy.price_setting_bonus.numerator:
        bonus = 1 + Fraction(policy.price_setting_bonus.numerator, policy.price_setting_bonus.denominator)
        priced = (book.priced_demand_at(price) > 0).tolist()
        weights = [w * bonus if p else w for w, p in zip(weights, priced, strict=True)]
    return weights


def weighted_demand(demand_lots: np.ndarray, weights: list[Fraction]) -> list[int]:
    """``demand x weight`` per investor as integers on one scale (the weights' common denominator):
    only the ratios matter to `weighted_fill`, and integers keep it exact."""
    scale = math.lcm(*(w.denominator for w in weights)) if weights else 1
    return [d * w.numerator * (scale // w.denominator) for d, w in zip(demand_lots.tolist(), weights, strict=True)]


def fill_factor(dw: Sequence[int], caps: Sequence[int], floors: Sequence[int], total_lots: int) -> Fraction:
    """The least ``c >= 0`` with ``sum(min(cap, max(floor, c x dw))) == total_lots``, exactly.

    The sum is piecewise linear and non-decreasing in ``c``: an investor adds its floor until
    ``c x dw`` reaches it, then ``c x dw``, then its cap. One sweep over those breakpoints in order
    finds the piece where the sum reaches ``total_lots``. If the floors alone exceed it, 0; if the
    caps cannot reach it, the last breakpoint (every investor at its cap: the caller's invariant
    then says the placing cannot be placed)."""
    base, slope = 0, 0  # the sum is base + slope x c between breakpoints
    breakpoints: list[tuple[Fraction, int, int]] = []  # (c, change of base, change of slope)
    for w, cap, floor in zip(dw, caps, floors, strict=True):
        if w <= 0 or floor >= cap:
            base += min(cap, floor)
            continue
        if floor > 0:
            base += floor
            breakpoints.append((Fraction(floor, w), -floor, w))
        else:
            slope += w
        breakpoints.append((Fraction(cap, w), cap, -w))
    breakpoints.sort(key=lambda b: b[0])
    c = Fraction(0)
    for at, base_change, slope_change in breakpoints:
        if base + slope * at >= total_lots:
            break
        c, base, slope = at, base + base_change, slope + slope_change
    if base + slope * c >= total_lots:
        return c
    return Fraction(total_lots - base, slope) if slope else c


def weighted_fill(
    dw: Sequence[int], caps: np.ndarray, total_lots: int, tie_order: tuple[np.ndarray, ...], floors: np.ndarray | None = None
) -> np.ndarray:
    """Lots per investor: ``min(cap, max(floor, c x dw))`` with ``c`` solved so the targets add up
    to ``total_lots`` (``floor`` = 0 without floors; `fill_factor`); rounded down, lots left by
    rounding go by largest remainder, then ``tie_order`` (tier, arrival, index), within each cap.
    Integer and rational arithmetic only: no float on the way to an allotment."""
    n = len(dw)
    cap_list: list[int] = caps.tolist()
    floor_list: list[int] = [0] * n if floors is None else floors.tolist()
    c = fill_factor(dw, cap_list, floor_list, total_lots)
    lots = np.zeros(n, dtype=np.int64)
    remainder = [0] * n  # over the common denominator of c
    for i, (w, cap, floor) in enumerate(zip(dw, cap_list, floor_list, strict=True)):
        scaled = c.numerator * w  # c x w = scaled / c.denominator
        if scaled <= floor * c.denominator:
            lots[i] = min(cap, floor)
        elif scaled >= cap * c.denominator:
            lots[i] = cap
        else:
            lots[i], remainder[i] = divmod(scaled, c.denominator)
    left = total_lots - int(lots.sum())
    invariant(left >= 0, "placing over-allotted")
    ties = [column.tolist() for column in reversed(tie_order)]  # lexsort order: the last key first
    order = np.asarray(sorted(range(n), key=lambda i: (-remainder[i], *(t[i] for t in ties))), dtype=np.int64)
    while left > 0:
        room = order[lots[order] < caps[order]]
        invariant(len(room) > 0, f"placing cannot place {left} lots")
        take = room[:left]
        lots[take] += 1
        left -= len(take)
    return lots


def allocate_placing(
    ro: ResolvedOffering, book: IoiBook, price: int, demand_lots: np.ndarray, total_lots: int, independent_min_lots: int = 0
) -> tuple[np.ndarray, list[str]]:
    """Lots for each investor: weighted pro rata (tier, timing, price leadership), capped per
    placee; lots left by rounding go by largest remainder, then tier, then arrival.

    ``independent_min_lots`` (Chapter 18C, Rule 18C.08): if the policy gives independent
    price-setting investors fewer lots than this, they are first allotted the minimum among
    themselves by the same policy (as far as their demand at the price goes; the per-placee cap
    is lifted for them if capped demand cannot reach it), and the whole tranche is then allotted
    by the policy with those lots as each independent's floor."""
    notes: list[str] = []
    n = book.investors
    if total_lots <= 0 or n == 0:
        return np.zeros(n, dtype=np.int64), notes
    if int(demand_lots.sum()) <= total_lots:
        return demand_lots.copy(), notes
    cap_share = ro.spec.placing.max_share_per_placee
    cap_lots = total_lots * cap_share.numerator // cap_share.denominator
    base_caps = np.minimum(demand_lots, max(cap_lots, 1))
    caps = base_caps
    if int(caps.sum()) < total_lots:
        caps = demand_lots.copy()
        notes.append(f"the {cap_share} cap per placee was lifted: capped demand could not take up the placing tranche")
    dw = weighted_demand(demand_lots, _placing_weights(ro, book, price))
    tie_order = (np.arange(n), book.first_seq, book.tier)
    lots = weighted_fill(dw, caps, total_lots, tie_order)
    indep = book.independent
    need = min(independent_min_lots, total_lots)
    have = int(lots[indep].sum())
    if need <= 0 or have >= need:
        return lots, notes
    rule = ro.chapter_18c.rule if ro.chapter_18c is not None else "the independent price-setting investor minimum"
    # Chapter 18C: top the independent price-setting investors up to the minimum first
    ind_demand = np.where(indep, demand_lots, 0)
    available = int(ind_demand.sum())
    if available <= need:
        floors = ind_demand
    else:
        ind_caps = np.where(indep, base_caps, 0)
        if int(ind_caps.sum()) < need:
            ind_caps = ind_demand
            notes.append(
                f"the {cap_share} cap per placee was lifted for independent price-setting investors to reach the minimum of {rule}"
            )
        floors = weighted_fill([w if i else 0 for w, i in zip(dw, indep.tolist(), strict=True)], ind_caps, need, tie_order)
    caps = np.maximum(caps, floors)
    lots = weighted_fill(dw, caps, total_lots, tie_order, floors)
    notes.append(
        f"independent price-setting investors topped up from {have * ro.lot:,} to {int(lots[indep].sum()) * ro.lot:,} "
        f"placing shares to meet the minimum of {rule}"
    )
    return lots, notes


# ------------------------------------------------------------------------------------------------
# the whole allocation
# ------------------------------------------------------------------------------------------------
def _pool_assignment(ro: ResolvedOffering, apps: ApplicationBook, status: np.ndarray) -> np.ndarray:
    valid = status == ApplicationStatus.VALID
    payable = (
        amount_payable(ro.spec.price_high, apps.shares, ro.charges)
        if ro.pools.amount_includes_charges
        else consideration_array(ro.spec.price_high, apps.shares)
    )
    return np.where(valid, np.where(payable > ro.pools.pool_a_max_amount_minor, POOL_B, POOL_A), POOL_NONE).astype(np.int8)


def _allocate_public(
    ro: ResolvedOffering, apps: ApplicationBook, pool: np.ndarray, public_lots: int, seed: int
) -> tuple[np.ndarray, list[BandBasis], tuple[int, int, int, int]]:
    lot = ro.lot
    lots = apps.shares // lot
    idx_a = np.flatnonzero(pool == POOL_A)
    idx_b = np.flatnonzero(pool == POOL_B)
    lots_a, lots_b = lots[idx_a], lots[idx_b]
    demand_a, demand_b = int(lots_a.sum()), int(lots_b.sum())
    size_a, size_b = split_pools(public_lots, demand_a, demand_b)
    rng = np.random.Generator(np.random.PCG64(seed))
    allotted = np.zeros(len(apps), dtype=np.int64)
    bands: list[BandBasis] = []
    policy = ro.spec.public
    for name, idx, pl, size, taper, curve in (
        ("A", idx_a, lots_a, size_a, policy.pool_a_taper_eighths, policy.pool_a_curve),
        ("B", idx_b, lots_b, size_b, policy.pool_b_taper_eighths, policy.pool_b_curve),
    ):
        if not len(idx):
            continue
        basis = pool_basis(pl, size, taper, curve_points(curve))
        allotted[idx] = ballot(pl, basis, rng) * lot
        bands.extend(_bands(name, basis, lot))
    return allotted, bands, (size_a * lot, size_b * lot, demand_a * lot, demand_b * lot)


def placee_concentration(shares: Sequence[int], international: int, offer: int, issued: int) -> dict[str, int]:
    """Top 1/5/10/25 placees' allotments (cornerstones included) in bp of the international
    offering, of the offer shares and of the issued shares upon listing, as HKEX's allotment
    results template computes them: the numerators include over-allocated shares, the
    denominators do not (MiniMax 0100: top 25 hold 24,178,736 = 100.24% of 24,119,740)."""
    ranked = sorted(shares, reverse=True)
    out: dict[str, int] = {}
    for k in (1, 5, 10, 25):
        top = sum(ranked[:k])
        for name, whole in (("international", international), ("offer", offer), ("issued", issued)):
            out[f"top{k}_{name}"] = (top * 20_000 + whole) // (2 * whole) if whole else 0  # bp, halves up as published
    return out


def preferential_generator(seed: int, tranche: int = 0) -> np.random.Generator:
    """The preferential offering's excess ballot draws from its own stream of the published seed,
    ``PCG64(SeedSequence([seed, 1]))`` (tranche ``k`` > 0: ``[seed, 1, k]``), so the public ballot
    is the same with or without it."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 1] if tranche == 0 else [seed, 1, tranche])))


def allocate(
    ro: ResolvedOffering,
    pricing: PricingDecision,
    iois: IoiBook,
    apps: ApplicationBook,
    seed: int,
    preferential: PreferentialApplications | None = None,
) -> AllocationResult:
    """Allot the whole offering at the decided price; see docs/offering.md for each step and rule."""
    spec, lot, price = ro.spec, ro.lot, pricing.price
    n0 = spec.shares_offered
    offer = n0 + pricing.upsize_shares
    notes: list[str] = []
    # 1. cornerstones: fixed amounts at the offer price, rounded down to board lots, cut back if the prospectus says so
    take = cornerstone_allotment(ro, price)
    cs = list(zip(spec.cornerstones, take.shares, strict=True))
    cs_total = take.total
    notes.extend(take.reasons)
    invariant(
        cs_total + ro.initial_public_shares + ro.preferential_reserved_shares <= offer,
        "cornerstones, public and preferential exceed the offer",
    )
    # 2. preferential tranches (each out of the public or the international offering; what one leaves goes back there)
    pref = _preferential(ro, preferential, seed, notes)
    public_reserved_taken = pref.taken("public")
    # 3. public applications: validity, demand, clawback, all on the public offer excluding reserved shares
    status = application_status(ro, apps, iois)
    pool = _pool_assignment(ro, apps, status)
    public_demand = int(apps.shares[status == ApplicationStatus.VALID].sum())
    initial_public, subscription_base = ro.initial_public_shares, ro.public_subscription_shares
    # the placing's demand at the price decides whether an 18C ladder applies (below)
    demand_lots = book_demand_lots(iois, price, lot)
    placing_demand = int(demand_lots.sum()) * lot
    initial_international = n0 - initial_public - ro.preferential_reserved_shares
    if spec.chapter == "18C" and placing_demand + cs_total < initial_international <= n0 and public_demand > initial_public:
        # As practised: Excelland Robotics (3231, 18C, allotment results 8 Sep 2026) was 140.02x in
        # the public offer with the international offering 0.99x and published "Claw-back triggered:
        # No"; only the international offering's unsold shares moved to the public (step 4 below).
        # docs/deals-research/rules.md, section b. Whether PN18 ladders are suppressed alike: not found.
        share, why = (
            ro.initial_share,
            (
                f"no clawback: the international offering is undersubscribed "
                f"({placing_demand + cs_total:,} of {initial_international:,} shares), as Excelland 3231 published"
            ),
        )
    else:
        share, why = ro.ladder.share_at(ro.initial_share, public_demand, subscription_base)
    # the clawback share applies to the shares initially offered (before the offer size adjustment);
    # the exercised adjustment goes to the tranches as the offering states (default all international)
    ladder_public = max(initial_public, public_share_of(share, n0, lot))
    upsize_public = share_of(spec.offer_size_adjustment_public_share, pricing.upsize_shares, lot)
    if upsize_public:
        why += f"; plus {upsize_public:,} offer size adjustment shares ({spec.offer_size_adjustment_public_share} of the exercised option)"
    # the public offer holds its reserved shares taken up; the rest of it goes to the public pools
    public_final = min(ladder_public + upsize_public, public_demand + public_reserved_taken)
    public_final, why = _discretionary_reallocation(ro, public_final, public_demand + public_reserved_taken, price, why)
    if public_demand < subscription_base:
        notes.append(f"public offer undersubscribed: {subscription_base - public_demand:,} unsubscribed shares reallocated to the placing")
    # 4. placing tranche at the price (price-limited demand, whole lots)
    placing_avail = offer - cs_total - public_final - pref.taken("international")
    underwriters = 0
    if placing_demand < placing_avail:
        shortfall = placing_avail - placing_demand
        room = max(ro.reallocation_cap_shares - public_final, 0) // lot * lot
        if spec.placing.reallocate_undersubscribed_placing and public_demand + public_reserved_taken > public_final and room:
            move = min(shortfall, public_demand + public_reserved_taken - public_final, room)
            public_final += move
            shortfall -= move
            notes.append(
                f"placing undersubscribed: {move:,} shares reallocated to the public offer (coordinators' discretion, "
                f"capped at {ro.reallocation_cap_shares:,} public shares: {ro.reallocation_rule})"
            )
        placing_avail = placing_demand
        underwriters = shortfall
        if shortfall:
            notes.append(f"{shortfall:,} shares not taken up by investors were taken up by the underwriters")
    over_allocated = 0
    if spec.placing.over_allocate and spec.over_allotment.numerator:
        option = share_of(spec.over_allotment, offer, lot)
        chosen = spec.placing.over_allocate_shares  # the coordinators' choice within the option, when stated
        if isinstance(chosen, int):
            option = min(option, chosen)
        over_allocated = min(option, max(placing_demand - placing_avail, 0) // lot * lot)
    placing_total = placing_avail + over_allocated
    placee_lots, placing_notes = allocate_placing(
        ro, iois, price, demand_lots, placing_total // lot, _independent_min_lots(ro, cs, placing_total - over_allocated)
    )
    notes.extend(placing_notes)
    placee_shares = placee_lots * lot
    # 5. public tranche: pools, bands, ballot (on the public offer less its reserved shares taken up)
    public_pools = public_final - public_reserved_taken
    allotted, bands, (pool_a, pool_b, demand_a, demand_b) = _allocate_public(ro, apps, pool, public_pools // lot, seed)
    # 6. invariants: every share of the offer (plus over-allocation) placed exactly once, lots only
    public_allotted = int(allotted.sum())
    placed = int(placee_shares.sum())
    invariant(public_allotted == public_pools, f"public allotted {public_allotted} != pools {public_pools}")
    invariant(placed == placing_total, f"placing allotted {placed} != tranche {placing_total}")
    invariant(
        cs_total + public_allotted + public_reserved_taken + placed + underwriters + pref.taken("international") == offer + over_allocated,
        "allotted != offered + over-allocated",
    )
    invariant(bool(np.all(allotted <= np.where(status == 0, apps.shares, 0))), "an application got more than it applied for")
    invariant(bool(np.all(allotted % lot == 0)) and bool(np.all(placee_shares % lot == 0)), "allotment not in whole board lots")
    tally = _Tally(
        status=status,
        pool=pool,
        allotted=allotted,
        placee_shares=placee_shares,
        cornerstones=cs,
        offer=offer,
        cs_total=cs_total,
        placing_total=placing_total,
        placing_demand=placing_demand,
        over_allocated=over_allocated,
        underwriters=underwriters,
        public_demand=public_demand,
        public_final=public_final,
        clawback_reason=why,
        pools=(pool_a, pool_b, demand_a, demand_b),
        bands=bands,
        notes=notes,
        preferential=pref,
        cutback=take.before_cutback - take.total,
    )
    return _result(ro, pricing, iois, seed, tally)


def _discretionary_reallocation(ro: ResolvedOffering, public_final: int, public_demand: int, price: int, why: str) -> tuple[int, str]:
    """The public tranche after the offering's discretionary reallocation from the international
    offering (``spec.reallocation``): raised to its target, checked at definition against the
    allocation cap, when the valid demand exceeds the tranche, and never beyond that demand. As
    practised: Tongshifu 0664 (Mechanism B, Mar 2026) 740,700 -> 1,111,000 (15.00%) at 59.55x with
    the placing covered 1.56x and the price at the bottom of the range, no clawback line
    (docs/deals-research/rules.md, section b)."""
    target, lot = ro.reallocation_target_shares, ro.lot
    if target <= public_final or public_demand <= public_final:
        return public_final, why
    final = min(target, public_demand // lot * lot)
    bottom = (
        "the offer price at the bottom of the range, as GL91-18 (2018) required of a reallocation outside the clawback"
        if price == ro.spec.price_low
        else "the offer price above the bottom of the range, which GL91-18 (2018) required (its successor after 4 Aug 2025 not found)"
    )
    r = ro.spec.reallocation
    invariant(isinstance(r, DiscretionaryReallocationSpec), "a reallocation target without a reallocation")
    reference = r.reference if isinstance(r, DiscretionaryReallocationSpec) else ""
    return final, (
        f"{why}; {final - public_final:,} shares reallocated from the International Offering at the overall coordinators' "
        f"discretion ({reference}): {ro.reallocation_target_reason}; {bottom}"
    )


@dataclass(frozen=True, slots=True)
class _PreferentialTally:
    allotted: np.ndarray
    """Every preferential application's allotment, in `PreferentialApplications` order."""
    outcomes: tuple[tuple[ResolvedPreferential, PreferentialOutcome], ...]

    def taken(self, source: str) -> int:
        return sum(out.taken for x, out in self.outcomes if x.source == source)

    def of(self, source: str) -> list[tuple[ResolvedPreferential, PreferentialOutcome]]:
        return [(x, out) for x, out in self.outcomes if x.source == source]


def _preferential(ro: ResolvedOffering, apps: PreferentialApplications | None, seed: int, notes: list[str]) -> _PreferentialTally:
    if not ro.preferential_tranches:
        invariant(apps is None or not len(apps), "preferential applications for an offering without a preferential offering")
        return _PreferentialTally(np.zeros(0, dtype=np.int64), ())
    apps = apps or PreferentialApplications([], [], [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    known = apps.tranche is None or bool(np.all((apps.tranche >= 0) & (apps.tranche < len(ro.preferential_tranches))))
    invariant(known, "preferential applications for a tranche the offering does not have")
    allotted = np.zeros(len(apps), dtype=np.int64)
    outcomes = []
    for tranche in ro.preferential_tranches:
        at = apps.of_tranche(tranche.index)
        out = allocate_preferential(ro, apps.subset(at), preferential_generator(seed, tranche.index), tranche)
        allotted[at] = out.allotted
        outcomes.append((tranche, out))
        notes.extend(out.notes)
        reserved, back = tranche.reserved_shares, tranche.reserved_shares - out.taken
        if back:
            where = "the public offer" if tranche.source == "public" else "the international offering"
            label = "preferential offering" if len(ro.preferential_tranches) == 1 else f"preferential tranche {tranche.spec.reference!r}"
            notes.append(f"{label} undersubscribed: {back:,} of the {reserved:,} reserved shares reallocated to {where}")
    return _PreferentialTally(allotted, tuple(outcomes))


def book_demand_lots(book: IoiBook, price: int, lot: int) -> np.ndarray:
    return book.demand_at(price) // lot


@dataclass(slots=True)
class _Tally:
    status: np.ndarray
    pool: np.ndarray
    allotted: np.ndarray
    placee_shares: np.ndarray
    cornerstones: list[tuple[CornerstoneSpec, int]]
    offer: int
    cs_total: int
    placing_total: int
    placing_demand: int
    over_allocated: int
    underwriters: int
    public_demand: int
    public_final: int
    clawback_reason: str
    pools: tuple[int, int, int, int]
    bands: list[BandBasis]
    notes: list[str]
    preferential: _PreferentialTally
    cutback: int


def _independent_min_lots(ro: ResolvedOffering, cs: list[tuple[CornerstoneSpec, int]], placing_counted: int) -> int:
    """Placing lots independent price-setting investors need so that, with independent cornerstones,
    they reach the Chapter 18C minimum (at most the placing excluding over-allocated shares)."""
    required = ipsi_required(ro)
    if not required:
        return 0
    need = max(required - sum(s for c, s in cs if c.independent), 0)
    return min(-(-need // ro.lot), max(placing_counted, 0) // ro.lot)


def _ipsi(ro: ResolvedOffering, iois: IoiBook, price: int, t: _Tally) -> tuple[int, int]:
    """Shares taken by independent price-setting investors, and the Chapter 18C minimum."""
    if ro.chapter_18c is None:
        return 0, 0
    required = ipsi_required(ro)
    indep = iois.independent
    placed = min(int(t.placee_shares[indep].sum()), t.placing_total - t.over_allocated)
    ipsi = sum(s for c, s in t.cornerstones if c.independent) + placed
    if ipsi < required:
        demand = book_demand_lots(iois, price, ro.lot)[indep] * ro.lot
        why = (
            "all their demand at the offer price was allotted"
            if bool(np.all(t.placee_shares[indep] >= demand))
            else "the placing tranche excluding over-allocated shares is too small"
        )
        t.notes.append(
            f"independent price-setting investors took {ipsi:,} shares, below the {required:,} {ro.chapter_18c.rule} "
            f"requires: shortfall of {required - ipsi:,} shares ({why})"
        )
    return ipsi, required


def _digest(t: _Tally) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(t.allotted, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(t.placee_shares, dtype="<i8").tobytes())
    h.update(np.asarray([s for _, s in t.cornerstones], dtype="<i8").tobytes())
    if len(t.preferential.allotted):
        h.update(np.ascontiguousarray(t.preferential.allotted, dtype="<i8").tobytes())
    return h.hexdigest()


def _bookbuilding_ok(ro: ResolvedOffering, cs_total: int, bookbuilding_min: int) -> bool:
    """The placing other than cornerstones (employee reserved shares placed there included,
    `rules.RESERVED_IN_BOOKBUILDING_RULE`) holds the bookbuilding minimum."""
    outside = sum(x.reserved_shares for x in ro.preferential_tranches if x.source == "international" and x.spec.kind != "employee")
    return ro.spec.shares_offered - ro.initial_public_shares - outside - cs_total >= bookbuilding_min


def _tranche_results(ro: ResolvedOffering, pref: _PreferentialTally) -> list[PreferentialTrancheResult] | msgspec.UnsetType:
    """Each tranche's outcome, when one is out of the public offer or there are several (else unset:
    the summary's ``preferential_*`` fields say it all, and it encodes as before)."""
    if not pref.outcomes or (len(pref.outcomes) == 1 and pref.outcomes[0][0].source == "international"):
        return msgspec.UNSET
    return [
        PreferentialTrancheResult(
            reference=x.spec.reference,
            kind=x.spec.kind,
            source=x.source,
            reserved_shares=x.reserved_shares,
            valid_applications=out.valid,
            demand_shares=out.demand,
            allotted_shares=out.taken,
            returned_shares=x.reserved_shares - out.taken,
            successful_applications=int((out.allotted > 0).sum()),
        )
        for x, out in pref.outcomes
    ]


def _result(ro: ResolvedOffering, pricing: PricingDecision, iois: IoiBook, seed: int, t: _Tally) -> AllocationResult:
    spec = ro.spec
    n0 = spec.shares_offered
    rejected = {s.name.lower(): c for s in ApplicationStatus if s and (c := int((t.status == s).sum()))}
    bookbuilding_min = -(-n0 * ro.bookbuilding_min.numerator // ro.bookbuilding_min.denominator)
    ipsi, ipsi_required = _ipsi(ro, iois, pricing.price, t)
    months = ro.options.cornerstone_lockup_months
    cornerstones = [
        CornerstoneAllotment(
            investor=c.investor,
            name=c.name,
            account=c.account,
            shares=s,
            lockup_end=lockup_last_day(ro.timetable.listing, c.lockup_months or months),
        )
        for c, s in t.cornerstones
    ]
    gross = consideration_minor(pricing.price, t.offer)
    commission = gross * spec.underwriting_commission.numerator // spec.underwriting_commission.denominator
    pool_a, pool_b, demand_a, demand_b = t.pools
    placee_list = [s for _, s in t.cornerstones] + t.placee_shares[t.placee_shares > 0].tolist()
    international = t.cs_total + t.placing_total - t.over_allocated + t.underwriters
    pref = t.preferential
    intl = pref.of("international")
    summary = AllotmentSummary(
        price=pricing.price,
        offer_shares=t.offer,
        upsize_shares=pricing.upsize_shares,
        over_allocated_shares=t.over_allocated,
        gross_proceeds_minor=gross,
        net_proceeds_minor=gross - commission - spec.listing_expenses_minor,
        initial_public_shares=ro.initial_public_shares,
        public_demand_shares=t.public_demand,
        subscription_multiple_bp=t.public_demand * 10_000 // ro.public_subscription_shares,
        clawback_reason=t.clawback_reason,
        regime=ro.regime,
        final_public_shares=t.public_final,
        pool_a_shares=pool_a,
        pool_b_shares=pool_b,
        pool_a_demand_shares=demand_a,
        pool_b_demand_shares=demand_b,
        valid_applications=int((t.status == 0).sum()),
        rejected=rejected,
        placing_shares=t.placing_total,
        placing_demand_shares=t.placing_demand,
        placees=int((t.placee_shares > 0).sum()),
        cornerstone_shares=t.cs_total,
        underwriter_shares=t.underwriters,
        bookbuilding_min_shares=bookbuilding_min,
        bookbuilding_ok=_bookbuilding_ok(ro, t.cs_total, bookbuilding_min),
        ipsi_shares=ipsi,
        ipsi_required_shares=ipsi_required,
        ipsi_shortfall_shares=max(ipsi_required - ipsi, 0),
        top_placees_bp=placee_concentration(placee_list, international, t.offer, spec.shares_outstanding_after),
        bands=t.bands,
        seed=seed,
        allotment_digest=_digest(t),
        notes=t.notes,
        international_initial_shares=n0 - ro.initial_public_shares - ro.preferential_reserved_shares,
        international_demand_shares=t.cs_total + t.placing_demand,
        international_final_shares=international,
        cornerstone_cutback_shares=t.cutback,
        preferential_reserved_shares=ro.preferential_reserved_shares,
        preferential_valid_applications=sum(out.valid for _, out in intl),
        preferential_demand_shares=sum(out.demand for _, out in intl),
        preferential_shares=pref.taken("international"),
        preferential_to_international_shares=ro.preferential_reserved_shares - pref.taken("international"),
        preferential_successful_applications=sum(int((out.allotted > 0).sum()) for _, out in intl),
        successful_applications=int((t.allotted > 0).sum()),
        preferential_tranches=_tranche_results(ro, pref),
    )
    return AllocationResult(summary, cornerstones, t.placee_shares, t.status, t.pool, t.allotted, pref.allotted)


__all__ = [
    "AllocationResult",
    "ApplicationStatus",
    "PoolBasis",
    "PreferentialApplications",
    "PreferentialOutcome",
    "allocate",
    "allocate_preferential",
    "allocate_placing",
    "amount_payable",
    "application_status",
    "ballot",
    "charges_on",
    "curve_points",
    "curve_weight",
    "fill_factor",
    "fill_level",
    "consideration_array",
    "placee_concentration",
    "pool_basis",
    "preferential_generator",
    "split_pools",
    "taper_weight",
    "weighted_demand",
    "weighted_fill",
]
