"""The one parser every edge uses for identifiers from outside.

(Accounts have their own grammar and value type: `lionrock.kernel.account`.)

`parse_identifier` is the single gate for identifiers that arrive from a client or a file: client
order ids, IOI ids, applicant (investor) keys, usernames, instrument codes, offering and issuer ids,
account ids, API key labels. It allows only ``IDENTIFIER_CHARACTERS`` and at most
``IDENTIFIER_MAX_LENGTH`` characters, because identifiers travel on: into FIX messages (where an
SOH byte or ``=`` would forge a field), into URL paths (a ``/`` would change the route), into logs,
the journal and the web pages. A narrow printable charset is easier to keep safe everywhere than
escaping at every exit.
"""

from __future__ import annotations

import re

IDENTIFIER_MAX_LENGTH = 64
"""The longest identifier accepted from outside (FIX ClOrdID practice; our own ids are shorter)."""
IDENTIFIER_CHARACTERS = "ASCII letters A-Z a-z, digits 0-9 and _ . : @ -"
"""What an identifier may contain, in words (for error messages and docs)."""
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
"""The same charset as a regular expression (for the OpenAPI schema)."""
ORDER_ID_MAX = 2**63 - 1
"""The largest venue order id, application id, sequence number or cursor a client may name: the
largest signed 64-bit integer, which every store (SQLite, PostgreSQL, MessagePack) can hold."""

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:@-]+")


def parse_identifier(text: object, field: str = "identifier", *, max_length: int = IDENTIFIER_MAX_LENGTH, allow_empty: bool = False) -> str:
    """Return ``text`` unchanged if it is a well-formed identifier; otherwise raise `ValueError`
    naming ``field``, the rule and what was expected. Never strips or rewrites: an id is compared
    byte for byte later (idempotency keys), so a silently cleaned id would be a different id."""
    if not isinstance(text, str):
        raise ValueError(f"{field}: expected a text identifier, got {type(text).__name__}")
    if text == "" and allow_empty:
        return text
    if not 1 <= len(text) <= max_length:
        raise ValueError(f"{field}: an identifier is 1-{max_length} characters, got {len(text)}")
    if _IDENTIFIER.fullmatch(text) is None:
        bad = next(c for c in text if _IDENTIFIER.fullmatch(c) is None)
        raise ValueError(f"{field}: character {bad!r} is not allowed in an identifier (allowed: {IDENTIFIER_CHARACTERS})")
    return text


__all__ = [
    "IDENTIFIER_CHARACTERS",
    "IDENTIFIER_MAX_LENGTH",
    "IDENTIFIER_PATTERN",
    "ORDER_ID_MAX",
    "parse_identifier",
]
