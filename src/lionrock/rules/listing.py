"""Listing rules as effective-dated data: Main Board (Chapter 8), 18C, 18A, 8A, CSRC filing, TECH.

Every amount is in HKD minor units (cents) and every ratio an exact fraction, as numerator and
denominator, so the eligibility engine never touches floats. Each `Provision` cites its source and
grade (P primary, S secondary, T tertiary, I inference), following
docs/rules.md; what was checked with the search corpora while
building this module is written in the provision's ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lionrock.rules._schedule import Provision, Schedule

CENTS = 100


def hkd(major: int) -> int:
    """HK$ major units to minor units (cents)."""
    return major * CENTS


MILLION = 1_000_000
BILLION = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Fraction:
    """An exact ratio ``numerator / denominator`` (15% is ``Fraction(15, 100)``)."""

    numerator: int
    denominator: int

    def __str__(self) -> str:
        whole, rest = divmod(self.numerator * 100 * 100, self.denominator)
        pct = f"{whole // 100}.{whole % 100:02d}".rstrip("0").rstrip(".")
        return f"{pct}%" if not rest else f"~{pct}%"


def pct(value: int) -> Fraction:
    return Fraction(value, 100)


# --------------------------------------------------------------------------------------------
# Main Board, Chapter 8
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProfitTest:
    """Rule 8.05(1): profit attributable to shareholders (ordinary course of business)."""

    latest_year_min: int
    two_prior_years_aggregate_min: int
    trading_record_years: int
    management_continuity_years: int
    ownership_continuity_years: int
    rule: str


MAIN_BOARD_PROFIT_TEST: Schedule[ProfitTest] = Schedule(
    "listing.main_board.profit_test",
    (
        Provision(
            date(1994, 1, 1),
            ProfitTest(hkd(20 * MILLION), hkd(30 * MILLION), 3, 3, 1, "Listing Rules 8.05(1)(a)-(c)"),
            "Listing Rules 8.05(1)(a): HK$20m latest FY + HK$30m aggregate two preceding FYs; HKEX news release 2009 quoting the rule",
            "P",
            "Start date 1994 is the rulebook's placeholder for 'long-standing'.",
        ),
        Provision(
            date(2022, 1, 1),
            ProfitTest(hkd(35 * MILLION), hkd(45 * MILLION), 3, 3, 1, "Listing Rules 8.05(1)(a)-(c)"),
            "Listing Rules 8.05(1)(a) as amended from 1 Jan 2022 (conclusions 20 May 2021): HK$35m "
            "latest FY + HK$45m aggregate two preceding FYs; Linklaters 25 May 2021",
            "S",
            "Rule text quoted by a tertiary source ('not less than HK$35,000,000 ... HK$45,000,000').",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class MarketCapRevenueCashFlowTest:
    """Rule 8.05(2)."""

    market_cap_min: int
    revenue_min: int
    operating_cash_flow_aggregate_min: int
    cash_flow_years: int
    trading_record_years: int
    management_continuity_years: int
    ownership_continuity_years: int
    rule: str


MAIN_BOARD_MCAP_REVENUE_CASH_FLOW_TEST: Schedule[MarketCapRevenueCashFlowTest] = Schedule(
    "listing.main_board.mcap_revenue_cash_flow_test",
    (
        Provision(
            date(1994, 1, 1),
            MarketCapRevenueCashFlowTest(hkd(2 * BILLION), hkd(500 * MILLION), hkd(100 * MILLION), 3, 3, 3, 1, "Listing Rules 8.05(2)"),
            "Listing Rules 8.05(2): market cap >= HK$2bn, revenue >= HK$500m latest audited FY, "
            "positive operating cash flow >= HK$100m aggregate over the 3 preceding FYs",
            "T",
            "Long-standing; figures from tertiary copies of the HKEX table (reference notes 1.1).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class MarketCapRevenueTest:
    """Rule 8.05(3), with the shorter-record concession of Rule 8.05A."""

    market_cap_min: int
    revenue_min: int
    trading_record_years: int
    management_continuity_years: int
    ownership_continuity_years: int
    short_record_management_experience_years: int
    short_record_management_continuity_years: int
    rule: str


MAIN_BOARD_MCAP_REVENUE_TEST: Schedule[MarketCapRevenueTest] = Schedule(
    "listing.main_board.mcap_revenue_test",
    (
        Provision(
            date(1994, 1, 1),
            MarketCapRevenueTest(hkd(4 * BILLION), hkd(500 * MILLION), 3, 3, 1, 3, 1, "Listing Rules 8.05(3), 8.05A"),
            "Listing Rules 8.05(3): market cap >= HK$4bn, revenue >= HK$500m latest audited FY; "
            "8.05A (rule text, hkexen.thomsonreuters.com/rulebook/805a) allows a shorter record with "
            "management experience >= 3 years and continuity for the latest audited FY",
            "T",
            "8.05(3) figures tertiary; 8.05A primary.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class MinimumMarketCap:
    """Rule 8.09(2): expected market capitalisation at listing."""

    market_cap_min: int
    rule: str


MAIN_BOARD_MINIMUM_MARKET_CAP: Schedule[MinimumMarketCap] = Schedule(
    "listing.main_board.minimum_market_cap",
    (
        Provision(
            date(1994, 1, 1),
            MinimumMarketCap(hkd(200 * MILLION), "Listing Rules 8.09(2)"),
            "Listing Rules 8.09(2) before the 2018 amendments: HK$200m",
            "S",
        ),
        Provision(
            date(2018, 2, 15),
            MinimumMarketCap(hkd(500 * MILLION), "Listing Rules 8.09(2)"),
            "Listing Rules 8.09(2) from 15 Feb 2018: HK$500m; ONC Lawyers; hk-lawyer.org",
            "S",
            "15 Feb 2018 is the version break in the en-rules history; amendment text not read.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class FloatTier:
    """Up to ``market_cap_max`` (None = no upper bound): the higher of ``fraction`` and the
    fraction that puts ``value_min`` of market value in public hands."""

    market_cap_max: int | None
    fraction: Fraction
    value_min: int


@dataclass(frozen=True, slots=True)
class InitialPublicFloat:
    tiers: tuple[FloatTier, ...]
    rule: str


INITIAL_PUBLIC_FLOAT: Schedule[InitialPublicFloat] = Schedule(
    "listing.initial_public_float",
    (
        Provision(
            date(1994, 1, 1),
            InitialPublicFloat(
                (FloatTier(hkd(10 * BILLION), pct(25), 0), FloatTier(None, pct(15), 0)),
                "Listing Rules 8.08(1)",
            ),
            "Listing Rules 8.08(1) before 4 Aug 2025: 25%; the Exchange may accept 15%-25% when the "
            "expected market cap exceeds HK$10bn (rule text via en-rules element 2314)",
            "P",
            "The 15% floor above HK$10bn is the Exchange's discretion, modelled as the minimum it may accept.",
        ),
        Provision(
            date(2025, 8, 4),
            InitialPublicFloat(
                (
                    FloatTier(hkd(6 * BILLION), pct(25), 0),
                    FloatTier(hkd(30 * BILLION), pct(15), hkd(1_500 * MILLION)),
                    FloatTier(None, pct(10), hkd(4_500 * MILLION)),
                ),
                "Listing Rules 8.08(1) as amended 4 Aug 2025",
            ),
            "HKEX conclusions 'Optimise IPO Price Discovery and Open Market Requirements' (1 Aug 2025), "
            "for listing documents from 4 Aug 2025; Bird & Bird; Morgan Lewis; YYC Legal",
            "S",
            "Tier D (> HK$70bn) of the Dec 2024 proposal was not adopted.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# Chapter 18C: Specialist Technology Companies
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SiiTier:
    market_cap_below: int | None
    commercial: Fraction
    pre_commercial: Fraction


@dataclass(frozen=True, slots=True)
class Chapter18C:
    acceptable_sectors: tuple[tuple[str, tuple[str, ...]], ...]
    commercial_revenue_min: int
    market_cap_min_commercial: int
    market_cap_min_pre_commercial: int
    market_cap_rule: str
    rd_years: int
    rd_years_meeting_ratio: int
    rd_ratio_commercial: Fraction
    rd_ratio_pre_commercial_mid: Fraction
    rd_ratio_pre_commercial_low: Fraction
    pre_commercial_mid_revenue_min: int
    sii_tiers: tuple[SiiTier, ...]
    pathfinder_min_count: int
    pathfinder_min_months_before_application: int
    temporary: bool
    rule: str


_SECTORS_18C: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("next-generation information technology", ("cloud-based services", "artificial intelligence")),
    (
        "advanced hardware and software",
        (
            "robotics and automation",
            "semiconductors",
            "advanced communication technology",
            "electric and autonomous vehicles",
            "advanced transportation technology",
            "aerospace technology",
            "advanced manufacturing",
            "quantum information technology and computing",
            "metaverse technology",
        ),
    ),
    (
        "advanced materials",
        ("synthetic biological materials", "advanced inorganic materials", "advanced composite materials", "nanomaterials"),
    ),
    (
        "new energy and environmental protection",
        ("new energy generation", "new energy storage and transmission technology", "new green technology"),
    ),
    ("new food and agriculture technologies", ("new food technology", "new agriculture technology")),
)

_SII_TIERS = (
    SiiTier(hkd(15 * BILLION), pct(20), pct(25)),
    SiiTier(hkd(30 * BILLION), pct(15), pct(20)),
    SiiTier(None, pct(10), pct(15)),
)


def _chapter_18c(commercial_mcap: int, pre_commercial_mcap: int, temporary: bool, rule: str) -> Chapter18C:
    return Chapter18C(
        acceptable_sectors=_SECTORS_18C,
        commercial_revenue_min=hkd(250 * MILLION),
        market_cap_min_commercial=commercial_mcap,
        market_cap_min_pre_commercial=pre_commercial_mcap,
        market_cap_rule=rule,
        rd_years=3,
        rd_years_meeting_ratio=2,
        rd_ratio_commercial=pct(15),
        rd_ratio_pre_commercial_mid=pct(30),
        rd_ratio_pre_commercial_low=pct(50),
        pre_commercial_mid_revenue_min=hkd(150 * MILLION),
        sii_tiers=_SII_TIERS,
        pathfinder_min_count=2,
        pathfinder_min_months_before_application=12,
        temporary=temporary,
        rule="Listing Rules Chapter 18C; Guide for New Listing Applicants ch. 2.5",
    )


CHAPTER_18C: Schedule[Chapter18C] = Schedule(
    "listing.chapter_18c",
    (
        Provision(
            date(2023, 3, 31),
            _chapter_18c(hkd(6 * BILLION), hkd(10 * BILLION), False, "Listing Rules 18C.03(3)"),
            "Chapter 18C effective 31 Mar 2023 (conclusions 24 Mar 2023): commercial revenue >= HK$250m "
            "(18C.03(4), cn-rules 18C.01 [P]); market cap HK$6bn / HK$10bn (18C.03(3)); R&D 15% / 30% / "
            "50% of total opex in 2 of 3 FYs and in aggregate (Reed Smith [S]); sectors per GL115-23 "
            "(Mayer Brown [S]); SII table by market cap (compliance tool citing Guide 2.5 [T])",
            "S",
            "SII table [T], consistent with the Xizhi announcement (20% at ~HK$16.8bn pre-commercial). "
            "Pathfinder test modelled as >= 2 SIIs invested >= 12 months before the application; the "
            "final quantitative test is not confirmed.",
        ),
        Provision(
            date(2024, 9, 1),
            _chapter_18c(hkd(4 * BILLION), hkd(8 * BILLION), True, "Listing Rules 18C.03(3) as temporarily modified"),
            "SFC/SEHK Joint Announcement of 23 Aug 2024 (temporary modifications): 18C.03(3) market cap "
            "lowered to HK$4bn (commercial) / HK$8bn (pre-commercial) from 1 Sep 2024 to 31 Aug 2027",
            "S",
            "Verified with search: Morgan Lewis LawFlash Aug 2024 ('a fixed period of three years, from "
            "1 September 2024 to 31 August 2027') and China Fund News 23 Aug 2024 ('ending on August 31, "
            "2027'), agreeing with bonvision. Primary joint announcement not read.",
        ),
        Provision(
            date(2027, 9, 1),
            _chapter_18c(hkd(6 * BILLION), hkd(10 * BILLION), False, "Listing Rules 18C.03(3)"),
            "Reversion after the temporary modifications end on 31 Aug 2027 (Joint Announcement 23 Aug 2024)",
            "I",
            "Assumes no extension; the Exchange said it may review and consult before 31 Aug 2027.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# Chapter 18A (biotech) and Chapter 8A (weighted voting rights)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Chapter18A:
    market_cap_min: int
    same_business_years: int
    working_capital_coverage_min: Fraction
    rule: str


CHAPTER_18A: Schedule[Chapter18A] = Schedule(
    "listing.chapter_18a",
    (
        Provision(
            date(2018, 4, 30),
            Chapter18A(hkd(1_500 * MILLION), 2, pct(125), "Listing Rules 18A.03"),
            "Chapter 18A (biotech), effective 30 Apr 2018: market cap >= HK$1.5bn; >= 2 FYs in the same "
            "business under substantially the same management; working capital >= 125% of 12 months' "
            "costs; a Core Product beyond the concept stage; Charltons [S]; HKEX FAQ [P]",
            "S",
            "The 125% working-capital figure is secondary (reference notes 3.1).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class WeightedVotingRights:
    market_cap_alone_min: int
    market_cap_with_revenue_min: int
    revenue_min: int
    max_votes_per_share: int
    beneficiaries_economic_interest_min: Fraction
    rule: str


CHAPTER_8A: Schedule[WeightedVotingRights] = Schedule(
    "listing.chapter_8a",
    (
        Provision(
            date(2018, 4, 30),
            WeightedVotingRights(hkd(40 * BILLION), hkd(10 * BILLION), hkd(1 * BILLION), 10, pct(10), "Listing Rules 8A.06, 8A.10-8A.12"),
            "Chapter 8A effective 30 Apr 2018: 8A.06 market cap >= HK$40bn, or >= HK$10bn with revenue "
            ">= HK$1bn; 8A.10 at most 10 votes per WVR share; 8A.11 beneficiaries are directors; 8A.12 "
            "beneficiaries hold >= 10% economic interest (en-rules entiresection 5118, rulebook/8a12)",
            "P",
            "8A.06 read from the identical 19C.05 test, not from 8A.06 itself.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# Mainland (CSRC) filing, data review, application validity, TECH channel
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CsrcFiling:
    filing_deadline_working_days: int
    review_working_days: int
    indirect_domestic_share_above: Fraction
    complete_before: str  # the workflow step that needs the CSRC filing notice
    prohibited_circumstances: tuple[str, ...]
    rule: str


CSRC_FILING: Schedule[CsrcFiling] = Schedule(
    "listing.csrc_filing",
    (
        Provision(
            date(2023, 3, 31),
            CsrcFiling(
                filing_deadline_working_days=3,
                review_working_days=20,
                indirect_domestic_share_above=pct(50),
                complete_before="pass_hearing",
                prohibited_circumstances=(
                    "prohibited_by_law",
                    "national_security",
                    "recent_crime",
                    "under_investigation",
                    "ownership_dispute",
                ),
                rule="CSRC Trial Administrative Measures of Overseas Securities Offering and Listing (2023)",
            ),
            "CSRC Trial Measures, Announcement [2023] No. 43, effective 31 Mar 2023: file within 3 working "
            "days after submitting the overseas listing application (Han Kun, Dahui, Reed Smith [S]; "
            "confirmed with search: Dahui 'within three business days'); indirect-listing test > 50% of "
            "revenue/profit/assets/net assets plus mainland business or management (Art. 15); negative "
            "list (Art. 8, Reed Smith [S])",
            "S",
            "The 20-working-day CSRC review period was NOT confirmed: searches of the corpora found no "
            "copy of the article; kept as an indicative figure (grade I). Filing notice required before "
            "the HKEX hearing per market practice (chipo.hk [T]).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class DataReview:
    personal_information_users_threshold: int
    mandatory_for_hong_kong: bool
    rule: str


DATA_REVIEW: Schedule[DataReview] = Schedule(
    "listing.data_review",
    (
        Provision(
            date(2022, 2, 15),
            DataReview(1_000_000, False, "Cybersecurity Review Measures (2022) Art. 7, Art. 16"),
            "Cybersecurity Review Measures effective 15 Feb 2022: Art. 7 mandatory review for platform "
            "operators with personal information of > 1 million users listing 'abroad' (国外); Hong Kong "
            "is not 'abroad', but Art. 16 lets the authorities start a review (Yicai, SCMP, Han Kun [S])",
            "S",
            "Whether the Network Data Security Management Regulations (1 Jan 2025) kept an HK-listing clause is not confirmed.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class ApplicationValidity:
    months: int
    rule: str


APPLICATION_VALIDITY: Schedule[ApplicationValidity] = Schedule(
    "listing.application_validity",
    (
        Provision(
            date(1994, 1, 1),
            ApplicationValidity(6, "Listing Rules 9.03 (Form A1)"),
            "Listing Rules 9.03: a listing application (Form A1) is valid for six months; after that it "
            "lapses and a new Form A1 with the initial listing fee is needed to reactivate it",
            "T",
            "Checked with search: an older copy of Chapter 9 (docest.com) says that where more than six "
            "months have elapsed since the advance booking form the applicant forfeits the fee and must "
            "submit a new form. Current rule text not read.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class TechChannel:
    available: bool
    eligible_chapters: tuple[str, ...]
    confidential_filing: bool
    rule: str


TECH_CHANNEL: Schedule[TechChannel] = Schedule(
    "listing.tech_channel",
    (
        Provision(date(1994, 1, 1), TechChannel(False, (), False, "n/a"), "No TECH channel before 6 May 2025", "P"),
        Provision(
            date(2025, 5, 6),
            TechChannel(True, ("18C", "18A"), True, "SFC/SEHK joint announcement 6 May 2025 (TECH)"),
            "SFC/SEHK joint announcement of 6 May 2025: Technology Enterprises Channel for Specialist "
            "Technology (18C) and Biotech (18A) applicants, effective immediately; formally permits "
            "confidential filing",
            "S",
            "Verified with search: Norton Rose Fulbright ('By a joint announcement on 6 May 2025 ... "
            "These changes take effect immediately'); announced in the 26 Feb 2025 Budget (Reuters).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class StockNameMarkers:
    wvr: str
    pre_commercial: str
    biotech: str
    rule: str


STOCK_NAME_MARKERS: Schedule[StockNameMarkers] = Schedule(
    "listing.stock_name_markers",
    (
        Provision(
            date(2023, 3, 31),
            StockNameMarkers("W", "P", "B", "Listing Rules 8A.42 (W), 18A.05 (B), 18C (P)"),
            "Stock-name markers: 'W' for WVR issuers, 'B' for 18A biotech, 'P' for 18C pre-commercial "
            "(MiniMax prospectus 'MiniMax Group Inc. - W - P'; Xizhi 'XIZHI TECH-P') [P]",
            "P",
            "Rule numbers for the markers are from memory and not verified (grade I for the numbers).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class IndicativeTimetable:
    """Market-practice durations (not rules) used to show an indicative timetable, in XHKG
    business days; the FINI offer-to-listing steps are cited from the offering rulebook notes."""

    first_comments_business_days: int
    vetting_round_business_days: int
    expected_vetting_rounds: int
    hearing_to_launch_business_days: int
    launch_to_price_business_days: int


INDICATIVE_TIMETABLE: Schedule[IndicativeTimetable] = Schedule(
    "listing.indicative_timetable",
    (
        Provision(
            date(2015, 1, 1),
            IndicativeTimetable(20, 15, 2, 5, 5),
            "Market practice for vetting, hearing and launch (not rules); the offer-to-listing steps come "
            "from the offering rulebook's FINI schedule (lionrock.rules.offering.FINI) by price date",
            "I",
            "Vetting durations are indicative assumptions, shown as such in the timetable.",
        ),
    ),
)


__all__ = [
    "APPLICATION_VALIDITY",
    "CHAPTER_8A",
    "CHAPTER_18A",
    "CHAPTER_18C",
    "CSRC_FILING",
    "DATA_REVIEW",
    "INDICATIVE_TIMETABLE",
    "INITIAL_PUBLIC_FLOAT",
    "MAIN_BOARD_MCAP_REVENUE_CASH_FLOW_TEST",
    "MAIN_BOARD_MCAP_REVENUE_TEST",
    "MAIN_BOARD_MINIMUM_MARKET_CAP",
    "MAIN_BOARD_PROFIT_TEST",
    "STOCK_NAME_MARKERS",
    "TECH_CHANNEL",
    "ApplicationValidity",
    "Chapter18A",
    "Chapter18C",
    "CsrcFiling",
    "DataReview",
    "FloatTier",
    "Fraction",
    "IndicativeTimetable",
    "InitialPublicFloat",
    "MarketCapRevenueCashFlowTest",
    "MarketCapRevenueTest",
    "MinimumMarketCap",
    "ProfitTest",
    "SiiTier",
    "StockNameMarkers",
    "TechChannel",
    "WeightedVotingRights",
    "hkd",
    "pct",
]
