"""Issuer profile files (docs/listing.md): one msgspec schema for the TOML file, the same tables as
JSON and the REST body (``POST /v1/issuers``), read into an `IssuerProfile`.

`IssuerProfileIn` is the file, table for table: field types with their bounds and lengths, unknown
keys refused, errors naming the field as a dotted path (`lionrock.files.schema.field_error`).
Amounts are written as strings with a currency (``"HK$1,250,000,000"``, ``"RMB 380m"``,
``"US$1.2bn"``) or as plain numbers in the profile's ``currency``; they become integer minor units
through `lionrock.kernel.money`, and non-HKD amounts are converted with the profile's ``[fx]``
table (HK$ per unit, exact decimals, rounded half-up to the cent). Percentages are strings
(``"12.5%"``) and become exact `Rate` values. Nothing here is a float. What a schema cannot say is
checked after decoding: the currency conversions, the CSRC list in force, and the core's cross-field
checks (`lionrock.listing.profile.check_profile`, run here and again by the context).
"""

from __future__ import annotations

import tomllib
from datetime import date
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from lionrock.files.schema import (
    PriceRange,
    RateText,
    ScaledAmountText,
    dec_hook,
    decode_json,
    field_error,
    parse_scaled_amount,
)
from lionrock.files.schema import parse_rate as parse_rate_text
from lionrock.kernel.money import MAX_AMOUNT_MINOR, Currency, Rate, Rounding
from lionrock.listing.commands import (
    BiotechFacts,
    Continuity,
    FinancialYear,
    FundingInvestor,
    FundingRound,
    IssuerProfile,
    MainlandFacts,
    OfferingPlan,
    WeightedVoting,
)
from lionrock.listing.profile import (
    MAX_FINANCIAL_YEARS,
    MAX_FUNDING_ROUNDS,
    MAX_INVESTORS_PER_ROUND,
    ProfileError,
    check_profile,
)
from lionrock.rules.listing import CSRC_FILING

DOCS = "docs/listing.md"
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT_MINOR)]
"""A whole number, bounded like any number the kernel parses (sums stay inside 64 bits)."""
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
OptionalText = Annotated[str, msgspec.Meta(max_length=4000)]


# Each table is a frozen Struct that refuses an unknown key (forbid_unknown_fields).
class IssuerIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="1-32 letters, digits, '-' or '_'.")]
    name: Name
    sub_sector: Name
    industry: OptionalText = ""
    sector: OptionalText = ""
    structure: Literal["direct", "vie", "offshore"]
    incorporated_in: Name
    description: OptionalText = ""


class FinancialYearIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    year_end: date
    revenue: ScaledAmountText
    specialist_technology_revenue: ScaledAmountText | None = None
    """Default: the whole revenue."""
    profit_attributable: ScaledAmountText
    operating_cash_flow: ScaledAmountText
    rd_expense: ScaledAmountText
    total_operating_expenses: ScaledAmountText


class FundingInvestorIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    name: Name
    stake: RateText
    sophisticated_independent: bool = False
    amount: ScaledAmountText | None = None


class FundingRoundIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    date: date
    round: Name
    amount_raised: ScaledAmountText
    post_money_valuation: ScaledAmountText
    investors: Annotated[list[FundingInvestorIn], msgspec.Meta(max_length=MAX_INVESTORS_PER_ROUND)] = []


class ContinuityIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    management_years: Count
    ownership_control_years: Count
    management_experience_years: Count = 0


class OfferingPlanIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    expected_market_cap: ScaledAmountText
    planned_offering_size: ScaledAmountText
    board_lot: Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT_MINOR)]
    planned_public_float: RateText | None = None
    price_range: PriceRange | None = None
    shares_in_issue_after_listing: Count = 0
    a_shares_listed: bool = False


class MainlandIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    domestic_revenue_share: RateText | None = None
    domestic_profit_share: RateText | None = None
    domestic_total_assets_share: RateText | None = None
    domestic_net_assets_share: RateText | None = None
    main_business_in_mainland: bool
    senior_managers_mainland: bool
    personal_information_users: Count = 0
    critical_information_infrastructure_operator: bool = False
    cross_border_data_transfer: bool = False
    foreign_investment_restricted: bool = False
    prohibited_circumstances: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=100)] = []


class WeightedVotingIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    votes_per_wvr_share: Annotated[int, msgspec.Meta(ge=2, le=MAX_AMOUNT_MINOR)]
    beneficiaries_are_directors: bool
    beneficiaries_economic_interest: RateText
    innovative_company: bool


class BiotechIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    core_product_beyond_concept: bool
    same_business_years: Count
    working_capital_coverage: RateText


class IssuerProfileIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """An issuer profile: the profile file's tables (docs/listing.md), as TOML or JSON."""

    issuer: IssuerIn
    currency: Currency = Currency.HKD
    """The currency of amounts written without one."""
    fx: dict[Currency, Annotated[Any, msgspec.Meta(description='HK$ per unit: a rate like "1.08"', examples=["1.08"])]] = {}
    """HK$ per unit of each other currency the profile uses (a rate: ``"1.08"``), read by `parse_rate`
    after decoding so that an error names its key (``fx.CNY``)."""
    financial_years: Annotated[list[FinancialYearIn], msgspec.Meta(min_length=1, max_length=MAX_FINANCIAL_YEARS)]
    continuity: ContinuityIn
    offering: OfferingPlanIn
    mainland: MainlandIn
    funding_rounds: Annotated[list[FundingRoundIn], msgspec.Meta(max_length=MAX_FUNDING_ROUNDS)] = []
    wvr: WeightedVotingIn | None = None
    biotech: BiotechIn | None = None


# ------------------------------------------------------------------------------------------------
# decoding: TOML, JSON, their data -> IssuerProfileIn -> IssuerProfile
# ------------------------------------------------------------------------------------------------
def _schema_error(exc: msgspec.ValidationError) -> ProfileError:
    return ProfileError(*field_error(exc, IssuerProfileIn, DOCS))


def profile_from_dict(data: object) -> IssuerProfile:
    """Build and validate a profile from parsed TOML/JSON; raises `ProfileError` naming the field."""
    if not isinstance(data, dict):
        raise ProfileError("<root>", "expected a table")
    try:
        decoded = msgspec.convert(data, IssuerProfileIn, dec_hook=dec_hook)  # dates: TOML dates or ISO strings
    except msgspec.ValidationError as exc:
        raise _schema_error(exc) from exc
    return issuer_profile(decoded)


def decode_profile_json(body: bytes | str) -> IssuerProfile:
    """The profile's tables as a JSON document (the REST body) -> `IssuerProfile`."""
    try:
        decoded = decode_json(body, IssuerProfileIn)
    except msgspec.ValidationError as exc:
        raise _schema_error(exc) from exc
    except msgspec.DecodeError as exc:
        raise ProfileError("<root>", f"not valid JSON: {exc}") from exc
    return issuer_profile(decoded)


def load_profile(path: str | Path | Traversable) -> IssuerProfile:
    """Read a ``.toml`` or ``.json`` issuer profile (a path, or a `Traversable` of package data);
    `ProfileError` names the field at fault."""
    p = Path(path) if isinstance(path, str) else path
    text, is_json = p.read_bytes(), p.name.lower().endswith(".json")
    if is_json:
        try:
            return decode_profile_json(text)
        except ProfileError as exc:
            if exc.field == "<root>" and exc.message.startswith("not valid JSON"):
                raise ProfileError("<file>", f"{p.name} is not valid JSON: {exc.message}") from None
            raise
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError("<file>", f"{p.name} is not valid TOML: {exc}") from None
    return profile_from_dict(data)


def loads_profile(text: str, *, fmt: str = "toml") -> IssuerProfile:
    return decode_profile_json(text) if fmt == "json" else profile_from_dict(tomllib.loads(text))


