"""The engine: sequencer, journal, snapshots, recovery. Depends on the contexts, never the reverse."""

from lionrock.engine.engine import DeterminismError, Engine, Outcome, state_hash_of
from lionrock.engine.journal import (
    Durability,
    Journal,
    JournalCorrupted,
    JournalIncompatible,
    MemoryJournal,
    SqliteJournal,
    open_journal,
)

__all__ = [
    "DeterminismError",
    "Durability",
    "Engine",
    "Journal",
    "JournalCorrupted",
    "JournalIncompatible",
    "MemoryJournal",
    "Outcome",
    "SqliteJournal",
    "open_journal",
    "state_hash_of",
]
