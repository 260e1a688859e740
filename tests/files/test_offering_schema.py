"""The offering file's msgspec schema (lionrock.files.offerings) gives the same `OfferingSpec` as the
hand-written parser it replaced, for every example offering and for a file using every key, from
TOML and from the same tables as JSON; its errors name the field and what was expected.

`OLD_PARSER_DIGESTS` are the SHA-256 of each spec's JSON encoding as the hand-written parser gave
it: commit fb53e5b compared the two parsers directly (the old one kept under tests/files as the
reference), then the reference was deleted and its figures kept here."""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateways.rest.test_offering_models import EVERY_FIELD, WAIVED_18C
from lionrock.files.offerings import decode_offering_json, parse_offering
from lionrock.kernel.errors import Reject

EXAMPLES = Path(str(resources.files("lionrock") / "examples" / "offerings"))
TEXTS = {
    **{str(p.relative_to(EXAMPLES)): p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.rglob("*.toml"))},
    "every_field": EVERY_FIELD,
    "waived_18c": WAIVED_18C,
}


def _as_json(text: str) -> bytes:
    return json.dumps(tomllib.loads(text), default=str).encode()  # dates as ISO strings, as a JSON client sends them


OLD_PARSER_DIGESTS = {
    "chapter18c_precommercial.toml": "0e9812eb5697b02ed06c9a985dc1a8bf856a059c60c36fa251af1a73fb9e9a9c",
    "every_field": "12023113d4288b5ea31bfcb6f6619718b180eda0346ad12bc469571ff9e98f6c",
    "mechanism_b_ai.toml": "b9f189223aef4004d8a4df2354d750cd9b6a56cece893ffa43acb39ae418abdb",
    "pn18_waiver.toml": "3b21d33b60051a81e026131e3c9d684e0ee804eee2f8396b03724a623a4972e5",
    "sample/offering.toml": "dea796fe0565405f781c3e53d70ed5cb1677ffa91286e07b5cbf6a63b4671153",
    "waived_18c": "a63002e13fe3d4ebd0fe5e4ad016655afce70562b1ae9ea383d6b8171d12b75a",
}


def _digest(spec: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(spec)).hexdigest()


def test_every_example_offering_has_the_old_parsers_figure() -> None:
    assert set(TEXTS) == set(OLD_PARSER_DIGESTS)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_schema_gives_the_old_parsers_spec_from_toml_and_json(name: str) -> None:
    spec = parse_offering(tomllib.loads(TEXTS[name]))
    assert _digest(spec) == OLD_PARSER_DIGESTS[name]
    assert decode_offering_json(_as_json(TEXTS[name])) == spec


@pytest.mark.parametrize(
    ("table", "key", "value", "field", "words"),
    [
        ("offering", "chapter", "19Z", "offering.chapter", "expected one of main, 18C, 18A, got '19Z'"),
        ("offering", "board_lot", 0, "offering.board_lot", "whole number; must be at least 1"),
        ("offering", "id", "DEEP\x01", "offering.id", "not allowed in an identifier"),
        ("offering", "listing_expenses", "USD 5", "offering.listing_expenses", "offer currency HKD"),
        ("public", "pool_a_taper_eighths", 9, "public.pool_a_taper_eighths", "whole number; must be at most 8"),
        (
            "cornerstones",
            None,
            [{"investor": "A", "name": "A Fund", "account": "C:A", "amount": "HKD 1,000", "origin": "moon"}],
            "cornerstones[0].origin",
            "expected one of international, mainland, hong_kong",
        ),
        ("lockups", None, [{"holder": "H"}], "lockups[0].kind", "is required"),
        (
            "offering",
            "waiver",
            {"reference": "W", "initial": "5%", "steps": [["15%", "15%"]]},
            "offering.waiver.steps[0]",
            "not a percentage",
        ),
        ("pricing", "fixed_price", "1e3", "pricing.fixed_price", "price"),
    ],
)
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
