"""Clearing rules as effective-dated data: stamp duty, trading fee, levies, settlement fee, T+2, buy-in.

Every charge is an ad-valorem `Rate` on the consideration with the rounding the rule (or the
industry convention, where the rule is silent) prescribes; amounts are HKD minor units (cents).
What was checked with the search corpora while building this module is in each provision's
``note`` (grades: P primary, S secondary, T tertiary, I inference).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from lionrock.kernel.money import Rate, Rounding, round_div
from lionrock.rules._schedule import Provision, Schedule

CENT = 1
DOLLAR = 100


@dataclass(frozen=True, slots=True)
class AdValoremCharge:
    """``consideration × rate`` rounded by ``rounding`` to a multiple of ``unit_minor``, then
    clamped to ``[minimum_minor, maximum_minor]`` (0 means no bound)."""

    rate: Rate
    rounding: Rounding
    unit_minor: int
    minimum_minor: int = 0
    maximum_minor: int = 0
    rule: str = ""

    def charge(self, consideration_minor: int) -> int:
        if self.rate.numerator == 0 or consideration_minor <= 0:
            return 0
        amount = (
            round_div(consideration_minor * self.rate.numerator, self.rate.denominator * self.unit_minor, self.rounding) * self.unit_minor
        )
        if self.minimum_minor and amount < self.minimum_minor:
            amount = self.minimum_minor
        if self.maximum_minor and amount > self.maximum_minor:
            amount = self.maximum_minor
        return amount


def _pct(text: str) -> Rate:
    return Rate.parse(text)


# --------------------------------------------------------------------------------------------
# Stamp duty (Stamp Duty Ordinance Cap. 117, First Schedule head 2(1)): per side, on each
# contract note, rounded up to the whole HK$.
# --------------------------------------------------------------------------------------------
STAMP_DUTY: Schedule[AdValoremCharge] = Schedule(
    "clearing.stamp_duty",
    (
        Provision(
            date(2001, 1, 1),
            AdValoremCharge(_pct("0.1%"), Rounding.UP, DOLLAR, rule="Cap. 117 First Schedule head 2(1)"),
            "Stamp Duty Ordinance (Cap. 117) head 2(1): 0.1% of the consideration per contract note "
            "(bought and sold notes), before the 2021 increase",
            "S",
            "Start date is the rulebook's placeholder for 'long-standing before 1 Aug 2021' "
            "(lff.com.hk / risp-playground: 'the rate was increased in 2021 from 0.1% to 0.13%').",
        ),
        Provision(
            date(2021, 8, 1),
            AdValoremCharge(_pct("0.13%"), Rounding.UP, DOLLAR, rule="Cap. 117 head 2(1) as amended 2021"),
            "IRD, Budget 2021/22 stamp duty page (ird.gov.hk/eng/tax/budget2021_sd.htm): 0.13% on every "
            "sold note or bought note with effect from 1 August 2021",
            "P",
            "Verified with search (ird.gov.hk, lctax.com.hk).",
        ),
        Provision(
            date(2023, 11, 17),
            AdValoremCharge(_pct("0.1%"), Rounding.UP, DOLLAR, rule="Stamp Duty (Amendment) (Stock Transfers) Ordinance 2023"),
            "Stamp Duty (Amendment) (Stock Transfers) Ordinance 2023, in operation 17 Nov 2023: 0.13% -> "
            "0.1% payable by each of buyer and seller (Deloitte HK Tax Newsflash 17 Nov 2023; HKEX "
            "circular CT/152/23)",
            "S",
            "Rounding verified: HKEX RMB FAQ (Trading of RMB Products), 'as confirmed by Inland Revenue "
            "Department ... converted into HK dollar before applying the stamp duty rate. The stamp duty "
            "derived therefrom should then be rounded up to the nearest HK$1' (RMB10,000 @1.171 -> "
            "HK$11.71 -> HK$12). Applies per side per trade here (one contract note per trade).",
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# SEHK trading fee, SFC transaction levy, AFRC transaction levy: per side, nearest cent.
# --------------------------------------------------------------------------------------------
TRADING_FEE: Schedule[AdValoremCharge] = Schedule(
    "clearing.trading_fee",
    (
        Provision(
            date(2001, 4, 6),
            AdValoremCharge(_pct("0.005%"), Rounding.HALF_UP, CENT, rule="SEHK trading fee"),
            "HKEX 4 Apr 2001: SEHK trading fee introduced at 0.005% per side of the consideration "
            "(replacing SEHK's share of the transaction levy)",
            "S",
            "Verified with search (mondovisione.com quoting the HKEX release). The HK$0.50 per-trade "
            "trading tariff (charged to participants, abolished 1 Jan 2023) is not modelled.",
        ),
        Provision(
            date(2023, 1, 1),
            AdValoremCharge(_pct("0.00565%"), Rounding.HALF_UP, CENT, rule="SEHK trading fee"),
            "HKEX news 1 Nov 2022: trading fee 0.00565% from 1 Jan 2023; trading tariff abolished",
            "P",
            "Rounding to the nearest cent per broker convention, docs/rules.md section 7 [T].",
        ),
    ),
)

SFC_LEVY: Schedule[AdValoremCharge] = Schedule(
    "clearing.sfc_levy",
    (
        Provision(
            date(2010, 10, 1),
            AdValoremCharge(_pct("0.003%"), Rounding.HALF_UP, CENT, rule="Securities and Futures (Levy) Order"),
            "Securities and Futures (Levy) (Amendment) Order 2010: 0.004% -> 0.003% from 1 Oct 2010",
            "S",
            "Verified with search (asiaetrading.com quoting the SFC).",
        ),
        Provision(
            date(2014, 11, 1),
            AdValoremCharge(_pct("0.0027%"), Rounding.HALF_UP, CENT, rule="Securities and Futures (Levy) (Amendment) Order 2014"),
            "Securities and Futures (Levy) (Amendment) Order 2014: 0.003% -> 0.0027% per side, effective "
            "1 Nov 2014; HKEX transaction fee page",
            "S",
            "Verified with search (M2 PressWIRE, 6 Jun 2014: 'would take effect from November 1').",
        ),
    ),
)

AFRC_LEVY: Schedule[AdValoremCharge] = Schedule(
    "clearing.afrc_levy",
    (
        Provision(
            date(2001, 1, 1),
            AdValoremCharge(_pct("0%"), Rounding.HALF_UP, CENT, rule="no FRC/AFRC levy"),
            "No FRC transaction levy before 1 Jan 2022",
            "S",
        ),
        Provision(
            date(2022, 1, 1),
            AdValoremCharge(_pct("0.00015%"), Rounding.HALF_UP, CENT, rule="AFRC transaction levy"),
            "HKEX transaction fee page: FRC (now AFRC) transaction levy 0.00015% per side from 1 Jan 2022",
            "P",
            "Per SFC and AFRC levy rules, docs/rules.md section 7 [P]; the FRC was renamed AFRC on 1 Oct 2022 (same levy).",
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# HKSCC stock settlement fee (CCASS Operational Procedures s.21): per side per trade.
# --------------------------------------------------------------------------------------------
SETTLEMENT_FEE: Schedule[AdValoremCharge] = Schedule(
    "clearing.settlement_fee",
    (
        Provision(
            date(2001, 1, 1),
            AdValoremCharge(_pct("0.002%"), Rounding.HALF_UP, CENT, 2 * DOLLAR, 100 * DOLLAR, rule="CCASS OP s.21 stock settlement fee"),
            "HKEX operational fee page (updated 22 Nov 2023): stock settlement fee, exchange trade, "
            "0.002% of gross value, minimum HK$2, maximum HK$100 per side per trade",
            "P",
            "Verified with search (hkex.com.hk Clearing-and-Settlement/Operational). Crossed trades "
            "(0.001%, HK$1-50) are not distinguished.",
        ),
        Provision(
            date(2025, 6, 30),
            AdValoremCharge(_pct("0.0042%"), Rounding.HALF_UP, CENT, rule="CCASS OP s.21 as amended 30 Jun 2025"),
            "HKEX 21 Feb 2025 (Xinhua via People's Daily 22 Feb 2025): minimum and maximum removed, ad "
            "valorem rate 0.42 bp per trade; in force 30 Jun 2025 (PANews via MEXC, 30 Jun 2025)",
            "S",
            "Verified with search: no minimum or maximum from 30 Jun 2025, 'still charged on both the "
            "buying and selling sides'. Rounding to the cent is an inference [I].",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SettlementCycle:
    """Exchange trades settle on T + ``business_days`` in CNS; an unsettled short stock position
    becomes due for buy-in ``buy_in_after_business_days`` after the due day."""

    business_days: int
    buy_in_after_business_days: int
    rule: str


SETTLEMENT_CYCLE: Schedule[SettlementCycle] = Schedule(
    "clearing.settlement_cycle",
    (
        Provision(
            date(2001, 1, 1),
            SettlementCycle(2, 1, "CCASS General Rules ch.10; CNS T+2"),
            "HKEX Settlement page: 'Stock and money positions of all Exchange Trades ... are required to "
            "be settled on T+2'; CNS nets and carries unsettled positions forward (Clearstream HK "
            "settlement process)",
            "P",
            "Buy-in on T+3 of a short position unsettled at the end of T+2: trade forum citing the CCASS "
            "CNS rules ('compulsory buy in on T3') [T]; recorded as a follow-up, not executed.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class FeeCollectors:
    """Which account collects each charge (the cross-context contract's ``F:`` accounts)."""

    stamp_duty: str
    trading_fee: str
    sfc_levy: str
    afrc_levy: str
    settlement_fee: str


FEE_COLLECTORS = FeeCollectors(
    stamp_duty="F:STAMP",
    trading_fee="F:HKEX",
    sfc_levy="F:SFC",
    afrc_levy="F:AFRC",
    settlement_fee="F:HKSCC",
)


@dataclass(frozen=True, slots=True)
class TradeCharge:
    collector: str
    amount_minor: int


@lru_cache(maxsize=4096)
def charges_in_force(on: date) -> tuple[tuple[str, AdValoremCharge], ...]:
    """Every charge one side of an exchange trade pays on ``on``, as (collector, charge), in the
    order `trade_charges` lists them (the schedules are constant: looked up once per day)."""
    return (
        (FEE_COLLECTORS.stamp_duty, STAMP_DUTY.in_force(on)),
        (FEE_COLLECTORS.trading_fee, TRADING_FEE.in_force(on)),
        (FEE_COLLECTORS.sfc_levy, SFC_LEVY.in_force(on)),
        (FEE_COLLECTORS.afrc_levy, AFRC_LEVY.in_force(on)),
        (FEE_COLLECTORS.settlement_fee, SETTLEMENT_FEE.in_force(on)),
    )


def trade_charges(consideration_hkd_minor: int, on: date) -> list[TradeCharge]:
    """Every charge one side of an exchange trade pays on ``on``, in HKD minor units."""
    charges = [TradeCharge(collector, charge.charge(consideration_hkd_minor)) for collector, charge in charges_in_force(on)]
    return [c for c in charges if c.amount_minor > 0]


__all__ = [
    "AFRC_LEVY",
    "FEE_COLLECTORS",
    "SETTLEMENT_CYCLE",
    "SETTLEMENT_FEE",
    "SFC_LEVY",
    "STAMP_DUTY",
    "TRADING_FEE",
    "AdValoremCharge",
    "FeeCollectors",
    "SettlementCycle",
    "TradeCharge",
    "charges_in_force",
    "trade_charges",
]
