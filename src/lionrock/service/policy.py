"""Who may send which command: roles by context, tenancy by the fields a command carries.

1. a role may send only the command types allow-listed for it (`ROLE_COMMANDS`): investors and
   brokers order entry, southbound orders, IOIs and public applications; sponsors the offering
   lifecycle (and the listing filings of their issuers); issuers their profile and listing
   filings; operators any; regulators none (they read). A new context's commands are operator-only
   until listed here (or granted with ``extra_role_contexts``);
2. investors and brokers may send only commands that name an account or an order, and every account-like field
   must be one they trade (`Principal.can_trade_account`); a ``participant`` field must be their
   own participant; an ``order_id`` must be an order of an account they trade (looked up in the
   read model: another tenant's order answers "not found", never "forbidden", so ids do not leak);
3. sponsors and issuers: an ``offering_id`` / ``issuer_id`` must be one of theirs, except on a
   command that creates it (its name starts with a creating verb and no event names that id yet);
   the service then grants the new id to its creator;
4. nested structs (``PlaceSouthboundOrder.order``, ``LodgePublicApplications.batch``) and lists
   of structs (``OfferingSpec.cornerstones``) are checked the same way; list fields ``accounts``
   and ``participants`` (an application batch's columns) are checked element by element;
5. an investor's public applications must carry its own identity key (``applicants``: the
   principal's username, the key it is registered under); brokers are trusted to supply their
   clients' identities, as on FINI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import msgspec

from lionrock.kernel.errors import ServiceError, reject_codes
from lionrock.kernel.messages import Command
from lionrock.readmodel.projector import PARTY_FIELDS
from lionrock.service.auth import Principal, Role


@reject_codes("service")
class ServiceCode(IntEnum):
    """Reject codes of the service edge (authentication, roles, tenancy, request shape)."""

    UNAUTHENTICATED = 7001
    ROLE_NOT_ALLOWED = 7002
    NOT_YOUR_ACCOUNT = 7003
    NOT_FOUND = 7004
    MALFORMED_REQUEST = 7005
    UNKNOWN_COMMAND_TYPE = 7006
    ENGINE_UNAVAILABLE = 7007
    NOT_YOUR_OFFERING = 7008
    NOT_YOUR_ISSUER = 7009
    NOT_YOUR_PARTICIPANT = 7010
    # 7011 (CONTEXT_NOT_BUILT) is retired with the optional contexts: every context is part of the build. Never reused.
    LOGIN_THROTTLED = 7012
    RATE_LIMITED = 7013
    REQUEST_TOO_LARGE = 7014
    CANNOT_DISABLE_SELF = 7015
    INTERNAL_ERROR = 7016


_ORDER_ENTRY = frozenset(
    {"PlaceOrder", "CancelOrder", "AmendOrder", "PlaceSouthboundOrder", "SubmitIoi", "WithdrawIoi", "LodgePublicApplications"}
)
_LISTING_FILINGS = frozenset({"SubmitIssuerProfile", "EngageTechChannel", "FileListingApplication", "FileCsrc", "CompleteCsrcFiling"})
ROLE_COMMANDS: dict[Role, frozenset[str]] = {
    Role.INVESTOR: _ORDER_ENTRY,
    Role.BROKER: _ORDER_ENTRY,
    Role.SPONSOR: frozenset(
        {
            "DefineOffering",
            "SubmitIoi",
            "WithdrawIoi",
            "LodgePublicApplications",
            "LodgePreferentialApplications",
            "ClosePublicOffer",
            "FixOfferPrice",
            "AllocateOffering",
            "SettleOffering",
            "CloseStabilisation",
        }
    )
    | _LISTING_FILINGS,
    Role.ISSUER: _LISTING_FILINGS,
    Role.REGULATOR: frozenset(),
}
"""Command types each role may send (operators: all). Anything not listed is operator-only."""
ROLE_CONTEXTS: dict[Role, frozenset[str]] = {
    Role.INVESTOR: frozenset({"trading", "connect", "offering"}),
    Role.BROKER: frozenset({"trading", "connect", "offering"}),
    Role.SPONSOR: frozenset({"offering", "listing"}),
    Role.ISSUER: frozenset({"listing"}),
    Role.REGULATOR: frozenset(),
}
"""The contexts of each role's commands (reference; the allow-list above is what is enforced)."""
CREATING_VERBS = ("Create", "Define", "Register", "Open", "Launch", "Submit", "File", "Apply")


