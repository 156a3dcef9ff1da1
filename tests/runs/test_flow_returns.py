"""What a flow that returns futures or states gives its caller, and its final state (issue 13, item 1).

Prefect 2.20 (``states.return_value_to_state`` and the flow engine) replaces every future in the
return value by its final State; a returned run State, or a non-empty list, tuple or set made only
of States, sets the flow's state by the aggregate rule ("All states completed." / "k/n states
failed." / "k/n states cancelled."), and its data is the returned value itself, so the caller gets
State objects. A State made by hand is the flow's state as given. A dict, or a container mixing
States with plain values, is returned as it is and the flow is COMPLETED. A flow returning None
takes the states of all its task runs and subflow runs as its return value. Observed in
/work/parity/e/RESULTS.md.
"""

from __future__ import annotations

import pytest

from runs import State, flow, task
from runs.states import Cancelled, Completed, Failed


@task
def ok(x):
    return x


@task
def bad(x):
    raise ValueError(f"bad {x}")


def states_summary(value):
    """(type, name) for a State; the same for each State in a list or tuple."""
    if isinstance(value, (list, tuple)):
        return [states_summary(item) for item in value]
    assert isinstance(value, State), f"expected a State, got {value!r}"
    return (value.type.value, value.name)


# ---- one future or one state ------------------------------------------------------------------


def test_returned_future_gives_the_caller_its_state():
    """Prefect 2: a returned future is resolved to its State; the caller gets that State (not the
    result), and the flow is COMPLETED with "All states completed."."""

    @flow
    def returns_future():
        return ok.submit(1)

    value = returns_future()
    state = returns_future(return_state=True)

    assert states_summary(value) == ("COMPLETED", "Completed")
    assert value.result() == 1
    assert (state.type.value, state.message) == ("COMPLETED", "All states completed.")
    assert states_summary(state.result()) == ("COMPLETED", "Completed")


def test_returned_task_state_gives_the_caller_that_state():
    """Prefect 2: a task run's State returned by the flow (``t(x, return_state=True)``) goes to the
    caller as the State; the flow is COMPLETED with "All states completed."."""

    @flow
    def returns_state():
        return ok(2, return_state=True)

    value = returns_state()
    state = returns_state(return_state=True)

    assert states_summary(value) == ("COMPLETED", "Completed") and value.result() == 2
    assert (state.type.value, state.message) == ("COMPLETED", "All states completed.")


def test_returned_failed_future_fails_the_flow_and_raises_the_task_exception():
    """Prefect 2: a returned future whose run failed makes the flow FAILED with "1/1 states
    failed."; calling the flow raises the task's own exception."""

    @flow
    def returns_failed_future():
        return bad.submit(1)

    with pytest.raises(ValueError, match="bad 1"):
        returns_failed_future()
    state = returns_failed_future(return_state=True)

    assert (state.type.value, state.name, state.message) == (
        "FAILED",
        "Failed",
        "1/1 states failed.",
    )
    with pytest.raises(ValueError, match="bad 1"):
        state.result()


def test_returned_failed_task_state_fails_the_flow():
    """Prefect 2: a returned failed task State fails the flow with "1/1 states failed."."""

    @flow
    def returns_failed_state():
        return bad(1, return_state=True)

    state = returns_failed_state(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "1/1 states failed.")
    with pytest.raises(ValueError, match="bad 1"):
        returns_failed_state()


# ---- containers made only of states ------------------------------------------------------------


def test_list_of_states_with_failures_counts_them():
    """Prefect 2: a list made only of futures and states with 2 of 3 failed makes the flow FAILED,
    "2/3 states failed."; the call raises the first failed run's exception; with
    ``raise_on_failure=False`` the flow state's result is the list of States."""

    @flow
    def returns_list():
        return [ok.submit(1), bad.submit(2), bad(3, return_state=True)]

    with pytest.raises(ValueError, match="bad 2"):
        returns_list()
    state = returns_list(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "2/3 states failed.")
    data = state.result(raise_on_failure=False)
    assert isinstance(data, list)
    assert states_summary(data) == [
        ("COMPLETED", "Completed"),
        ("FAILED", "Failed"),
        ("FAILED", "Failed"),
    ]


def test_tuple_of_completed_states_gives_a_tuple_of_states():
    """Prefect 2: a tuple made only of futures and states, all completed: the flow is COMPLETED
    with "All states completed." and the caller gets a tuple of States."""

    @flow
    def returns_tuple():
        return ok.submit(1), ok(2, return_state=True)

    value = returns_tuple()
    state = returns_tuple(return_state=True)

    assert isinstance(value, tuple)
    assert states_summary(value) == [("COMPLETED", "Completed"), ("COMPLETED", "Completed")]
    assert [item.result() for item in value] == [1, 2]
    assert (state.type.value, state.message) == ("COMPLETED", "All states completed.")


