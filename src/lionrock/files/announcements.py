"""The allotment results files (docs/offering.md): one row per public application, one per
cornerstone and placee. The announcement's text is the core's (`lionrock.offering.announcement`);
writing files is the edge's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lionrock.offering.allocation import (
    AllocationResult,
    ApplicationStatus,
    amount_payable,
    consideration_array,
)
from lionrock.offering.books import ApplicationBook, IoiBook
from lionrock.offering.definition import ResolvedOffering


def write_public_csv(path: Path, ro: ResolvedOffering, apps: ApplicationBook, result: AllocationResult) -> None:
    """One row per application (columns in docs/offering.md)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    price = result.summary.price
    paid_hold = amount_payable(ro.spec.price_high, np.maximum(apps.shares, 0), ro.charges)
    due = amount_payable(price, result.app_allotted, ro.charges)
    status_names = np.asarray([s.name.lower() for s in ApplicationStatus], dtype=object)
    pool_names = np.asarray(["", "A", "B"], dtype=object)

    def strings(codes: np.ndarray, values: object) -> pa.Array:
        dictionary = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())  # type: ignore[call-overload]
        return dictionary.take(pa.array(codes))

    applicant = strings(apps.applicant, apps.applicant_values)
    account = strings(apps.account, apps.account_values)
    participant = strings(apps.participant, apps.participant_values)
    table = pa.table(
        {
            "application": pa.array(np.arange(1, len(apps) + 1)),
            "applicant": applicant,
            "account": account,
            "participant": participant,
            "shares_applied": pa.array(apps.shares),
            "pool": pa.array(pool_names[result.app_pool]),
            "status": pa.array(status_names[result.app_status]),
            "shares_allotted": pa.array(result.app_allotted),
            "consideration_minor": pa.array(consideration_array(price, result.app_allotted)),
            "amount_paid_minor": pa.array(paid_hold),
            "refund_minor": pa.array(paid_hold - due),
        }
    )
    pacsv.write_csv(table, path)


def write_placing_csv(path: Path, iois: IoiBook, result: AllocationResult, price: int) -> None:
    """One row per cornerstone and per investor in the book (columns in docs/offering.md)."""
    import csv

    demand = iois.demand_at(price)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "investor",
                "account",
                "participant",
                "kind",
                "investor_type",
                "origin",
                "tier",
                "independent",
                "demand_at_price",
                "shares_allotted",
                "lockup_end",
            ]
        )
        for c in result.cornerstones:
            w.writerow([c.investor, c.account, "", "cornerstone", "", "", "", "", "", c.shares, c.lockup_end])
        for i in range(iois.investors):
            w.writerow(
                [
                    iois.investor[i],
                    iois.account[i],
                    iois.participant[i],
                    "placee",
                    iois.investor_type[i],
                    iois.origin[i],
                    int(iois.tier[i]),
                    bool(iois.independent[i]),
                    int(demand[i]),
                    int(result.placee_shares[i]),
                    "",
                ]
            )


__all__ = ["write_placing_csv", "write_public_csv"]
