"""The offering file's msgspec schema (lionrock.files.offerings) gives the same `OfferingSpec` as the
hand-written parser it replaces, for every example offering and for a file using every key, from
TOML and from the same tables as JSON; its errors name the field and what was expected."""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from typing import Any

import msgspec
import pytest

from files.old_offering_parser import parse_offering as old_parse_offering
from gateways.rest.test_offering_models import EVERY_FIELD, WAIVED_18C
from lionrock.files.offerings import decode_offering_json, parse_offering
from lionrock.kernel.errors import Reject

EXAMPLES = resources.files("lionrock") / "examples" / "offerings"
TEXTS = {**{p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.iterdir(), key=lambda p: p.name) if p.name.endswith(".toml")},
         "every_field": EVERY_FIELD, "waived_18c": WAIVED_18C}


def _as_json(text: str) -> bytes:
    return json.dumps(tomllib.loads(text), default=str).encode()  # dates as ISO strings, as a JSON client sends them


def _digest(spec: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(spec)).hexdigest()


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_schema_gives_the_old_parsers_spec_from_toml_and_json(name: str) -> None:
    old = old_parse_offering(tomllib.loads(TEXTS[name]))
    assert parse_offering(tomllib.loads(TEXTS[name])) == old
    assert decode_offering_json(_as_json(TEXTS[name])) == old
    print(name, _digest(old))


@pytest.mark.parametrize(("table", "key", "value", "field", "words"), [
    ("offering", "chapter", "19Z", "offering.chapter", "expected one of ['main', '18C', '18A'], got '19Z'"),
    ("offering", "board_lot", 0, "offering.board_lot", "whole number >= 1"),
    ("offering", "id", "DEEP\x01", "offering.id", "not allowed in an identifier"),
    ("offering", "listing_expenses", "USD 5", "offering.listing_expenses", "offer currency HKD"),
    ("public", "pool_a_taper_eighths", 9, "public.pool_a_taper_eighths", "whole number <= 8"),
    ("cornerstones", None, [{"investor": "A", "name": "A Fund", "account": "C:A", "amount": "HKD 1,000", "origin": "moon"}],
     "cornerstones[0].origin", "expected one of ['international', 'mainland', 'hong_kong']"),
    ("lockups", None, [{"holder": "H"}], "lockups[0].kind", "is required"),
    ("offering", "waiver", {"reference": "W", "initial": "5%", "steps": [["15%", "15%"]]}, "offering.waiver.steps[0]", "not a percentage"),
    ("pricing", "fixed_price", "1e3", "pricing.fixed_price", "price"),
])
def test_schema_error_names_the_field_and_what_was_expected(table: str, key: str | None, value: object, field: str, words: str) -> None:
    data = tomllib.loads(TEXTS["mechanism_b_ai.toml"])
    if key is None:
        data[table] = value
    else:
        data.setdefault(table, {})[key] = value
    for decode in (parse_offering, lambda d: decode_offering_json(json.dumps(d, default=str))):
        with pytest.raises(Reject) as exc:
            decode(data)
        assert (exc.value.rejection.field, words in exc.value.rejection.message) == (field, True), exc.value.rejection.message
