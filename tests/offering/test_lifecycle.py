"""The offering lifecycle table: every pair not in it is `IllegalTransition`; the happy path runs
bookbuilding -> closed -> priced -> allocated -> settled -> stabilised."""

from __future__ import annotations

import pytest

from lionrock.kernel.errors import IllegalTransition, LionRockError
from lionrock.offering.lifecycle import (
    ALLOCATED_STAGES,
    INITIAL_STAGE,
    TRANSITIONS,
    Stage,
    Trigger,
    next_stage,
    stages_allowing,
)


def test_lifecycle_happy_path_reaches_stabilised() -> None:
    stage = INITIAL_STAGE
    for trigger in (
        Trigger.SUBMIT_IOI,
        Trigger.LODGE_PUBLIC_APPLICATIONS,
        Trigger.CLOSE_PUBLIC_OFFER,
        Trigger.WITHDRAW_IOI,
        Trigger.FIX_PRICE,
        Trigger.ALLOCATE,
        Trigger.SETTLE,
        Trigger.CLOSE_STABILISATION,
    ):
        stage = next_stage(stage, trigger)
    assert stage is Stage.STABILISED


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_lifecycle_pair_not_in_table_raises_illegal_transition(stage: Stage, trigger: Trigger) -> None:
    if (stage, trigger) in TRANSITIONS:
        assert next_stage(stage, trigger) is TRANSITIONS[(stage, trigger)]
        return
    with pytest.raises(IllegalTransition) as exc:
        next_stage(stage, trigger)
    assert isinstance(exc.value, LionRockError)
    assert exc.value.state == stage.value and exc.value.trigger == trigger.value
    assert exc.value.legal == sorted(t.value for (s, t) in TRANSITIONS if s is stage)


def test_lifecycle_stages_allowing_keep_the_wrong_stage_wording() -> None:
    assert " or ".join(stages_allowing(Trigger.SUBMIT_IOI)) == "bookbuilding or closed"
    assert " or ".join(stages_allowing(Trigger.FIX_PRICE)) == "closed"
    assert {next_stage(Stage.PRICED, Trigger.ALLOCATE)} <= ALLOCATED_STAGES
    assert all(stages_allowing(t) for t in Trigger), "every trigger is legal somewhere"