def test_returned_map_futures_are_aggregated():
    """Prefect 2: the list of futures from ``.map()`` returned by the flow: all failed gives
    "3/3 states failed." and the first exception; all completed gives a list of States."""

    @flow
    def returns_failed_map():
        return bad.map([1, 2, 3])

    @flow
    def returns_map():
        return ok.map([1, 2, 3])

    failed = returns_failed_map(return_state=True)
    value = returns_map()

    assert (failed.type.value, failed.message) == ("FAILED", "3/3 states failed.")
    with pytest.raises(ValueError, match="bad 1"):
        returns_failed_map()
    assert states_summary(value) == [("COMPLETED", "Completed")] * 3
    assert [item.result() for item in value] == [1, 2, 3]


def test_set_of_states_is_aggregated():
    """Prefect 2: a set of States is one of the containers the aggregate rule reads: one failed of
    two gives "1/2 states failed."."""

    @flow
    def returns_set():
        return {ok(1, return_state=True), bad(2, return_state=True)}

    state = returns_set(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "1/2 states failed.")


def test_cancelled_state_wins_over_failed_in_the_aggregate():
    """Prefect 2: with any CANCELLED state among the returned states the flow is CANCELLED,
    "1/2 states cancelled.", even if another failed."""

    @flow
    def returns_cancelled():
        return [Cancelled(message="stop"), bad(1, return_state=True)]

    state = returns_cancelled(return_state=True)

    assert (state.type.value, state.message) == ("CANCELLED", "1/2 states cancelled.")


# ---- containers mixing states and plain values, and dicts ---------------------------------------


def test_tuple_mixing_states_and_values_is_returned_as_is_and_completes():
    """Prefect 2: a tuple mixing futures, states and plain values is not aggregated: futures become
    States, plain values stay, and the flow is COMPLETED even though one state in it failed."""

    @flow
    def returns_mixed():
        return ok.submit(1), bad.submit(2), 3, ok(4, return_state=True)

    value = returns_mixed()
    state = returns_mixed(return_state=True)

    assert isinstance(value, tuple) and len(value) == 4
    assert states_summary([value[0], value[1], value[3]]) == [
        ("COMPLETED", "Completed"),
        ("FAILED", "Failed"),
        ("COMPLETED", "Completed"),
    ]
    assert value[2] == 3
    assert state.is_completed()
    assert "states failed" not in (state.message or "")


def test_dict_of_futures_gives_a_dict_of_states_and_completes():
    """Prefect 2: a dict is never aggregated: its futures become States under the same keys and
    the flow is COMPLETED even with a failed one."""

    @flow
    def returns_dict():
        return {"a": ok.submit(1), "b": bad.submit(2), "c": 3}

    value = returns_dict()
    state = returns_dict(return_state=True)

    assert list(value) == ["a", "b", "c"]
    assert states_summary([value["a"], value["b"]]) == [
        ("COMPLETED", "Completed"),
        ("FAILED", "Failed"),
    ]
    assert value["c"] == 3
    assert state.is_completed()


def test_nested_futures_are_resolved_to_states():
    """Prefect 2: futures nested in the return value (a dict of a list) are resolved to States."""

    @flow
    def returns_nested():
        return {"a": [ok.submit(1), bad.submit(2)]}

    value = returns_nested()

    assert states_summary(value["a"]) == [("COMPLETED", "Completed"), ("FAILED", "Failed")]


# ---- states made by hand ------------------------------------------------------------------------


def test_state_made_by_hand_is_the_flow_state():
    """Prefect 2: a State built by the flow itself (no run behind it) is used as the flow's state:
    ``Completed(message="done", data=5)`` gives 5 to the caller and keeps its message."""

    @flow
    def returns_completed():
        return Completed(message="done", data=5)

    assert returns_completed() == 5
    state = returns_completed(return_state=True)
    assert (state.type.value, state.message, state.result()) == ("COMPLETED", "done", 5)


def test_failed_state_made_by_hand_fails_the_flow_with_its_message():
    """Prefect 2: ``return Failed(message="nope")`` fails the flow with that message; the call
    raises FailedRun("nope")."""

    @flow
    def returns_failed():
        return Failed(message="nope")

    with pytest.raises(Exception, match="nope") as raised:
        returns_failed()
    state = returns_failed(return_state=True)

    assert raised.type.__name__ == "FailedRun"
    assert (state.type.value, state.message) == ("FAILED", "nope")


