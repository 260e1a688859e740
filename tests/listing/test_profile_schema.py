"""The issuer profile's msgspec schema (lionrock.files.profiles) gives the same `IssuerProfile` as the
hand-written parser it replaced, for every example profile, from TOML and from the same tables as
JSON; the REST route's request body is that schema.

`OLD_PARSER_DIGESTS` are the SHA-256 of each profile's JSON encoding as the hand-written parser gave
it: commit d4bfd7b compared the two parsers directly (the old one kept under tests/listing as the
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

from lionrock.files.profiles import IssuerProfileIn, decode_profile_json, profile_from_dict
from lionrock.files.schema import json_schema_components
from lionrock.gateways.rest.issuers import router
from lionrock.listing.profile import ProfileError

EXAMPLES = Path(str(resources.files("lionrock") / "examples" / "issuers"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.toml"))}


OLD_PARSER_DIGESTS = {
    "hanxin_compute.toml": "41b6b05fa686e6fae2a7d199f3b73a94513a828391813f59c3843b7cdbf9b8b1",
    "jixie_robotics.toml": "95cae200da34ef728a7635db5b8dc9abe88485511d2e535c3970edbb79995b56",
    "lingjing_vision.toml": "76e514bd8345536cdc11791a46be731cb2a9efa48c8763cf9c7c398d5e1bf7e4",
    "luheng_autonomous.toml": "4c22ce5c6ce66dbb1ae0c83f50ed959b7053e28f4da86d815639308a46135ed4",
    "qianli_finance.toml": "c3f46e7174245e7c1836c5cc9bcd222c182f0574bcaef434dac2144bdfb08a32",
    "tianshu_models.toml": "f78317a42cf6de91a9cf7edc1592e62e03e7959f4732f4fdf40b90b25757ca6f",
    "xinhe_chips.toml": "7be6150a2175e71aff0cd8846f1486cd70a52badd172343d956f1e948726083c",
    "yixin_health.toml": "658066fd9d48a68c5e881d3c41809fce949314b790fae81cfea6ffe4f524d7a8",
}


def _digest(profile: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(profile)).hexdigest()


def test_every_example_profile_has_the_old_parsers_figure() -> None:
    assert set(TEXTS) == set(OLD_PARSER_DIGESTS)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_schema_gives_the_old_parsers_profile_from_toml_and_json(name: str) -> None:
    profile = profile_from_dict(tomllib.loads(TEXTS[name]))
    assert _digest(profile) == OLD_PARSER_DIGESTS[name]
    assert decode_profile_json(json.dumps(tomllib.loads(TEXTS[name]), default=str)) == profile


@pytest.mark.parametrize(
    ("section", "key", "value", "field", "words"),
    [
        ("issuer", "structure", 5, "issuer.structure", "expected one of direct, vie, offshore"),
        ("offering", "board_lot", 0, "offering.board_lot", "must be at least 1"),
        ("continuity", "management_years", True, "continuity.management_years", "whole number"),
        ("wvr", "votes_per_wvr_share", 1, "wvr.votes_per_wvr_share", "must be at least 2"),
        ("offering", "planned_public_float", [1], "offering.planned_public_float", "percentage"),
        ("fx", "GBP", "1.0", "fx.GBP", "expected a key among HKD, CNY, USD"),
        ("fx", "USD", True, "fx.USD", "percentage"),
        ("issuer", "id", "has spaces", "issuer.id", "matching regex"),
    ],
)
def test_profile_schema_error_names_the_field_and_what_was_expected(section: str, key: str, value: object, field: str, words: str) -> None:
    data = tomllib.loads(TEXTS["qianli_finance.toml"])
    data.setdefault(
        section,
        {
            "votes_per_wvr_share": 10,
            "beneficiaries_are_directors": True,
            "beneficiaries_economic_interest": "20%",
            "innovative_company": True,
        },
    )[key] = value
    for decode in (profile_from_dict, lambda d: decode_profile_json(json.dumps(d, default=str))):
        with pytest.raises(ProfileError) as exc:
            decode(data)
        assert (exc.value.field, words in exc.value.message) == (field, True), exc.value.message


def test_profile_date_that_is_not_a_date_is_named() -> None:
    data = tomllib.loads(TEXTS["qianli_finance.toml"])
    data["financial_years"][0]["year_end"] = "2023-13-45"
    for decode in (profile_from_dict, lambda d: decode_profile_json(json.dumps(d, default=str))):
        with pytest.raises(ProfileError) as exc:
            decode(data)
        assert exc.value.field == "financial_years[0].year_end" and "expected a date like 2025-11-20" in exc.value.message


def test_rest_issuer_route_takes_the_file_schema_as_its_request_body() -> None:
    (route,) = [r for r in router.routes if getattr(r, "path", "") == "/v1/issuers" and "POST" in getattr(r, "methods", ())]
    body = route.openapi_extra["requestBody"]  # type: ignore[attr-defined]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IssuerProfileIn"}
    schemas = json_schema_components([IssuerProfileIn])[1]
    assert set(schemas["IssuerProfileIn"]["properties"]) == set(IssuerProfileIn.__struct_fields__)
    assert all(s.get("additionalProperties") is False for s in schemas.values() if s.get("type") == "object" and "properties" in s)