class _Money:
    """Amounts in the profile's default currency, converted to HK$ by its FX table."""

    def __init__(self, default: Currency, fx: dict[Currency, Rate]) -> None:
        self.default = default
        self.fx = fx

    def currency(self, amount: ScaledAmountText) -> Currency:
        return amount.currency or self.default

    def hkd(self, amount: ScaledAmountText, field: str) -> int:
        return self.to_hkd(self.currency(amount), amount.minor, field)

    def to_hkd(self, currency: Currency, minor: int, field: str) -> int:
        if currency is Currency.HKD:
            return minor
        rate = self.fx.get(currency)
        if rate is None:
            raise ProfileError(field, f"amount in {currency.value} needs fx.{currency.value} (HK$ per unit)")
        return rate.apply(minor, Rounding.HALF_UP)


def issuer_profile(d: IssuerProfileIn) -> IssuerProfile:
    """The decoded file -> `IssuerProfile` (amounts in HK$ cents), checked by `check_profile`."""
    money = _Money(d.currency, {currency: parse_rate(rate, f"fx.{currency.value}") for currency, rate in d.fx.items()})
    i = d.issuer
    for key in ("name", "sub_sector", "incorporated_in"):
        if not getattr(i, key).strip():
            raise ProfileError(f"issuer.{key}", "expected a non-empty string")
    profile = IssuerProfile(
        issuer_id=i.id,
        name=i.name.strip(),
        sub_sector=i.sub_sector.strip(),
        industry=i.industry.strip(),
        sector=i.sector.strip(),
        structure=i.structure,
        incorporated_in=i.incorporated_in.strip(),
        description=i.description.strip(),
        financial_years=[_financial_year(y, f"financial_years[{n}]", money) for n, y in enumerate(d.financial_years)],
        continuity=Continuity(
            management_years=d.continuity.management_years,
            ownership_control_years=d.continuity.ownership_control_years,
            management_experience_years=d.continuity.management_experience_years,
        ),
        offering=_offering(d.offering, money),
        mainland=_mainland(d.mainland),
        funding_rounds=[_funding_round(r, f"funding_rounds[{n}]", money) for n, r in enumerate(d.funding_rounds)],
        wvr=None
        if d.wvr is None
        else WeightedVoting(
            votes_per_wvr_share=d.wvr.votes_per_wvr_share,
            beneficiaries_are_directors=d.wvr.beneficiaries_are_directors,
            beneficiaries_economic_interest=d.wvr.beneficiaries_economic_interest.rate,
            innovative_company=d.wvr.innovative_company,
        ),
        biotech=None
        if d.biotech is None
        else BiotechFacts(
            core_product_beyond_concept=d.biotech.core_product_beyond_concept,
            same_business_years=d.biotech.same_business_years,
            working_capital_coverage=d.biotech.working_capital_coverage.rate,
        ),
    )
    check_profile(profile)
    return profile


def _financial_year(y: FinancialYearIn, path: str, money: _Money) -> FinancialYear:
    revenue = money.hkd(y.revenue, f"{path}.revenue")
    return FinancialYear(
        year_end=y.year_end,
        revenue=revenue,
        specialist_technology_revenue=revenue
        if y.specialist_technology_revenue is None
        else money.hkd(y.specialist_technology_revenue, f"{path}.specialist_technology_revenue"),
        profit_attributable=money.hkd(y.profit_attributable, f"{path}.profit_attributable"),
        operating_cash_flow=money.hkd(y.operating_cash_flow, f"{path}.operating_cash_flow"),
        rd_expense=money.hkd(y.rd_expense, f"{path}.rd_expense"),
        total_operating_expenses=money.hkd(y.total_operating_expenses, f"{path}.total_operating_expenses"),
    )


