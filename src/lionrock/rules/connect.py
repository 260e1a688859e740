"""Stock Connect southbound rules as effective-dated data: links, daily quota, eligibility, investors.

Amounts: the quota and the investor threshold are CNY minor units (fen); market-cap thresholds are
HKD minor units (cents). What was checked with the search corpora is in each provision's ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from lionrock.rules._schedule import Provision, Schedule

FEN_PER_YUAN = 100
CENTS_PER_HKD = 100
BILLION = 1_000_000_000

SH = "SH"
SZ = "SZ"


@dataclass(frozen=True, slots=True)
class SouthboundLinks:
    links: tuple[str, ...]
    rule: str


SOUTHBOUND_LINKS: Schedule[SouthboundLinks] = Schedule(
    "connect.southbound_links",
    (
        Provision(
            date(2014, 11, 17),
            SouthboundLinks((SH,), "Shanghai-Hong Kong Stock Connect"),
            "SFC/CSRC joint announcement 10 Nov 2014: Shanghai-Hong Kong Stock Connect from 17 Nov 2014",
            "S",
        ),
        Provision(
            date(2016, 12, 5),
            SouthboundLinks((SH, SZ), "Shanghai- and Shenzhen-Hong Kong Stock Connect"),
            "SFC/CSRC joint announcement 25 Nov 2016: Shenzhen-Hong Kong Stock Connect from 5 Dec 2016",
            "S",
            "Launch dates as cited by the SFC 11 Apr 2018 release (notes 1) [S].",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SouthboundQuota:
    """Daily quota per southbound link, reset each day, no carry-over. Balance = quota - buy orders
    + sell trades + adjustments (cancelled / rejected buy orders, buys filled at a better price).
    Once the balance is zero or below in continuous trading, buy orders are rejected for the rest
    of the day; in the opening call auction, buying resumes if cancellations restore the balance."""

    daily_quota_cny_minor: int
    rule: str


SOUTHBOUND_DAILY_QUOTA: Schedule[SouthboundQuota] = Schedule(
    "connect.southbound_daily_quota",
    (
        Provision(
            date(2014, 11, 17),
            SouthboundQuota(10_500_000_000 * FEN_PER_YUAN, "Stock Connect daily quota (southbound RMB 10.5bn)"),
            "Southbound daily quota RMB 10.5bn per link at launch",
            "S",
            "Verified with search: pionline 11 Apr 2018 ('southbound ... to 42 billion renminbi from "
            "10.5 billion'); xfafinance 2015 ('10.5 billion yuan daily quota').",
        ),
        Provision(
            date(2018, 5, 1),
            SouthboundQuota(42 * BILLION * FEN_PER_YUAN, "SFC/CSRC joint announcement 11 Apr 2018"),
            "SFC news 18PR39, 11 Apr 2018: 'the new daily quota for each of the southbound trading links "
            "will be RMB42 billion with effect from 1 May 2018'",
            "P",
            "Verified with search (sfc.hk 18PR39). Quota formula and exhaustion behaviour: HKEX 2014 "
            "release / boom.com [T] per docs/rules.md section 8.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SouthboundEligibility:
    """Which SEHK shares a southbound link may buy (others are at most sell-only)."""

    size_indexes: tuple[str, ...]
    """Hang Seng Composite size indexes whose constituents are eligible outright."""
    smallcap_index: str
    smallcap_min_market_cap_hkd_minor: int
    """A SmallCap constituent qualifies with (12-month average) market cap at or above this."""
    smallcap_links: tuple[str, ...]
    """Links on which the SmallCap rule applies."""
    ah_links_by_a_exchange: tuple[tuple[str, str], ...]
    """(A-share exchange, link): H shares of A+H companies are eligible on the link of the
    exchange where the A shares list (unless the A shares are under risk alert)."""
    foreign_companies: bool
    """Whether international companies primary-listed in Hong Kong may be eligible."""
    ah_new_listing_wait_days: int
    """A new A+H listing's H shares join after the price stabilisation period (calendar days)."""
    fast_entry_top_percent: int
    """A new listing whose day-1 market cap ranks within this top percentage of the HSCI
    constituents (by count, ranked by market cap) fast-enters; 0: no fast entry."""
    fast_entry_trading_days: int
    """... after the close of this many trading days (effective the next trading day)."""
    trading_currency: str
    rule: str


