"""Tenancy: who is asking, and which rows of the read models they may see or act on.

A `Principal` is the caller as the service authenticated it (`lionrock.service.auth` makes one);
the read side filters every answer by it: operators and regulators see everything, an investor
the rows naming its accounts, a broker its participant's, a sponsor or issuer its offerings and
issuers. It lives here, below the service, because the queries need it and must not import the
service. Another tenant's object is `NotVisible`, exactly like an unknown one (the gateways answer
404), so tenancy never confirms that an id exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lionrock.kernel.account import belongs_to, house_account
from lionrock.kernel.errors import ServiceError


class Role(StrEnum):
    ISSUER = "issuer"
    SPONSOR = "sponsor"
    INVESTOR = "investor"
    BROKER = "broker"
    OPERATOR = "operator"
    REGULATOR = "regulator"


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they own."""

    username: str
    role: Role
    participant: str = ""
    accounts: tuple[str, ...] = ()
    offerings: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    via: str = "session"

    @property
    def sees_all(self) -> bool:
        return self.role in (Role.OPERATOR, Role.REGULATOR)

    def can_read_account(self, account: str) -> bool:
        return self.sees_all or self.can_trade_account(account)

    def can_trade_account(self, account: str) -> bool:
        """Place or cancel orders on ``account`` (operators may act on any; regulators never)."""
        if self.role == Role.OPERATOR:
            return True
        if self.role == Role.INVESTOR:
            return account in self.accounts
        if self.role == Role.BROKER:
            return belongs_to(account, self.participant) or account in self.accounts
        return False

    def can_read_offering(self, offering_id: str) -> bool:
        if self.sees_all:
            return True
        if self.role == Role.SPONSOR:
            return offering_id in self.offerings
        if self.role == Role.ISSUER:
            return offering_id in self.offerings
        return False

    def can_read_issuer(self, issuer_id: str) -> bool:
        if self.sees_all:
            return True
        return self.role in (Role.ISSUER, Role.SPONSOR) and issuer_id in self.issuers

    def parties(self) -> list[str]:
        """Accounts (and the participant) whose events this user may see."""
        out = list(self.accounts)
        if self.role == Role.BROKER and self.participant:
            out.append(house_account(self.participant))
        return out

    def public(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": str(self.role),
            "participant": self.participant,
            "accounts": list(self.accounts),
            "offerings": list(self.offerings),
            "issuers": list(self.issuers),
        }


class NotVisible(ServiceError, LookupError):
    """No such object visible to the caller (unknown, or another tenant's): ``field`` names the
    request field that named it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


__all__ = ["NotVisible", "Principal", "Role"]
