"""The engine: sequencer, the journal port and its in-memory journal, snapshots, recovery.

Depends on the kernel, never on the contexts' callers; the SQLite and PostgreSQL journals are in
`lionrock.storage`."""

from lionrock.engine.engine import BatchOutcome, DeterminismError, Engine, Outcome, state_hash_of
from lionrock.engine.journal import (
    Durability,
    Journal,
    JournalCorrupted,
    JournalIncompatible,
    MemoryJournal,
    Origin,
)

__all__ = [
    "BatchOutcome",
    "DeterminismError",
    "Durability",
    "Engine",
    "Journal",
    "JournalCorrupted",
    "JournalIncompatible",
    "MemoryJournal",
    "Origin",
    "Outcome",
    "state_hash_of",
]