def _funding_round(r: FundingRoundIn, path: str, money: _Money) -> FundingRound:
    currency, post_currency = money.currency(r.amount_raised), money.currency(r.post_money_valuation)
    if post_currency is not currency:
        raise ProfileError(f"{path}.post_money_valuation", f"currency {post_currency.value} differs from amount_raised in {currency.value}")
    return FundingRound(
        on=r.date,
        name=r.round.strip(),
        currency=currency.value,
        amount_raised=r.amount_raised.minor,
        amount_raised_hkd=money.to_hkd(currency, r.amount_raised.minor, f"{path}.amount_raised"),
        post_money_valuation=r.post_money_valuation.minor,
        post_money_valuation_hkd=money.to_hkd(currency, r.post_money_valuation.minor, f"{path}.post_money_valuation"),
        investors=[
            FundingInvestor(
                name=inv.name.strip(),
                stake=inv.stake.rate,
                sophisticated_independent=inv.sophisticated_independent,
                amount_hkd=0 if inv.amount is None else money.hkd(inv.amount, f"{path}.investors[{n}].amount"),
            )
            for n, inv in enumerate(r.investors)
        ],
    )


def _offering(o: OfferingPlanIn, money: _Money) -> OfferingPlan:
    low, high = (0, 0) if o.price_range is None else (int(o.price_range[0]), int(o.price_range[1]))
    if o.price_range is not None and not 0 < low <= high:
        raise ProfileError(
            "offering.price_range", f"the low price must be positive and not above the high price, got {list(o.price_range)}"
        )
    return OfferingPlan(
        expected_market_cap=money.hkd(o.expected_market_cap, "offering.expected_market_cap"),
        planned_offering_size=money.hkd(o.planned_offering_size, "offering.planned_offering_size"),
        board_lot=o.board_lot,
        planned_public_float=None if o.planned_public_float is None else o.planned_public_float.rate,
        price_range_low=low,
        price_range_high=high,
        shares_in_issue_after_listing=o.shares_in_issue_after_listing,
        a_shares_listed=o.a_shares_listed,
    )


def _mainland(m: MainlandIn) -> MainlandFacts:
    allowed = CSRC_FILING.provisions[-1].value.prohibited_circumstances
    for n, item in enumerate(m.prohibited_circumstances):
        if item not in allowed:
            raise ProfileError(f"mainland.prohibited_circumstances[{n}]", f"{item!r} is not one of {', '.join(allowed)}")
    zero = Rate(0, 1)
    return MainlandFacts(
        domestic_revenue_share=zero if m.domestic_revenue_share is None else m.domestic_revenue_share.rate,
        domestic_profit_share=zero if m.domestic_profit_share is None else m.domestic_profit_share.rate,
        domestic_total_assets_share=zero if m.domestic_total_assets_share is None else m.domestic_total_assets_share.rate,
        domestic_net_assets_share=zero if m.domestic_net_assets_share is None else m.domestic_net_assets_share.rate,
        main_business_in_mainland=m.main_business_in_mainland,
        senior_managers_mainland=m.senior_managers_mainland,
        personal_information_users=m.personal_information_users,
        critical_information_infrastructure_operator=m.critical_information_infrastructure_operator,
        cross_border_data_transfer=m.cross_border_data_transfer,
        foreign_investment_restricted=m.foreign_investment_restricted,
        prohibited_circumstances=list(m.prohibited_circumstances),
    )


def parse_amount(value: object, field: str, default: Currency) -> tuple[Currency, int]:
    """``"HK$1.5bn"`` / ``"RMB 380,000,000"`` / ``1500000`` to (currency, minor units); `ProfileError` naming ``field``."""
    try:
        amount = parse_scaled_amount(value)
    except ValueError as exc:
        raise ProfileError(field, str(exc)) from None
    return amount.currency or default, amount.minor


def parse_rate(value: object, field: str) -> Rate:
    """``"12.5%"`` -> exact `Rate`; `ProfileError` naming ``field``."""
    try:
        return parse_rate_text(value)
    except ValueError as exc:
        raise ProfileError(field, str(exc)) from None


__all__ = [
    "BiotechIn",
    "ContinuityIn",
    "FinancialYearIn",
    "FundingInvestorIn",
    "FundingRoundIn",
    "IssuerIn",
    "IssuerProfileIn",
    "MainlandIn",
    "OfferingPlanIn",
    "WeightedVotingIn",
    "decode_profile_json",
    "issuer_profile",
    "load_profile",
    "loads_profile",
    "parse_amount",
    "parse_rate",
    "profile_from_dict",
]
