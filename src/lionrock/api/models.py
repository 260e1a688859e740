"""Request and response models of the REST API (pydantic; they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ApiKeyOut(BaseModel):
    key: str = Field(description="Shown once; only its argon2 hash is stored.")
    key_id: str
    label: str


class NewUserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Literal["issuer", "sponsor", "investor", "broker", "operator", "regulator"]
    participant: str = ""
    accounts: list[str] = []
    offerings: list[str] = []
    issuers: list[str] = []


class NewOrderIn(BaseModel):
    """A new order. ``price`` is a decimal string (``"12.34"``) or omitted for market/auction orders."""

    instrument: str = Field(min_length=1, max_length=16, examples=["02525"])
    side: Literal["B", "S"]
    quantity: int = Field(gt=0, le=10**12)
    order_type: str = Field(default="LIMIT", min_length=1, max_length=32, examples=["LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT", "AT_AUCTION", "AT_AUCTION_LIMIT"])
    price: str | None = Field(default=None, examples=["12.34"])
    client_order_id: str = Field(min_length=1, max_length=64)
    account: str | None = Field(default=None, description="Defaults to the caller's first account.")
    short_sell: bool = Field(default=False, description="A (covered) short sale: a sell in a Designated Security, under the tick rule.")


class AmendOrderIn(BaseModel):
    price: str | None = None
    quantity: int | None = Field(default=None, gt=0, le=10**12)


class OutcomeOut(BaseModel):
    seq: int
    at_ns: int
    events: list[dict[str, Any]]


# -- offerings --------------------------------------------------------------------------------------
_STRICT = {"extra": "forbid"}


class OfferingTableIn(BaseModel):
    """The ``[offering]`` table of an offering file (docs/offering.md), as JSON. Prices are decimal
    strings, shares of the offer percentages (``"10%"``), amounts strings like ``"HKD 60,000,000"``."""

    model_config = _STRICT
    id: str = Field(min_length=1, max_length=64, examples=["DEEPCORE-2025"])
    issuer_id: str = Field(min_length=1, max_length=64)
    issuer_name: str = Field(min_length=1, max_length=256)
    instrument: str = Field(min_length=1, max_length=16, examples=["09901"])
    currency: str = "HKD"
    rmb_counter: str | None = None
    chapter: Literal["main", "18C", "18A"] = "main"
    pre_commercial: bool | None = None
    shares_offered: int = Field(gt=0, le=10**13)
    board_lot: int = Field(gt=0, le=10**7)
    price_range: tuple[str, str] = Field(examples=[["40.00", "48.00"]])
    prospectus_date: date
    public_offer_open: date
    price_fixing_date: date
    mechanism: str | None = Field(default=None, examples=["A", "B"])
    public_share: str | None = Field(default=None, examples=["10%"])
    waiver: dict[str, Any] | None = Field(default=None, description="``{reference, initial, steps: [[multiple, share], ...]}``")
    downward_flexibility: bool | None = None
    offer_size_adjustment: str | None = Field(default=None, examples=["15%"])
    over_allotment: str | None = Field(default=None, examples=["15%"])
    underwriter_account: str | None = None
    stabilising_manager_account: str | None = None
    stock_lender_account: str | None = None
    shares_outstanding_after: int | None = Field(default=None, ge=0)
    underwriting_commission: str | None = Field(default=None, examples=["2.5%"])
    listing_expenses: str | None = Field(default=None, examples=["HKD 60,000,000"])


class CornerstoneIn(BaseModel):
    model_config = _STRICT
    investor: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=256)
    account: str = Field(min_length=1, max_length=64)
    participant: str | None = None
    origin: Literal["international", "mainland", "hong_kong"] | None = None
    amount: str = Field(examples=["HKD 800,000,000"])
    lockup_months: int | None = Field(default=None, ge=0)
    independent: bool | None = None


class OfferingDefinitionIn(BaseModel):
    """An offering definition as JSON: the offering file's tables (``[offering]``, ``[[cornerstones]]``,
    ``[pricing]``, ``[placing]``, ``[public]``), validated by `lionrock.offering.definition`."""

    model_config = _STRICT
    offering: OfferingTableIn
    cornerstones: list[CornerstoneIn] = Field(default=[], max_length=100)
    pricing: dict[str, Any] = Field(default={}, description="``kind`` (coverage | max_proceeds | fixed), ``coverage_times``, ``fixed_price``, ``upsize_at_coverage``")
    placing: dict[str, Any] = Field(default={}, description="``tier_weights``, ``early_bonus``, ``max_share_per_placee``, ...")
    public: dict[str, Any] = Field(default={}, description="``pool_a_taper_eighths``, ``pool_b_taper_eighths``")

    def as_toml_data(self) -> dict[str, Any]:
        """The same dictionary `tomllib` would give for the equivalent offering file."""
        data: dict[str, Any] = {"offering": self.offering.model_dump(exclude_none=True)}
        data["offering"]["price_range"] = list(self.offering.price_range)
        if self.cornerstones:
            data["cornerstones"] = [c.model_dump(exclude_none=True) for c in self.cornerstones]
        for name in ("pricing", "placing", "public"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data


class IoiStepIn(BaseModel):
    model_config = _STRICT
    limit_price: str | None = Field(default=None, description="Decimal price; omitted or empty: at any price (a strike step).", examples=["46.00"])
    shares: int = Field(gt=0, le=10**13)


class IoiIn(BaseModel):
    """An institutional indication of interest (the bookrunner records it for its investor)."""

    model_config = _STRICT
    ioi_id: str = Field(min_length=1, max_length=64)
    investor: str = Field(min_length=1, max_length=64, description="Identity key of the institution.")
    account: str = Field(min_length=1, max_length=64)
    participant: str = ""
    investor_type: str = "long_only"
    origin: Literal["international", "mainland", "hong_kong"] = "international"
    tier: int = Field(default=1, ge=1, le=100)
    independent: bool = True
    steps: list[IoiStepIn] = Field(min_length=1, max_length=50)


class ApplicationIn(BaseModel):
    model_config = _STRICT
    applicant: str = Field(min_length=1, max_length=64, description="Investor identity key (FINI): two applications with one key are multiple applications.")
    account: str = Field(min_length=1, max_length=64)
    participant: str = Field(min_length=1, max_length=32)
    shares: int = Field(ge=0, le=10**13)


class ApplicationBatchIn(BaseModel):
    """Public (Hong Kong Public Offering) applications, one object per application."""

    model_config = _STRICT
    applications: list[ApplicationIn] = Field(min_length=1, max_length=200_000)


class FixPriceIn(BaseModel):
    model_config = _STRICT
    price: str | None = Field(default=None, description="The agreed price; omitted: the offering's pricing policy decides.", examples=["46.00"])
    upsize_shares: int = Field(default=-1, ge=-1, description="-1: the policy decides; otherwise the offer size adjustment shares exercised.")


class AllocateIn(BaseModel):
    model_config = _STRICT
    seed: int = Field(ge=0, le=2**63 - 1, description="The ballot seed, published with the results.")
    applications_digest: str = Field(default="", max_length=64, description="SHA-256 of the application book from the close; checked if given.")


__all__ = [
    "AllocateIn",
    "AmendOrderIn",
    "ApiKeyOut",
    "ApplicationBatchIn",
    "ApplicationIn",
    "CornerstoneIn",
    "FixPriceIn",
    "IoiIn",
    "IoiStepIn",
    "LoginIn",
    "NewOrderIn",
    "NewUserIn",
    "OfferingDefinitionIn",
    "OfferingTableIn",
    "OutcomeOut",
]
