"""The hand-written issuer profile parser as it was before the msgspec schema (lionrock.files.profiles at ee7ffcc), kept for one commit as the reference the schema is compared with. Issuer profile files (TOML or JSON): read at the edge, validated with errors that name the field.

Amounts are written as strings with a currency (``"HK$1,250,000,000"``, ``"RMB 380m"``,
``"US$1.2bn"``) or as plain numbers in the profile's ``currency``; they become integer minor units
through `lionrock.kernel.money`, and non-HKD amounts are converted with the profile's ``[fx]``
table (HK$ per unit, exact decimals, rounded half-up to the cent). Percentages are strings
(``"12.5%"``) and become exact `Rate` values. Nothing here is a float. The cross-field checks are
the core's (`lionrock.listing.profile.check_profile`), run here and again by the context.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from lionrock.kernel.money import MAX_AMOUNT_MINOR, Currency, Rate, Rounding, to_minor
from lionrock.kernel.price import parse_price
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
    STRUCTURES,
    ProfileError,
    check_profile,
)
from lionrock.rules.listing import CSRC_FILING

# -- scalar parsers --------------------------------------------------------------------------
_AMOUNT = re.compile(r"^\s*(?P<prefix>[^\d\-.]*?)\s*(?P<number>-?[\d,_]*\.?\d+)\s*(?P<suffix>k|m|mn|bn|b)?\s*$", re.I)
_SUFFIX = {"k": 10**3, "m": 10**6, "mn": 10**6, "b": 10**9, "bn": 10**9}
_PREFIX = {"hk$": Currency.HKD, "hkd": Currency.HKD, "rmb": Currency.CNY, "cny": Currency.CNY, "¥": Currency.CNY,
           "us$": Currency.USD, "usd": Currency.USD}


def parse_amount(value: object, field: str, default: Currency) -> tuple[Currency, int]:
    """``"HK$1.5bn"`` / ``"RMB 380,000,000"`` / ``1500000`` to (currency, minor units)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProfileError(field, f"expected an amount such as 'HK$1,500,000' or 'RMB 380m', got {value!r}")
    m = _AMOUNT.match(str(value))
    if m is None:
        raise ProfileError(field, f"not an amount: {value!r} (write e.g. 'HK$1,500,000' or 'US$1.2bn')")
    prefix = m["prefix"].strip().lower()
    currency = default if not prefix else _PREFIX.get(prefix)
    if currency is None:
        raise ProfileError(field, f"unknown currency {m['prefix'].strip()!r} in {value!r} (use HK$, RMB or US$)")
    try:
        number = Decimal(m["number"].replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ProfileError(field, f"not an amount: {value!r}") from None
    if m["suffix"]:
        number *= _SUFFIX[m["suffix"].lower()]
    try:
        return currency, to_minor(number, currency)
    except ValueError as exc:
        raise ProfileError(field, str(exc)) from None


def parse_rate(value: object, field: str) -> Rate:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProfileError(field, f"expected a percentage such as '12.5%', got {value!r}")
    try:
        rate = Rate.parse(str(value))
    except ValueError as exc:
        raise ProfileError(field, str(exc)) from None
    return rate


def _date(value: object, field: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ProfileError(field, f"expected a date YYYY-MM-DD, got {value!r}")


def _str(value: object, field: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ProfileError(field, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _int(value: object, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(field, f"expected a whole number, got {value!r}")
    if value < minimum:
        raise ProfileError(field, f"must be at least {minimum}, got {value}")
    if value > MAX_AMOUNT_MINOR:  # the kernel's bound on any parsed number: keeps sums inside 64 bits
        raise ProfileError(field, f"must be at most {MAX_AMOUNT_MINOR:,}, got {value:,}")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ProfileError(field, f"expected true or false, got {value!r}")
    return value


def _table(data: dict[str, Any], key: str, field: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProfileError(field, "missing table" if value is None else f"expected a table, got {value!r}")
    return value


def _list(data: dict[str, Any], key: str, field: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ProfileError(field, f"expected a list, got {value!r}")
    return value


def _field[T](data: dict[str, Any], key: str, path: str, parse: Callable[[object, str], T], default: object = ...) -> T:
    if key not in data:
        if default is ...:
            raise ProfileError(path, "missing")
        return default  # type: ignore[return-value]
    return parse(data[key], path)


def _no_unknown(data: dict[str, Any], known: set[str], path: str) -> None:
    for key in data:
        if key not in known:
            raise ProfileError(f"{path}.{key}" if path else key, f"unknown field (expected one of {', '.join(sorted(known))})")


# -- the profile -----------------------------------------------------------------------------
class _Money:
    """Amount parser bound to the profile's default currency and FX table."""

    def __init__(self, default: Currency, fx: dict[Currency, Rate]) -> None:
        self.default = default
        self.fx = fx

    def hkd(self, value: object, field: str) -> int:
        currency, minor = parse_amount(value, field, self.default)
        return self.to_hkd(currency, minor, field)

    def to_hkd(self, currency: Currency, minor: int, field: str) -> int:
        if currency is Currency.HKD:
            return minor
        rate = self.fx.get(currency)
        if rate is None:
            raise ProfileError(field, f"amount in {currency.value} needs fx.{currency.value} (HK$ per unit)")
        return rate.apply(minor, Rounding.HALF_UP)


def _financial_year(data: object, path: str, money: _Money) -> FinancialYear:
    if not isinstance(data, dict):
        raise ProfileError(path, f"expected a table, got {data!r}")
    _no_unknown(data, {"year_end", "revenue", "specialist_technology_revenue", "profit_attributable",
                       "operating_cash_flow", "rd_expense", "total_operating_expenses"}, path)
    revenue = _field(data, "revenue", f"{path}.revenue", money.hkd)
    fy = FinancialYear(
        year_end=_field(data, "year_end", f"{path}.year_end", _date),
        revenue=revenue,
        specialist_technology_revenue=_field(data, "specialist_technology_revenue",
                                             f"{path}.specialist_technology_revenue", money.hkd, revenue),
        profit_attributable=_field(data, "profit_attributable", f"{path}.profit_attributable", money.hkd),
        operating_cash_flow=_field(data, "operating_cash_flow", f"{path}.operating_cash_flow", money.hkd),
        rd_expense=_field(data, "rd_expense", f"{path}.rd_expense", money.hkd),
        total_operating_expenses=_field(data, "total_operating_expenses", f"{path}.total_operating_expenses", money.hkd),
    )
    return fy


def _funding_round(data: object, path: str, money: _Money) -> FundingRound:
    if not isinstance(data, dict):
        raise ProfileError(path, f"expected a table, got {data!r}")
    _no_unknown(data, {"date", "round", "amount_raised", "post_money_valuation", "investors"}, path)
    currency, raised = parse_amount(data.get("amount_raised"), f"{path}.amount_raised", money.default) \
        if "amount_raised" in data else _missing(f"{path}.amount_raised")
    post_currency, post = parse_amount(data.get("post_money_valuation"), f"{path}.post_money_valuation",
                                       money.default) if "post_money_valuation" in data \
        else _missing(f"{path}.post_money_valuation")
    if post_currency is not currency:
        raise ProfileError(f"{path}.post_money_valuation", f"currency {post_currency.value} differs from amount_raised in {currency.value}")
    raw_investors = _list(data, "investors", f"{path}.investors")
    if len(raw_investors) > MAX_INVESTORS_PER_ROUND:
        raise ProfileError(f"{path}.investors", f"at most {MAX_INVESTORS_PER_ROUND} investors per round")
    investors = []
    for i, inv in enumerate(raw_investors):
        ipath = f"{path}.investors[{i}]"
        if not isinstance(inv, dict):
            raise ProfileError(ipath, f"expected a table, got {inv!r}")
        _no_unknown(inv, {"name", "stake", "sophisticated_independent", "amount"}, ipath)
        investors.append(FundingInvestor(
            name=_field(inv, "name", f"{ipath}.name", _str),
            stake=_field(inv, "stake", f"{ipath}.stake", parse_rate),
            sophisticated_independent=_field(inv, "sophisticated_independent", f"{ipath}.sophisticated_independent", _bool, False),
            amount_hkd=_field(inv, "amount", f"{ipath}.amount", money.hkd, 0),
        ))
    return FundingRound(
        on=_field(data, "date", f"{path}.date", _date),
        name=_field(data, "round", f"{path}.round", _str),
        currency=currency.value,
        amount_raised=raised,
        amount_raised_hkd=money.to_hkd(currency, raised, f"{path}.amount_raised"),
        post_money_valuation=post,
        post_money_valuation_hkd=money.to_hkd(currency, post, f"{path}.post_money_valuation"),
        investors=investors,
    )


def _missing(field: str) -> Any:
    raise ProfileError(field, "missing")


def _mainland(data: dict[str, Any], path: str) -> MainlandFacts:
    _no_unknown(data, {"domestic_revenue_share", "domestic_profit_share", "domestic_total_assets_share",
                       "domestic_net_assets_share", "main_business_in_mainland", "senior_managers_mainland",
                       "personal_information_users", "critical_information_infrastructure_operator",
                       "cross_border_data_transfer", "foreign_investment_restricted", "prohibited_circumstances"}, path)
    zero = Rate(0, 1)
    prohibited = _list(data, "prohibited_circumstances", f"{path}.prohibited_circumstances")
    allowed = CSRC_FILING.provisions[-1].value.prohibited_circumstances
    for i, item in enumerate(prohibited):
        if item not in allowed:
            raise ProfileError(f"{path}.prohibited_circumstances[{i}]", f"{item!r} is not one of {', '.join(allowed)}")
    return MainlandFacts(
        domestic_revenue_share=_field(data, "domestic_revenue_share", f"{path}.domestic_revenue_share", parse_rate, zero),
        domestic_profit_share=_field(data, "domestic_profit_share", f"{path}.domestic_profit_share", parse_rate, zero),
        domestic_total_assets_share=_field(data, "domestic_total_assets_share", f"{path}.domestic_total_assets_share", parse_rate, zero),
        domestic_net_assets_share=_field(data, "domestic_net_assets_share", f"{path}.domestic_net_assets_share", parse_rate, zero),
        main_business_in_mainland=_field(data, "main_business_in_mainland", f"{path}.main_business_in_mainland", _bool),
        senior_managers_mainland=_field(data, "senior_managers_mainland", f"{path}.senior_managers_mainland", _bool),
        personal_information_users=_field(data, "personal_information_users", f"{path}.personal_information_users", _int, 0),
        critical_information_infrastructure_operator=_field(
            data, "critical_information_infrastructure_operator", f"{path}.critical_information_infrastructure_operator", _bool, False),
        cross_border_data_transfer=_field(data, "cross_border_data_transfer", f"{path}.cross_border_data_transfer", _bool, False),
        foreign_investment_restricted=_field(data, "foreign_investment_restricted", f"{path}.foreign_investment_restricted", _bool, False),
        prohibited_circumstances=[str(p) for p in prohibited],
    )


def _offering(data: dict[str, Any], path: str, money: _Money) -> OfferingPlan:
    _no_unknown(data, {"expected_market_cap", "planned_offering_size", "board_lot", "planned_public_float",
                       "price_range", "shares_in_issue_after_listing", "a_shares_listed"}, path)
    low = high = 0
    if "price_range" in data:
        pr = data["price_range"]
        if not (isinstance(pr, list) and len(pr) == 2 and all(isinstance(p, str) for p in pr)):
            raise ProfileError(f"{path}.price_range", f"expected two prices as strings, e.g. ['18.20', '21.60'], got {pr!r}")
        try:
            low, high = parse_price(pr[0]), parse_price(pr[1])
        except ValueError as exc:
            raise ProfileError(f"{path}.price_range", str(exc)) from None
        if not 0 < low <= high:
            raise ProfileError(f"{path}.price_range", f"low {pr[0]} must be positive and not above high {pr[1]}")
    return OfferingPlan(
        expected_market_cap=_field(data, "expected_market_cap", f"{path}.expected_market_cap", money.hkd),
        planned_offering_size=_field(data, "planned_offering_size", f"{path}.planned_offering_size", money.hkd),
        board_lot=_field(data, "board_lot", f"{path}.board_lot", lambda v, f: _int(v, f, minimum=1)),
        planned_public_float=_field(data, "planned_public_float", f"{path}.planned_public_float", parse_rate, None),
        price_range_low=low,
        price_range_high=high,
        shares_in_issue_after_listing=_field(data, "shares_in_issue_after_listing", f"{path}.shares_in_issue_after_listing", _int, 0),
        a_shares_listed=_field(data, "a_shares_listed", f"{path}.a_shares_listed", _bool, False),
    )


def profile_from_dict(data: dict[str, Any]) -> IssuerProfile:
    """Build and validate a profile from parsed TOML/JSON; raises `ProfileError` naming the field."""
    if not isinstance(data, dict):
        raise ProfileError("<root>", "expected a table")
    _no_unknown(data, {"issuer", "currency", "fx", "financial_years", "continuity", "offering", "mainland",
                       "funding_rounds", "wvr", "biotech"}, "")
    default = _field(data, "currency", "currency", _currency, Currency.HKD)
    fx: dict[Currency, Rate] = {}
    for key, value in (data.get("fx") or {}).items():
        cur = _currency(key, f"fx.{key}")
        fx[cur] = parse_rate(value, f"fx.{key}")
    money = _Money(default, fx)
    issuer = _table(data, "issuer", "issuer")
    _no_unknown(issuer, {"id", "name", "sub_sector", "industry", "sector", "structure", "incorporated_in", "description"}, "issuer")
    structure = _field(issuer, "structure", "issuer.structure", _str)
    if structure not in STRUCTURES:
        raise ProfileError("issuer.structure", f"{structure!r} is not one of {', '.join(STRUCTURES)}")
    years_raw = _list(data, "financial_years", "financial_years")
    if not years_raw:
        raise ProfileError("financial_years", "at least one audited financial year is required")
    if len(years_raw) > MAX_FINANCIAL_YEARS:
        raise ProfileError("financial_years", f"at most {MAX_FINANCIAL_YEARS} years")
    years = [_financial_year(y, f"financial_years[{i}]", money) for i, y in enumerate(years_raw)]
    rounds_raw = _list(data, "funding_rounds", "funding_rounds")
    if len(rounds_raw) > MAX_FUNDING_ROUNDS:
        raise ProfileError("funding_rounds", f"at most {MAX_FUNDING_ROUNDS} rounds")
    continuity = _table(data, "continuity", "continuity")
    _no_unknown(continuity, {"management_years", "ownership_control_years", "management_experience_years"}, "continuity")
    profile = IssuerProfile(
        issuer_id=_field(issuer, "id", "issuer.id", _issuer_id),
        name=_field(issuer, "name", "issuer.name", _str),
        sub_sector=_field(issuer, "sub_sector", "issuer.sub_sector", _str),
        industry=_field(issuer, "industry", "issuer.industry", lambda v, f: _str(v, f, allow_empty=True), ""),
        sector=_field(issuer, "sector", "issuer.sector", lambda v, f: _str(v, f, allow_empty=True), ""),
        structure=structure,
        incorporated_in=_field(issuer, "incorporated_in", "issuer.incorporated_in", _str),
        description=_field(issuer, "description", "issuer.description", lambda v, f: _str(v, f, allow_empty=True), ""),
        financial_years=years,
        continuity=Continuity(
            management_years=_field(continuity, "management_years", "continuity.management_years", _int),
            ownership_control_years=_field(continuity, "ownership_control_years", "continuity.ownership_control_years", _int),
            management_experience_years=_field(continuity, "management_experience_years",
                                               "continuity.management_experience_years", _int, 0),
        ),
        offering=_offering(_table(data, "offering", "offering"), "offering", money),
        mainland=_mainland(_table(data, "mainland", "mainland"), "mainland"),
        funding_rounds=[_funding_round(r, f"funding_rounds[{i}]", money) for i, r in enumerate(rounds_raw)],
        wvr=_wvr(data["wvr"]) if "wvr" in data else None,
        biotech=_biotech(data["biotech"]) if "biotech" in data else None,
    )
    check_profile(profile)
    return profile


def _currency(value: object, field: str) -> Currency:
    try:
        return Currency(str(value).upper())
    except ValueError:
        raise ProfileError(field, f"{value!r} is not one of HKD, CNY, USD") from None


def _issuer_id(value: object, field: str) -> str:
    text = _str(value, field)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", text):
        raise ProfileError(field, f"{text!r}: use 1-32 letters, digits, '-' or '_'")
    return text


def _wvr(data: object) -> WeightedVoting:
    if not isinstance(data, dict):
        raise ProfileError("wvr", f"expected a table, got {data!r}")
    _no_unknown(data, {"votes_per_wvr_share", "beneficiaries_are_directors", "beneficiaries_economic_interest",
                       "innovative_company"}, "wvr")
    return WeightedVoting(
        votes_per_wvr_share=_field(data, "votes_per_wvr_share", "wvr.votes_per_wvr_share", lambda v, f: _int(v, f, minimum=2)),
        beneficiaries_are_directors=_field(data, "beneficiaries_are_directors", "wvr.beneficiaries_are_directors", _bool),
        beneficiaries_economic_interest=_field(data, "beneficiaries_economic_interest",
                                               "wvr.beneficiaries_economic_interest", parse_rate),
        innovative_company=_field(data, "innovative_company", "wvr.innovative_company", _bool),
    )


def _biotech(data: object) -> BiotechFacts:
    if not isinstance(data, dict):
        raise ProfileError("biotech", f"expected a table, got {data!r}")
    _no_unknown(data, {"core_product_beyond_concept", "same_business_years", "working_capital_coverage"}, "biotech")
    return BiotechFacts(
        core_product_beyond_concept=_field(data, "core_product_beyond_concept", "biotech.core_product_beyond_concept", _bool),
        same_business_years=_field(data, "same_business_years", "biotech.same_business_years", _int),
        working_capital_coverage=_field(data, "working_capital_coverage", "biotech.working_capital_coverage", parse_rate),
    )


def load_profile(path: str | Path | Traversable) -> IssuerProfile:
    """Read a ``.toml`` or ``.json`` issuer profile (a path, or a `Traversable` of package data);
    `ProfileError` names the field at fault."""
    p = Path(path) if isinstance(path, str) else path
    text, is_json = p.read_bytes(), p.name.lower().endswith(".json")
    try:
        data = json.loads(text) if is_json else tomllib.loads(text.decode("utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError("<file>", f"{p.name} is not valid {'JSON' if is_json else 'TOML'}: {exc}") from None
    return profile_from_dict(data)


def loads_profile(text: str, *, fmt: str = "toml") -> IssuerProfile:
    data = json.loads(text) if fmt == "json" else tomllib.loads(text)
    return profile_from_dict(data)



__all__ = [
    "load_profile",
    "loads_profile",
    "parse_amount",
    "parse_rate",
    "profile_from_dict",
]
