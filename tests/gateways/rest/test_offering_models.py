"""The REST offering body is the offering file: one msgspec schema (`OfferingDefinitionIn`) decodes
the JSON a client posts and the TOML file it could upload into the same `OfferingSpec`, refuses a
field the file does not know naming it, and is the request schema the OpenAPI document shows."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lionrock.files.offerings import (
    OFFERING_FILE_KEYS,
    TABLES,
    OfferingDefinitionIn,
    decode_offering_json,
    parse_offering,
)
from lionrock.files.schema import json_schema_components
from lionrock.gateways.rest import models
from lionrock.gateways.rest.http import ApiError, read_body
from lionrock.gateways.rest.offerings import router
from lionrock.kernel.errors import Reject
from lionrock.offering.definition import validate_offering

ROOT = Path(__file__).resolve().parents[3]

EVERY_FIELD = """
[offering]
id = "FULL-2026"
issuer_id = "FULL"
issuer_name = "Full Fields Holdings Ltd"
instrument = "09990"
currency = "HKD"
rmb_counter = "89990"
chapter = "main"
pre_commercial = false
shares_offered = 10_000_000
board_lot = 100
maximum_offer_price = "31.00"
prospectus_date = 2026-01-05
public_offer_open = 2026-01-06
price_fixing_date = 2026-01-12
mechanism = "B"
public_share = "10%"
downward_flexibility = false
offer_size_adjustment = "15%"
offer_size_adjustment_public_share = "20%"
over_allotment = "15%"
underwriter_account = "P:UW"
stabilising_manager_account = "P:STAB"
stock_lender_account = "I:FULL:LENDER"
shares_outstanding_after = 80_000_000
cornerstone_cutback = "pro_rata"
independent_price_setting_waiver = ""
underwriting_commission = "2.5%"
listing_expenses = "HKD 60,000,000"

[[cornerstones]]
investor = "CS-USD"
name = "Dollar Fund"
account = "C:CS:USD"
participant = "P1"
origin = "international"
amount = "US$10,000,000"
fx_rate = "7.8"
lockup_months = 6
independent = true
existing_shareholder = true

[[lockups]]
holder = "Founder Holdco"
kind = "controlling_shareholder"
shares = 40_000_000
ends = 2026-07-13
public = false
rule = "Rule 10.07"

[[placee_consents]]
investor = "CS-USD"
relationship = "existing shareholder"
consent = "Appendix F1 para 5(2)"

[preferential]
kind = "employee"
reference = "Employee Preferential Offering"
reserved_shares = 500_000
excess_taper_eighths = 8
excess_curve = [[1, "1"], [10, "4"]]

[pricing]
kind = "coverage"
coverage_times = 3
fixed_price = "30.00"
upsize_at_coverage = "5"

[placing]
tier_weights = ["1", "0.7", "0.4"]
early_bonus = "10%"
early_before_seq = 0
price_setting_bonus = "20%"
max_share_per_placee = "10%"
over_allocate = true
reallocate_undersubscribed_placing = true

