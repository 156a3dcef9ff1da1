"""``runs.context.get_run_context()``, as Prefect 2's ``prefect.context.get_run_context()``."""

from __future__ import annotations

import asyncio

import pytest

import runs.logging
from runs import flow, task
from runs.context import MissingContextError, get_run_context


@task(name="context-reader")
def reads_task_context(x: int) -> dict:
    ctx = get_run_context()
    return {
        "kind": type(ctx).__name__,
        "task": ctx.task.name,
        "task_run_id": ctx.task_run.id,
        "flow_run_id": ctx.task_run.flow_run_id,
        "parameters": dict(ctx.parameters),
    }


@flow(name="context-flow")
def reads_flow_context() -> dict:
    ctx = get_run_context()
    return {
        "kind": type(ctx).__name__,
        "flow": ctx.flow.name,
        "flow_run_id": ctx.flow_run.id,
        "has_task_runner": ctx.task_runner is not None,
        "task": reads_task_context(7),
        "submitted": reads_task_context.submit(8).result(),
    }


def test_in_a_flow_the_flow_run_context_in_a_task_the_task_run_context():
    """Prefect 2: get_run_context() gives the TaskRunContext inside a task run (``task``,
    ``task_run``, ``parameters``), else the FlowRunContext (``flow``, ``flow_run``,
    ``task_runner``)."""
    state = reads_flow_context(return_state=True)
    seen = state.result()

    assert seen["kind"] == "FlowRunContext"
    assert seen["flow"] == "context-flow"
    assert seen["flow_run_id"] == state.flow_run_id
    assert seen["has_task_runner"]
    for called, x in ((seen["task"], 7), (seen["submitted"], 8)):
        assert called["kind"] == "TaskRunContext"
        assert called["task"] == "context-reader"
        assert called["flow_run_id"] == state.flow_run_id
        assert called["parameters"] == {"x": x}
    assert seen["task"]["task_run_id"] != seen["submitted"]["task_run_id"]


def test_async_flows_and_tasks_see_their_context():
    @task
    async def async_reader() -> str:
        return type(get_run_context()).__name__

    @flow
    async def async_flow() -> tuple[str, str]:
        return type(get_run_context()).__name__, await async_reader()

    assert asyncio.run(async_flow()) == ("FlowRunContext", "TaskRunContext")


def test_outside_a_run_it_is_the_missing_context_error():
    """Prefect 2 raises MissingContextError: "No run context available..."."""
    with pytest.raises(MissingContextError, match="No run context available"):
        get_run_context()


def test_one_missing_context_error_class_for_context_and_logging():
    assert runs.logging.MissingContextError is MissingContextError
    assert issubclass(MissingContextError, RuntimeError)
