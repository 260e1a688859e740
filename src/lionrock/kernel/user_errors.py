"""Errors a user can fix: the one tree the command line (and any other edge) maps to a message.

A `UserError` is neither a business rejection (coded, journaled: `lionrock.kernel.errors`) nor a
bug (`InvariantError`, fatal): it says that something handed to Lion Rock from outside (a file, a
journal, a flag, a server address) is missing, damaged, of another version or malformed. It
carries what is wrong and what to do about it, so the edge prints one line and exits with status
2 instead of a traceback; ``lionrock``'s main does that for every command in one place::

    UserError                    what + what to do
    ├── InputError               a file or value given on the command line is missing or malformed
    ├── ServiceUnavailable       a server the command needs (NATS, PostgreSQL) does not answer
    └── JournalError             (lionrock.engine.journal) a journal cannot be used as it is
        ├── JournalCorrupted     damaged (a record fails its CRC or the chain; not a journal)
        │   └── NotAJournal      the file is not a Lion Rock journal at all
        └── JournalIncompatible  written under another message schema or outcome version
"""

from __future__ import annotations

from lionrock.kernel.errors import LionRockError


class UserError(LionRockError):
    """Something from outside is wrong; ``hint`` says what to do about it."""

    hint = "Check the command's arguments (lionrock COMMAND --help)."

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__

    def one_line(self) -> str:
        """``<what>. <what to do>`` on one line (newlines in a wrapped cause are folded)."""
        what = " ".join(self.message.split()).rstrip(".")
        return f"{what}. {self.hint}" if self.hint else f"{what}."


class InputError(UserError):
    """A file or value given to a command is missing, unreadable or malformed."""

    hint = "Check the file or value named above."


class ServiceUnavailable(UserError):
    """A server the command needs does not answer."""

    hint = "Start it, or point the command at a running one."


__all__ = ["InputError", "ServiceUnavailable", "UserError"]