@dataclass(frozen=True, kw_only=True)
class ServiceLimits:
    """The service's limits on callers (STYLE.md: put a limit on everything; going over one is a
    coded reject, not a slowdown). Defaults are generous for real clients (``bench api``: eight
    users each placing orders as fast as the machine allows stay far below them) and tight for
    a password guesser; ``lionrock serve`` flags override the main ones.

    - login: after ``login_failures_per_user`` failed sign-ins for one username (known or not)
      or ``login_failures_per_address`` from one client address, attempts are refused (7012,
      HTTP 429 / FIX Logout) for ``login_backoff_s``, doubling per further failure up to
      ``login_backoff_max_s``; failures are forgotten after ``login_forget_s`` without one;
    - requests: a token bucket per signed-in user (``requests_per_s_per_user`` refill,
      ``request_burst_per_user`` deep) and one per client address for requests with no known
      credential (sign-in, unauthenticated or not yet verified callers); empty: 7013, HTTP 429
      with ``Retry-After``;
    - request bodies: ``max_body_bytes`` (1 MiB), ``max_upload_bytes`` for the TOML file
      uploads, ``max_batch_bytes`` for public application batches (200,000 applications);
      larger: 7014, HTTP 413, refused before the body is read.
    """

    login_failures_per_user: int = 5
    login_failures_per_address: int = 30
    login_backoff_s: int = 1
    login_backoff_max_s: int = 900
    login_forget_s: int = 3600
    requests_per_s_per_user: int = 1000
    request_burst_per_user: int = 2000
    requests_per_s_per_address: int = 100
    request_burst_per_address: int = 200
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 2 << 20
    max_batch_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"Condition failed: service limit {f.name} must be a whole number >= 1, got {value!r}")


