"""Events of the offering context, including the two clearing observes (the cross-context contract).

``IpoApplicationsFunded`` is published when the public offer closes; ``IpoSettlementInstructed``
at settlement (T+2 from price fixing) and again when the stabilisation period closes (for the
over-allotment shares the issuer issues on exercise). Imports only the kernel.
"""

from __future__ import annotations

from datetime import date

import msgspec

from lionrock.kernel.messages import Event


class FiniTimetableDates(msgspec.Struct, frozen=True, kw_only=True):
    public_offer_open: date
    public_offer_close: date
    """Applications close at 12:00 noon (T-1)."""
    price_fixing: date
    """T: the price must be agreed by 12:00 noon or the offering lapses."""
    results: date
    """Allotment results published by 23:00."""
    listing: date
    """Dealings start at 09:00; refunds and share allotment settle this day."""
    stabilisation_end: date
    cornerstone_lockup_end: date
    """Last day of the rulebook's cornerstone lock-up (listing date + 6 months - 1 day)."""


class OfferingDefined(Event, frozen=True):
    offering_id: str
    issuer_id: str
    instrument: str
    currency: str
    shares_offered: int
    board_lot: int
    price_low: int
    price_high: int
    price_floor: int
    """Lowest price allowed (the bottom of the range, less the downward flexibility if elected)."""
    regime: str
    """E.g. ``"Mechanism B (fixed 10%)"``, ``"PN18"``, ``"Chapter 18C"``, ``"waiver: ..."``."""
    regime_rule: str
    initial_public_shares: int
    timetable: FiniTimetableDates


class IoiReceived(Event, frozen=True):
    offering_id: str
    ioi_id: str
    investor: str
    investor_type: str
    origin: str
    tier: int
    steps: list[tuple[int, int]]
    book_investors: int
    book_demand_at_top: int
    """Book demand (shares) at the top of the range after this IOI."""


class IoiWithdrawn(Event, frozen=True):
    offering_id: str
    ioi_id: str
    investor: str


class PublicApplicationsLodged(Event, frozen=True):
    offering_id: str
    count: int
    shares: int
    total_count: int
    total_shares: int


class PreferentialApplicationsLodged(Event, frozen=True):
    offering_id: str
    count: int
    shares: int
    total_count: int
    total_shares: int


class PublicOfferClosed(Event, frozen=True):
    offering_id: str
    applications: int
    shares_applied: int
    book_digest: str
    """SHA-256 of the application book (the registrar's file), to reference in `AllocateOffering`."""


class IpoApplicationsFunded(Event, frozen=True):
    offering_id: str
    currency: str
    holds: list[tuple[str, int]]
    """(applicant account, amount pre-funded in minor units incl. brokerage and levies), one per
    account, sorted by account."""


class DemandPointView(msgspec.Struct, frozen=True, array_like=True):
    price: int
    demand_shares: int
    tranche_shares: int


class OfferPriceFixed(Event, frozen=True):
    offering_id: str
    price: int
    upsize_shares: int
    offer_shares: int
    policy: str
    reasons: list[str]
    coverage_bp: int
    """Bookbuilding coverage at the price in basis points of the tranche (30000 = 3.0x)."""
    demand_curve: list[DemandPointView]


class BandBasis(msgspec.Struct, frozen=True, kw_only=True):
    """The basis of allocation for one application size in one pool."""

    pool: str
    shares_applied: int
    applications: int
    guaranteed_lots: int
    ballot_winners: int
    """Applications (of ``applications``) that win one more board lot."""
    shares_allotted: int
    basis: str
    allotted_bp: int
    """Approximate share of the shares applied for that was allotted, in basis points."""


class PlaceeAllotment(msgspec.Struct, frozen=True, array_like=True):
    investor: str
    account: str
    shares: int


class CornerstoneAllotment(msgspec.Struct, frozen=True, kw_only=True):
    investor: str
    name: str
    account: str
    shares: int
    lockup_end: date
    """Last day of the lock-up (as announcements state it)."""


class PreferentialTrancheResult(msgspec.Struct, frozen=True, kw_only=True):
    """One preferential tranche's outcome (the announcement's "Employee Preferential Offering" block)."""

    reference: str
    kind: str
    source: str
    """``international`` or ``public``: where the reserved shares came from and the shortfall went."""
    reserved_shares: int
    valid_applications: int
    demand_shares: int
    allotted_shares: int
    returned_shares: int
    """Reserved shares not taken up, back to the source tranche."""
    successful_applications: int


class AllotmentSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What the allotment results announcement reports (and what the CLI prints)."""

    price: int
    offer_shares: int
    """Shares in the global offering after the offer size adjustment, before over-allocation."""
    upsize_shares: int
    over_allocated_shares: int
    gross_proceeds_minor: int
    net_proceeds_minor: int
    initial_public_shares: int
    public_demand_shares: int
    subscription_multiple_bp: int
    clawback_reason: str
    regime: str
    final_public_shares: int
    pool_a_shares: int
    pool_b_shares: int
    pool_a_demand_shares: int
    pool_b_demand_shares: int
    valid_applications: int
    rejected: dict[str, int]
    placing_shares: int
    """Placing tranche after reallocation, including over-allocated shares, excluding cornerstones."""
    placing_demand_shares: int
    placees: int
    cornerstone_shares: int
    underwriter_shares: int
    bookbuilding_min_shares: int
    bookbuilding_ok: bool
    ipsi_shares: int
    ipsi_required_shares: int
    ipsi_shortfall_shares: int = 0
    """Chapter 18C: shares by which independent price-setting investors fall short of the
    required minimum (0 when met or not 18C)."""
    top_placees_bp: dict[str, int]
    """Top 1/5/10/25 placees (cornerstones included, as HKEX's template counts them): keys
    ``top<k>_international`` / ``top<k>_offer`` / ``top<k>_issued``, in bp of the international
    offering, of the offer shares and of the issued shares upon listing. Numerators include
    over-allocated shares, denominators exclude them (as announcements publish: MiniMax's top 25
    hold 100.24% of the international offering)."""
    bands: list[BandBasis]
    seed: int
    allotment_digest: str
    notes: list[str]
    international_initial_shares: int = 0
    """Shares initially available under the international offering (cornerstones included,
    preferential reserved shares excluded), before reallocation and options."""
    international_demand_shares: int = 0
    """Cornerstone shares plus bookbuilding demand at the offer price (the subscription level's
    numerator)."""
    international_final_shares: int = 0
    """International offering after reallocation and the offer size adjustment, excluding
    over-allocated shares (cornerstones, placees, underwriters)."""
    cornerstone_cutback_shares: int = 0
    """Shares by which cornerstones were cut back (``cornerstone_cutback = "pro_rata"``)."""
    preferential_reserved_shares: int = 0
    preferential_valid_applications: int = 0
    preferential_demand_shares: int = 0
    preferential_shares: int = 0
    """Shares allotted under the preferential offering."""
    preferential_to_international_shares: int = 0
    """Reserved shares not taken up, reallocated to the international offering."""
    preferential_successful_applications: int = 0
    successful_applications: int = 0
    """Public applications allotted at least one lot."""
    preferential_tranches: list[PreferentialTrancheResult] | msgspec.UnsetType = msgspec.UNSET
    """Each preferential tranche's outcome, when one comes out of the public offer or there are
    several (Dtech 1377); the ``preferential_*`` fields above sum the tranches out of the
    international offering. Unset otherwise, so a summary without them encodes as before."""

    @property
    def public_reserved_shares(self) -> int:
        """Reserved shares initially out of the public offer (0: none)."""
        tranches = self.preferential_tranches if isinstance(self.preferential_tranches, list) else []
        return sum(x.reserved_shares for x in tranches if x.source == "public")

    @property
    def public_subscription_shares(self) -> int:
        """The public offer initially available to the public, excluding reserved shares: the
        subscription level's denominator."""
        return self.initial_public_shares - self.public_reserved_shares


class OfferingAllocated(Event, frozen=True):
    offering_id: str
    summary: AllotmentSummary
    cornerstones: list[CornerstoneAllotment]
    placees: list[PlaceeAllotment]


class IpoSettlementInstructed(Event, frozen=True):
    offering_id: str
    instrument: str
    currency: str
    issuer_account: str
    """The account that delivers the shares and receives the consideration (the issuer; the
    stock lender for the over-allocated shares delivered at listing)."""
    price: int
    allotments: list[tuple[str, int, int]]
    """(account, shares, consideration_minor)."""
    refunds: list[tuple[str, int]]
    """(account, refund_minor) of pre-funded amounts not used."""
    fees: list[tuple[str, int]]
    """(collector account, amount_minor): brokerage, levies and trading fee collected."""
    account_fees: list[tuple[str, int]] = []
    """(account, charges_minor) each allotted account pays on top of its consideration (placees and
    cornerstones pay these at settlement; for public applicants they come out of the hold)."""


class OfferingSettled(Event, frozen=True):
    offering_id: str
    listing_date: date
    shares_issued: int
    gross_proceeds_minor: int
    refunds_minor: int


class OfferingStabilisationClosed(Event, frozen=True):
    offering_id: str
    over_allocated_shares: int
    shares_bought_back: int
    over_allotment_exercised: int
    average_price: int


OFFERING_EVENTS: tuple[type[Event], ...] = (
    OfferingDefined,
    IoiReceived,
    IoiWithdrawn,
    PublicApplicationsLodged,
    PublicOfferClosed,
    IpoApplicationsFunded,
    OfferPriceFixed,
    OfferingAllocated,
    IpoSettlementInstructed,
    OfferingSettled,
    OfferingStabilisationClosed,
    PreferentialApplicationsLodged,
)

__all__ = [
    "OFFERING_EVENTS",
    "AllotmentSummary",
    "BandBasis",
    "CornerstoneAllotment",
    "DemandPointView",
    "FiniTimetableDates",
    "IoiReceived",
    "IoiWithdrawn",
    "IpoApplicationsFunded",
    "IpoSettlementInstructed",
    "OfferPriceFixed",
    "OfferingAllocated",
    "OfferingDefined",
    "OfferingSettled",
    "OfferingStabilisationClosed",
    "PlaceeAllotment",
    "PreferentialApplicationsLodged",
    "PreferentialTrancheResult",
    "PublicApplicationsLodged",
    "PublicOfferClosed",
]
