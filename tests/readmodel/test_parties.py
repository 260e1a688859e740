"""`parties_of` (who an event names: the tenancy filter of every read and every pushed event)
reads each message type's party fields from a plan made once per type; it must name exactly the
parties the field-by-field reading names, for every event and command of a real run (IPO,
allocation, clearing, Connect, trading) and for nested and listed parties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from lionrock.engine import Engine
from lionrock.kernel.account import house_account
from lionrock.readmodel.projector import PARTY_FIELDS, parties_of
from lionrock.service.contexts import default_contexts
from lionrock.sim.runner import RunConfig, run_scenario
from lionrock.storage.sqlite_journal import SqliteJournal

TINY = str(Path(__file__).parents[1] / "sim" / "tiny.toml")


def reference_parties(message: Any, depth: int = 0) -> set[str]:
    """Every field of the message read by name and value (the definition the plan must equal)."""
    out: set[str] = set()
    for name in getattr(message, "__struct_fields__", ()):
        value = getattr(message, name)
        if isinstance(value, str) and value:
            if name in PARTY_FIELDS or name.endswith("_account"):
                out.add(value)
            elif name == "participant" or name.endswith("_participant"):
                out.add(house_account(value))
        elif depth < 2 and isinstance(value, msgspec.Struct):
            out |= reference_parties(value, depth + 1)
        elif depth < 2 and isinstance(value, list) and name in ("holds", "allotments", "refunds", "results", "allocations"):
            for item in value:
                if isinstance(item, (tuple, list)) and item and isinstance(item[0], str):
                    out.add(item[0])
                elif isinstance(item, msgspec.Struct):
                    out |= reference_parties(item, depth + 1)
    return out


def test_parties_of_equals_the_field_by_field_reading_over_a_whole_run(tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.sqlite"
    run_scenario(RunConfig(scenario=TINY, seed=5, scale="small"), journal_path)
    messages: list[Any] = []
    engine = Engine(default_contexts(), SqliteJournal(journal_path, readonly=True))
    engine.subscribe(lambda stamp, command, events: messages.extend([command, *events]))
    engine.recover(use_snapshot=False)
    engine.close()
    kinds = {type(m).__name__ for m in messages}
    assert {"OfferingAllocated", "TradeCleared", "PlaceOrder", "OrderAccepted"} <= kinds, sorted(kinds)
    named = 0
    for message in messages:
        expected = reference_parties(message)
        assert parties_of(message) == expected, message
        named += bool(expected)
    assert named > len(messages) // 4  # most messages name someone: the comparison is not of empty sets


class _Leg(msgspec.Struct):
    buyer: str
    seller_participant: str


class _Fill(msgspec.Struct):
    leg: _Leg | None
    allotments: list[tuple[str, int]]
    results: list[_Leg]
    note: str = "participant"
    holder: Any = None


def test_nested_listed_and_untyped_parties() -> None:
    fill = _Fill(
        leg=_Leg(buyer="C:B1:X", seller_participant="B2"),
        allotments=[("C:B3:Y", 100), ("", 0)],
        results=[_Leg(buyer="C:B4:Z", seller_participant="B5")],
        holder=_Leg(buyer="C:B6:W", seller_participant=""),
    )
    assert (
        parties_of(fill)
        == reference_parties(fill)
        == {
            "C:B1:X",
            house_account("B2"),
            "C:B3:Y",
            "",
            "C:B4:Z",
            house_account("B5"),
            "C:B6:W",
        }
    )
    assert parties_of(_Fill(leg=None, allotments=[], results=[])) == set()
