"""Read-model rows the events alone do not carry, computed once when their event is projected.

An allocation's per-account figures (numpy over up to two million applications) and the
allotment results announcement need the offering context's books and allocation result; an
issuer's eligibility and timetable need its submitted profile. Computing them per GET on the
engine's writer thread made order entry wait behind a report (DESIGN.md: reads never touch the
engine). So the projector computes them here, on the writer thread, once, when
``OfferingAllocated`` (or ``IssuerProfileSubmitted``, ``ListingApplicationFiled``) is projected,
in the same read-model transaction as the event; GETs read the rows. The offering's stage is a row
too, moved by the lifecycle events in `STAGES` order. The mechanism comparison (the same book
allotted under every mechanism the deal could choose, `offering.compare`) is derived the same way
when ``OfferingAllocated`` arrives: four or five allocations over the books, once, not per GET.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lionrock.kernel.messages import Event
from lionrock.kernel.price import consideration_minor
from lionrock.offering.announcement import announcement_markdown
from lionrock.offering.compare import compare_allocated, comparison_json, comparison_lines
from lionrock.offering.events import (
    OfferingAllocated,
    OfferingDefined,
    OfferingSettled,
    OfferingStabilisationClosed,
    OfferPriceFixed,
    PublicOfferClosed,
)
from lionrock.offering.lifecycle import Stage
from lionrock.offering.pricing import PricingDecision

DDL = [
    """CREATE TABLE IF NOT EXISTS offering_stages (
         offering_id TEXT PRIMARY KEY, stage TEXT NOT NULL, rank BIGINT NOT NULL, updated_seq BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS allocations (
         offering_id TEXT NOT NULL, account TEXT NOT NULL, applications BIGINT NOT NULL, shares_applied BIGINT NOT NULL,
         public_shares BIGINT NOT NULL, placing_shares BIGINT NOT NULL, cornerstone_shares BIGINT NOT NULL,
         shares BIGINT NOT NULL, consideration_minor BIGINT NOT NULL, PRIMARY KEY (offering_id, account))""",
    """CREATE TABLE IF NOT EXISTS announcements (
         offering_id TEXT PRIMARY KEY, allotment_digest TEXT NOT NULL, markdown TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS issuer_profiles (
         issuer_id TEXT PRIMARY KEY, profile TEXT NOT NULL, assessed_on TEXT NOT NULL, route TEXT NOT NULL,
         filed_on TEXT, updated_seq BIGINT NOT NULL)""",
]

COMPARISON_DDL = [
    """CREATE TABLE IF NOT EXISTS offering_comparisons (
         offering_id TEXT PRIMARY KEY, allotment_digest TEXT NOT NULL, body TEXT NOT NULL)""",
]
"""The read model's migration step 5 (`readmodel.projector.READ_MODEL_MIGRATIONS`)."""

STAGES: tuple[tuple[type[Event], str], ...] = (
    (OfferingDefined, Stage.BOOKBUILDING.value),
    (PublicOfferClosed, Stage.CLOSED.value),
    (OfferPriceFixed, Stage.PRICED.value),
    (OfferingAllocated, Stage.ALLOCATED.value),
    (OfferingSettled, Stage.SETTLED.value),
    (OfferingStabilisationClosed, Stage.STABILISED.value),
)
"""The offering's stages in lifecycle order: an event moves the stage forward, never back."""
STAGE_RANK: dict[type[Event], tuple[int, str]] = {etype: (rank, stage) for rank, (etype, stage) in enumerate(STAGES)}
"""Lifecycle event class -> (rank, stage)."""
ALLOCATION_COLUMNS = (
    "account",
    "applications",
    "shares_applied",
    "public_shares",
    "placing_shares",
    "cornerstone_shares",
    "shares",
    "consideration_minor",
)


def allocation_rows(ctx: Any, offering_id: str) -> list[dict[str, Any]]:
    """Per account: public shares (applications), placing shares, cornerstone shares, consideration."""
    result = ctx.allocation(offering_id)
    iois, apps = ctx.books(offering_id)
    price = int(result.summary.price)
    rows: dict[str, dict[str, int]] = {}

    def row(account: str) -> dict[str, int]:
        return rows.setdefault(
            account, {"applications": 0, "shares_applied": 0, "public_shares": 0, "placing_shares": 0, "cornerstone_shares": 0}
        )

    if len(apps):
        n = len(apps.account_values)
        allotted = np.zeros(n, dtype=np.int64)
        applied = np.zeros(n, dtype=np.int64)
        count = np.zeros(n, dtype=np.int64)
        np.add.at(allotted, apps.account, result.app_allotted.astype(np.int64))
        np.add.at(applied, apps.account, np.maximum(apps.shares, 0).astype(np.int64))
        np.add.at(count, apps.account, 1)
        for code in np.flatnonzero(count):
            r = row(str(apps.account_values[int(code)]))
            r["applications"] += int(count[code])
            r["shares_applied"] += int(applied[code])
            r["public_shares"] += int(allotted[code])
    for i in range(iois.investors):
        if int(result.placee_shares[i]):
            row(str(iois.account[i]))["placing_shares"] += int(result.placee_shares[i])
    for c in result.cornerstones:
        row(c.account)["cornerstone_shares"] += int(c.shares)
    out = []
    for account in sorted(rows):
        r = rows[account]
        shares = r["public_shares"] + r["placing_shares"] + r["cornerstone_shares"]
        out.append({"account": account, **r, "shares": shares, "consideration_minor": consideration_minor(price, shares) if shares else 0})
    return out


def announcement_of(ctx: Any, offering_id: str, priced: dict[str, Any]) -> str:
    """The allotment results announcement (markdown) of an allocated offering, priced as ``priced``
    (the ``OfferPriceFixed`` event's JSON body)."""
    _, apps = ctx.books(offering_id)
    pricing = PricingDecision(
        price=int(priced["price"]),
        upsize_shares=int(priced["upsize_shares"]),
        policy=str(priced["policy"]),
        reasons=tuple(priced["reasons"]),
        curve=(),
        coverage_bp=int(priced["coverage_bp"]),
    )
    return announcement_markdown(ctx.offering(offering_id), pricing, ctx.allocation(offering_id), book_digest=apps.digest)


def comparison_of(ctx: Any, offering_id: str) -> dict[str, Any]:
    """The mechanism comparison of an allocated offering as JSON: every figure an integer (shares,
    basis points) beside its formatted text, per mechanism (``rows``), and the table a sponsor reads
    (``table``: one entry per figure, one column per row)."""
    comparison = compare_allocated(ctx, offering_id)
    body = comparison_json(comparison)
    body["table"] = [{"figure": name, "text": texts, "values": values} for name, texts, values in comparison_lines(comparison)]
    return body


__all__ = ["ALLOCATION_COLUMNS", "COMPARISON_DDL", "DDL", "STAGES", "STAGE_RANK", "allocation_rows", "announcement_of", "comparison_of"]
