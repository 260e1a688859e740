"""Builders for listing tests: a baseline issuer profile in HKD cents, easy to vary."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from lionrock.kernel.money import Rate
from lionrock.listing.commands import (
    Continuity,
    FinancialYear,
    FundingInvestor,
    FundingRound,
    IssuerProfile,
    MainlandFacts,
    OfferingPlan,
)

M = 100 * 1_000_000  # HK$1m in cents
BN = 1_000 * M


def year(end: date, **kw: Any) -> FinancialYear:
    base: dict[str, Any] = dict(
        year_end=end,
        revenue=600 * M,
        specialist_technology_revenue=600 * M,
        profit_attributable=50 * M,
        operating_cash_flow=60 * M,
        rd_expense=100 * M,
        total_operating_expenses=400 * M,
    )
    base.update(kw)
    return FinancialYear(**base)


def years(*, ends: tuple[int, int, int] = (2023, 2024, 2025), **kw: Any) -> list[FinancialYear]:
    return [year(date(y, 12, 31), **kw) for y in ends]


def profile(**kw: Any) -> IssuerProfile:
    """A profitable AI issuer that passes every Main Board test and 18C commercial on 2026-03-02."""
    base: dict[str, Any] = dict(
        issuer_id="TEST",
        name="Test AI Co",
        sub_sector="testing AI",
        industry="next-generation information technology",
        sector="artificial intelligence",
        structure="direct",
        incorporated_in="PRC",
        financial_years=years(),
        continuity=Continuity(management_years=3, ownership_control_years=1),
        offering=OfferingPlan(expected_market_cap=10 * BN, planned_offering_size=1 * BN, board_lot=100),
        mainland=MainlandFacts(
            domestic_revenue_share=Rate(1, 1),
            domestic_profit_share=Rate(1, 1),
            domestic_total_assets_share=Rate(1, 1),
            domestic_net_assets_share=Rate(1, 1),
            main_business_in_mainland=True,
            senior_managers_mainland=True,
        ),
        funding_rounds=[
            FundingRound(
                on=date(2022, 1, 10),
                name="Series A",
                currency="HKD",
                amount_raised=500 * M,
                amount_raised_hkd=500 * M,
                post_money_valuation=3 * BN,
                post_money_valuation_hkd=3 * BN,
                investors=[
                    FundingInvestor(name="SII One", stake=Rate(15, 100), sophisticated_independent=True),
                    FundingInvestor(name="SII Two", stake=Rate(15, 100), sophisticated_independent=True),
                ],
            ),
        ],
    )
    base.update(kw)
    return IssuerProfile(**base)


def with_offering(p: IssuerProfile, **kw: Any) -> IssuerProfile:
    return msgspec.structs.replace(p, offering=msgspec.structs.replace(p.offering, **kw))


def with_latest_year(p: IssuerProfile, **kw: Any) -> IssuerProfile:
    fys = list(p.financial_years)
    fys[-1] = msgspec.structs.replace(fys[-1], **kw)
    return msgspec.structs.replace(p, financial_years=fys)


ON = date(2026, 3, 2)
