"""Bookbuilding demand curve, coverage, and price setting by the offering's documented policy.

Policies (``[pricing] kind``):

* ``coverage`` (default): the highest candidate price in ``[floor, top of range]`` at which the
  bookbuilding demand covers the bookbuilding tranche at least ``coverage_times`` times; if none
  does, the floor (the bottom of the range, or 10% below it when the downward flexibility was
  elected), with the shortfall recorded.
* ``max_proceeds``: the candidate price maximising ``price x min(demand, tranche)`` (ties: higher).
* ``fixed``: the price in ``fixed_price`` (or in the pricing command).

Chapter 18C offerings (Rule 18C.08): independent price-setting investors must take at least the
rule's share of the shares initially offered. At a price P they can take at most their
independent cornerstones' shares at P plus their IOI demand at P up to the bookbuilding tranche.
When the policy's price leaves them short, the price is lowered to the highest candidate at which
they can reach the minimum (a lower price buys more cornerstone shares and admits more
price-limited demand). If no lower price does, or the price was given (by the command or the
``fixed`` policy, never moved), pricing is refused (``INDEPENDENT_PRICE_SETTERS_SHORT``, citing the
rule and the price at which they could reach it, if any), unless the offering declares a waiver
of Rule 18C.08 (``independent_price_setting_waiver``, as Transwarp 6727 had): then the price
stands and the reasons name the waiver. The allotment still reports a shortfall left by clawback.

Candidate prices are the floor, the bottom and top of the range (for a "maximum offer price
only" offer, the maximum alone) and every IOI limit between them:
demand only changes at a limit, so no other price can be better under these policies. The
bookbuilding tranche at price P is the shares offered less the initial public tranche less the
cornerstone shares at P (cornerstones invest fixed amounts). Comparisons are exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lionrock.kernel.errors import fail, require
from lionrock.kernel.money import Rate
from lionrock.kernel.price import format_price
from lionrock.offering._codes import OfferingCode
from lionrock.offering.books import IoiBook
from lionrock.offering.definition import ResolvedOffering, cornerstone_allotment
from lionrock.offering.events import DemandPointView

MAX_CURVE_POINTS_IN_EVENT = 200


@dataclass(frozen=True, slots=True)
class PricingDecision:
    price: int
    upsize_shares: int
    policy: str
    reasons: tuple[str, ...]
    curve: tuple[DemandPointView, ...]
    coverage_bp: int

    def curve_for_event(self) -> list[DemandPointView]:
        c = self.curve
        if len(c) <= MAX_CURVE_POINTS_IN_EVENT:
            return list(c)
        idx = np.linspace(0, len(c) - 1, MAX_CURVE_POINTS_IN_EVENT).round().astype(int)
        return [c[i] for i in sorted(set(idx.tolist()))]


def cornerstone_total(ro: ResolvedOffering, price: int) -> int:
    """Cornerstone shares at ``price``, after any cutback (`cornerstone_allotment`)."""
    return cornerstone_allotment(ro, price).total


def bookbuilding_tranche(ro: ResolvedOffering, price: int) -> int:
    """Shares for bookbuilding placees at ``price`` before clawback and options (the preferential
    offering's reserved shares are set aside; any it leaves come back at allotment)."""
    return max(ro.spec.shares_offered - ro.initial_public_shares - ro.preferential_reserved_shares - cornerstone_total(ro, price), 0)


def demand_curve(ro: ResolvedOffering, book: IoiBook) -> list[DemandPointView]:
    """Total bookbuilding demand and tranche at each candidate price, highest price first."""
    lo, hi = ro.price_floor, ro.spec.price_high
    limits = book.step_limit
    inside = limits[(limits >= lo) & (limits <= hi)]
    ends = [hi] if ro.maximum_price_only else [lo, ro.spec.price_low, hi]  # a maximum price only: no floor to offer
    candidates = np.unique(np.concatenate([inside, np.asarray(ends, dtype=np.int64)]))[::-1]
    eff = np.where(limits == 0, np.iinfo(np.int64).max, limits)
    order = np.argsort(eff, kind="stable")
    sorted_limits = eff[order]
    cum = np.concatenate([[0], np.cumsum(book.step_shares[order])])
    total = int(cum[-1])
    below = np.searchsorted(sorted_limits, candidates, side="left")
    demand = total - cum[below]
    return [DemandPointView(int(p), int(d), bookbuilding_tranche(ro, int(p))) for p, d in zip(candidates, demand, strict=True)]


def _covers(point: DemandPointView, times: Rate) -> bool:
    return point.demand_shares * times.denominator >= times.numerator * point.tranche_shares


def _coverage_text(point: DemandPointView) -> str:
    if point.tranche_shares <= 0:
        return "no bookbuilding tranche"
    return f"{point.demand_shares / point.tranche_shares:.2f}x"


def coverage_bp(point: DemandPointView) -> int:
    if point.tranche_shares <= 0:
        return 0
    return point.demand_shares * 10_000 // point.tranche_shares


def set_price(ro: ResolvedOffering, book: IoiBook, price: int = 0, upsize_shares: int = -1) -> PricingDecision:
    """Choose the offer price (and the offer size adjustment) with the reasons for the choice."""
    spec = ro.spec
    curve = demand_curve(ro, book)
    by_price = {pt.price: pt for pt in curve}
    policy = spec.pricing
    reasons: list[str] = []
    if price or policy.kind == "fixed":
        chosen = price or policy.fixed_price
        require(
            ro.price_floor <= chosen <= spec.price_high,
            OfferingCode.PRICE_OUTSIDE_RANGE,
            "price",
            f"{format_price(chosen)} is outside {format_price(ro.price_floor)}..{format_price(spec.price_high)}",
            ro.pricing_rules.rule,
        )
        point = by_price.get(chosen) or _point_at(ro, book, chosen)
        reasons.append(
            f"price {format_price(chosen)} agreed by the issuer and the overall coordinators ({'command' if price else 'fixed policy'}); "
            f"bookbuilding coverage there {_coverage_text(point)}"
        )
        kind = "fixed"
    elif policy.kind == "max_proceeds":
        point = max(curve, key=lambda pt: (pt.price * min(pt.demand_shares, pt.tranche_shares), pt.price))
        chosen, kind = point.price, "max_proceeds"
        reasons.append(
            f"{format_price(chosen)} maximises price x placed shares "
            f"({point.price * min(point.demand_shares, point.tranche_shares) / 1000:,.0f}) "
            f"over {len(curve)} candidate prices; coverage {_coverage_text(point)}"
        )
    else:
        chosen, kind = _coverage_price(ro, curve, policy.coverage_times, reasons), "coverage"
        point = by_price[chosen]
    if ro.chapter_18c is not None:
        steered = _steer_for_independents(ro, book, curve, chosen, movable=kind != "fixed", reasons=reasons)
        if steered != chosen:
            chosen, point = steered, by_price[steered]
    if chosen < spec.price_low:
        reasons.append(
            f"below the bottom of the range {format_price(spec.price_low)} under the downward flexibility "
            f"(at most {ro.pricing_rules.downward_flexibility_max} below; {ro.pricing_rules.rule})"
        )
    upsize = _upsize(ro, point, upsize_shares, reasons)
    return PricingDecision(chosen, upsize, kind, tuple(reasons), tuple(curve), coverage_bp(point))


def _point_at(ro: ResolvedOffering, book: IoiBook, price: int) -> DemandPointView:
    return DemandPointView(price, int(book.demand_at(price).sum()), bookbuilding_tranche(ro, price))


def _coverage_price(ro: ResolvedOffering, curve: list[DemandPointView], times: Rate, reasons: list[str]) -> int:
    target = f"{times.numerator / times.denominator:g}x"
    for i, pt in enumerate(curve):
        if _covers(pt, times):
            reasons.append(
                f"highest candidate price at which bookbuilding demand ({pt.demand_shares:,}) covers the bookbuilding "
                f"tranche ({pt.tranche_shares:,}) at least {target}: {format_price(pt.price)} ({_coverage_text(pt)})"
            )
            if i > 0:
                up = curve[i - 1]
                reasons.append(f"at the next higher candidate {format_price(up.price)} coverage was {_coverage_text(up)} < {target}")
            return pt.price
    floor = curve[-1]
    reasons.append(
        f"no price in {format_price(floor.price)}..{format_price(curve[0].price)} reaches {target} coverage; "
        f"priced at the floor {format_price(floor.price)} with coverage {_coverage_text(floor)}"
    )
    return floor.price


def ipsi_required(ro: ResolvedOffering) -> int:
    """Chapter 18C: shares independent price-setting investors must take (0 otherwise): the rule's
    share of the shares initially offered (excluding the offer size adjustment and over-allotment)."""
    if ro.chapter_18c is None:
        return 0
    r = ro.chapter_18c.independent_price_setting_min
    return -(-ro.spec.shares_offered * r.numerator // r.denominator)


def ipsi_capacity(ro: ResolvedOffering, book: IoiBook, price: int) -> int:
    """The most independent price-setting investors can take at ``price``: their cornerstone
    shares plus their IOI demand (whole lots) up to the bookbuilding tranche."""
    take = cornerstone_allotment(ro, price)
    cornerstones = sum(s for c, s in zip(ro.spec.cornerstones, take.shares, strict=True) if c.independent)
    demand = int(book.demand_at(price)[book.independent].sum()) // ro.lot * ro.lot if book.investors else 0
    return cornerstones + min(demand, bookbuilding_tranche(ro, price))


def _steer_for_independents(
    ro: ResolvedOffering, book: IoiBook, curve: list[DemandPointView], chosen: int, *, movable: bool, reasons: list[str]
) -> int:
    """Rule 18C.08 at pricing (see the module docstring): the price to use, with the reason."""
    assert ro.chapter_18c is not None
    rule, required = ro.chapter_18c.rule, ipsi_required(ro)
    at_chosen = ipsi_capacity(ro, book, chosen)
    if at_chosen >= required:
        reasons.append(
            f"{rule}: independent price-setting investors can take up to {at_chosen:,} shares at {format_price(chosen)}, "
            f"at least the {required:,} required"
        )
        return chosen
    short = (
        f"at {format_price(chosen)} independent price-setting investors can take at most {at_chosen:,} "
        f"of the {required:,} shares {rule} requires"
    )
    better = next((pt.price for pt in curve if (pt.price < chosen or not movable) and ipsi_capacity(ro, book, pt.price) >= required), 0)
    waiver = ro.spec.independent_price_setting_waiver
    if movable and better:
        reasons.append(
            f"{short}; lowered to {format_price(better)}, the highest candidate price at which they can take "
            f"{ipsi_capacity(ro, book, better):,} (coverage there {_coverage_text(_point(curve, better))})"
        )
        return better
    where = (
        f"they can reach it at {format_price(better)} or below"
        if better
        else f"no price in {format_price(curve[-1].price)}..{format_price(curve[0].price)} lets them reach it"
    )
    if waiver:
        reasons.append(f"{short}; {where}; the Exchange waived {rule} ({waiver}), so the price {format_price(chosen)} stands")
        return chosen
    fail(
        OfferingCode.INDEPENDENT_PRICE_SETTERS_SHORT,
        "price",
        f"{short}; {where}" + ("; the price was given" if not movable else "") + f"; without a waiver of {rule} "
        "(offering.independent_price_setting_waiver) the offer cannot be priced",
        rule,
    )


def _point(curve: list[DemandPointView], price: int) -> DemandPointView:
    return next(pt for pt in curve if pt.price == price)


def _upsize(ro: ResolvedOffering, point: DemandPointView, requested: int, reasons: list[str]) -> int:
    cap = ro.max_upsize_shares
    if requested >= 0:
        require(
            requested <= cap and requested % ro.lot == 0,
            OfferingCode.UPSIZE_TOO_LARGE,
            "upsize_shares",
            f"at most {cap:,} shares ({ro.spec.offer_size_adjustment} of the offer) in whole board lots, got {requested:,}",
            ro.options.rule,
        )
        if requested:
            reasons.append(f"offer size adjustment option exercised for {requested:,} shares (as instructed)")
        return requested
    trigger = ro.spec.pricing.upsize_at_coverage
    if cap and trigger.numerator and _covers(point, trigger):
        reasons.append(
            f"offer size adjustment option exercised in full ({cap:,} shares): coverage {_coverage_text(point)} "
            f">= {trigger.numerator / trigger.denominator:g}x"
        )
        return cap
    return 0


__all__ = [
    "PricingDecision",
    "bookbuilding_tranche",
    "cornerstone_total",
    "coverage_bp",
    "demand_curve",
    "ipsi_capacity",
    "ipsi_required",
    "set_price",
]
