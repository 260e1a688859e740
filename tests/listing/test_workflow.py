"""The workflow tables: legal moves, typed errors for the rest, and the timetable."""

from __future__ import annotations

from datetime import date

import pytest

from lionrock.listing.workflow import (
    CSRC_TRANSITIONS,
    LAPSABLE,
    TRANSITIONS,
    CsrcState,
    CsrcTrigger,
    IllegalTransition,
    State,
    Trigger,
    add_mainland_working_days,
    next_csrc_state,
    next_state,
    timetable,
)
from testkit.listing import profile

HAPPY_PATH = [
    (State.PROFILE_SUBMITTED, Trigger.ENGAGE_TECH, State.TECH_ENGAGED),
    (State.TECH_ENGAGED, Trigger.FILE_APPLICATION, State.APPLICATION_FILED),
    (State.APPLICATION_FILED, Trigger.VETTING_ROUND, State.VETTING),
    (State.VETTING, Trigger.VETTING_ROUND, State.VETTING),
    (State.VETTING, Trigger.PASS_HEARING, State.HEARING_PASSED),
    (State.HEARING_PASSED, Trigger.LAUNCH, State.LAUNCHED),
    (State.LAUNCHED, Trigger.OPEN_BOOK, State.BOOKBUILDING),
    (State.BOOKBUILDING, Trigger.FIX_PRICE, State.PRICED),
    (State.PRICED, Trigger.ALLOT, State.ALLOTTED),
    (State.ALLOTTED, Trigger.LIST, State.LISTED),
]


@pytest.mark.parametrize(("state", "trigger", "expected"), HAPPY_PATH)
def test_workflow_happy_path_moves(state: State, trigger: Trigger, expected: State) -> None:
    assert next_state(state, trigger) is expected


def test_workflow_every_pair_outside_table_raises_typed_error() -> None:
    for state in State:
        for trigger in Trigger:
            if (state, trigger) in TRANSITIONS:
                continue
            with pytest.raises(IllegalTransition) as exc:
                next_state(state, trigger)
            assert exc.value.state == state.value and exc.value.trigger == trigger.value


def test_workflow_listed_is_terminal() -> None:
    assert not [t for (s, t) in TRANSITIONS if s is State.LISTED]


def test_workflow_lapse_only_before_launch() -> None:
    """Form A1 lapses after six months unless the offering has launched (Listing Rules 9.03)."""
    assert LAPSABLE == {State.APPLICATION_FILED, State.VETTING, State.HEARING_PASSED}
    assert next_state(State.LAPSED, Trigger.FILE_APPLICATION) is State.APPLICATION_FILED


def test_csrc_table_and_errors() -> None:
    assert next_csrc_state(CsrcState.DUE, CsrcTrigger.FILE) is CsrcState.FILED
    assert next_csrc_state(CsrcState.FILED, CsrcTrigger.COMPLETE) is CsrcState.COMPLETED
    for state in CsrcState:
        for trigger in CsrcTrigger:
            if (state, trigger) not in CSRC_TRANSITIONS:
                with pytest.raises(IllegalTransition):
                    next_csrc_state(state, trigger)


def test_mainland_working_days_skip_golden_week() -> None:
    """CSRC deadline: 3 working days after the HK application, on the XSHG proxy calendar."""
    # Filed Wed 30 Sep 2026: 1-7 Oct National Day holiday; XSHG reopens Thu 8 Oct.
    assert add_mainland_working_days(date(2026, 9, 30), 3) == date(2026, 10, 12)
    # Friday filing: the weekend does not count.
    assert add_mainland_working_days(date(2026, 3, 6), 3) == date(2026, 3, 11)


def test_mainland_working_days_fall_back_to_xhkg_after_recorded_years() -> None:
    d = add_mainland_working_days(date(2026, 12, 30), 3)
    assert d.year == 2027 and d.weekday() < 5


def test_timetable_orders_milestones_and_includes_rule_deadlines() -> None:
    ms = timetable(profile(), "main_board_profit", date(2026, 3, 2))
    names = [m.name for m in ms]
    assert [m.on for m in ms] == sorted(m.on for m in ms)
    csrc = next(m for m in ms if m.name.startswith("CSRC filing due"))
    assert csrc.on == date(2026, 3, 5) and csrc.basis == "rule"
    lapse = next(m for m in ms if "lapses" in m.name)
    assert lapse.on == date(2026, 9, 2)
    t = next(m for m in ms if m.name.startswith("Price fixing"))
    listing = next(m for m in ms if m.name.startswith("Dealings begin"))
    assert (listing.on - t.on).days >= 2
    assert "Listing Committee hearing" in names
