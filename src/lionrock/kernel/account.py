"""The account grammar every context shares, in one place: ``Account`` and its helpers.

=========================== ============== ============================================
form                        kind           who
=========================== ============== ============================================
``P:<participant>``         participant    an exchange / clearing participant's house
``C:<participant>:<client>`` client        a client of a participant (``<client>`` may hold ``:``)
``I:<issuer>``              issuer         an issuer (issues its own shares)
``F:<collector>``           collector      a fee or levy collector
``H:<clearing house>``      clearing_house HKSCC, FINI holds
``X:<external>``            external       banks, the FX dealer, financing lines
=========================== ============== ============================================

A well-formed account has a known prefix, non-empty names after it, no ``|`` and no surrounding
space; a participant account has exactly one name, a client account at least two. `Account.parse`
answers None for anything else, so a context turns that into its own coded rejection. The
constructors (`house_account`, `client_account`) and the lenient readers (`account_prefix`,
`participant_of`) are total: they give the same answers the hand parsers they replace gave, for
well-formed and malformed names alike.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple


class AccountKind(StrEnum):
    """An account's type; the value is what events carry (``ClearingAccountOpened.kind``)."""

    PARTICIPANT = "participant"
    CLIENT = "client"
    ISSUER = "issuer"
    COLLECTOR = "collector"
    CLEARING_HOUSE = "clearing_house"
    EXTERNAL = "external"


PREFIXES: dict[str, AccountKind] = {
    "P": AccountKind.PARTICIPANT,
    "C": AccountKind.CLIENT,
    "I": AccountKind.ISSUER,
    "F": AccountKind.COLLECTOR,
    "H": AccountKind.CLEARING_HOUSE,
    "X": AccountKind.EXTERNAL,
}
"""Each account prefix (the text before the first ``:``) and its kind."""


class Account(NamedTuple):
    """A parsed, well-formed account: ``kind``, and the ``names`` after the prefix.

    ``str(account)`` is the text it was parsed from (``"C:BRK1:INV42"``)."""

    kind: AccountKind
    names: tuple[str, ...]

    @staticmethod
    def parse(text: object) -> Account | None:
        """The account ``text`` names, or None if it does not follow the grammar."""
        return _parse(text) if isinstance(text, str) else None

    @property
    def prefix(self) -> str:
        return _PREFIX_OF[self.kind]

    @property
    def participant(self) -> str:
        """The participant of a house or client account; ``""`` for the others."""
        return self.names[0] if self.kind in (AccountKind.PARTICIPANT, AccountKind.CLIENT) else ""

    @property
    def client(self) -> str:
        """The client part of a client account (``"INV42"`` of ``"C:BRK1:INV42"``); ``""`` otherwise."""
        return ":".join(self.names[1:]) if self.kind is AccountKind.CLIENT else ""

    def __str__(self) -> str:
        return ":".join((self.prefix, *self.names))


_PREFIX_OF = {kind: prefix for prefix, kind in PREFIXES.items()}


@lru_cache(maxsize=1 << 20)
def _parse(text: str) -> Account | None:
    # memoised: the same few hundred thousand names are checked on every posting
    if "|" in text or text != text.strip():
        return None
    parts = text.split(":")
    kind = PREFIXES.get(parts[0])
    if kind is None or len(parts) < 2 or not all(parts[1:]):
        return None
    if kind is AccountKind.PARTICIPANT and len(parts) != 2:
        return None
    if kind is AccountKind.CLIENT and len(parts) < 3:
        return None
    return Account(kind, tuple(parts[1:]))


def account_kind(text: object) -> AccountKind | None:
    """The kind of the account ``text`` names, or None if it is not well formed."""
    account = Account.parse(text)
    return None if account is None else account.kind


def account_prefix(text: str) -> str:
    """The text before the first ``:`` (``"C"`` of ``"C:BRK1:INV42"``), well formed or not; ``""``
    for a text without ``:`` (so ``account_prefix(a) == "P"`` is ``a.startswith("P:")``)."""
    prefix, colon, _ = text.partition(":")
    return prefix if colon else ""


def participant_of(text: str) -> str:
    """``"C:P1:INV"`` and ``"P:P1"`` -> ``"P1"``; other accounts -> ``""`` (also for a malformed
    name: the second field of any ``P:``/``C:`` text, as the edges always read it)."""
    parts = text.split(":", 2)
    return parts[1] if len(parts) >= 2 and parts[0] in ("C", "P") else ""


def client_part(text: str) -> str:
    """``"C:P1:mainland.retail.7"`` -> ``"mainland.retail.7"``: the text after the participant of a
    ``C:`` account; ``""`` for any other text."""
    parts = text.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "C" else ""


def house_account(participant: str) -> str:
    """``"P:<participant>"``."""
    return f"P:{participant}"


def client_account(participant: str, client: str) -> str:
    """``"C:<participant>:<client>"``."""
    return f"C:{participant}:{client}"


def belongs_to(text: str, participant: str) -> bool:
    """Whether ``text`` is ``participant``'s house account or one of its clients' accounts."""
    return text == f"P:{participant}" or text.startswith(f"C:{participant}:")


__all__ = [
    "PREFIXES",
    "Account",
    "AccountKind",
    "account_kind",
    "account_prefix",
    "belongs_to",
    "client_account",
    "client_part",
    "house_account",
    "participant_of",
]
