"""Request and response models of the REST API (pydantic; they make the OpenAPI schema)."""

from __future__ import annotations

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


class AmendOrderIn(BaseModel):
    price: str | None = None
    quantity: int | None = Field(default=None, gt=0, le=10**12)


class OutcomeOut(BaseModel):
    seq: int
    at_ns: int
    events: list[dict[str, Any]]


__all__ = ["AmendOrderIn", "ApiKeyOut", "LoginIn", "NewOrderIn", "NewUserIn", "OutcomeOut"]
