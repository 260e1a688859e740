"""IPO offering rules as effective-dated data: tranches and clawback, pools, pricing, options.

Ratios are exact `Rate` fractions; subscription-multiple thresholds are exact `Rate` multiples of
the initial public tranche (a waiver may set any threshold, e.g. 33.5 times); amounts are HKD minor
units (cents). Each `Provision` cites its source and grade (P primary, S secondary, T tertiary, I
inference from primary data); what was checked is written in the provision's ``note``. The rules
as practised, with the real deals that settle them, are in docs/offering.md ("Rules as practised"
and "Real deals").

Which schedule applies to an offering is decided by its **prospectus date** (the 2025 reform
applies to listing documents published on or after 4 August 2025), not by the listing date.

Rounding to board lots (settled from every allotment announcement found, docs/offering.md): the
public tranche, initial and after clawback, is its share of the shares initially offered rounded
**up** to a whole board lot; the offer size adjustment and over-allotment options round **down**.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from lionrock.kernel.money import Rate
from lionrock.rules._schedule import Provision, Schedule


def pct(text: str) -> Rate:
    """``pct("17.5")`` is 17.5% as an exact rate."""
    return Rate.parse(f"{text}%")


def times(text: str) -> Rate:
    """``times("15")`` is a subscription multiple of 15 as an exact rate (``times("33.5")`` too)."""
    return Rate.parse(text)


@dataclass(frozen=True, slots=True)
class ClawbackStep:
    """From ``min_multiple`` times the initial public tranche, the public tranche is ``public_share``
    of the shares initially offered. ``min_multiple`` is exact (waivers use fractional multiples)."""

    min_multiple: Rate
    public_share: Rate

    def reached(self, demand_shares: int, initial_public_shares: int) -> bool:
        """Demand of at least ``min_multiple`` x the initial public tranche (exact integers)."""
        m = self.min_multiple
        return demand_shares * m.denominator >= m.numerator * initial_public_shares


@dataclass(frozen=True, slots=True)
class ClawbackLadder:
    """Initial public tranche and the steps it rises by as the public offer is oversubscribed.

    ``fixed`` ladders (Mechanism B) have no steps: the issuer's chosen share stands whatever the
    demand. ``initial_min``/``initial_max`` bound what the issuer may choose for the initial share.
    """

    name: str
    initial_min: Rate
    initial_max: Rate
    steps: tuple[ClawbackStep, ...]
    fixed: bool
    rule: str

    def share_at(self, initial: Rate, demand_shares: int, initial_public_shares: int) -> tuple[Rate, str]:
        """The public share of the offer when ``demand_shares`` were validly applied for."""
        share, why = initial, "initial allocation"
        if self.fixed or initial_public_shares <= 0:
            return share, "fixed allocation, no clawback" if self.fixed else why
        for step in self.steps:
            if step.reached(demand_shares, initial_public_shares) and rate_gt(step.public_share, share):
                share, why = step.public_share, f"subscribed at least {multiple_text(step.min_multiple)} times"
        return share, why


def rate_gt(a: Rate, b: Rate) -> bool:
    return a.numerator * b.denominator > b.numerator * a.denominator


def multiple_text(m: Rate) -> str:
    """``15``, ``33.5``: a multiple as the rule states it."""
    whole, rest = divmod(m.numerator, m.denominator)
    if not rest:
        return str(whole)
    return str(Rate(m.numerator, m.denominator * 100)).removesuffix("%")


@dataclass(frozen=True, slots=True)
class PublicTrancheRegime:
    """The public-tranche mechanisms open to an issuer whose prospectus is dated in this period."""

    mechanisms: dict[str, ClawbackLadder]
    """Keyed ``"PN18"`` (single mandatory ladder), or ``"A"`` and ``"B"`` (issuer elects)."""
    default_mechanism: str
    bookbuilding_placing_min: Rate
    """Minimum share of the shares initially offered for the bookbuilding placing tranche (the
    placing other than cornerstones); zero where no such rule was in force."""
    bookbuilding_rule: str
    reallocation_max_public_multiple: int = 2
    """A discretionary reallocation from an undersubscribed placing (outside the clawback) may
    at most bring the public tranche to this multiple of its initial size."""
    reallocation_rule: str = (
        "HKEX Guidance Letter GL91-18: after a reallocation outside PN18 the public offer may be at most "
        "double its initial size (and the offer price is then fixed at the bottom of the range) "
        "[S: standard HK prospectus wording; the figure under the August 2025 regime is not confirmed]"
    )
    discretionary_reallocation_max_share: Rate = Rate(0, 1)
    """The allocation cap on a reallocation to the public offer at the coordinators' discretion with
    the placing covered (`OfferingSpec.reallocation`): the public offer after it holds at most this
    share of the shares initially offered. 0: the cap above (``reallocation_max_public_multiple``
    times the initial public tranche)."""
    discretionary_reallocation_rule: str = ""


ALLOCATION_CAP_2025_RULE = (
    "allocation cap on a reallocation outside the clawback: at most 15% of the shares initially offered to the "
    "public offer (HKEX consultation paper on IPO price discovery, Dec 2024: the allocation cap retained, its "
    "threshold lowered from 30% to 15% [S: JSM summary]; its adoption in the conclusions of 1 Aug 2025 not found; "
    "Tongshifu 0664, Mar 2026: 10% -> exactly 15.00% with the placing covered, rounded down to a lot [P])"
)

EMPLOYEE_PREFERENTIAL_MAX_SHARE = pct("10")
"""Employee reserved shares, all tranches together, as a share of the shares initially offered."""
EMPLOYEE_PREFERENTIAL_RULE = (
    "Listing Rule 10.01: securities offered to employees on a preferential basis, at most 10% of the securities "
    "offered [S: the announcements cite Rule 10.01 for their employee tranches (Longcheer 9611, Dtech 1377, Circuit "
    "Fabology 9630, Eastroc 9980); the rule's text was not read; Longcheer's 5,225,000 is 10% of its offer, Dtech's "
    "126,300 + 1,136,800 = 1,263,100 is under 10% of 12,632,000 [P]]"
)
RESERVED_OUT_OF_PUBLIC_RULE = (
    "employee reserved shares out of the Hong Kong public offer, their shortfall returned to it; the public offer's "
    "subscription level and largest application measured on it excluding them [P: Dtech 1377, allotment results "
    "8 Jul 2026, p.4, p.18-20, p.33: 126,300 = 10% of 1,263,200 rounded down; 354.64x and 568,400 on 1,136,900]"
)
RESERVED_IN_BOOKBUILDING_RULE = (
    "employee reserved shares placed within the international offering count toward the bookbuilding placing "
    "tranche (the placing tranche not taken up by cornerstone investors) [S: the Dec 2024 consultation paper's "
    "definition, JSM summary; I: Dtech 1377's placing other than cornerstones is 48.55% of the offer with its PRC "
    "employee reserved shares and 39.55% without them, and its announcement lists no waiver of the 40% (p.5 lists "
    "Rule 10.04 waivers and Appendix F1 para 1C(2) / Guide 4.15 consents only) [P]]; an assured entitlement's "
    "reserved shares are kept outside it (not observed)"
)


PN18_LADDER = ClawbackLadder(
    name="PN18",
    initial_min=pct("10"),
    initial_max=pct("100"),
    steps=(
        ClawbackStep(times("15"), pct("30")),
        ClawbackStep(times("50"), pct("40")),
        ClawbackStep(times("100"), pct("50")),
    ),
    fixed=False,
    rule="Listing Rules Practice Note 18 para 4.2 (pre-4 Aug 2025 text)",
)

MECHANISM_A = ClawbackLadder(
    name="Mechanism A",
    initial_min=pct("5"),
    initial_max=pct("5"),
    steps=(
        ClawbackStep(times("15"), pct("15")),
        ClawbackStep(times("50"), pct("25")),
        ClawbackStep(times("100"), pct("35")),
    ),
    fixed=False,
    rule="Listing Rules Practice Note 18 para 4.2 as amended 4 Aug 2025 (Mechanism A)",
)

MECHANISM_B = ClawbackLadder(
    name="Mechanism B",
    initial_min=pct("10"),
    initial_max=pct("60"),
    steps=(),
    fixed=True,
    rule="Listing Rules Practice Note 18 para 4.2 as amended 4 Aug 2025 (Mechanism B)",
)

CHAPTER_18C_LADDER = ClawbackLadder(
    name="Chapter 18C",
    initial_min=pct("5"),
    initial_max=pct("100"),
    steps=(
        ClawbackStep(times("10"), pct("10")),
        ClawbackStep(times("50"), pct("20")),
    ),
    fixed=False,
    rule="Listing Rules 18C.09 (modifying Practice Note 18 para 4.2)",
)

PUBLIC_TRANCHE_MAIN_BOARD: Schedule[PublicTrancheRegime] = Schedule(
    "offering.public_tranche.main_board",
    (
        Provision(
            date(1998, 6, 1),
            PublicTrancheRegime(
                mechanisms={"PN18": PN18_LADDER},
                default_mechanism="PN18",
                bookbuilding_placing_min=Rate(0, 1),
                bookbuilding_rule="none before 4 Aug 2025",
            ),
            source="Listing Rules PN18 para 4.2: initial >= 10%; 30% at 15x-<50x, 40% at 50x-<100x, "
            "50% at >= 100x of the initial public tranche. GEM PN6 para 4 has the same text, "
            "https://en-rules.hkex.com.hk/node/5098",
            grade="P",
            note="search (pages): GEM PN6 and a PN18 copy (studyres, marked 6/98) read; the 6/98 mark is "
            "the earliest version seen, used as effective_from. Applies to prospectuses dated before "
            "4 Aug 2025. Large offers often had waivers (e.g. 10/15/17.5/20%, HKEx-LD60-2; Horizon Robotics "
            "9660, Oct 2024: 10% -> about 15% at 33.83x where PN18 gives 30%; CATL 3750, May 2025: a fixed "
            "7.5% with no clawback [S]): give those explicitly in the offering file ([offering.waiver], any "
            "thresholds and shares).",
        ),
        Provision(
            date(2025, 8, 4),
            PublicTrancheRegime(
                mechanisms={"A": MECHANISM_A, "B": MECHANISM_B},
                default_mechanism="B",
                bookbuilding_placing_min=pct("40"),
                bookbuilding_rule="PN18 para 3.2 as amended 4 Aug 2025: >= 40% of the shares initially "
                "offered to the bookbuilding placing tranche (placees other than cornerstones)",
                discretionary_reallocation_max_share=pct("15"),
                discretionary_reallocation_rule=ALLOCATION_CAP_2025_RULE,
            ),
            source="HKEX conclusions 'Optimise IPO Price Discovery and Open Market Requirements', "
            "1 Aug 2025, effective for listing documents published on or after 4 Aug 2025 "
            "(AAFN wire copy http://113.28.163.59/en/mobile/news.aspx?newsid=NOW.1457935&newssource=AAFN; "
            "HK press copy of the HKEX release http://202.62.215.10/www/tc/news/topic_news_detail.php?"
            "category=financenews&newsid=159035&page=5: 'at least 40% of the shares initially proposed to be "
            "offered to the bookbuilding placing', 'Mechanism A or Mechanism B', Mechanism B '10% (up to 60%) "
            "and no clawback', Mechanism A maximum 35% at over 100 times)",
            grade="S",
            note="Mechanism B: 10%-60% fixed, no clawback [S], confirmed by outcomes [P]: OmniVision 0501 at "
            "9.28x, Muyuan 2714 at 5.88x, Longcheer 9611 at 1,149.76x, Keytop 2272 at 2,115.21x, Ridge "
            "Outdoor 2720 at 3,654.23x and TenNor 6872 at 9,015.11x all kept exactly their initial 10% "
            "(examples/deals). Mechanism A: 5% -> 15% / 25% / 35% at 15x / 50x / 100x [S, one secondary "
            "source for the thresholds: reportify.cn 1150485154360332288; the 35% cap also in the HK press "
            "copy]; one source gives 10x (etnet, 10 Oct 2025, which also misstates the old ladder); the one "
            "non-18C Mechanism A outcome found, AUX Electric 2580 (Sep 2025, 557.2x, 5% -> 35% of the offer "
            "including the exercised offer size adjustment option) [S], confirms the 5% start and the 35% top "
            "step but not the first threshold, and the amended PN18 para 4.2 text was not retrievable. Kept 15/50/100 "
            "as data; an offering file may give its own schedule ([offering.waiver]). Bookbuilding 40%: "
            "denominator the shares initially offered (before the options), cornerstones not counted [S]. "
            "Allocation cap on a discretionary reallocation with the placing covered: 15% of the shares initially "
            "offered [S, the Dec 2024 consultation's proposal; adoption not found], consistent with Tongshifu 0664 "
            "(10% -> 15.00%, 1,111,020 rounded down to 1,111,000) [P].",
        ),
    ),
)

PUBLIC_TRANCHE_18C: Schedule[PublicTrancheRegime] = Schedule(
    "offering.public_tranche.chapter_18c",
    (
        Provision(
            date(2023, 3, 31),
            PublicTrancheRegime(
                mechanisms={"18C": CHAPTER_18C_LADDER},
                default_mechanism="18C",
                bookbuilding_placing_min=Rate(0, 1),
                bookbuilding_rule="none before 4 Aug 2025",
            ),
            source="Listing Rules 18C.09: initial >= 5%; 10% at 10x-<50x; 20% at >= 50x",
            grade="S",
            note="EY Law Feb 2023 [S]; the 20% step confirmed by outcomes in allotment announcements "
            "(Transwarp 5% -> 20% at 73.86x; Xizhi 5% -> 20% at 5,784.70x) [P].",
        ),
        Provision(
            date(2025, 8, 4),
            PublicTrancheRegime(
                mechanisms={"18C": CHAPTER_18C_LADDER},
                default_mechanism="18C",
                bookbuilding_placing_min=Rate(0, 1),
                bookbuilding_rule="the 40% bookbuilding minimum of PN18 para 3.2 (4 Aug 2025) is not applied to "
                "Chapter 18C offerings in practice (MiniMax 0100: cornerstones 65.00% of the shares initially "
                "offered; Knowledge Atlas 2513: 68.63%; no bookbuilding waiver listed)",
            ),
            source="Listing Rules 18C.09 (unchanged after 4 Aug 2025; Mechanisms A/B do not apply to 18C): "
            "'the reallocation pursuant to Paragraph 4.2 of Practice Note 18 (as modified by Rule 18C.09) "
            "... representing 20% of the Offer Shares initially available' (an 18C allotment results "
            "announcement, 2026); 5% -> 20% outcomes: MiniMax 0100 at 1,837.17x, Knowledge Atlas 2513 at "
            "1,159.46x, Mech-Mind 9615 at 3,835.36x, Transwarp 6727 at 73.86x (examples/deals)",
            grade="P",
            note="20% at >= 50x: P (rule wording quoted in announcements and four outcomes). 10% at >= 10x: S "
            "(EY Law, Feb 2023); no 10x-50x 18C outcome was found. Bookbuilding minimum: I from P. The "
            "2025 conclusions say the 40% applies to the bookbuilding placing of 'issuers'; two 18C deals "
            "under the new regime (prospectuses 30 and 31 Dec 2025) had cornerstones at 65.00% and 68.63% "
            "of the shares initially offered with a 5% public tranche, so at most 30% / 26.4% for the "
            "bookbuilding placing, and their announcements list only waivers of Rule 10.04 and App. F1 "
            "para 1C: either 18C is outside the 40% rule or both deals held an unlisted waiver (not "
            "found which). The engine follows the outcomes: no bookbuilding minimum for 18C. "
            "(Superseded modelling: 40% from 4 Aug 2025, grade T, inferred from Transwarp's 18C.08 waiver "
            "condition 'no more than 40% ... to cornerstone investors', which real deals contradict.)",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class PoolRules:
    """PN18 para 3.1: the public tranche is split equally into pools A and B."""

    pool_a_max_amount_minor: int
    """Applications whose amount (at the maximum offer price, with brokerage and levies when
    ``amount_includes_charges``) is at most this go to pool A; larger ones to pool B."""
    amount_includes_charges: bool
    max_application_share_of_initial_public: Rate
    """No application may exceed this share of the initial public tranche (one pool's shares)."""
    reject_multiple_applications: bool
    reject_double_dipping: bool
    rule: str


POOLS: Schedule[PoolRules] = Schedule(
    "offering.pools",
    (
        Provision(
            date(1998, 6, 1),
            PoolRules(
                pool_a_max_amount_minor=5_000_000 * 100,
                amount_includes_charges=False,
                max_application_share_of_initial_public=pct("50"),
                reject_multiple_applications=True,
                reject_double_dipping=True,
                rule="Listing Rules PN18 para 3.1",
            ),
            source="PN18 para 3.1 / GEM PN6 para 3: pools A (HK$5m or less) and B split equally, surplus "
            "of an undersubscribed pool to the other, no application above the shares originally in "
            "one pool, multiple applications rejected; no double dipping per prospectuses (MiniMax "
            "'How to Apply')",
            grade="P",
            note="Whether HK$5m includes brokerage and levies is not in the rule text. As practised it "
            "excludes them [I from P]: Anker 0668 (allotment results, 30 Jun 2026, p.14-15) put its 50,000-share "
            "band in pool A at HK$99.32, HK$4,966,000 without charges and HK$5,016,089.56 with them, and no "
            "maximum price at or above the final one keeps it under HK$5m with charges; every other deal in "
            "examples/deals fits either reading (MiniMax's largest pool A band, HK$4,999,920.76 with charges, "
            "was read as inclusive until Anker). Modelled as exclusive. As practised [I from P, examples/deals]: the pools are the public "
            "tranche halved with pool A taking the odd lot (MiniMax 0100 2,538,940 / 2,538,920; Knowledge "
            "Atlas 2513 3,742,000 / 3,741,900; Ridge Outdoor 2720 1,410,500 / 1,410,000); the maximum "
            "application is half the initial public tranche rounded down to a board lot (Ridge Outdoor: "
            "2,820,500 / 2 = 1,410,250 -> 1,410,000 in lots of 500).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class ApplicationCharges:
    """Charges on top of the price on every IPO application (and on placees' allotments)."""

    brokerage: Rate
    sfc_levy: Rate
    trading_fee: Rate
    afrc_levy: Rate
    rule: str


APPLICATION_CHARGES: Schedule[ApplicationCharges] = Schedule(
    "offering.application_charges",
    (
        Provision(
            date(2015, 1, 1),
            ApplicationCharges(pct("1"), pct("0.0027"), pct("0.005"), Rate(0, 1), "prospectus charges 2015"),
            source="HKEX fee page: SFC levy 0.0027% from 1 Nov 2014, trading fee 0.005%; brokerage 1% on IPO applications",
            grade="P",
        ),
        Provision(
            date(2022, 1, 1),
            ApplicationCharges(pct("1"), pct("0.0027"), pct("0.005"), pct("0.00015"), "prospectus charges 2022"),
            source="HKEX fee page: FRC (now AFRC) transaction levy 0.00015% from 1 Jan 2022",
            grade="P",
        ),
        Provision(
            date(2023, 1, 1),
            ApplicationCharges(pct("1"), pct("0.0027"), pct("0.00565"), pct("0.00015"), "prospectus charges 2023"),
            source="HKEX news 1 Nov 2022: trading fee 0.00565% from 1 Jan 2023; MiniMax, Transwarp and "
            "Xizhi covers: 'brokerage of 1.0%, SFC transaction levy of 0.0027%, Stock Exchange trading "
            "fee of 0.00565% and AFRC transaction levy of 0.00015%' (x 1.010085)",
            grade="P",
            note="Each charge is rounded to the cent separately (MiniMax: 20 shares at HK$165 -> HK$3,333.28).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class PricingRules:
    range_top_over_bottom_max: Rate
    """The top of the indicative range may be at most this much above the bottom (for the
    downward flexibility to be available)."""
    downward_flexibility_max: Rate
    """The final price may be set this far below the bottom of the range without withdrawal."""
    upward_flexibility: bool
    rule: str
    price_deadline: time = time(12, 0)
    """The offering lapses unless the price is agreed by this Hong Kong time on the price
    determination date (prospectus terms across HK IPOs; docs/rules.md section 5)."""


PRICING: Schedule[PricingRules] = Schedule(
    "offering.pricing",
    (
        Provision(
            date(2018, 2, 2),
            PricingRules(pct("30"), pct("10"), False, "HKEX Guidance Letter GL90-18 / news release 2 Feb 2018"),
            source="HKEX news release 2 Feb 2018, http://www.hkex.com.hk/News/News-Release/2018/1802022news: "
            "final price up to 10% below the bottom of the range without withdrawal, provided the top "
            "is at most 30% above the bottom",
            grade="P",
            note="Upward flexibility was proposed in Dec 2024 and not adopted (Aug 2025 conclusions) [S].",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class OptionRules:
    offer_size_adjustment_max: Rate
    over_allotment_max: Rate
    stabilisation_days_after_application_close: int
    cornerstone_lockup_months: int
    rule: str


OPTIONS: Schedule[OptionRules] = Schedule(
    "offering.options",
    (
        Provision(
            date(2015, 1, 1),
            OptionRules(pct("15"), pct("15"), 30, 6, "market practice; SFC Price Stabilizing Rules Cap. 571W"),
            source="Offer size adjustment 15% and over-allotment 15% of the offer shares (MiniMax OSAO "
            "3,808,380 / 25,389,220 = 15.00%; Xizhi over-allocation 15.00%); stabilisation ends 30 days "
            "after the last day for lodging public applications (Cap. 571W; Xizhi announcement); "
            "cornerstone lock-up 6 months (retained in the Aug 2025 conclusions)",
            grade="I",
            note="The 15% caps are confirmed arithmetically from filings, not from rule text. As practised "
            "(examples/deals) [P outcomes]: the offer size adjustment goes to the international offering in "
            "every announcement found (MiniMax 0100 'Public Offer 0 / International Offer 3,808,380'; TenNor "
            "6872 partial 6.95% 'Hong Kong Public Offering N/A'); the clawback percentage applies to the shares "
            "initially offered, before the option (MiniMax 5,077,860 = 20% of the 25,389,220 initially "
            "offered, 17.4% of the enlarged offer); over-allotment is up to 15% of the offer after the "
            "adjustment option, rounded down to a board lot (Mech-Mind 9615 3,471,088.5 -> 3,471,060; Muyuan "
            "2714 41,092,710 -> 41,092,700; Longcheer 9611 7,838,865 -> 7,838,800).",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Chapter18COfferingRules:
    independent_price_setting_min: Rate
    """Share of the offer shares (excluding OSAO and over-allotment) that independent
    price-setting investors must take up in the placing, cornerstones included."""
    rule: str


CHAPTER_18C_OFFERING: Schedule[Chapter18COfferingRules] = Schedule(
    "offering.chapter_18c",
    (
        Provision(
            date(2023, 3, 31),
            Chapter18COfferingRules(pct("50"), "Listing Rules 18C.08"),
            source="Rule 18C.08, https://sc.hkex.com.hk/TuniS/cn-rules.hkex.com.hk/%E8%A6%8F%E5%89%87%E6%89%8B%E5%86%8A/18c08",
            grade="P",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class FiniTimetable:
    """FINI: T is the price determination date."""

    public_offer_close_days_before_pricing: int
    results_days_after_pricing: int
    listing_days_after_pricing: int
    rule: str
    public_offer_close_time: time = time(12, 0)
    """The application lists close at this Hong Kong time on the close day (prospectuses: "the
    application lists will close at 12:00 noon"); closing the public offer earlier is refused."""


FINI: Schedule[FiniTimetable] = Schedule(
    "offering.fini",
    (
        Provision(
            date(2015, 1, 1),
            FiniTimetable(1, 4, 5, "pre-FINI CCASS timetable (T+5)"),
            source="FINI conclusions 2021: time from price fixing to trading was T+5 before FINI",
            grade="S",
        ),
        Provision(
            date(2023, 11, 22),
            FiniTimetable(1, 1, 2, "FINI (T+2)"),
            source="FINI live 22 Nov 2023 (Global Exchanges 27 Sep 2023); EY Law Dec 2022 timetable: public "
            "offer closes T-1 12:00, results T+1 23:00, trading T+2 09:00; MiniMax prospectus",
            grade="S",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class PublicFloatRules:
    public_float_min: Rate
    """Minimum share of the issued shares held by the public at listing."""
    rule: str
    free_float_rule: str
    """The free float (public shares not subject to disposal restrictions) is reported against
    this rule; its threshold is not in the rulebook (not found in the deal research)."""


PUBLIC_FLOAT: Schedule[PublicFloatRules] = Schedule(
    "offering.public_float",
    (
        Provision(
            date(2023, 1, 1),
            PublicFloatRules(pct("25"), "Listing Rules 8.08(1)", "Listing Rules 8.08A"),
            source="Rule 8.08(1); Ridge Outdoor 2720 allotment results (Feb 2026, code index id 70275748646 p.12): public float "
            "33,435,000 shares = 26.08% against the 25% minimum, cornerstone shares (12-month lock-up) excluded from the free "
            "float under Rule 8.08A. Lower thresholds for large issuers and for H shares (Rule 19A.13A) are not modelled.",
            grade="P",
        ),
    ),
)

__all__ = [
    "ALLOCATION_CAP_2025_RULE",
    "EMPLOYEE_PREFERENTIAL_MAX_SHARE",
    "EMPLOYEE_PREFERENTIAL_RULE",
    "RESERVED_IN_BOOKBUILDING_RULE",
    "RESERVED_OUT_OF_PUBLIC_RULE",
    "APPLICATION_CHARGES",
    "CHAPTER_18C_LADDER",
    "CHAPTER_18C_OFFERING",
    "FINI",
    "MECHANISM_A",
    "MECHANISM_B",
    "OPTIONS",
    "PN18_LADDER",
    "POOLS",
    "PRICING",
    "PUBLIC_FLOAT",
    "PublicFloatRules",
    "PUBLIC_TRANCHE_18C",
    "PUBLIC_TRANCHE_MAIN_BOARD",
    "ApplicationCharges",
    "Chapter18COfferingRules",
    "ClawbackLadder",
    "ClawbackStep",
    "FiniTimetable",
    "OptionRules",
    "PoolRules",
    "PricingRules",
    "PublicTrancheRegime",
    "multiple_text",
    "pct",
    "rate_gt",
    "times",
]
