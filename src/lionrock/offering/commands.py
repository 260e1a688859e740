"""Commands of the offering context, and the offering definition they carry.

Prices are integer ticks of 0.001 (`lionrock.kernel.price`), amounts integer minor units, shares
integers, ratios exact `Rate` fractions. Imports only the kernel, so other contexts may import it.
"""

from __future__ import annotations

from datetime import date
from typing import get_args

import msgspec

from lionrock.kernel.messages import Command
from lionrock.kernel.money import Rate


class CornerstoneSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A cornerstone investor: a fixed investment amount taken at the offer price."""

    investor: str
    """Identity key (the same key space as IOI investors and public applicants)."""
    name: str
    account: str
    participant: str = ""
    origin: str = "international"
    amount_minor: int
    """Investment amount excluding brokerage and levies, in minor units of ``amount_currency``."""
    amount_currency: str = ""
    """The currency the cornerstone agreement states the amount in (empty: the offer currency).
    Agreements in US$ are common (the prospectus converts at a stated rate, e.g. US$1.00 = HK$7.8)."""
    fx_rate: Rate = Rate(0, 1)
    """Offer-currency units per unit of ``amount_currency`` as the prospectus states it (required
    when the currencies differ); the converted amount is rounded down to the minor unit."""
    lockup_months: int = 0
    """0 means the rulebook's cornerstone lock-up."""
    independent: bool = True
    """Counts as an independent price-setting investor (Chapter 18C, Rule 18C.08)."""
    existing_shareholder: bool = False
    """Already a shareholder: its allocation needs the Exchange's consent (Placing Guidelines,
    Appendix F1 para 5(2)); listed under "placees with consent" in the announcement."""


class LockupSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A disposal restriction on shares held at listing (announcement: "Lock-up undertakings")."""

    holder: str
    kind: str
    """``controlling_shareholder``, ``key_person`` (Rule 18C.14), ``pre_ipo_investor`` or
    ``pathfinder_sii`` (cornerstones' lock-ups come from their own entries)."""
    shares: int
    ends: date
    """Last day of the lock-up."""
    public: bool = False
    """Counts towards the public float (Rule 8.08; a pre-IPO investor who is not a core connected
    person does); locked-up shares never count towards the free float (Rule 8.08A)."""
    rule: str = ""
    """The undertaking's basis, e.g. ``"Rule 10.07"``, ``"Rule 18C.14"``, ``"voluntary"``."""


class PlaceeConsentSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A placee allotted shares with the Exchange's prior consent (announcement: "Placees with
    consent"): connected clients, close associates, existing shareholders."""

    investor: str
    relationship: str
    """E.g. ``"connected client"``, ``"existing shareholder"``, ``"close associate of a director"``."""
    consent: str
    """The consent's basis, e.g. ``"Appendix F1 para 5(1)"``."""


class PreferentialOfferingSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Reserved shares offered to a defined group out of the international offering (or, with
    ``source = "public"``, out of the public offer): the listed parent's qualifying shareholders
    under an assured entitlement (a spin-off, Practice Note 15 para 3(f)) or the issuer's eligible
    employees (Rule 10.01; Longcheer 9611 out of the international offering, Dtech 1377 one tranche
    out of each). Entitlements are allotted in full; excess applications share what the entitled
    applications leave, by their own basis; reserved shares not taken up go back to the tranche
    they came from."""

    kind: str = "assured_entitlement"
    """``assured_entitlement`` or ``employee``."""
    reference: str
    """What the prospectus calls it and the rule, e.g. ``"Preferential Offering to Qualifying
    Shareholders of Parent Co (PN15 para 3(f))"``."""
    reserved_shares: int
    """Shares reserved out of the international offering (whole board lots)."""
    excess_taper_eighths: int = 8
    """Basis for excess applications (as `PublicPolicySpec`: 8 = pro rata)."""
    excess_curve: list[tuple[int, Rate]] = []
    source: str | msgspec.UnsetType = msgspec.UNSET
    """The tranche the reserved shares come out of and their shortfall goes back to:
    ``international`` (unset: the default) or ``public`` (Dtech 1377's Overseas Employee Reserved
    Shares: 10% of the public offer; the public offer's subscription level and largest application
    are then measured on it excluding them). Unset when absent, so a tranche without it encodes,
    journals and hashes as before."""

    @property
    def from_public(self) -> bool:
        return self.source == "public"


class ClawbackWaiverSpec(msgspec.Struct, frozen=True, kw_only=True):
    """An explicit public-tranche schedule granted by waiver (replaces the rulebook's ladder)."""

    reference: str
    """What the waiver is, e.g. ``"HKEx-LD60-2 typical waiver"``."""
    initial: Rate
    steps: list[tuple[Rate, Rate]] = []
    """(minimum subscription multiple, public share of the shares initially offered) pairs; both
    exact rates, so a waiver may set any threshold (33.5 times) and any share (17.5%)."""


class DiscretionaryReallocationSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A reallocation from the international offering to the public offer at the overall
    coordinators' discretion, outside any clawback ladder (HKEX's "allocation cap" bounds it): the
    public offer is raised to ``public_share`` of the shares initially offered, rounded to a board
    lot as ``rounding`` says, or by ``shares``; never beyond the valid demand. Hangzhou Tongshifu
    0664 (Mechanism B, Mar 2026): 10% -> 15.00% (15% x 7,406,800 = 1,111,020 rounded down to
    1,111,000) at 59.55x with the placing covered 1.56x."""

    reference: str
    """What the prospectus or the announcement says, e.g. ``"Structure of the Global Offering:
    Reallocation"``."""
    public_share: Rate = Rate(0, 1)
    """The public offer after the reallocation, as a share of the shares initially offered (0: use
    ``shares``)."""
    shares: int = 0
    """Or the shares reallocated (whole board lots)."""
    rounding: str = "down"
    """``down`` or ``up`` to a board lot (``public_share`` only): an allocation cap is a maximum, so
    the published figure rounds down (Tongshifu 0664), where a clawback rounds up."""


