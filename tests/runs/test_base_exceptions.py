"""A task raising a BaseException that is not an Exception (issue 13, item 11).

Prefect 2.20 (``report_task_run_crashes``, ``states.exception_to_crashed_state``): the task run
ends CRASHED named "Crashed". Any other BaseException is re-raised at the task call, or given as
the Crashed State with ``return_state=True`` / ``future.wait()``, and ``.result()`` raises it.
KeyboardInterrupt and SystemExit still reach the flow's caller however the task was called
(call, ``return_state=True``, ``submit``), and the flow run ends CRASHED too. Observed in
/work/parity/e/RESULTS.md.
"""

from __future__ import annotations

import asyncio

import pytest

from runs import flow, get_client, task
from runs.runtime import flow_run


class Boom(BaseException):
    pass


@task
def boom():
    raise Boom("boom!")


@task
def interrupt():
    raise KeyboardInterrupt("ctrl-c")


@task
def system_exit():
    raise SystemExit(3)


@task
def ok_after():
    return "still here"


RAISING = {KeyboardInterrupt: interrupt, SystemExit: system_exit}


def recorded(flow_run_id):
    """(flow run state type, name, message) and [(task run state type, name, message)]."""
    client = get_client(sync_client=True)
    run = client.read_flow_run(flow_run_id)
    tasks = [client.read_task_run(i).state for i in run.task_run_ids]
    return (
        (run.state.type.value, run.state.name, run.state.message),
        [(state.type.value, state.name, state.message) for state in tasks],
    )


# ---- a BaseException that is not an Exception ---------------------------------------------------


def test_base_exception_crashes_the_task_run_and_reaches_the_caller():
    """Prefect 2: a task raising ``Boom(BaseException)`` ends CRASHED "Crashed"; the call raises
    Boom in the flow, the flow call raises Boom (also with ``return_state=True``) and the flow run
    is CRASHED."""
    ids: list = []
    seen: list = []

    @flow
    def calls_boom():
        ids.append(flow_run.id)
        try:
            boom()
        except BaseException as exc:
            seen.append(type(exc))
            raise
        return "after"

    with pytest.raises(Boom, match="boom!"):
        calls_boom()
    with pytest.raises(Boom, match="boom!"):
        calls_boom(return_state=True)

    assert seen == [Boom, Boom]
    for flow_run_id in ids:
        flow_state, task_states = recorded(flow_run_id)
        assert flow_state[:2] == ("CRASHED", "Crashed") and "Boom: boom!" in flow_state[2]
        assert [state[:2] for state in task_states] == [("CRASHED", "Crashed")]
        assert "Boom: boom!" in task_states[0][2]


def test_base_exception_with_return_state_gives_the_crashed_state():
    """Prefect 2: ``boom(return_state=True)`` gives the Crashed State instead of raising; its
    ``.result()`` raises Boom; the flow goes on and completes with its own return value."""
    ids: list = []

    @flow
    def keeps_state():
        ids.append(flow_run.id)
        state = boom(return_state=True)
        with pytest.raises(Boom, match="boom!"):
            state.result()
        return (state.type.value, state.name, state.message)

    state_seen = keeps_state()
    flow_state, task_states = recorded(ids[0])

    assert state_seen[:2] == ("CRASHED", "Crashed") and "Boom: boom!" in state_seen[2]
    assert flow_state[:2] == ("COMPLETED", "Completed")
    assert [state[:2] for state in task_states] == [("CRASHED", "Crashed")]


def test_base_exception_in_a_submitted_task_is_in_its_future():
    """Prefect 2: for ``boom.submit()``, ``future.wait()`` gives the Crashed State and
    ``future.result()`` raises Boom; the flow goes on and completes."""

    @flow
    def submits():
        future = boom.submit()
        state = future.wait()
        with pytest.raises(Boom, match="boom!"):
            future.result()
        return (state.type.value, state.name), flow_run.id

    seen, flow_run_id = submits()
    flow_state, task_states = recorded(flow_run_id)

    assert seen == ("CRASHED", "Crashed")
    assert flow_state[:2] == ("COMPLETED", "Completed")
    assert [state[:2] for state in task_states] == [("CRASHED", "Crashed")]


