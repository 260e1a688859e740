"""Builders for offering tests: small offerings, application books with exact demand, IOIs."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import numpy as np

from lionrock.kernel.money import Rate
from lionrock.offering.books import (
    ApplicationBook,
    application_book_from_batches,
    ioi_book_from_iois,
)
from lionrock.offering.commands import ApplicationBatch, CornerstoneSpec, Ioi, IoiStep, OfferingSpec
from lionrock.offering.definition import ResolvedOffering, validate_offering
from lionrock.offering.pricing import PricingDecision

PRE_2025 = date(2025, 7, 2)
POST_2025 = date(2025, 11, 24)


def spec(**overrides: Any) -> OfferingSpec:
    """A Main Board offering of 1,000,000 shares in lots of 100 at HK$9.00-10.00 (Mechanism B 10%)."""
    base: dict[str, Any] = dict(
        offering_id="T1",
        issuer_id="ISS",
        issuer_name="Test AI Ltd",
        instrument="09999",
        shares_offered=1_000_000,
        board_lot=100,
        price_low=9_000,
        price_high=10_000,
        prospectus_date=POST_2025,
        public_offer_open=POST_2025,
        price_fixing_date=date(2025, 11, 28),
        mechanism="B",
        public_share=Rate(10, 100),
    )
    if "prospectus_date" in overrides and "public_offer_open" not in overrides:
        d = overrides["prospectus_date"]
        overrides.setdefault("public_offer_open", d)
        overrides.setdefault("price_fixing_date", _next_fixing(d))
    base.update(overrides)
    return OfferingSpec(**base)


def _next_fixing(d: date) -> date:
    from lionrock.kernel.xhkg import add_business_days

    return add_business_days(d, 4)


def resolved(**overrides: Any) -> ResolvedOffering:
    return validate_offering(spec(**overrides))


def pn18(**overrides: Any) -> ResolvedOffering:
    return resolved(prospectus_date=PRE_2025, mechanism="", public_share=None, **overrides)


def cornerstone(investor: str = "CS1", amount_minor: int = 100_000_000, **kw: Any) -> CornerstoneSpec:
    return CornerstoneSpec(investor=investor, name=f"Cornerstone {investor}", account=f"C:CS:{investor}", amount_minor=amount_minor, **kw)


def apps_for_demand(total: int, max_app: int, lot: int, prefix: str = "A") -> ApplicationBatch:
    """Applications (distinct applicants) adding up to exactly ``total`` shares, each <= max_app."""
    shares: list[int] = []
    left = total
    while left > 0:
        s = min(max_app, left) // lot * lot
        shares.append(s)
        left -= s
    return batch(shares, prefix)


def batch(shares: list[int], prefix: str = "A", applicants: list[str] | None = None) -> ApplicationBatch:
    names = applicants or [f"{prefix}{i:06d}" for i in range(len(shares))]
    return ApplicationBatch(applicants=names, accounts=[f"C:P1:{n}" for n in names], participants=["P1"] * len(shares), shares=shares)


def book(*batches: ApplicationBatch) -> ApplicationBook:
    return application_book_from_batches(list(batches))


def iois(ro: ResolvedOffering, total_shares: int, investors: int = 10, limit: int = 0) -> list[Ioi]:
    """``investors`` IOIs of equal size adding to about ``total_shares`` at ``limit`` (0: any price)."""
    each = max(total_shares // max(investors, 1) // ro.lot * ro.lot, ro.lot)
    return [
        Ioi(ioi_id=f"I{i}", investor=f"INV{i}", account=f"C:SYND:INV{i}", participant="P9", tier=1 + i % 3, steps=[IoiStep(limit, each)])
        for i in range(investors)
    ]


def ioi_book(ro: ResolvedOffering, total_shares: int, investors: int = 10, limit: int = 0):  # type: ignore[no-untyped-def]
    return ioi_book_from_iois(iois(ro, total_shares, investors, limit))


def at_price(price: int, upsize: int = 0) -> PricingDecision:
    return PricingDecision(price=price, upsize_shares=upsize, policy="fixed", reasons=("test",), curve=(), coverage_bp=0)


def roundtrip(message: Any) -> Any:
    return msgspec.msgpack.decode(msgspec.msgpack.encode(message), type=type(message))


def total(arr: np.ndarray) -> int:
    return int(arr.sum())
