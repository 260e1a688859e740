"""Issuer profiles: the cross-field checks and the figures derived from a profile (pure).

Reading a profile file (TOML or JSON) and turning its text into an `IssuerProfile` is the edge's
work: `lionrock.files.profiles`. What stays here runs on the profile itself: `check_profile`, run by
the file reader and again by the context on `SubmitIssuerProfile`, and the derived figures the
simulator uses.
"""

from __future__ import annotations

from lionrock.kernel.errors import LionRockError
from lionrock.kernel.money import Rate
from lionrock.listing.commands import FundingRound, IssuerProfile

STRUCTURES = ("direct", "vie", "offshore")
MAX_FINANCIAL_YEARS = 10
MAX_FUNDING_ROUNDS = 50
MAX_INVESTORS_PER_ROUND = 200


class ProfileError(LionRockError, ValueError):
    """An invalid profile; ``field`` is the dotted path of the offending entry."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _check_fraction(rate: Rate, field: str) -> None:
    if rate.numerator > rate.denominator:
        raise ProfileError(field, f"{rate} is more than 100%")


def check_profile(profile: IssuerProfile) -> None:
    """Cross-field checks, run at the edge and again by the context on `SubmitIssuerProfile`."""
    ends = [fy.year_end for fy in profile.financial_years]
    for i in range(1, len(ends)):
        if ends[i] <= ends[i - 1]:
            raise ProfileError(f"financial_years[{i}].year_end", f"{ends[i]} is not after {ends[i - 1]}: list years oldest first")
    for i, fy in enumerate(profile.financial_years):
        path = f"financial_years[{i}]"
        for name in ("revenue", "specialist_technology_revenue", "rd_expense", "total_operating_expenses"):
            if getattr(fy, name) < 0:
                raise ProfileError(f"{path}.{name}", "must not be negative")
        if fy.specialist_technology_revenue > fy.revenue:
            raise ProfileError(f"{path}.specialist_technology_revenue", "exceeds total revenue")
        if fy.rd_expense > fy.total_operating_expenses:
            raise ProfileError(f"{path}.rd_expense", "exceeds total_operating_expenses (R&D is part of operating expenses)")
    off = profile.offering
    if off.expected_market_cap <= 0:
        raise ProfileError("offering.expected_market_cap", "must be positive")
    if not 0 < off.planned_offering_size <= off.expected_market_cap:
        raise ProfileError("offering.planned_offering_size", "must be positive and not above expected_market_cap")
    if off.board_lot <= 0:
        raise ProfileError("offering.board_lot", "must be positive")
    if off.planned_public_float is not None:
        _check_fraction(off.planned_public_float, "offering.planned_public_float")
    m = profile.mainland
    for name in ("domestic_revenue_share", "domestic_profit_share", "domestic_total_assets_share", "domestic_net_assets_share"):
        _check_fraction(getattr(m, name), f"mainland.{name}")
    if m.personal_information_users < 0:
        raise ProfileError("mainland.personal_information_users", "must not be negative")
    if profile.structure not in STRUCTURES:
        raise ProfileError("issuer.structure", f"{profile.structure!r} is not one of {', '.join(STRUCTURES)}")
    _check_rounds(profile)
    if profile.wvr is not None:
        _check_fraction(profile.wvr.beneficiaries_economic_interest, "wvr.beneficiaries_economic_interest")


def _check_rounds(profile: IssuerProfile) -> None:
    total = Rate(0, 1)
    for i, rnd in enumerate(profile.funding_rounds):
        path = f"funding_rounds[{i}]"
        if i and rnd.on < profile.funding_rounds[i - 1].on:
            raise ProfileError(f"{path}.date", f"{rnd.on} is before the previous round: list rounds oldest first")
        if rnd.amount_raised <= 0:
            raise ProfileError(f"{path}.amount_raised", "must be positive")
        if rnd.post_money_valuation < rnd.amount_raised:
            raise ProfileError(f"{path}.post_money_valuation", "is below amount_raised")
        for j, inv in enumerate(rnd.investors):
            _check_fraction(inv.stake, f"{path}.investors[{j}].stake")
            total = Rate(
                total.numerator * inv.stake.denominator + inv.stake.numerator * total.denominator, total.denominator * inv.stake.denominator
            )
            if total.numerator > total.denominator:
                raise ProfileError(f"{path}.investors[{j}].stake", "investors' stakes add up to more than 100%")


# -- derived figures the simulator uses ------------------------------------------------------
def last_private_round(profile: IssuerProfile) -> FundingRound | None:
    return profile.funding_rounds[-1] if profile.funding_rounds else None


def last_round_post_money_hkd(profile: IssuerProfile) -> int:
    """Post-money valuation of the last private round in HKD cents (0 if none)."""
    rnd = last_private_round(profile)
    return rnd.post_money_valuation_hkd if rnd else 0


def total_private_funding_hkd(profile: IssuerProfile) -> int:
    return sum(r.amount_raised_hkd for r in profile.funding_rounds)


__all__ = [
    "MAX_FINANCIAL_YEARS",
    "MAX_FUNDING_ROUNDS",
    "MAX_INVESTORS_PER_ROUND",
    "STRUCTURES",
    "ProfileError",
    "check_profile",
    "last_private_round",
    "last_round_post_money_hkd",
    "total_private_funding_hkd",
]