# ---- KeyboardInterrupt and SystemExit -----------------------------------------------------------


@pytest.mark.parametrize("how", ["call", "return_state=True", "submit"])
@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupt_and_exit_are_recorded_and_propagate(error, how):
    """Prefect 2: a task raising KeyboardInterrupt or SystemExit ends CRASHED "Crashed", and the
    exception still reaches the flow's caller however the task was called (plain call,
    ``return_state=True``, ``submit()`` then ``wait()``), with the flow run CRASHED."""
    raising = RAISING[error]
    ids: list = []

    @flow
    def calls_it():
        ids.append(flow_run.id)
        if how == "call":
            raising()
        elif how == "return_state=True":
            raising(return_state=True)
        else:
            raising.submit().wait()
        return "after"

    with pytest.raises(error):
        calls_it()

    flow_state, task_states = recorded(ids[0])
    assert flow_state[:2] == ("CRASHED", "Crashed")
    assert [state[:2] for state in task_states] == [("CRASHED", "Crashed")]


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupt_and_exit_propagate_through_flow_return_state(error):
    """Prefect 2: ``flow(return_state=True)`` does not turn a task's KeyboardInterrupt or
    SystemExit into a state: the flow call raises it."""

    @flow
    def calls_it():
        RAISING[error]()

    with pytest.raises(error):
        calls_it(return_state=True)


# ---- retries, map, async, subflows --------------------------------------------------------------


def test_crash_is_not_retried():
    """Prefect 2: retries apply to FAILED runs only: a task with ``retries=2`` raising Boom is
    tried once and ends CRASHED."""
    attempts: list = []

    @task(retries=2, retry_delay_seconds=0)
    def boom_with_retries():
        attempts.append(1)
        raise Boom("boom!")

    @flow
    def retries_flow():
        state = boom_with_retries(return_state=True)
        return (state.type.value, state.name), len(attempts)

    assert retries_flow() == (("CRASHED", "Crashed"), 1)


def test_mapped_run_raising_base_exception_is_crashed_alone():
    """Prefect 2: in ``.map()``, the run raising Boom is CRASHED and the others complete."""

    @task
    def boom_on(x):
        if x == 2:
            raise Boom(f"boom {x}")
        return x

    @flow
    def maps():
        return [future.wait().type.value for future in boom_on.map([1, 2, 3])]

    assert maps() == ["COMPLETED", "CRASHED", "COMPLETED"]


def test_async_task_raising_base_exception():
    """Prefect 2: an async task raising Boom: ``await t(return_state=True)`` gives the Crashed
    State; ``await t()`` raises Boom, and so does the flow."""
    seen: list = []

    @task
    async def async_boom():
        raise Boom("async boom!")

    @flow
    async def async_flow():
        state = await async_boom(return_state=True)
        seen.append((state.type.value, state.name))
        await async_boom()

    with pytest.raises(Boom, match="async boom!"):
        asyncio.run(async_flow())
    assert seen == [("CRASHED", "Crashed")]


def test_subflow_raising_base_exception_reaches_the_parent_even_with_return_state():
    """Prefect 2: a subflow whose body raises Boom raises it in the parent even when called with
    ``return_state=True``; the parent's caller gets Boom."""
    after: list = []

    @flow
    def boom_child():
        raise Boom("child boom")

    @flow
    def parent():
        boom_child(return_state=True)
        after.append("parent went on")

    with pytest.raises(Boom, match="child boom"):
        parent()
    assert after == []


# ---- on a worker --------------------------------------------------------------------------------


def test_base_exception_on_a_worker_crashes_the_task_run(runs_worker):
    """Prefect 2: a task raising a BaseException that is not an Exception ends CRASHED wherever it
    runs: on a Celery worker ``future.wait()`` gives the Crashed State, and the worker lives on
    to run the next task."""
    from runs.task_runners import CeleryTaskRunner

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_a_worker():
        crashed = boom.submit().wait()
        after = ok_after.submit().wait()
        return {"crashed": crashed, "after": after}

    got = on_a_worker()

    assert (got["crashed"].type.value, got["crashed"].name) == ("CRASHED", "Crashed")
    assert got["after"].is_completed() and got["after"].result() == "still here"