_SB_2016 = SouthboundEligibility(
    size_indexes=("HSLI", "HSMI"),
    smallcap_index="HSSI",
    smallcap_min_market_cap_hkd_minor=5 * BILLION * CENTS_PER_HKD,
    smallcap_links=(SZ,),
    ah_links_by_a_exchange=(("SSE", SH), ("SZSE", SZ)),
    foreign_companies=False,
    ah_new_listing_wait_days=30,
    fast_entry_top_percent=0,
    fast_entry_trading_days=10,
    trading_currency="HKD",
    rule="SSE/SZSE southbound implementation rules (HSCI-based scope)",
)

SOUTHBOUND_ELIGIBILITY: Schedule[SouthboundEligibility] = Schedule(
    "connect.southbound_eligibility",
    (
        Provision(
            date(2016, 12, 5),
            _SB_2016,
            "Shenzhen Connect launch scope (etfexpress 3 Jan 2017): HSLI and HSMI constituents, HSSI "
            "constituents with market cap >= HK$5bn, and H shares of A+H companies; Shanghai southbound "
            "scope without the SmallCap rule (HKEX release 19 Dec 2022: SH 'will be expanded to include "
            "constituents of the HSSI with a market capitalisation of HK$5 billion or above')",
            "S",
            "Verified with search (etfexpress.com, hkex.com.hk 2212192news). Exclusions: non-HKD shares, "
            "H shares whose A shares are under risk alert (pitchsend deck of the SSE rules) [T]. "
            "Market cap is the 12-month average (futunn 2020) [T]. A+H new listings after the "
            "stabilisation period (CICC via AAFN) [T].",
        ),
        Provision(
            date(2020, 11, 1),
            replace(_SB_2016, fast_entry_top_percent=10),
            "Hang Seng Indexes fast entry (Nov 2020): a new listing whose market cap after its first "
            "trading day ranks within the top 10% of the HSCI constituents joins the HSCI (and so the "
            "southbound scope) after the close of its 10th trading day",
            "T",
            "Search: Straits Times/Bloomberg, Nov 2020 (fast entry introduced); CICC preview of the Aug "
            "2024 review (via reportify.ai): 'new listings can be included in the index if they rank "
            "within the top 10% of total market capitalization after their first trading day'. The "
            "reading 'top 10% of constituents by rank' and the 1 Nov 2020 start are inferences [I].",
        ),
        Provision(
            date(2023, 3, 13),
            replace(_SB_2016, fast_entry_top_percent=10, smallcap_links=(SH, SZ), foreign_companies=True),
            "SFC/CSRC joint announcement 19 Dec 2022, effective 13 Mar 2023: international companies "
            "primary-listed in Hong Kong included; Shanghai southbound scope aligned with Shenzhen "
            "(HSSI >= HK$5bn)",
            "S",
            "Verified with search (hkex.com.hk 2212192news; conventuslaw/Deacons: 'Effective from 13 March 2023').",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SouthboundInvestorRule:
    individual_min_assets_cny_minor: int
    rule: str


SOUTHBOUND_INVESTORS: Schedule[SouthboundInvestorRule] = Schedule(
    "connect.southbound_investors",
    (
        Provision(
            date(2014, 11, 17),
            SouthboundInvestorRule(500_000 * FEN_PER_YUAN, "SSE/SZSE southbound investor suitability"),
            "Mainland individual investors need a balance of not less than RMB 500,000 in their "
            "securities and cash accounts; institutions are eligible",
            "T",
            "Verified with search: SSE Stock Connect investor deck ('Holding a balance of not less "
            "than RMB 500,000 in their securities & cash accounts') [T].",
        ),
    ),
)


__all__ = [
    "SH",
    "SOUTHBOUND_DAILY_QUOTA",
    "SOUTHBOUND_ELIGIBILITY",
    "SOUTHBOUND_INVESTORS",
    "SOUTHBOUND_LINKS",
    "SZ",
    "SouthboundEligibility",
    "SouthboundInvestorRule",
    "SouthboundLinks",
    "SouthboundQuota",
]
