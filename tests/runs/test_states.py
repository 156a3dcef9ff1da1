"""The State value object: types, names, questions and results; named states through runs."""

from __future__ import annotations

import pytest

from runs import flow, task
from runs.orchestration.writer import writer
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
from tests.runs.api.seed import api_client


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


# ---- name= on the constructors (Prefect 2: Completed(name="Skipped"), Failed(name=, message=))


def test_constructors_take_a_name_and_keep_their_type():
    """Prefect 2's state constructors take ``name=``; the type stays the constructor's."""
    skipped = Completed(name="Skipped")
    assert (skipped.type, skipped.name, skipped.message) == (StateType.COMPLETED, "Skipped", "")
    assert skipped.is_completed()
    failed = Failed(name="X", message="m")
    assert (failed.type, failed.name, failed.message) == (StateType.FAILED, "X", "m")
    assert Completed(name="Skipped", data=3).result() == 3
    assert Failed(name=None).name == "Failed"


def test_a_name_that_is_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match="name must be a string"):
        Completed(name=3)


@task
def skips() -> State:
    return Completed(name="Skipped", message="nothing to do")


@flow(name="states-skipping-task")
def calls_a_skipping_task() -> dict:
    return {"state": skips(return_state=True)}


@flow(name="states-skipping-flow")
def skipping_flow() -> State:
    return Completed(name="Skipped")


@flow(name="states-named-failure")
def named_failure() -> State:
    return Failed(name="Rejected", message="bad input")


def test_a_task_returning_a_named_state_is_recorded_with_that_name():
    """Prefect 2: a task that returns a State ends in that state, its name included."""
    state = calls_a_skipping_task()["state"]
    writer.flush()

    assert (state.type, state.name) == (StateType.COMPLETED, "Skipped")
    body = api_client().get(f"/api/task-runs/{state.task_run_id}/").json()
    assert body["state"]["type"] == "COMPLETED"
    assert body["state"]["name"] == "Skipped"
    assert body["state"]["message"] == "nothing to do"
    history = api_client().get(f"/api/task-runs/{state.task_run_id}/states/").json()
    assert [s["name"] for s in history["results"]][-1] == "Skipped"


def test_a_flow_returning_a_named_state_is_recorded_with_that_name():
    """Prefect 2: a flow that returns a State ends in that state, its name included."""
    skipped = skipping_flow(return_state=True)
    rejected = named_failure(return_state=True)
    writer.flush()

    client = api_client()
    body = client.get(f"/api/flow-runs/{skipped.flow_run_id}/").json()
    assert (body["state"]["type"], body["state"]["name"]) == ("COMPLETED", "Skipped")
    body = client.get(f"/api/flow-runs/{rejected.flow_run_id}/").json()
    assert body["state"] == {**body["state"], "type": "FAILED", "name": "Rejected"}
    assert body["state"]["message"] == "bad input"
    listed = client.get("/api/flow-runs/", {"state_name": "Skipped"}).json()["results"]
    assert str(skipped.flow_run_id) in [run["id"] for run in listed]
