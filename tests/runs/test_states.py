"""The State value object: types, names, questions and results."""

from __future__ import annotations

import pytest

from runs.states import (
    STATE_NAMES,
    Cached,
    Completed,
    Crashed,
    Failed,
    FailedRun,
    Pending,
    State,
    StateType,
    TimedOut,
    UnfinishedRun,
)


def test_constructors_give_type_and_name():
    assert (Cached().type, Cached().name) == (StateType.COMPLETED, "Cached")
    assert (TimedOut().type, TimedOut().name) == (StateType.FAILED, "TimedOut")
    assert State(type="RUNNING").name == "Running"
    assert all(isinstance(t, StateType) for t in STATE_NAMES.values())


def test_questions():
    assert Completed().is_completed() and Failed().is_failed() and Crashed().is_crashed()
    assert Pending().is_pending() and not Pending().is_final()
    assert State(StateType.SCHEDULED).is_scheduled() and State(StateType.CANCELLED).is_cancelled()
    assert State(StateType.RUNNING).is_running()


def test_result_of_completed_failed_and_unfinished():
    assert Completed(data=5).result() == 5
    error = ValueError("x")
    with pytest.raises(ValueError):
        Failed(data=error).result()
    assert Failed(data=error).result(raise_on_failure=False) is error
    with pytest.raises(FailedRun, match="went wrong"):
        Failed("went wrong").result()
    with pytest.raises(UnfinishedRun):
        Pending().result()


def test_result_loaded_from_storage():
    from runs.results import persist_result

    key = persist_result({"a": 1})
    assert Completed(result_key=key).result() == {"a": 1}