class PricingPolicySpec(msgspec.Struct, frozen=True, kw_only=True):
    """How the offer price is chosen (docs/offering.md, "Price setting")."""

    kind: str = "coverage"
    """``coverage``: the highest candidate price at which bookbuilding demand covers the
    bookbuilding tranche ``coverage_times`` times; ``max_proceeds``: the price maximising price
    x min(demand, tranche); ``fixed``: ``fixed_price``."""
    coverage_times: Rate = Rate(3, 1)
    fixed_price: int = 0
    upsize_at_coverage: Rate = Rate(0, 1)
    """Exercise the offer size adjustment option in full when coverage at the price reaches this
    (0: never, unless the pricing command asks)."""


class PlacingPolicySpec(msgspec.Struct, frozen=True, kw_only=True):
    """How the bookbuilding placing tranche is allocated (docs/offering.md, "Placing")."""

    tier_weights: list[Rate] = msgspec.field(default_factory=lambda: [Rate(1, 1), Rate(7, 10), Rate(4, 10)])
    """Weight of quality tier 1, 2, 3, ... (an investor's tier indexes this list)."""
    early_bonus: Rate = Rate(1, 10)
    early_before_seq: int = 0
    """IOIs first received with sequence number below this get the early bonus (0: none)."""
    price_setting_bonus: Rate = Rate(2, 10)
    """Bonus for investors whose demand at the offer price came from priced (limit) steps."""
    max_share_per_placee: Rate = Rate(1, 10)
    """Cap per placee as a share of the placing tranche (lifted only if demand runs out)."""
    over_allocate: bool = True
    reallocate_undersubscribed_placing: bool = True
    """Move unplaced placing shares to the public tranche when it is oversubscribed."""
    over_allocate_shares: int | msgspec.UnsetType = msgspec.UNSET
    """How many shares the coordinators over-allocate, in whole board lots (at most the
    over-allotment option, and only as far as placing demand goes): their choice, as an allotment
    announcement states it (Wenge AI 1956: 1,335,000 of 14,834,600, where 15% is 2,225,000;
    SHEIN 0625: 41,998,500, three lots under 15%). Unset: the whole option, as every other deal
    in the corpus; unset when absent, so a policy without it encodes, journals and hashes as before."""


class PublicPolicySpec(msgspec.Struct, frozen=True, kw_only=True):
    """The registrar's basis of allocation within each pool (docs/offering.md, "Pools and bands")."""

    pool_a_taper_eighths: int = 6
    """Expected allotment of a band applying for ``a`` lots is proportional to ``a ** (k/8)``
    (8 = pro rata; lower favours small applications)."""
    pool_b_taper_eighths: int = 8
    pool_a_curve: list[tuple[int, Rate]] = []
    """The registrar's basis as a weight curve, replacing the taper when given: ``(lots applied,
    weight)`` points with strictly increasing sizes; a band's expected allotment is proportional to
    the weight, linear between points, proportional to size below the first point and above the
    last (a pro-rata top). Weights below one lot become ballots ("k out of n receive one lot"),
    whole parts guaranteed lots: so ballot tiers, lots guaranteed from a band, tapering and a
    pro-rata top are all points on one curve. `lionrock.offering.basis.calibrate_curve` fits it to
    a published basis table."""
    pool_b_curve: list[tuple[int, Rate]] = []


class OfferingSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an offering file defines (validated by `lionrock.offering.definition`)."""

    offering_id: str
    issuer_id: str
    issuer_name: str
    instrument: str
    currency: str = "HKD"
    rmb_counter: str = ""
    chapter: str = "main"
    """``main`` (Main Board Chapter 8), ``18C`` (specialist technology) or ``18A`` (biotech)."""
    pre_commercial: bool = False
    shares_offered: int
    """Shares initially offered (before the offer size adjustment and over-allotment options)."""
    board_lot: int
    price_low: int
    """Bottom of the range; 0 for a "maximum offer price only" offer (A+H deals priced against the
    A shares, e.g. Longcheer 9611: "not more than HK$31.00"), which may price anywhere up to
    ``price_high``."""
    price_high: int
    """Top of the range, or the maximum offer price: public applicants pay it on application and
    are refunded the difference (with its charges) after pricing."""
    prospectus_date: date
    public_offer_open: date
    price_fixing_date: date
    mechanism: str = ""
    """Main Board from 4 Aug 2025: ``A`` or ``B``; empty means the rulebook's default."""
    public_share: Rate | None = None
    """Initial public share (Mechanism B's fixed share; PN18 initial if above the minimum)."""
    waiver: ClawbackWaiverSpec | None = None
    downward_flexibility: bool = False
    offer_size_adjustment: Rate = Rate(0, 1)
    offer_size_adjustment_public_share: Rate = Rate(0, 1)
    """Share of the exercised offer size adjustment shares that goes to the public tranche (rounded
    down to a board lot; the rest to the international offering). Default 0: every allotment
    announcement found gives the whole option to the international offering."""
    over_allotment: Rate = Rate(0, 1)
    cornerstones: list[CornerstoneSpec] = []
    underwriter_account: str = "P:UNDERWRITERS"
    stabilising_manager_account: str = "P:STABILISING_MANAGER"
    stock_lender_account: str = ""
    """Lends the over-allocated shares under the stock borrowing agreement (default
    ``I:<issuer_id>:LENDER``: an issuer-side account standing for the lending shareholder, whose
    pre-IPO shares are not in the ledger; its short position is closed by the exercise of the
    over-allotment option and by the stabilising manager's market purchases)."""
    shares_outstanding_after: int = 0
    """Issued shares upon listing (for the announcement's percentages; 0 = unknown)."""
    cornerstone_cutback: str = "none"
    """What happens when the cornerstones' shares at the final price exceed the room left by the
    initial public tranche, the bookbuilding minimum and any preferential offering: ``none`` (the
    definition must fit them at the lowest possible price, else it is refused) or ``pro_rata``
    (the prospectus reserves a cutback: each cornerstone is reduced in proportion, to whole lots;
    docs/offering.md, "Cornerstones")."""
    independent_price_setting_waiver: str = ""
    """Chapter 18C: a waiver of Rule 18C.08 granted by the Exchange (its reference and conditions,
    e.g. Transwarp 6727); lets pricing proceed when independent price-setting investors cannot
    take the minimum."""
    preferential: PreferentialOfferingSpec | None = None
    preferential_tranches: list[PreferentialOfferingSpec] | msgspec.UnsetType = msgspec.UNSET
    """Two or more preferential tranches (Dtech 1377: overseas employees out of the public offer,
    PRC employees out of the international offering), in place of ``preferential``; applications
    name their tranche by its index (`PreferentialBatch.tranche`). Unset when absent, so an
    offering without it encodes, journals and hashes as before."""
    reallocation: DiscretionaryReallocationSpec | msgspec.UnsetType = msgspec.UNSET
    """A discretionary reallocation to the public offer (`DiscretionaryReallocationSpec`). Unset
    (not None) when absent, so an offering without one encodes, journals and hashes as before."""
    lockups: list[LockupSpec] = []
    placee_consents: list[PlaceeConsentSpec] = []
    underwriting_commission: Rate = Rate(25, 1000)
    listing_expenses_minor: int = 0
    pricing: PricingPolicySpec = PricingPolicySpec()
    placing: PlacingPolicySpec = PlacingPolicySpec()
    public: PublicPolicySpec = PublicPolicySpec()

    @property
    def preferential_list(self) -> tuple[PreferentialOfferingSpec, ...]:
        """Every preferential tranche, in order: ``preferential_tranches``, else ``preferential``."""
        if isinstance(self.preferential_tranches, list) and self.preferential_tranches:
            return tuple(self.preferential_tranches)
        return () if self.preferential is None else (self.preferential,)

    @property
    def issuer_account(self) -> str:
        return f"I:{self.issuer_id}"

    @property
    def lender_account(self) -> str:
        return self.stock_lender_account or f"I:{self.issuer_id}:LENDER"


