"""``[offering.reallocation]`` (issue 12): a discretionary reallocation to the public offer, stated in
the offering file as a target share of the offer (rounded down or up to a lot) or as shares, read
into `OfferingSpec.reallocation` from TOML and JSON alike and checked at definition against the
allocation cap in force (15% of the shares initially offered from 4 Aug 2025, double the initial
tranche before), each refusal coded and citing the rule."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path

import msgspec
import pytest

from lionrock.files.offerings import decode_offering_json, loads_offering, parse_offering
from lionrock.kernel.errors import Reject
from lionrock.kernel.money import Rate
from lionrock.offering._codes import OfferingCode
from lionrock.offering.commands import DiscretionaryReallocationSpec
from lionrock.offering.definition import validate_offering

EXAMPLE = Path(str(resources.files("lionrock") / "examples" / "offerings" / "mechanism_b_ai.toml")).read_text(encoding="utf-8")


def _with(table: str) -> str:
    return EXAMPLE + "\n[offering.reallocation]\n" + table


def test_reallocation_table_reads_into_the_spec_from_toml_and_json() -> None:
    text = _with('reference = "Structure of the Global Offering: Reallocation"\npublic_share = "15%"\n')
    spec = loads_offering(text)
    assert spec.reallocation == DiscretionaryReallocationSpec(
        reference="Structure of the Global Offering: Reallocation", public_share=Rate(15, 100), rounding="down"
    )
    assert decode_offering_json(json.dumps(tomllib.loads(text), default=str)) == spec
    ro = validate_offering(spec)
    assert ro.reallocation_target_shares == 15_000_000 and "15% of the shares initially offered" in ro.reallocation_target_reason


def test_an_offering_without_the_table_encodes_as_before() -> None:
    """The field is unset, not None: a spec without it has the same bytes (and journal, hash) as before."""
    spec = loads_offering(EXAMPLE)
    assert isinstance(spec.reallocation, msgspec.UnsetType)
    assert b"reallocation" not in msgspec.json.encode(spec) and "reallocation" not in msgspec.to_builtins(spec)


def test_reallocation_by_shares_and_rounding_up_within_the_cap() -> None:
    by_shares = validate_offering(loads_offering(_with('reference = "r"\nshares = 4_000_000\n')))
    assert by_shares.reallocation_target_shares == by_shares.initial_public_shares + 4_000_000
    up = validate_offering(loads_offering(_with('reference = "r"\npublic_share = "12.345%"\nrounding = "up"\n')))
    assert up.reallocation_target_shares == 12_345_000  # already a whole lot


@pytest.mark.parametrize(
    ("table", "code", "field"),
    [
        ('reference = "r"\npublic_share = "15.01%"\n', OfferingCode.OUTSIDE_RULES, "offering.reallocation.public_share"),
        ('reference = "r"\nshares = 5_000_100\n', OfferingCode.OUTSIDE_RULES, "offering.reallocation.public_share"),
        ('reference = "r"\npublic_share = "10%"\n', OfferingCode.INVALID_FIELD, "offering.reallocation.public_share"),
        ('reference = "r"\npublic_share = "12%"\nshares = 100\n', OfferingCode.INVALID_FIELD, "offering.reallocation.public_share"),
        ('reference = "r"\nshares = 150\n', OfferingCode.INVALID_FIELD, "offering.reallocation.public_share"),
        ('reference = " "\npublic_share = "12%"\n', OfferingCode.INVALID_FIELD, "offering.reallocation.reference"),
    ],
)
def test_reallocation_refused_with_a_code_and_the_rule(table: str, code: OfferingCode, field: str) -> None:
    with pytest.raises(Reject) as caught:
        validate_offering(loads_offering(_with(table)))
    r = caught.value.rejection
    assert (r.code, r.field) == (code, field), r
    if code == OfferingCode.OUTSIDE_RULES:
        assert "allocation cap" in r.rule and "Tongshifu 0664" in r.rule


def test_reallocation_before_august_2025_is_capped_at_double_the_initial_tranche() -> None:
    data = tomllib.loads(_with('reference = "r"\npublic_share = "21%"\n'))
    data["offering"] |= {"prospectus_date": date(2025, 6, 2), "public_offer_open": date(2025, 6, 2), "price_fixing_date": date(2025, 6, 6)}
    data["offering"].pop("mechanism")
    with pytest.raises(Reject) as caught:
        validate_offering(parse_offering(data))
    assert "2 times the initial public tranche" in caught.value.rejection.message and "GL91-18" in caught.value.rejection.rule
    data["offering"]["reallocation"]["public_share"] = "20%"
    assert validate_offering(parse_offering(data)).reallocation_target_shares == 20_000_000


def test_reallocation_table_refuses_an_unknown_key_and_a_bad_rounding() -> None:
    for table in ('reference = "r"\npublic_share = "12%"\nround = "down"\n', 'reference = "r"\npublic_share = "12%"\nrounding = "half"\n'):
        with pytest.raises(Reject) as caught:
            loads_offering(_with(table))
        assert caught.value.rejection.field.startswith("offering.reallocation"), caught.value.rejection
