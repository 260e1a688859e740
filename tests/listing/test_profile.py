"""Issuer profiles: examples load; invalid profiles are rejected with the field named."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lionrock.files.profiles import load_profile, parse_amount, profile_from_dict
from lionrock.kernel.money import Currency
from lionrock.listing.profile import ProfileError, last_round_post_money_hkd

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "issuers"
BASE = tomllib.loads((EXAMPLES / "qianli_finance.toml").read_text())


def test_examples_all_load() -> None:
    paths = sorted(EXAMPLES.glob("*.toml"))
    assert len(paths) >= 7
    for path in paths:
        p = load_profile(path)
        assert p.funding_rounds and p.offering.board_lot > 0 and last_round_post_money_hkd(p) > 0


def test_profile_json_equals_toml(tmp_path: Path) -> None:
    import json
    from datetime import date

    data = copy.deepcopy(BASE)

    def plain(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: plain(v) for k, v in o.items()}
        if isinstance(o, list):
            return [plain(v) for v in o]
        return o.isoformat() if isinstance(o, date) else o

    path = tmp_path / "q.json"
    path.write_text(json.dumps(plain(data)))
    assert load_profile(path) == load_profile(EXAMPLES / "qianli_finance.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HK$1,500,000", (Currency.HKD, 150_000_000)),
        ("RMB 380m", (Currency.CNY, 38_000_000_000)),
        ("US$1.2bn", (Currency.USD, 120_000_000_000)),
        ("HK$-38m", (Currency.HKD, -3_800_000_000)),
        ("12.5", (Currency.HKD, 1250)),
    ],
)
def test_parse_amount_forms(text: str, expected: tuple[Currency, int]) -> None:
    assert parse_amount(text, "x", Currency.HKD) == expected


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node: Any = data
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


class _Delete:
    def __repr__(self) -> str:
        return "<delete>"


_DELETE = _Delete()

INVALID = [
    ("financial_years[1].revenue", "lots", "financial_years[1].revenue"),
    ("financial_years[0].year_end", "2023-13-45", "financial_years[0].year_end"),
    ("financial_years[2].year_end", "2022-12-31", "financial_years[2].year_end"),
    ("financial_years[0].rd_expense", "RMB 999m", "financial_years[0].rd_expense"),
    ("financial_years[0].revenue", "EUR 5m", "financial_years[0].revenue"),
    ("offering.expected_market_cap", _DELETE, "offering.expected_market_cap"),
    ("offering.board_lot", 0, "offering.board_lot"),
    ("offering.planned_offering_size", "HK$9bn", "offering.planned_offering_size"),
    ("offering.planned_public_float", "120%", "offering.planned_public_float"),
    ("offering.price_range", ["21.60", "18.80"], "offering.price_range"),
    ("issuer.structure", "spac", "issuer.structure"),
    ("issuer.id", "has spaces", "issuer.id"),
    ("issuer.name", "", "issuer.name"),
    ("continuity.management_years", -1, "continuity.management_years"),
    ("mainland.domestic_revenue_share", "150%", "mainland.domestic_revenue_share"),
    ("mainland.prohibited_circumstances", ["tax_evasion"], "mainland.prohibited_circumstances[0]"),
    ("mainland.main_business_in_mainland", "yes", "mainland.main_business_in_mainland"),
    ("funding_rounds[1].investors[0].stake", "ten", "funding_rounds[1].investors[0].stake"),
    ("funding_rounds[1].investors[0].stake", "99%", "funding_rounds[1].investors[0].stake"),
    ("funding_rounds[2].date", "2018-01-01", "funding_rounds[2].date"),
    ("funding_rounds[0].post_money_valuation", "US$1bn", "funding_rounds[0].post_money_valuation"),
    ("funding_rounds[0].amount_raised", _DELETE, "funding_rounds[0].amount_raised"),
    ("offering.colour", "red", "offering.colour"),
    ("currency", "GBP", "currency"),
]


@pytest.mark.parametrize(("path", "value", "field"), INVALID, ids=[f"{i[0]}={i[1]!r}" for i in INVALID])
def test_invalid_profile_rejected_naming_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(ProfileError) as exc:
        profile_from_dict(_mutate(path, value))
    assert exc.value.field == field, str(exc.value)


def test_missing_fx_rate_named() -> None:
    data = copy.deepcopy(BASE)
    del data["fx"]["CNY"]
    with pytest.raises(ProfileError) as exc:
        profile_from_dict(data)
    assert exc.value.field == "financial_years[0].revenue" and "fx.CNY" in exc.value.message


def test_invalid_toml_file_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[issuer\nid = 1")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    assert exc.value.field == "<file>"
