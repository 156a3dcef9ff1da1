"""Flows: runs, final states as Prefect 2 derives them, subflows, logs and prints."""

from __future__ import annotations

import pytest

from runs import flow, get_run_logger, task
from runs.models import FlowRun, Log, TaskRun
from runs.models import State as StateRow
from runs.runtime import flow_run


def test_flow_records_run_with_parameters_and_states():
    @flow
    def add(x: int, y: int = 2):
        return x + y

    state = add(1, return_state=True)
    assert state.result() == 3
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.flow.name == "add" and run.parameters == {"x": 1, "y": 2}
    assert run.state_name == "Completed" and run.start_time and run.end_time
    names = list(StateRow.objects.filter(flow_run=run).values_list("name", flat=True))
    assert names == ["Pending", "Running", "Completed"]


def test_flow_name_defaults_to_function_name_with_hyphens():
    @flow
    def my_nice_flow():
        return flow_run.flow_name

    assert my_nice_flow() == "my-nice-flow"


def test_flow_raising_fails_and_reraises():
    @flow
    def broken():
        raise RuntimeError("bad flow")

    with pytest.raises(RuntimeError, match="bad flow"):
        broken()
    run = FlowRun.objects.filter(flow__name="broken").latest("created")
    assert run.state_type == "FAILED" and "RuntimeError: bad flow" in run.state_message


def test_flow_returning_none_fails_when_a_task_failed():
    """Prefect 2: a flow that returns None stands for its task runs: FAILED "1/2 states
    failed." with their states as its data."""

    @task
    def bad():
        raise ValueError("x")

    @task
    def good():
        return 1

    @flow
    def mixed():
        good()
        bad(return_state=True)

    state = mixed(return_state=True)
    assert state.is_failed() and state.message == "1/2 states failed."
    assert [s.type.value for s in state.result(raise_on_failure=False)] == ["COMPLETED", "FAILED"]


def test_flow_returning_value_completes_even_if_a_task_failed():
    @task
    def bad():
        raise ValueError("x")

    @flow
    def tolerant():
        bad(return_state=True)
        return "fine"

    assert tolerant() == "fine"


def test_flow_returning_failed_state_fails():
    @task
    def bad():
        raise ValueError("x")

    @flow
    def returns_state():
        return bad(return_state=True)

    state = returns_state(return_state=True)
    assert state.is_failed()


def test_subflow_is_linked_flow_run():
    @flow
    def child(x):
        return x * 10

    @flow
    def parent():
        return child(4)

    state = parent(return_state=True)
    assert state.result() == 40
    parent_run = FlowRun.objects.get(id=state.flow_run_id)
    (link,) = TaskRun.objects.filter(flow_run=parent_run)
    child_run = FlowRun.objects.get(parent_task_run=link)
    assert child_run.flow.name == "child" and child_run.state_name == "Completed"
    assert link.state_name == "Completed"


def test_run_logger_and_log_prints_write_log_rows(capsys):
    @task(log_prints=True)
    def chatty():
        print("Hello, I'm a task")
        get_run_logger().warning("careful")

    @task
    def quiet():
        print("not logged")

    @flow
    def talking():
        get_run_logger().info("flow says hi")
        chatty()
        quiet()

    state = talking(return_state=True)
    assert "Hello, I'm a task" in capsys.readouterr().out
    task_logs = Log.objects.filter(task_run__flow_run_id=state.flow_run_id)
    messages = set(task_logs.values_list("message", flat=True))
    assert {"Hello, I'm a task", "careful"} <= messages
    assert "not logged" not in messages
    assert Log.objects.filter(flow_run_id=state.flow_run_id, message="flow says hi").exists()


def test_get_run_logger_outside_run_raises():
    from runs.logging import MissingContextError

    with pytest.raises(MissingContextError):
        get_run_logger()


def test_flow_with_options_and_bad_option():
    @flow(name="named-flow", retries=1)
    def f():
        return flow_run.flow_name

    assert f() == "named-flow"
    assert f.with_options(name="other")() == "other"
    with pytest.raises(TypeError, match="unknown option"):
        flow(nme="x")