[public]
pool_a_taper_eighths = 6
pool_b_taper_eighths = 8
pool_a_curve = [[1, "0.05"], [10, "0.3"], [100, "2"]]
pool_b_curve = [[500, "40"]]
"""

WAIVED_18C = """
[offering]
id = "WAIVED-18C"
issuer_id = "W18C"
issuer_name = "Waived Tech Ltd"
instrument = "09991"
chapter = "18C"
pre_commercial = true
shares_offered = 10_000_000
board_lot = 100
price_range = ["20.00", "24.00"]
prospectus_date = 2026-01-05
public_offer_open = 2026-01-06
price_fixing_date = 2026-01-12
independent_price_setting_waiver = "Waiver of Rule 18C.08 granted 2 Jan 2026, conditions in the prospectus"
waiver = { reference = "waiver of PN18 para 4.2", initial = "5%", steps = [[10, "10%"], ["33.5", "17.5%"]] }
"""


SCHEMA = json_schema_components([OfferingDefinitionIn])[1]


@pytest.mark.parametrize("table", sorted(OFFERING_FILE_KEYS))
def test_rest_offering_schema_documents_every_key_of_the_offering_file(table: str) -> None:
    assert set(SCHEMA[TABLES[table].__name__]["properties"]) == set(OFFERING_FILE_KEYS[table]), table
    assert SCHEMA[TABLES[table].__name__]["additionalProperties"] is False, table


def test_rest_offering_route_takes_the_file_schema_as_its_request_body() -> None:
    (route,) = [r for r in router.routes if getattr(r, "path", "") == "/v1/offerings" and "POST" in getattr(r, "methods", ())]
    body = route.openapi_extra["requestBody"]  # type: ignore[attr-defined]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OfferingDefinitionIn"}


def _as_json(text: str) -> dict[str, Any]:
    return json.loads(json.dumps(tomllib.loads(text), default=str))  # dates as ISO strings, as a JSON client sends them


@pytest.mark.parametrize("text", [EVERY_FIELD, WAIVED_18C, *(p.read_text() for p in sorted((ROOT / "examples/offerings").glob("*.toml")))])
def test_rest_offering_json_and_the_file_give_the_same_spec(text: str) -> None:
    assert decode_offering_json(json.dumps(_as_json(text))) == parse_offering(tomllib.loads(text))


def test_every_field_offering_is_valid_and_uses_each_key() -> None:
    data = tomllib.loads(EVERY_FIELD)
    for table, keys in OFFERING_FILE_KEYS.items():
        if table in ("file", "offering.waiver", "offering.reallocation", "preferential_tranches"):  # their own tests
            continue
        rows = data[table] if isinstance(data[table], list) else [data[table]]
        used = set().union(*(r.keys() for r in rows))
        unused = {"offering": {"price_range", "waiver", "reallocation"}, "preferential": {"source"}, "placing": {"over_allocate_shares"}}
        # a preferential source: tests/offering/test_preferential_tranches.py; the coordinators' over-allocation:
        # tests/offering/test_real_structures.py (this file's offering is the old parser's, whose digest is kept)
        assert used | unused.get(table, set()) == set(keys), table
    ro = validate_offering(parse_offering(data))
    assert ro.maximum_price_only and ro.preferential_reserved_shares == 500_000 and ro.spec.cornerstone_cutback == "pro_rata"
    assert len(ro.spec.public.pool_a_curve) == 3 and ro.spec.lockups[0].holder == "Founder Holdco"
    waived = validate_offering(parse_offering(tomllib.loads(WAIVED_18C)))
    assert waived.spec.independent_price_setting_waiver and waived.regime.startswith("waiver")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("offering", "shares_offred"), 1),
        (("lockups", 0, "until"), "2026-07-13"),
        (("preferential", "reserve"), 1),
        (("public", "pool_c_curve"), []),
        (("pricing", "kind2"), "fixed"),
        (("cornerstones", 0, "fx"), "7.8"),
    ],
)
def test_rest_offering_model_refuses_a_field_the_file_does_not_know(path: tuple[Any, ...], value: Any) -> None:
    body = _as_json(EVERY_FIELD)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(Reject) as info:
        decode_offering_json(json.dumps(body))
    field = ".".join(f"[{k}]" if isinstance(k, int) else k for k in path).replace(".[", "[")
    assert info.value.rejection.field == field and "unknown key" in info.value.rejection.message


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        ("IoiIn", {"ioi_id": "i1", "investor": "F1", "account": "C:B1:F1", "steps": [{"limit_price": "1" * 41, "shares": 100}]}, "steps"),
        ("FixPriceIn", {"price": "1" * 41}, "price"),
    ],
)
def test_price_texts_are_bounded_like_the_order_price(model: str, body: dict[str, Any], field: str) -> None:
    """Every price a body carries as text is at most 40 characters (`models.PriceText`), before any parsing."""
    with pytest.raises(ApiError) as caught:
        read_body(json.dumps(body).encode(), getattr(models, model))
    assert caught.value.status == 400 and caught.value.body["field"].startswith(field) and "40" in caught.value.body["message"]
