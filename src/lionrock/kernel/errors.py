"""Every error Lion Rock raises, in one tree; business rejection codes and the invariant helpers.

All of them derive from `LionRockError`, so an edge can catch "anything of ours" in one clause and
map it to the one JSON error body, its HTTP status and its FIX reject. Each keeps the builtin it
always had where callers catch that builtin (a ``ValueError`` subclass stays a ``ValueError``)::

    LionRockError                     base of every error Lion Rock raises
    ├── Reject                        a business rejection: coded, journaled, never fatal (4xx)
    ├── InvariantError                a broken invariant: a bug, fatal (also AssertionError)
    ├── DeterminismError              (engine.engine) a replayed command differs from the journal
    ├── IllegalTransition             a (state, trigger) pair not in a lifecycle table
    │                                 (listing.workflow, offering.lifecycle)
    ├── SequenceGap                   (trading.marketdata) a market-data view missed an event
    ├── ProfileError                  (listing.profile) a malformed issuer profile (ValueError)
    ├── BookFileError                 (files.books) a malformed IOI or application file (ValueError)
    ├── UserError                     (kernel.user_errors) input or storage the user can fix
    │   ├── InputError                a file or value given to a command is missing or malformed
    │   ├── ServiceUnavailable        a server the command needs does not answer
    │   └── JournalError              (engine.journal) storage: a journal cannot be used as it is
    │       ├── JournalCorrupted      damaged (a record fails its CRC or the chain)
    │       │   └── NotAJournal       not a Lion Rock journal at all
    │       ├── JournalNotFound       no journal where one was expected (also FileNotFoundError)
    │       └── JournalIncompatible   written under another message schema or outcome version
    ├── StorageError                  the read and user store
    │   └── SchemaTooNew              (storage.migrations) a store newer than the code (RuntimeError)
    └── ServiceError                  the service refuses or cannot serve a request
        ├── Denied                    (service.policy) the caller may not do this (403/404)
        ├── AuthError                 (service.auth) bad credentials, unknown or revoked key
        │   └── LoginThrottled        too many failed sign-ins
        ├── NotVisible                (readmodel.tenancy) not visible to the caller (LookupError)
        ├── RunnerStopped             (service.writer) the writer is stopped (RuntimeError)
        │   └── OutcomeTimeout        (scale.edge) no outcome from the shard in time
        ├── ApiError                  (gateways.rest.http) an HTTP answer other than success
        ├── BodyError                 (gateways.rest.models) a body not JSON or off its schema (ValueError)
        ├── Limited                   (gateways.rest.limits) over a rate or size limit (429/413)
        ├── SessionReject             (gateways.fix.framing) a FIX session-level reject (35=3)
        ├── BusinessReject            (gateways.fix.framing) a FIX business reject (35=j)
        └── UnsafeFixValue            (gateways.fix.framing) a control byte in an outgoing value

A `Rejection` names a stable numeric code, the field at fault, what was expected and the rule
cited. Codes are grouped by context and never reused:

====== ==========
range  context
====== ==========
1000s  engine / kernel (envelope, decoding, sequencing)
2000s  trading
3000s  offering
4000s  listing
5000s  clearing
6000s  connect
7000s  service (authentication, roles, tenancy)
====== ==========
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import NoReturn

import msgspec

CODE_RANGES: dict[str, range] = {
    "engine": range(1000, 2000),
    "trading": range(2000, 3000),
    "offering": range(3000, 4000),
    "listing": range(4000, 5000),
    "clearing": range(5000, 6000),
    "connect": range(6000, 7000),
    "service": range(7000, 8000),
}
_REGISTERED: dict[int, str] = {}
REJECT_CODE_ENUMS: list[type[IntEnum]] = []


def reject_codes(context: str) -> Callable[[type[IntEnum]], type[IntEnum]]:
    """Class decorator registering a context's `IntEnum` of reject codes; checks range and reuse."""

    def register(enum: type[IntEnum]) -> type[IntEnum]:
        allowed = CODE_RANGES[context]
        for member in enum:
            if int(member) not in allowed:
                raise InvariantError(
                    f"Invariant: reject code {enum.__name__}.{member.name}={int(member)} "
                    f"outside {context} range {allowed.start}-{allowed.stop - 1}"
                )
            owner = _REGISTERED.get(int(member))
            name = f"{enum.__name__}.{member.name}"
            if owner is not None and owner != name:
                raise InvariantError(f"Invariant: reject code {int(member)} used by both {owner} and {name}")
            _REGISTERED[int(member)] = name
        REJECT_CODE_ENUMS.append(enum)
        return enum

    return register


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """Why a command was refused: machine-readable code and reason, the field, a message, the rule."""

    code: int
    reason: str
    field: str
    message: str
    rule: str = ""

    def __str__(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        return f"rejected {self.code} {self.reason}: {self.field}: {self.message}{rule}"


class LionRockError(Exception):
    """The base of every error Lion Rock raises (the tree is in this module's docstring)."""


class StorageError(LionRockError):
    """A store (the read and user store, a journal's schema) cannot be used as it is."""


class ServiceError(LionRockError):
    """The service refuses a request (denied, limited, not visible) or cannot serve it (stopped)."""


class Reject(LionRockError):
    """Raised inside a context before it mutates anything; the engine journals it as an event."""

    __slots__ = ("rejection",)

    def __init__(self, code: IntEnum, field: str, message: str, rule: str = "") -> None:
        # ``args`` are the constructor's (set by BaseException.__new__), so a Reject pickles; its
        # text is built only when someone prints it (rejections are common: a cancel that lost
        # the race with a fill).
        self.rejection = Rejection(code=int(code), reason=code._name_, field=field, message=message, rule=rule)

    def __str__(self) -> str:
        return str(self.rejection)


class InvariantError(LionRockError, AssertionError):
    """A broken invariant: a bug. Crashes the engine; recovery is the ordinary start-up path."""


class IllegalTransition(LionRockError):
    """A ``(state, trigger)`` pair that is not in a lifecycle table (listing's workflow, the
    offering's stages); the context turns it into a coded rejection."""

    def __init__(self, state: str, trigger: str, legal: list[str]) -> None:
        self.state, self.trigger, self.legal = state, trigger, legal
        super().__init__(f"{trigger!r} is not allowed in state {state!r} (allowed: {', '.join(legal) or 'none'})")


def require(condition: object, code: IntEnum, field: str, message: str, rule: str = "") -> None:
    """Condition failed on input: reject with a coded reason (works under ``python -O``)."""
    if not condition:
        raise Reject(code, field, message, rule)


def fail(code: IntEnum, field: str, message: str, rule: str = "") -> NoReturn:
    raise Reject(code, field, message, rule)


def invariant(condition: object, message: str, *args: object) -> None:
    """Invariant of the core; unlike ``assert`` it survives ``python -O``.

    On a hot path pass the values as ``args`` (``invariant(a == b, "seq %d after %d", a, b)``): the
    message is formatted with ``%`` only when the check fails."""
    if not condition:
        raise InvariantError(f"Invariant: {message % args if args else message}")


def reject_code_table() -> str:
    """The reference page of every registered reject code (``docs/reject-codes.md``)."""
    rows = sorted((int(m), e.__name__, m.name, (e.__module__ or "")) for e in REJECT_CODE_ENUMS for m in e)
    lines = [
        "# Reject codes",
        "",
        "Every business rejection carries a stable numeric code, its reason name, the field at fault, a",
        "message and the rule cited. Codes are grouped by context and never reused. Generated from the",
        "registered enums (`lionrock.kernel.errors.reject_code_table`); a test keeps this page current.",
        "",
        "| code | reason | enum | module |",
        "| ---: | --- | --- | --- |",
    ]
    lines += [f"| {code} | `{name}` | {enum} | `{module}` |" for code, enum, name, module in rows if not module.startswith("testkit")]
    return "\n".join(lines) + "\n"


@reject_codes("engine")
class EngineCode(IntEnum):
    UNKNOWN_COMMAND = 1001
    COMMAND_NOT_ENCODABLE = 1002
    """A field the journal cannot hold (an integer outside signed 64 bits): refused unsequenced."""


__all__ = [
    "CODE_RANGES",
    "REJECT_CODE_ENUMS",
    "EngineCode",
    "IllegalTransition",
    "InvariantError",
    "LionRockError",
    "Reject",
    "Rejection",
    "ServiceError",
    "StorageError",
    "fail",
    "invariant",
    "reject_code_table",
    "reject_codes",
    "require",
]
