"""The issuer profile's msgspec schema (lionrock.files.profiles) gives the same `IssuerProfile` as the
hand-written parser it replaces, for every example profile, from TOML and from the same tables as
JSON; the REST route's request body is that schema."""

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
from listing.old_profile_parser import profile_from_dict as old_profile_from_dict

EXAMPLES = Path(str(resources.files("lionrock") / "examples" / "issuers"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.toml"))}


def _digest(profile: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(profile)).hexdigest()


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_schema_gives_the_old_parsers_profile_from_toml_and_json(name: str) -> None:
    old = old_profile_from_dict(tomllib.loads(TEXTS[name]))
    assert profile_from_dict(tomllib.loads(TEXTS[name])) == old
    assert decode_profile_json(json.dumps(tomllib.loads(TEXTS[name]), default=str)) == old
    print(name, _digest(old))


@pytest.mark.parametrize(("section", "key", "value", "field", "words"), [
    ("issuer", "structure", 5, "issuer.structure", "expected one of ['direct', 'vie', 'offshore']"),
    ("offering", "board_lot", 0, "offering.board_lot", "must be at least 1"),
    ("continuity", "management_years", True, "continuity.management_years", "whole number"),
    ("wvr", "votes_per_wvr_share", 1, "wvr.votes_per_wvr_share", "must be at least 2"),
    ("offering", "planned_public_float", [1], "offering.planned_public_float", "percentage"),
])
def test_profile_schema_error_names_the_field_and_what_was_expected(section: str, key: str, value: object, field: str, words: str) -> None:
    data = tomllib.loads(TEXTS["qianli_finance.toml"])
    data.setdefault(section, {"votes_per_wvr_share": 10, "beneficiaries_are_directors": True,
                              "beneficiaries_economic_interest": "20%", "innovative_company": True})[key] = value
    for decode in (profile_from_dict, lambda d: decode_profile_json(json.dumps(d, default=str))):
        with pytest.raises(ProfileError) as exc:
            decode(data)
        assert (exc.value.field, words in exc.value.message) == (field, True), exc.value.message


def test_rest_issuer_route_takes_the_file_schema_as_its_request_body() -> None:
    (route,) = [r for r in router.routes if getattr(r, "path", "") == "/v1/issuers" and "POST" in getattr(r, "methods", ())]
    body = route.openapi_extra["requestBody"]  # type: ignore[attr-defined]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IssuerProfileIn"}
    schemas = json_schema_components([IssuerProfileIn])[1]
    assert set(schemas["IssuerProfileIn"]["properties"]) == set(IssuerProfileIn.__struct_fields__)
    assert all(s.get("additionalProperties") is False for s in schemas.values() if s.get("type") == "object" and "properties" in s)
