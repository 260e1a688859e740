"""Effective-dated rule parameters: the rulebook is data, asked what is in force on a date."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

T = TypeVar("T")

_SCHEDULES: dict[str, Schedule[object]] = {}


@dataclass(frozen=True, slots=True)
class Provision[T]:
    """One version of a rule parameter set: in force from ``effective_from`` until superseded."""

    effective_from: date
    value: T
    source: str
    """The rule and document it comes from, e.g. ``"Listing Rules 8.05(1), amended 1 Jan 2022"``."""
    grade: str = "P"
    """How sure we are: P primary text, S secondary, T tertiary, I inference (docs/rules.md)."""
    note: str = ""


@dataclass(frozen=True)
class Schedule[T]:
    """A named, ordered list of provisions. ``in_force(d)`` answers with the one that applies."""

    name: str
    provisions: tuple[Provision[T], ...]
    _starts: tuple[date, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        starts = tuple(p.effective_from for p in self.provisions)
        if not starts or list(starts) != sorted(set(starts)):
            raise ValueError(f"schedule {self.name}: provisions must be non-empty with strictly increasing dates")
        object.__setattr__(self, "_starts", starts)
        if self.name in _SCHEDULES:
            raise ValueError(f"schedule {self.name} defined twice")
        _SCHEDULES[self.name] = self

    def provision(self, on: date) -> Provision[T]:
        i = bisect.bisect_right(self._starts, on) - 1
        if i < 0:
            raise LookupError(f"{self.name}: no provision in force on {on} (first is {self._starts[0]})")
        return self.provisions[i]

    def in_force(self, on: date) -> T:
        return self.provision(on).value


def schedules() -> dict[str, Schedule[object]]:
    """Every schedule defined so far (import `lionrock.rules.all` to load them all)."""
    return dict(_SCHEDULES)


__all__ = ["Provision", "Schedule", "schedules"]
