"""Redaction of event bodies for a tenant: rows of other accounts left out, not just masked."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from lionrock.offering.events import IpoApplicationsFunded, IpoSettlementInstructed
from lionrock.readmodel.queries import redact
from lionrock.readmodel.tenancy import Principal, Role

INV1 = Principal("inv1", Role.INVESTOR, participant="B1", accounts=("C:B1:I1",))
BRK1 = Principal("brk1", Role.BROKER, participant="B1")
SPO = Principal("spo", Role.SPONSOR, offerings=("OFF-A",), issuers=("ISS-A",))


def _body(event: Any) -> dict[str, Any]:
    return json.loads(msgspec.json.encode(event))


def test_redact_lists_of_rows_investor_sees_only_own_rows() -> None:
    funded = IpoApplicationsFunded(offering_id="OFF-A", currency="HKD", holds=[("C:B1:I1", 100), ("C:B2:I2", 999_999)])
    settled = IpoSettlementInstructed(
        offering_id="OFF-A",
        instrument="09999",
        currency="HKD",
        issuer_account="I:ISS-A",
        price=10_000,
        allotments=[("C:B1:I1", 100, 1_000), ("C:B2:I2", 5_000, 50_000)],
        refunds=[("C:B2:I2", 7)],
        fees=[("F:HKEX", 3)],
    )
    for event, field in ((funded, "holds"), (settled, "allotments"), (settled, "refunds")):
        seen = redact(_body(event), INV1)
        assert "C:B2:I2" not in json.dumps(seen), field
        assert all(row[0] == "C:B1:I1" for row in seen[field])
    assert redact(_body(funded), INV1)["holds"] == [["C:B1:I1", 100]]
    allocated = {  # OfferingAllocated as JSON (PlaceeAllotment is array-like)
        "offering_id": "OFF-A",
        "summary": {"price": 10_000},
        "cornerstones": [{"investor": "CS", "name": "C", "account": "C:B2:I2", "shares": 9, "lockup_end": "2026-06-01"}],
        "placees": [["PL1", "C:B2:I2", 400], ["PL2", "C:B1:I1", 100]],
    }
    seen = redact(allocated, INV1)
    assert seen["cornerstones"] == [] and seen["placees"] == [["PL2", "C:B1:I1", 100]]
