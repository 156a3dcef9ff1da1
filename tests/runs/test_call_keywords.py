"""Call keywords where Prefect 2 has them (issue 13, item 6): ``wait_for=`` on subflow calls,
``return_state=True`` on ``submit()`` and ``map()``.

Prefect 2.20: a subflow waits for its ``wait_for`` futures before it starts and records them as
upstream of its task run in the parent; a top-level flow refuses ``wait_for``.
``submit(..., return_state=True)`` and ``map(..., return_state=True)`` wait for the runs and return
their final States (``get_task_call_return_value`` with return type "state"), never raising.
Observed in /work/parity/e/RESULTS.md.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from runs import State, allow_failure, flow, get_client, task
from runs.runtime import flow_run


class Log:
    """Lines appended by tasks and flows; an object, since Prefect 2 gives tasks copies of lists."""

    def __init__(self):
        self.lines: list[str] = []

    def append(self, line: str) -> None:
        self.lines.append(line)


@task
def slow(x, log):
    time.sleep(0.2)
    log.append(f"slow({x}) done")
    return x


@task
def double(x):
    return 2 * x


@task
def inc(x):
    return x + 1


@task
def bad(x):
    raise ValueError(f"bad {x}")


def upstream_names(flow_run_id):
    """{task run name: sorted names of its upstream task runs} for one flow run, from the API."""
    client = get_client(sync_client=True)
    runs = [client.read_task_run(i) for i in client.read_flow_run(flow_run_id).task_run_ids]
    names = {run.id: run.name for run in runs}
    return {run.name: sorted(names.get(u, str(u)) for u in run.upstream) for run in runs}


# ---- wait_for= on subflows ----------------------------------------------------------------------


def test_subflow_waits_for_its_wait_for_futures():
    """Prefect 2: ``child(2, wait_for=[future])`` starts the subflow only after the future's run
    finished, and returns the subflow's value (its State with ``return_state=True``)."""
    log = Log()

    @flow
    def child(x):
        log.append("child started")
        return x * 10

    @flow
    def parent():
        value = child(2, wait_for=[slow.submit(1, log)])
        state = child(3, wait_for=[slow.submit(2, log)], return_state=True)
        return value, state

    value, state = parent()

    assert value == 20
    assert isinstance(state, State) and state.is_completed() and state.result() == 30
    assert log.lines == ["slow(1) done", "child started", "slow(2) done", "child started"]


def test_subflow_wait_for_is_an_upstream_link():
    """Prefect 2: the subflow's task run in the parent lists the ``wait_for`` task runs (under
    ``task_inputs['wait_for']``) and the task runs its arguments came from as upstream."""
    child_runs: list = []

    @flow
    def child(x):
        child_runs.append(flow_run.id)
        return x

    @flow
    def parent():
        child(5, wait_for=[double.submit(1)])
        child(double(700))  # 1400: a value Prefect can track
        return flow_run.id

    links = upstream_names(parent())
    client = get_client(sync_client=True)
    subflow_tasks = [
        client.read_task_run(client.read_flow_run(i).parent_task_run_id) for i in child_runs
    ]

    assert links[subflow_tasks[0].name] == ["double-0"]
    assert links[subflow_tasks[1].name] == ["double-1"]


def test_subflow_waiting_for_a_failed_future_does_not_run():
    """Prefect 2: a subflow whose ``wait_for`` run failed never starts (Prefect leaves it PENDING
    "NotReady"; runs ends it FAILED "UpstreamFailed", as the README's "Where runs differs" says);
    ``allow_failure(future)`` runs it anyway."""
    started: list = []

    @flow
    def child(x):
        started.append(x)
        return x

    @flow
    def parent():
        failed = bad.submit(1)
        blocked = child(2, wait_for=[failed], return_state=True)
        allowed = child(4, wait_for=[allow_failure(failed)], return_state=True)
        return {"blocked": blocked, "allowed": allowed}  # a dict: the flow does not aggregate it

    states = parent()
    blocked, allowed = states["blocked"], states["allowed"]

    assert started == [4]
    assert not blocked.is_completed()
    assert (blocked.type.value, blocked.name) == ("FAILED", "UpstreamFailed")
    assert allowed.is_completed() and allowed.result() == 4


def test_top_level_flow_refuses_wait_for():
    """Prefect 2: a flow called outside any flow with ``wait_for=`` raises ValueError "Only flows
    run as subflows can wait for dependencies."."""
    ran: list = []

    @flow
    def top(x=1):
        ran.append(x)
        return x

    with pytest.raises(ValueError, match="Only flows run as subflows can wait for dependencies"):
        top(wait_for=[])
    assert ran == []


# ---- submit(return_state=True) ------------------------------------------------------------------