class IoiStep(msgspec.Struct, frozen=True, array_like=True):
    """Demand for ``shares`` at any offer price up to ``limit_price`` ticks (0: at any price)."""

    limit_price: int
    shares: int


class Ioi(msgspec.Struct, frozen=True, kw_only=True):
    """An institutional indication of interest: price-limited demand steps (cumulative)."""

    ioi_id: str
    investor: str
    account: str
    participant: str = ""
    investor_type: str = "long_only"
    origin: str = "international"
    """``international``, ``mainland`` or ``hong_kong``."""
    tier: int = 1
    independent: bool = True
    steps: list[IoiStep]


class PreferentialBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Applications under a preferential offering, in columns (all lists the same length)."""

    applicants: list[str]
    accounts: list[str]
    participants: list[str]
    shares: list[int]
    entitlements: list[int]
    """Shares each applicant is assured (its holding in the parent times the entitlement ratio;
    0 for an employee offering); an application above it is an excess application."""
    tranche: int | msgspec.UnsetType = msgspec.UNSET
    """The preferential tranche these applications are for: its index in
    ``OfferingSpec.preferential_tranches`` (unset: 0, the only tranche)."""


class ApplicationBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Public applications in columns (one entry per application, all lists the same length)."""

    applicants: list[str]
    """Identity keys (FINI investor identity): two applications with one key are multiple."""
    accounts: list[str]
    participants: list[str]
    shares: list[int]


class DefineOffering(Command, frozen=True):
    offering: OfferingSpec


class SubmitIoi(Command, frozen=True):
    offering_id: str
    ioi: Ioi


class WithdrawIoi(Command, frozen=True):
    offering_id: str
    ioi_id: str


class LodgePublicApplications(Command, frozen=True):
    offering_id: str
    batch: ApplicationBatch


class LodgePreferentialApplications(Command, frozen=True):
    """Applications under the offering's preferential offering (assured entitlements of a listed
    parent's qualifying shareholders, or eligible employees): a separate book from the public
    applications, allotted by `allocation.allocate_preferential` out of the reserved shares."""

    offering_id: str
    batch: PreferentialBatch


class ClosePublicOffer(Command, frozen=True):
    offering_id: str


class FixOfferPrice(Command, frozen=True):
    offering_id: str
    price: int = 0
    """0: the offering's pricing policy decides; otherwise the price agreed (checked against the
    range and the downward flexibility)."""
    upsize_shares: int = -1
    """-1: the policy decides; otherwise the offer size adjustment shares exercised."""


class AllocateOffering(Command, frozen=True):
    offering_id: str
    seed: int
    """The ballot seed, published with the results."""
    applications_digest: str = ""
    """If given, the SHA-256 of the lodged application book must equal it (the registrar's file)."""


class SettleOffering(Command, frozen=True):
    offering_id: str


class CloseStabilisation(Command, frozen=True):
    offering_id: str
    shares_bought_back: int
    """Shares the stabilising manager bought in the market during the stabilisation period."""
    average_price: int = 0


OfferingCommand = (
    DefineOffering
    | SubmitIoi
    | WithdrawIoi
    | LodgePublicApplications
    | ClosePublicOffer
    | FixOfferPrice
    | AllocateOffering
    | SettleOffering
    | CloseStabilisation
    | LodgePreferentialApplications
)
"""The closed union of the offering's commands (`OfferingContext.execute` matches it exhaustively)."""

OFFERING_COMMANDS: tuple[type[Command], ...] = get_args(OfferingCommand)
"""The same commands as a tuple of classes (the context's ``command_types``)."""

__all__ = [
    "OFFERING_COMMANDS",
    "OfferingCommand",
    "AllocateOffering",
    "ApplicationBatch",
    "ClawbackWaiverSpec",
    "ClosePublicOffer",
    "CloseStabilisation",
    "CornerstoneSpec",
    "DefineOffering",
    "DiscretionaryReallocationSpec",
    "FixOfferPrice",
    "Ioi",
    "IoiStep",
    "LockupSpec",
    "LodgePreferentialApplications",
    "LodgePublicApplications",
    "OfferingSpec",
    "PlaceeConsentSpec",
    "PreferentialBatch",
    "PreferentialOfferingSpec",
    "PlacingPolicySpec",
    "PricingPolicySpec",
    "PublicPolicySpec",
    "SettleOffering",
    "SubmitIoi",
    "WithdrawIoi",
]
