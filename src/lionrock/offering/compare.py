"""One book under every public-tranche mechanism the deal could choose: the table a sponsor uses
to choose a mechanism (``lionrock allocate --compare``, ``GET /v1/offerings/{id}/compare``).

The deal as defined is priced once (`set_price`); every alternative is then allotted at that
same price and offer size adjustment, from the same IOI book, applications and ballot seed, so a
row differs from another only by its mechanism. Which mechanisms are candidates, and why one is
not open to this deal, is the regime picker's answer (`pick_regime` through `validate_offering`):
old PN18 where it is in force on the prospectus date, Mechanisms A and B where they are (B at the
chosen share), Chapter 18C's ladder where the chapter is 18C, and the deal's own waiver if it has
one. A discretionary reallocation the deal states (``OfferingSpec.reallocation``, Tongshifu 0664)
is the deal's own: the alternatives are compared without it, and the comparison's ``notes`` say
so. Pure: no file I/O, no clock; the caller resolves the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
import numpy as np

from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering.allocation import AllocationResult, PreferentialApplications, allocate
from lionrock.offering.books import ApplicationBook, IoiBook
from lionrock.offering.commands import DiscretionaryReallocationSpec, OfferingSpec
from lionrock.offering.context import OfferingContext
from lionrock.offering.definition import ResolvedOffering, pick_regime, validate_offering
from lionrock.offering.lifecycle import ALLOCATED_STAGES
from lionrock.offering.pricing import set_price

MECHANISMS = ("PN18", "A", "B", "18C")
"""Every mechanism of the rulebook, in the order of the table (each row says if it is open)."""
CONCENTRATION_TOPS = (1, 5, 10, 25)


@dataclass(frozen=True, slots=True)
class MechanismOutcome:
    """One column of the comparison: the deal's book allotted under one mechanism.

    Shares are integers; ``*_bp`` are basis points (1/100 of a percent), floored. When
    ``available`` is false only ``mechanism``, ``label`` and ``why`` are meaningful."""

    mechanism: str
    """``PN18``, ``A``, ``B``, ``18C``, or ``waiver`` (the deal's own ladder)."""
    label: str
    available: bool
    actual: bool
    """The deal's own choice (the row that equals ``lionrock allocate``'s results)."""
    why: tuple[str, ...]
    """The regime picker's reasons, or why the mechanism is not open to this deal (its rule cited)."""
    offer_shares: int = 0
    """Shares in the global offering after the offer size adjustment (the same in every row)."""
    initial_public_shares: int = 0
    subscription_multiple_bp: int = 0
    """Valid public demand over this mechanism's initial public tranche."""
    clawback_shares: int = 0
    """Final less initial public tranche: positive is a clawback (or reallocation) to the public,
    negative an undersubscribed public offer's shares given to the placing."""
    clawback_reason: str = ""
    final_public_shares: int = 0
    public_share_of_offer_bp: int = 0
    """Retail take-up: the final public tranche over the offer shares (after the adjustment option)."""
    public_demand_filled_bp: int = 0
    """Retail take-up from the applicants' side: shares allotted over shares validly applied for."""
    pool_a_shares: int = 0
    pool_b_shares: int = 0
    valid_applications: int = 0
    successful_applications: int = 0
    one_lot_success_bp: int | None = None
    """Share of one-board-lot applications in pool A that were allotted; None if nobody applied for one lot."""
    placing_shares: int = 0
    cornerstone_shares: int = 0
    top_placees_bp: dict[str, int] = field(default_factory=dict)
    """Top 1/5/10/25 placees' share of the international offering and of the offer (`AllotmentSummary`)."""
    allotment_digest: str = ""


@dataclass(frozen=True, slots=True)
class Comparison:
    offering_id: str
    price: int
    upsize_shares: int
    seed: int
    public_demand_shares: int
    rows: tuple[MechanismOutcome, ...]
    notes: tuple[str, ...] = ()
    """What differs between the deal as defined and its alternatives besides the mechanism (a
    stated discretionary reallocation left out of the alternatives)."""

    def row(self, mechanism: str) -> MechanismOutcome:
        """The row of ``mechanism`` (``"B"``, ``"waiver"``, ...); KeyError if it is not compared. When
        the deal's own mechanism is also compared at another share (Mechanism B at
        ``mechanism_b_share``), this is the alternative and `actual` the deal's own."""
        for r in reversed(self.rows):
            if r.mechanism == mechanism:
                return r
        raise KeyError(mechanism)

    @property
    def actual(self) -> MechanismOutcome:
        return next(r for r in self.rows if r.actual)


def _candidate(spec: OfferingSpec, mechanism: str, mechanism_b_share: Rate | None) -> OfferingSpec:
    """``spec`` electing ``mechanism`` without a waiver and without a stated discretionary
    reallocation (its target and the allocation cap belong to the deal's own tranche: kept, it
    makes a mechanism with a larger initial tranche refuse it, "not open"), at the deal's own
    initial share where the deal elected that mechanism, else the mechanism's minimum (Mechanism
    B: ``mechanism_b_share`` when given)."""
    own = pick_regime(spec).mechanism == mechanism and spec.waiver is None
    share = spec.public_share if own else None
    if mechanism == "B" and mechanism_b_share is not None:
        share = mechanism_b_share
    return msgspec.structs.replace(spec, mechanism=mechanism, public_share=share, waiver=None, reallocation=msgspec.UNSET)


def _notes(spec: OfferingSpec) -> tuple[str, ...]:
    r = spec.reallocation
    if not isinstance(r, DiscretionaryReallocationSpec):
        return ()
    return (
        f"the deal's discretionary reallocation to the public offer ({r.reference}) is the deal's own: the other mechanisms "
        "are compared without it",
    )


def _is_actual(actual: ResolvedOffering, candidate: ResolvedOffering) -> bool:
    return actual.spec.waiver is None and (actual.regime, actual.initial_share) == (candidate.regime, candidate.initial_share)


def _one_lot_bp(result: AllocationResult, lot: int) -> int | None:
    for band in result.summary.bands:
        if band.pool == "A" and band.shares_applied == lot:
            return band.allotted_bp
    return None


def _outcome(key: str, ro: ResolvedOffering, result: AllocationResult, actual: bool) -> MechanismOutcome:
    s = result.summary
    public_allotted = int(result.app_allotted.sum())
    return MechanismOutcome(
        mechanism=key,
        label=ro.regime,
        available=True,
        actual=actual,
        why=ro.regime_reasons,
        offer_shares=s.offer_shares,
        initial_public_shares=s.initial_public_shares,
        subscription_multiple_bp=s.subscription_multiple_bp,
        clawback_shares=s.final_public_shares - s.initial_public_shares,
        clawback_reason=s.clawback_reason,
        final_public_shares=s.final_public_shares,
        public_share_of_offer_bp=s.final_public_shares * 10_000 // s.offer_shares if s.offer_shares else 0,
        public_demand_filled_bp=public_allotted * 10_000 // s.public_demand_shares if s.public_demand_shares else 0,
        pool_a_shares=s.pool_a_shares,
        pool_b_shares=s.pool_b_shares,
        valid_applications=s.valid_applications,
        successful_applications=int(np.count_nonzero(result.app_allotted)),
        one_lot_success_bp=_one_lot_bp(result, ro.lot),
        placing_shares=s.placing_shares,
        cornerstone_shares=s.cornerstone_shares,
        top_placees_bp=dict(s.top_placees_bp),
        allotment_digest=s.allotment_digest,
    )


def compare_mechanisms(
    spec: OfferingSpec,
    iois: IoiBook,
    apps: ApplicationBook,
    seed: int,
    *,
    price: int = 0,
    upsize_shares: int = -1,
    mechanism_b_share: Rate | None = None,
    preferential: PreferentialApplications | None = None,
) -> Comparison:
    """Allot one book under the deal's own mechanism and under every other one of the rulebook.

    ``price`` / ``upsize_shares`` as for `set_price` (0 / -1: the deal's pricing policy decides),
    then fixed for every row. Raises `Reject` if the deal itself is not valid; an alternative that
    is not open to the deal (another date, another chapter, cornerstones that leave no room for
    its public tranche) is a row with ``available=False`` and the rejection as its reason."""
    actual = validate_offering(spec)
    pricing = set_price(actual, iois, price, upsize_shares)
    own = "waiver" if spec.waiver is not None else pick_regime(spec).mechanism
    rows = [_outcome(own, actual, allocate(actual, pricing, iois, apps, seed, preferential), True)]
    for key in MECHANISMS:
        try:
            candidate = validate_offering(_candidate(spec, key, mechanism_b_share))
        except Reject as exc:
            rows.append(
                MechanismOutcome(
                    mechanism=key,
                    label=key,
                    available=False,
                    actual=False,
                    why=(f"{exc.rejection.message} ({exc.rejection.rule or exc.rejection.field})",),
                )
            )
            continue
        if _is_actual(actual, candidate):
            continue
        try:  # open to the deal, but its own rules may refuse this book at this price (18C.08 without the waiver)
            fixed = set_price(candidate, iois, pricing.price, pricing.upsize_shares)
            result = allocate(candidate, fixed, iois, apps, seed, preferential)
        except Reject as exc:
            rows.append(
                MechanismOutcome(
                    mechanism=key,
                    label=candidate.regime,
                    available=False,
                    actual=False,
                    why=(f"{exc.rejection.message} ({exc.rejection.rule or exc.rejection.field})",),
                )
            )
            continue
        rows.append(_outcome(key, candidate, result, False))
    order = {k: i for i, k in enumerate(("waiver", *MECHANISMS))}
    rows.sort(key=lambda r: (not r.actual, not r.available, order[r.mechanism]))
    demand = int(apps.shares[apps.shares > 0].sum()) if len(apps) else 0
    return Comparison(spec.offering_id, pricing.price, pricing.upsize_shares, seed, demand, tuple(rows), _notes(spec))


def compare_allocated(ctx: OfferingContext, offering_id: str) -> Comparison:
    """The comparison of an allocated offering, from the context's books at its final price,
    offer size adjustment and ballot seed (the read model derives it once, when
    ``OfferingAllocated`` is projected: `lionrock.readmodel.derived`)."""
    ro, summary = ctx.offering(offering_id), ctx.allocation(offering_id).summary
    iois, apps = ctx.books(offering_id)
    return compare_mechanisms(
        ro.spec,
        iois,
        apps,
        summary.seed,
        price=summary.price,
        upsize_shares=summary.offer_shares - ro.spec.shares_offered,
        preferential=ctx.preferential(offering_id),
    )


def allocated_comparisons(ctx: OfferingContext) -> dict[str, Comparison]:
    """`compare_allocated` for every allocated offering of ``ctx`` (for a run's report)."""
    return {oid: compare_allocated(ctx, oid) for oid, o in sorted(ctx.offerings.items()) if o.stage in ALLOCATED_STAGES}


def _bp_text(bp: int | None) -> str:
    return "-" if bp is None else f"{bp / 100:.2f}%"


def comparison_lines(c: Comparison) -> list[tuple[str, list[str], list[int | None]]]:
    """The table a sponsor reads: (figure, text per row, integer per row), one entry per figure,
    one column per mechanism (same order as ``c.rows``). Rows not open to the deal show ``-``."""
    rows = c.rows

    def line(name: str, get: object, text: object) -> tuple[str, list[str], list[int | None]]:
        values = [get(r) if r.available else None for r in rows]  # type: ignore[operator]
        return name, [text(v) if v is not None else "-" for v in values], values  # type: ignore[operator]

    shares = lambda v: f"{v:,}"  # noqa: E731
    lines = [
        line("initial public tranche (shares)", lambda r: r.initial_public_shares, shares),
        line("subscription multiple", lambda r: r.subscription_multiple_bp, lambda v: f"{v / 10_000:,.2f}x"),
        line("clawback / reallocation (shares)", lambda r: r.clawback_shares, lambda v: f"{v:+,}"),
        line("final public tranche (shares)", lambda r: r.final_public_shares, shares),
        line("retail share of the offer", lambda r: r.public_share_of_offer_bp, _bp_text),
        line("retail demand filled", lambda r: r.public_demand_filled_bp, _bp_text),
        line("pool A (shares)", lambda r: r.pool_a_shares, shares),
        line("pool B (shares)", lambda r: r.pool_b_shares, shares),
        line("one-lot success rate", lambda r: r.one_lot_success_bp, _bp_text),
        line("successful applicants", lambda r: r.successful_applications, shares),
        line("placing (shares, excl. cornerstones)", lambda r: r.placing_shares, shares),
    ]
    for k in CONCENTRATION_TOPS:
        lines.append(line(f"top {k} placee(s), % of intl. offer", lambda r, k=k: r.top_placees_bp.get(f"top{k}_international"), _bp_text))
    return lines


def comparison_json(c: Comparison) -> dict[str, object]:
    """Machine form: every figure as an integer beside its formatted text."""
    table = comparison_lines(c)
    rows = []
    for i, r in enumerate(c.rows):
        row = msgspec.to_builtins(_as_dict(r))
        row["text"] = {name: texts[i] for name, texts, _ in table}
        rows.append(row)
    out: dict[str, object] = {
        "offering_id": c.offering_id,
        "price": c.price,
        "upsize_shares": c.upsize_shares,
        "seed": c.seed,
        "public_demand_shares": c.public_demand_shares,
        "rows": rows,
    }
    if c.notes:  # only then: a comparison without notes reads as before
        out["notes"] = list(c.notes)
    return out


def _as_dict(r: MechanismOutcome) -> dict[str, object]:
    return {name: getattr(r, name) for name in MechanismOutcome.__slots__}


__all__ = [
    "CONCENTRATION_TOPS",
    "MECHANISMS",
    "Comparison",
    "MechanismOutcome",
    "allocated_comparisons",
    "compare_allocated",
    "compare_mechanisms",
    "comparison_json",
    "comparison_lines",
]