class Denied(ServiceError):
    """The caller may not do this; ``status`` is the HTTP status to answer with."""

    def __init__(self, code: ServiceCode, field: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.field, self.message, self.status = code, field, message, status

    def body(self) -> dict[str, Any]:
        return {
            "code": int(self.code),
            "reason": self.code.name,
            "field": self.field,
            "message": self.message,
            "rule": "service access policy (docs/service.md)",
        }


def context_of(command: Command | type[Command]) -> str:
    cls = command if isinstance(command, type) else type(command)
    parts = cls.__module__.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "lionrock" else parts[0]


class Policy:
    """Decides whether a principal may submit a command; see the module docstring."""

    def __init__(
        self,
        order_owner: Callable[[int, str, str], str | None],
        known_id: Callable[[str, str], bool],
        extra_role_contexts: dict[Role, set[str]] | None = None,
    ) -> None:
        self.order_owner = order_owner
        self.known_id = known_id
        self.role_commands = {r: set(c) for r, c in ROLE_COMMANDS.items()}
        self.extra_contexts = {r: set(c) for r, c in (extra_role_contexts or {}).items()}

    def check(self, p: Principal, command: Command) -> list[tuple[str, str]]:
        """Raise `Denied`, or return the (kind, id) pairs to grant the caller if it succeeds."""
        if p.role == Role.OPERATOR:
            return []
        ctx = context_of(command)
        name = type(command).__name__
        if name not in self.role_commands.get(p.role, set()) and ctx not in self.extra_contexts.get(p.role, set()):
            raise Denied(ServiceCode.ROLE_NOT_ALLOWED, "type", f"role {p.role} may not send {name} ({ctx} commands)")
        grants: list[tuple[str, str]] = []
        self._check_struct(p, command, name, grants, top=True)
        return grants

    def _check_struct(self, p: Principal, obj: msgspec.Struct, name: str, grants: list[tuple[str, str]], *, top: bool) -> bool:
        names_party = False
        for field in obj.__struct_fields__:
            value = getattr(obj, field)
            if isinstance(value, msgspec.Struct):
                names_party = self._check_struct(p, value, name, grants, top=False) or names_party
            elif isinstance(value, (list, tuple)) and any(isinstance(v, msgspec.Struct) for v in value):
                for v in value:
                    if isinstance(v, msgspec.Struct):
                        names_party = self._check_struct(p, v, name, grants, top=False) or names_party
            elif field == "applicants" and isinstance(value, list) and p.role == Role.INVESTOR:
                for i, applicant in enumerate(value):
                    if applicant != p.username:
                        raise Denied(
                            ServiceCode.NOT_YOUR_ACCOUNT,
                            f"{field}[{i}]",
                            f"{field}[{i}] {applicant!r} is not the identity of {p.username} (an investor applies under its own identity)",
                        )
            elif field in PARTY_FIELDS or field.endswith("_account"):
                names_party = True
                if p.role in (Role.INVESTOR, Role.BROKER) and isinstance(value, str) and not p.can_trade_account(value):
                    raise Denied(ServiceCode.NOT_YOUR_ACCOUNT, field, f"{field} {value!r} is not an account of {p.username}")
            elif field == "accounts" and isinstance(value, list):
                names_party = True
                if p.role in (Role.INVESTOR, Role.BROKER):
                    for i, account in enumerate(value):
                        if not (isinstance(account, str) and p.can_trade_account(account)):
                            raise Denied(
                                ServiceCode.NOT_YOUR_ACCOUNT, f"{field}[{i}]", f"{field}[{i}] {account!r} is not an account of {p.username}"
                            )
            elif field == "participants" and isinstance(value, list) and p.role in (Role.INVESTOR, Role.BROKER):
                for i, participant in enumerate(value):
                    if participant != p.participant:
                        raise Denied(
                            ServiceCode.NOT_YOUR_PARTICIPANT,
                            f"{field}[{i}]",
                            f"participant {participant!r} is not {p.username}'s ({p.participant!r})",
                        )
            elif field == "participant" and p.role in (Role.INVESTOR, Role.BROKER):
                if value != p.participant:
                    raise Denied(
                        ServiceCode.NOT_YOUR_PARTICIPANT, field, f"participant {value!r} is not {p.username}'s ({p.participant!r})"
                    )
            elif field == "order_id" and isinstance(value, int):
                names_party = True
                participant, client_id = str(getattr(obj, "participant", "")), str(getattr(obj, "client_order_id", ""))
                owner = self.order_owner(value, participant, client_id)
                if owner is None or not p.can_trade_account(owner):
                    ref = value or f"client order id {client_id!r}"
                    raise Denied(ServiceCode.NOT_FOUND, field, f"no order {ref} of yours", status=404)
            elif field == "offering_id" and p.role in (Role.SPONSOR, Role.ISSUER):
                self._check_scoped(p, "offering", str(value), p.offerings, name, grants, ServiceCode.NOT_YOUR_OFFERING, field)
            elif field == "issuer_id" and p.role in (Role.SPONSOR, Role.ISSUER):
                self._check_scoped(p, "issuer", str(value), p.issuers, name, grants, ServiceCode.NOT_YOUR_ISSUER, field)
        if top and p.role in (Role.INVESTOR, Role.BROKER) and not names_party:
            raise Denied(ServiceCode.ROLE_NOT_ALLOWED, "type", f"{name} names no account or order: an operator command")
        return names_party

    def _check_scoped(
        self,
        p: Principal,
        kind: str,
        value: str,
        owned: tuple[str, ...],
        name: str,
        grants: list[tuple[str, str]],
        code: ServiceCode,
        field: str,
    ) -> None:
        if value in owned:
            return
        if name.startswith(CREATING_VERBS) and not self.known_id(kind, value):
            grants.append((kind, value))
            return
        raise Denied(code, field, f"{kind} {value!r} is not one of {p.username}'s", status=404)


__all__ = ["CREATING_VERBS", "ROLE_COMMANDS", "ROLE_CONTEXTS", "Denied", "Policy", "ServiceCode", "ServiceLimits", "context_of"]
