"""Schemathesis over every REST endpoint, once per role: no 5xx, every answer as documented.

The venue is real (a `Service` on SQLite behind uvicorn on loopback, the same `BackgroundServer`
the other API tests use), with a user of each role, listed instruments, resting orders of two
investors, an allocated offering and an issuer, so that path parameters can name objects that
exist (one's own and another tenant's) as well as the random ones Schemathesis makes up.

For each role, Schemathesis generates requests for every operation in ``/openapi.json``, valid
ones (positive mode) and ones that break the schema (negative mode), sends them with that role's
API key and checks each answer:

- ``not_a_server_error``: nothing a client sends may make the service answer 5xx (a 503 would
  mean the engine stopped: a bad command must be rejected, never stop it);
- ``status_code_conformance``: the status is one the operation documents;
- ``response_schema_conformance``: the body matches the documented schema for that status.

After each role's run the engine must still be running: ``GET /v1/health`` says so and a valid
order is accepted. The budget is small in ``make test`` (``LIONROCK_SCHEMATHESIS_EXAMPLES``,
default 4 per operation and mode); ``make fuzz`` raises it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from lionrock.gateways.server import BackgroundServer
from testkit.service_ipo import application_rows, definition, ioi_bodies
from testkit.service_world import PASSWORD, ROLES, STOCK, next_id, open_world

EXAMPLES = int(os.environ.get("LIONROCK_SCHEMATHESIS_EXAMPLES", "4"))
OTHER_STOCK = "02526"
OFFERING, OTHER_OFFERING = "OFF-A", "OFF-B"
ISSUER = "ISS-A"
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass
class Venue:
    service: Any
    srv: BackgroundServer
    keys: dict[str, str]
    known: dict[str, list[str]] = field(default_factory=dict)
    """Path parameter name -> ids that exist (own and other tenants'), mixed into generated ones."""


def _ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    service, _ = open_world(str(tmp_path_factory.mktemp("schemathesis") / "lionrock.db"), stocks=(STOCK, OTHER_STOCK))
    service.auth.create_user("spo2", PASSWORD, "sponsor", offerings=[OTHER_OFFERING])
    srv = BackgroundServer(service, fix=False).start()
    keys = {user: service.auth.create_api_key(user, "schemathesis") for user in [*ROLES, "spo2"]}
    with httpx.Client(base_url=srv.url, timeout=60) as c:

        def as_(user: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[user]}"}

        orders = []
        for user, account in (("inv1", "C:B1:I1"), ("inv2", "C:B2:I2")):
            body = {"instrument": STOCK, "side": "B", "quantity": 100, "price": "49.60", "client_order_id": next_id(), "account": account}
            orders.append(str(_ok(c.post("/v1/orders", json=body, headers=as_(user)), 201)["order"]["order_id"]))
        for offering, sponsor, instrument in ((OFFERING, "spo", "09901"), (OTHER_OFFERING, "spo2", "09902")):
            _ok(c.post("/v1/offerings", json=definition(offering, instrument), headers=as_(sponsor)), 201)
            for body in ioi_bodies(offering, 4):
                _ok(c.post(f"/v1/offerings/{offering}/iois", json=body, headers=as_(sponsor)), 201)
            _ok(c.post(f"/v1/offerings/{offering}/applications", json={"applications": application_rows(20, 5)}, headers=as_(sponsor)), 201)
        from gateways.rest.test_offerings_api import profile_json

        _ok(c.post("/v1/issuers", json=profile_json(ISSUER), headers=as_("iss")), 201)
    known = {
        "order_id": orders,
        "offering_id": [OFFERING, OTHER_OFFERING],
        "issuer_id": [ISSUER],
        "instrument": [STOCK, OTHER_STOCK],
        "account": ["C:B1:I1", "C:B2:I2", "P:B1"],
        "ioi_id": [f"{OFFERING}-IOI-0001", f"{OTHER_OFFERING}-IOI-0001"],
    }
    yield Venue(service, srv, keys, known)
    srv.stop()
    service.close()


def _engine_still_runs(v: Venue) -> None:
    with httpx.Client(base_url=v.srv.url, timeout=60) as c:
        health = _ok(c.get("/v1/health"))
        assert health["running"] and health["failure"] is None, health
        body = {"instrument": STOCK, "side": "B", "quantity": 100, "price": "49.70", "client_order_id": next_id()}
        placed = _ok(c.post("/v1/orders", json=body, headers={"Authorization": f"Bearer {v.keys['inv1']}"}), 201)
        assert placed["order"]["status"] in ("new", "open", "resting"), placed


@pytest.mark.slow
@pytest.mark.parametrize("user", ROLES)
def test_schemathesis_every_operation_as_role_no_5xx_and_conforms(venue: Venue, user: str) -> None:
    schema = schemathesis.openapi.from_url(f"{venue.srv.url}/openapi.json")
    headers = {"Authorization": f"Bearer {venue.keys[user]}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [op.label for op in operations]
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            _fuzz(venue, operation, mode, headers, failures)
    _engine_still_runs(venue)
    assert not failures, f"{len(failures)} failing operations as {user}:\n" + "\n\n".join(failures)


def _fuzz(v: Venue, operation: Any, mode: Any, headers: dict[str, str], failures: list[str]) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        for name in list(case.path_parameters or {}):
            if name in v.known and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(v.known[name]))
        case.call_and_validate(base_url=v.srv.url, headers=headers, checks=CHECKS, timeout=60)

    try:
        run()
    except Unsatisfiable:  # negative mode: nothing in this operation can be made invalid (no body, free-text path only)
        assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
    except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures reported together
        failures.append(f"{operation.label} [{mode.value}]: {exc}"[:3000])


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/v1/issuers/{ISSUER}/eligibility?on=0516-07-21", "on"),  # before the rulebook's first provision (1994)
        (f"/v1/issuers/{ISSUER}/timetable?filed_on=1990-01-01", "filed_on"),
        (f"/v1/issuers/{ISSUER}/timetable?filed_on=2200-01-01", "filed_on"),  # beyond the exchange calendar
    ],
)
def test_schemathesis_found_issuer_day_outside_rules_is_422_naming_the_field(venue: Venue, path: str, field: str) -> None:
    """Found by this fuzzing: a day outside the rulebook or the calendar answered 500."""
    with httpx.Client(base_url=venue.srv.url, timeout=60, headers={"Authorization": f"Bearer {venue.keys['iss']}"}) as c:
        r = c.get(path)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert (error["reason"], error["field"]) == ("MALFORMED_REQUEST", field) and "outside the rules" in error["message"]
    _engine_still_runs(venue)
