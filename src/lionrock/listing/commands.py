"""Commands of the listing context, and the issuer profile they carry.

The profile types live here (not in an internal module) because `SubmitIssuerProfile` carries a
whole profile: another context or the simulator may import this module, which depends only on the
kernel. Every amount is HKD minor units (cents), converted at the edge by `listing.profile`;
every share or ratio is an exact `Rate`.
"""

from __future__ import annotations

from datetime import date
from typing import get_args

import msgspec

from lionrock.kernel.messages import Command
from lionrock.kernel.money import Rate


class FinancialYear(msgspec.Struct, frozen=True, kw_only=True):
    """One audited financial year, all amounts in HKD cents."""

    year_end: date
    revenue: int
    specialist_technology_revenue: int
    """Revenue from the Specialist Technology business (18C.03(4)); equals revenue unless stated."""
    profit_attributable: int
    """Profit attributable to shareholders, ordinary and usual course of business (8.05(1))."""
    operating_cash_flow: int
    rd_expense: int
    total_operating_expenses: int


class FundingInvestor(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    stake: Rate
    """Share of the issued shares held before the IPO (fully diluted, as disclosed)."""
    sophisticated_independent: bool = False
    """Qualifies as a Sophisticated Independent Investor (Guide ch. 2.5)."""
    amount_hkd: int = 0


class FundingRound(msgspec.Struct, frozen=True, kw_only=True):
    on: date
    name: str
    currency: str
    amount_raised: int
    """In ``currency`` minor units, as stated."""
    amount_raised_hkd: int
    post_money_valuation: int
    post_money_valuation_hkd: int
    investors: list[FundingInvestor] = []


class Continuity(msgspec.Struct, frozen=True, kw_only=True):
    management_years: int
    """Financial years of management continuity before listing (8.05(1)(b))."""
    ownership_control_years: int
    """Financial years of ownership continuity and control (8.05(1)(c))."""
    management_experience_years: int = 0
    """Directors' and management's experience in the line of business (8.05A)."""


class WeightedVoting(msgspec.Struct, frozen=True, kw_only=True):
    votes_per_wvr_share: int
    beneficiaries_are_directors: bool
    beneficiaries_economic_interest: Rate
    innovative_company: bool


class MainlandFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the CSRC filing and data review turn on."""

    domestic_revenue_share: Rate
    domestic_profit_share: Rate
    domestic_total_assets_share: Rate
    domestic_net_assets_share: Rate
    main_business_in_mainland: bool
    senior_managers_mainland: bool
    personal_information_users: int = 0
    critical_information_infrastructure_operator: bool = False
    cross_border_data_transfer: bool = False
    foreign_investment_restricted: bool = False
    """Business in a sector the Negative List restricts or prohibits for foreign investment."""
    prohibited_circumstances: list[str] = []
    """Trial Measures Art. 8 items that apply (any makes an overseas listing impossible)."""


class BiotechFacts(msgspec.Struct, frozen=True, kw_only=True):
    core_product_beyond_concept: bool
    same_business_years: int
    working_capital_coverage: Rate


class OfferingPlan(msgspec.Struct, frozen=True, kw_only=True):
    expected_market_cap: int
    planned_offering_size: int
    board_lot: int
    planned_public_float: Rate | None = None
    price_range_low: int = 0
    """Price ticks (0.001 HKD); 0 when not yet set."""
    price_range_high: int = 0
    shares_in_issue_after_listing: int = 0
    a_shares_listed: bool = False


class IssuerProfile(msgspec.Struct, frozen=True, kw_only=True):
    issuer_id: str
    name: str
    sub_sector: str
    """Free label for the simulator, e.g. ``"foundation models"``."""
    industry: str
    """The Specialist Technology Industry (18C), e.g. ``"next-generation information technology"``."""
    sector: str
    """The acceptable sector within it, e.g. ``"artificial intelligence"``; ``""`` if none."""
    structure: str
    """``"direct"`` (PRC joint-stock, H shares), ``"vie"`` or ``"offshore"`` (red chip, no VIE)."""
    incorporated_in: str
    financial_years: list[FinancialYear]
    continuity: Continuity
    offering: OfferingPlan
    mainland: MainlandFacts
    funding_rounds: list[FundingRound] = []
    wvr: WeightedVoting | None = None
    biotech: BiotechFacts | None = None
    description: str = ""


# -- commands ---------------------------------------------------------------------------------
class SubmitIssuerProfile(Command, frozen=True):
    """Register (or, before filing, replace) an issuer's profile; it is assessed on the day."""

    profile: IssuerProfile


class EngageTechChannel(Command, frozen=True):
    """Pre-filing engagement through the Technology Enterprises Channel (18C / 18A applicants)."""

    issuer_id: str


class FileListingApplication(Command, frozen=True):
    """File Form A1 on a route open on the day; refiles a lapsed or withdrawn application."""

    issuer_id: str
    route: str
    confidential: bool = False


class FileCsrc(Command, frozen=True):
    """The domestic company files with the CSRC (due within the working-day deadline)."""

    issuer_id: str


class CompleteCsrcFiling(Command, frozen=True):
    """The CSRC concludes the filing and publishes the filing notice."""

    issuer_id: str


class AdvanceListing(Command, frozen=True):
    """Move the application along the workflow table: ``vetting_round``, ``pass_hearing``,
    ``launch``, ``open_book``, ``fix_price``, ``allot``, ``list``, ``withdraw``."""

    issuer_id: str
    trigger: str


class ExpireListingApplications(Command, frozen=True):
    """Timer tick: lapse every application whose validity has run out by the command's date."""


ListingCommand = (
    SubmitIssuerProfile
    | EngageTechChannel
    | FileListingApplication
    | FileCsrc
    | CompleteCsrcFiling
    | AdvanceListing
    | ExpireListingApplications
)
"""The closed union of listing's commands (`ListingContext.execute` matches it exhaustively)."""

LISTING_COMMANDS: tuple[type[Command], ...] = get_args(ListingCommand)
"""The same commands as a tuple of classes (the context's ``command_types``)."""

__all__ = [
    "LISTING_COMMANDS",
    "AdvanceListing",
    "BiotechFacts",
    "CompleteCsrcFiling",
    "Continuity",
    "EngageTechChannel",
    "ExpireListingApplications",
    "FileCsrc",
    "FileListingApplication",
    "FinancialYear",
    "FundingInvestor",
    "FundingRound",
    "IssuerProfile",
    "ListingCommand",
    "MainlandFacts",
    "OfferingPlan",
    "SubmitIssuerProfile",
    "WeightedVoting",
]