def test_failed_state_made_by_hand_keeps_its_data():
    """Prefect 2: ``state.result(raise_on_failure=False)`` of a flow that returned a hand-made
    Failed state is that state's data: None for ``Failed(message="nope")``, the given value for
    ``Failed(message="nope", data={"why": 1})``."""

    @flow
    def returns_failed():
        return Failed(message="nope")

    @flow
    def returns_failed_with_data():
        return Failed(message="nope", data={"why": 1})

    assert returns_failed(return_state=True).result(raise_on_failure=False) is None
    data = returns_failed_with_data(return_state=True).result(raise_on_failure=False)
    assert data == {"why": 1}


def test_list_of_states_made_by_hand_is_aggregated():
    """Prefect 2: ``[Completed(data=1), Failed(message="mine")]`` fails the flow with "1/2 states
    failed."; the call raises FailedRun("mine")."""

    @flow
    def returns_states():
        return [Completed(data=1), Failed(message="mine")]

    state = returns_states(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "1/2 states failed.")
    with pytest.raises(Exception, match="mine") as raised:
        returns_states()
    assert raised.type.__name__ == "FailedRun"


# ---- subflows -----------------------------------------------------------------------------------


def test_subflow_returning_futures_gives_the_parent_states():
    """Prefect 2: a subflow's returned futures reach the parent as States; a subflow returning a
    failed future raises the task's exception in the parent, or gives "1/1 states failed." with
    ``return_state=True``, and the parent goes on."""

    @flow
    def child_futures():
        return [ok.submit(1), ok.submit(2)]

    @flow
    def child_failed():
        return bad.submit(5)

    @flow
    def parent():
        got = child_futures()
        child_state = child_failed(return_state=True)
        with pytest.raises(ValueError, match="bad 5"):
            child_failed()
        return states_summary(got), [s.result() for s in got], child_state.message

    summary, results, message = parent()

    assert summary == [("COMPLETED", "Completed"), ("COMPLETED", "Completed")]
    assert results == [1, 2]
    assert message == "1/1 states failed."


# ---- a flow that returns None -------------------------------------------------------------------


def test_flow_returning_none_gives_the_states_of_its_task_runs():
    """Prefect 2: a flow that returns None takes the states of all its task runs (called and
    submitted) as its return value: "All states completed." and the caller gets that list of
    States."""

    @flow
    def returns_nothing():
        ok(1)
        ok.submit(2)

    value = returns_nothing()
    state = returns_nothing(return_state=True)

    assert states_summary(value) == [("COMPLETED", "Completed"), ("COMPLETED", "Completed")]
    assert (state.type.value, state.message) == ("COMPLETED", "All states completed.")


def test_flow_returning_none_fails_with_a_count_and_the_task_exception():
    """Prefect 2: a flow that returns None with 1 of its 3 task runs failed (its error caught with
    ``return_state=True``) is FAILED "1/3 states failed." and calling it raises that task's own
    exception."""

    @flow
    def ignores_failure():
        ok(1)
        bad(2, return_state=True)
        ok.submit(3)

    with pytest.raises(ValueError, match="bad 2"):
        ignores_failure()
    state = ignores_failure(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "1/3 states failed.")


def test_flow_returning_none_counts_a_failed_subflow():
    """Prefect 2: subflow runs count with the task runs: a failed subflow (caught with
    ``return_state=True``) in a flow returning None gives "1/2 states failed." and the subflow's
    exception."""

    @flow
    def failing_child():
        raise ValueError("child")

    @flow
    def parent():
        ok(1)
        failing_child(return_state=True)

    with pytest.raises(ValueError, match="child"):
        parent()
    assert parent(return_state=True).message == "1/2 states failed."


def test_flow_without_task_runs_returning_none_gives_none():
    """Prefect 2: a flow with no task runs that returns None is COMPLETED and its caller gets None."""

    @flow
    def empty():
        pass

    assert empty() is None
    assert empty(return_state=True).is_completed()


def test_returned_value_completes_the_flow_despite_a_failed_task():
    """Prefect 2: a plain return value completes the flow even if a task run failed (its error
    caught with ``return_state=True``); ``return_state=True`` on the flow is unchanged."""

    @flow
    def returns_value():
        bad(1, return_state=True)
        return "value"

    state = returns_value(return_state=True)

    assert returns_value() == "value"
    assert (state.type.value, state.result()) == ("COMPLETED", "value")


# ---- on a worker --------------------------------------------------------------------------------


def test_futures_from_a_worker_returned_by_the_flow_are_aggregated(runs_worker):
    """Prefect 2's rule holds whatever runs the tasks: futures of task runs on a Celery worker,
    returned in a list, give the caller States and "1/2 states failed."."""
    from runs.task_runners import CeleryTaskRunner

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_a_worker():
        return [ok.submit(1), bad.submit(2)]

    state = on_a_worker(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "1/2 states failed.")
    assert states_summary(state.result(raise_on_failure=False)) == [
        ("COMPLETED", "Completed"),
        ("FAILED", "Failed"),
    ]
