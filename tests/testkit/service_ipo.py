"""An offering small enough for service tests, as the REST API takes it (JSON bodies)."""

from __future__ import annotations

import json
from typing import Any

from lionrock.files.offerings import decode_offering_json
from lionrock.kernel.price import format_price
from lionrock.offering.definition import validate_offering
from lionrock.sim.demand import synthetic_application_batch, synthetic_iois


def definition(offering_id: str, instrument: str) -> dict[str, Any]:
    """A Main Board offering (Mechanism B, 10% public) of 1,000,000 shares at HK$9.00-10.00."""
    return {
        "offering": {
            "id": offering_id,
            "issuer_id": f"ISS-{offering_id}",
            "issuer_name": f"{offering_id} Holdings Ltd",
            "instrument": instrument,
            "shares_offered": 1_000_000,
            "board_lot": 100,
            "price_range": ["9.00", "10.00"],
            "prospectus_date": "2025-11-24",
            "public_offer_open": "2025-11-24",
            "price_fixing_date": "2025-11-28",
            "mechanism": "B",
            "public_share": "10%",
            "over_allotment": "15%",
            "shares_outstanding_after": 5_000_000,
        },
        "pricing": {"kind": "coverage", "coverage_times": "3"},
    }


def definition_priced_on_day(offering_id: str, instrument: str) -> dict[str, Any]:
    """`definition` with its timetable moved a week back, so that the service world's first day
    (DAY, 2025-11-24) is its price determination date: the application lists closed at noon on the
    business day before, so one service can close, price and allocate it without moving the clock."""
    body = definition(offering_id, instrument)
    body["offering"].update(prospectus_date="2025-11-18", public_offer_open="2025-11-19", price_fixing_date="2025-11-24")
    return body


RO = validate_offering(decode_offering_json(json.dumps(definition("X", "09999"))))
T = RO.timetable


def ioi_bodies(prefix: str, count: int = 12) -> list[dict[str, Any]]:
    out = []
    for ioi in synthetic_iois(RO, count, seed=3):
        out.append(
            {
                "ioi_id": f"{prefix}-{ioi.ioi_id}",
                "investor": ioi.investor,
                "account": ioi.account,
                "participant": ioi.participant,
                "tier": ioi.tier,
                "origin": ioi.origin,
                "steps": [{"limit_price": format_price(s.limit_price) if s.limit_price else None, "shares": s.shares} for s in ioi.steps],
            }
        )
    return out


def application_rows(count: int, seed: int) -> list[dict[str, Any]]:
    b = synthetic_application_batch(RO, count, seed=seed)
    return [
        {"applicant": a, "account": c, "participant": p, "shares": s}
        for a, c, p, s in zip(b.applicants, b.accounts, b.participants, b.shares, strict=True)
    ]


__all__ = ["RO", "T", "application_rows", "definition", "definition_priced_on_day", "ioi_bodies"]
