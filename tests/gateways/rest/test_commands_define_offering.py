"""``POST /v1/commands`` with a ``DefineOffering`` goes through the offering file's schema (issue 15):
the body carries the file's tables, as ``POST /v1/offerings`` does, and a field that breaks the
schema is a 400 naming it with the schema's words, before the engine sees the command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lionrock.gateways.server import BackgroundServer
from testkit.service_ipo import definition
from testkit.service_world import PASSWORD, open_world


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    service, _ = open_world(str(tmp_path_factory.mktemp("define") / "lionrock.db"))
    server = BackgroundServer(service, fix=False).start()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/v1/session", json={"username": "op", "password": PASSWORD}).status_code == 200
        yield c
    server.stop()
    service.close()


def _define(offering: dict[str, Any]) -> dict[str, Any]:
    return {"type": "DefineOffering", "offering": offering}


def test_generic_define_offering_takes_the_offering_file_tables(op: httpx.Client) -> None:
    r = op.post("/v1/commands", json=_define(definition("CMD-1", "09981")))
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events"]] == ["OfferingDefined"]
    assert op.get("/v1/offerings/CMD-1").status_code == 200


@pytest.mark.parametrize(
    ("table", "key", "value", "field", "words"),
    [
        ("offering", "chapter", "19Z", "offering.offering.chapter", "expected one of main, 18C, 18A, got '19Z'"),
        ("offering", "currency", "GBP", "offering.offering.currency", "expected one of HKD, CNY, USD"),
        ("offering", "board_lot", 0, "offering.offering.board_lot", "whole number; must be at least 1"),
        ("offering", "id", "CMD\x01", "offering.offering.id", "not allowed in an identifier"),
        ("offering", "colour", "red", "offering.offering.colour", "unknown key"),
        ("public", "pool_a_taper_eighths", 9, "offering.public.pool_a_taper_eighths", "whole number; must be at most 8"),
        ("pricing", "kind", "auction", "offering.pricing.kind", "expected one of"),
    ],
)
def test_generic_define_offering_breaking_the_schema_is_400_naming_the_field(
    op: httpx.Client, table: str, key: str, value: object, field: str, words: str
) -> None:
    offering = definition("CMD-2", "09982")
    offering.setdefault(table, {})[key] = value
    r = op.post("/v1/commands", json=_define(offering))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["reason"], error["field"]) == ("MALFORMED_REQUEST", field) and words in error["message"], error


def test_generic_define_offering_refuses_the_unchecked_spec_shape(op: httpx.Client) -> None:
    """The command's own shape (an `OfferingSpec` as JSON) no longer reaches the core unchecked."""
    spec = {"offering_id": "CMD-3", "issuer_id": "ISS", "issuer_name": "X", "instrument": "09983", "currency": "GBP"}
    r = op.post("/v1/commands", json=_define(spec))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "offering.offering_id" and "unknown key" in r.json()["error"]["message"]
    extra = op.post("/v1/commands", json={**_define(definition("CMD-4", "09984")), "seed": 1})
    assert extra.status_code == 400 and extra.json()["error"]["field"] == "seed", extra.text


def test_generic_command_list_shows_define_offering_with_the_file_schema(op: httpx.Client) -> None:
    listing = op.get("/v1/commands").json()
    schemas = listing["schemas"]
    assert "DefineOffering" in listing["types"]
    assert schemas["DefineOffering"]["properties"]["offering"] == {"$ref": "#/$defs/OfferingDefinitionIn"}
    assert "OfferingTableIn" in schemas and "PlaceOrder" in schemas