def test_submit_return_state_gives_the_final_state():
    """Prefect 2: ``t.submit(x, return_state=True)`` returns a State, not a future: it waits for
    the run, gives Completed with the result, or the Failed State without raising."""
    log = Log()

    @flow
    def submits():
        done = double.submit(2, return_state=True)
        failed = bad.submit(2, return_state=True)
        waited = slow.submit(9, log, return_state=True)
        finished_before_return = list(log.lines)
        return done, failed, waited, finished_before_return

    done, failed, waited, finished_before_return = submits()

    assert isinstance(done, State) and done.is_completed() and done.result() == 4
    assert isinstance(failed, State) and (failed.type.value, failed.name) == ("FAILED", "Failed")
    with pytest.raises(ValueError, match="bad 2"):
        failed.result()
    assert waited.is_completed() and finished_before_return == ["slow(9) done"]


def test_state_from_submit_return_state_passes_its_result_and_link():
    """Prefect 2: the State from ``submit(..., return_state=True)`` passed to a task gives it the
    result (8), and as ``wait_for`` it is an upstream link."""

    @flow
    def passes_state():
        state = double.submit(2, return_state=True)
        value = double.with_options(task_run_name="from-state")(state)
        double.with_options(task_run_name="after-state")(
            3, wait_for=[inc.submit(1, return_state=True)]
        )
        return value, flow_run.id

    value, flow_run_id = passes_state()
    links = upstream_names(flow_run_id)

    assert value == 8
    assert links["from-state"] == ["double-0"]
    assert links["after-state"] == ["inc-0"]


def test_submit_return_state_runs_count_in_a_flow_returning_none():
    """Prefect 2: runs submitted with ``return_state=True`` are task runs of the flow like any
    other: a failed one makes a flow that returns None FAILED ("1/2 states failed.")."""

    @flow
    def returns_nothing():
        double.submit(1, return_state=True)
        bad.submit(2, return_state=True)

    state = returns_nothing(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", "1/2 states failed.")


# ---- map(return_state=True) ---------------------------------------------------------------------


def test_map_return_state_gives_a_list_of_final_states():
    """Prefect 2: ``t.map(xs, return_state=True)`` returns a list of final States, failed ones as
    Failed States without raising; mapping over those States passes their results."""

    @flow
    def maps():
        done = double.map([1, 2, 3], return_state=True)
        failed = bad.map([1, 2], return_state=True)
        again = [future.result() for future in double.map(done)]
        return done, failed, again

    done, failed, again = maps()

    assert all(isinstance(state, State) for state in done + failed)
    assert [state.result() for state in done] == [2, 4, 6]
    assert [(state.type.value, state.name) for state in failed] == [("FAILED", "Failed")] * 2
    assert again == [4, 8, 12]


# ---- async flows --------------------------------------------------------------------------------


@task
async def async_double(x):
    return 2 * x


def test_async_task_submit_and_map_return_state_are_awaited_in_async_flows():
    """Prefect 2: in an async flow, ``submit`` and ``map`` of an async task return an awaitable;
    awaited with ``return_state=True`` they give a State, resp. a list of States (without it, a
    future, resp. a list of futures)."""

    @flow
    async def async_flow():
        state = await async_double.submit(1, return_state=True)
        states = await async_double.map([1, 2], return_state=True)
        return state, states

    state, states = asyncio.run(async_flow())

    assert isinstance(state, State) and state.result() == 2
    assert [s.result() for s in states] == [2, 4] and all(isinstance(s, State) for s in states)


def test_sync_task_submit_return_state_in_async_flow_needs_no_await():
    """Prefect 2: in an async flow, ``submit``/``map`` of a sync task with ``return_state=True``
    return the State / list of States directly (no await)."""

    @flow
    async def async_flow():
        return double.submit(1, return_state=True), double.map([1, 2], return_state=True)

    state, states = asyncio.run(async_flow())

    assert isinstance(state, State) and state.result() == 2
    assert [s.result() for s in states] == [2, 4]


# ---- on a worker --------------------------------------------------------------------------------


def test_return_state_with_tasks_on_a_worker(runs_worker):
    """Prefect 2: ``submit``/``map`` with ``return_state=True`` give final States whatever task
    runner runs them: here a Celery worker."""
    from runs.task_runners import CeleryTaskRunner

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_a_worker():
        return {
            "submitted": double.submit(2, return_state=True),
            "failed": bad.submit(1, return_state=True),
            "mapped": double.map([1, 2], return_state=True),
        }

    got = on_a_worker()

    assert isinstance(got["submitted"], State) and got["submitted"].result() == 4
    assert (got["failed"].type.value, got["failed"].name) == ("FAILED", "Failed")
    assert [state.result() for state in got["mapped"]] == [2, 4]
