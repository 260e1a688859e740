"""The offering lifecycle as a table of ``(stage, trigger) -> stage`` (NautilusTrader's order state
table; listing's `lionrock.listing.workflow` is built the same way).

A command names its trigger; `next_stage` looks the pair up and raises `IllegalTransition` for a
pair that is not in the table. The context checks the pair before it changes anything (and turns
`IllegalTransition` into the coded ``WRONG_STAGE`` rejection, naming the stages that allow the
trigger), then moves the stage with the same lookup once the command has passed its other checks.

An offering starts in `INITIAL_STAGE` when `DefineOffering` is accepted (a creation, not a move).
Triggers that leave the stage as it is (an IOI in the book, a batch of applications) are rows too,
so the table is the one place that says which command runs in which stage.
"""

from __future__ import annotations

from enum import StrEnum

from lionrock.kernel.errors import IllegalTransition


class Stage(StrEnum):
    """Where an offering is; the value is what the journal, snapshots and state hashes hold."""

    BOOKBUILDING = "bookbuilding"
    CLOSED = "closed"
    PRICED = "priced"
    ALLOCATED = "allocated"
    SETTLED = "settled"
    STABILISED = "stabilised"


class Trigger(StrEnum):
    """What a command does to an offering's stage (one per command after `DefineOffering`)."""

    SUBMIT_IOI = "submit_ioi"
    WITHDRAW_IOI = "withdraw_ioi"
    LODGE_PUBLIC_APPLICATIONS = "lodge_public_applications"
    LODGE_PREFERENTIAL_APPLICATIONS = "lodge_preferential_applications"
    CLOSE_PUBLIC_OFFER = "close_public_offer"
    FIX_PRICE = "fix_price"
    ALLOCATE = "allocate"
    SETTLE = "settle"
    CLOSE_STABILISATION = "close_stabilisation"


INITIAL_STAGE = Stage.BOOKBUILDING
"""The stage of a newly defined offering."""

S, T = Stage, Trigger
TRANSITIONS: dict[tuple[Stage, Trigger], Stage] = {
    (S.BOOKBUILDING, T.SUBMIT_IOI): S.BOOKBUILDING,
    (S.CLOSED, T.SUBMIT_IOI): S.CLOSED,
    (S.BOOKBUILDING, T.WITHDRAW_IOI): S.BOOKBUILDING,
    (S.CLOSED, T.WITHDRAW_IOI): S.CLOSED,
    (S.BOOKBUILDING, T.LODGE_PUBLIC_APPLICATIONS): S.BOOKBUILDING,
    (S.BOOKBUILDING, T.LODGE_PREFERENTIAL_APPLICATIONS): S.BOOKBUILDING,
    (S.BOOKBUILDING, T.CLOSE_PUBLIC_OFFER): S.CLOSED,
    (S.CLOSED, T.FIX_PRICE): S.PRICED,
    (S.PRICED, T.ALLOCATE): S.ALLOCATED,
    (S.ALLOCATED, T.SETTLE): S.SETTLED,
    (S.SETTLED, T.CLOSE_STABILISATION): S.STABILISED,
}
"""Every legal move of an offering; anything else is `IllegalTransition`."""

ALLOCATED_STAGES: frozenset[Stage] = frozenset({S.ALLOCATED, S.SETTLED, S.STABILISED})
"""The stages of an offering that has an allocation (reached through `Trigger.ALLOCATE`)."""


def stages_allowing(trigger: Trigger) -> list[Stage]:
    """The stages in which ``trigger`` is legal, in table order."""
    return [s for (s, t) in TRANSITIONS if t is trigger]


def next_stage(stage: Stage, trigger: Trigger) -> Stage:
    """The stage after ``trigger`` in ``stage``; `IllegalTransition` if the pair is not in the table."""
    try:
        return TRANSITIONS[(stage, trigger)]
    except KeyError:
        raise IllegalTransition(stage.value, trigger.value, sorted(t.value for (s, t) in TRANSITIONS if s is stage)) from None


__all__ = ["ALLOCATED_STAGES", "INITIAL_STAGE", "TRANSITIONS", "Stage", "Trigger", "next_stage", "stages_allowing"]
