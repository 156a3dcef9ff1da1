"""Smaller Prefect 2 parity points (issue 13, item 9): ``future.wait(timeout)``, tasks that
yield, and task-run names counted per task in a flow run (and what that means for a retried
flow run), in the process and on Celery workers. Observed in Prefect 2.20.25:
/work/parity/f/RESULTS.md."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from runs import flow, task
from runs.runners.celery import CeleryTaskRunner
from runs.runtime import task_run
from runs.selectors import task_runs


@task
def waits_for_file(path: str) -> str:
    """Returns once ``path`` exists (at most 10 s); module level, so a worker can load it."""
    deadline = time.monotonic() + 10
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released"


@task
def counts_to(n: int):
    yield from range(n)


@task
def own_name(x: int = 0) -> str:
    return task_run.name


def recorded_names(state) -> list[str]:
    """Names of the task runs a flow run recorded, first created first."""
    return [run.name for run in reversed(task_runs(flow_run=state.flow_run_id))]


def test_wait_with_a_timeout_on_an_unfinished_run_returns_none():
    """Prefect 2: ``future.wait(0.01)`` and ``future.wait(0)`` return ``None`` while the run has
    not finished, ``result(timeout=0.01)`` raises TimeoutError, and ``wait()`` later gives the
    final state."""
    gate = threading.Event()

    @task
    def blocked():
        gate.wait(10)
        return "released"

    seen = {}

    @flow
    def waits():
        future = blocked.submit()
        try:
            seen["short"] = future.wait(0.01)
            seen["zero"] = future.wait(0)
            with pytest.raises(TimeoutError):
                future.result(timeout=0.01)
        finally:
            gate.set()
        final = future.wait()
        return final.type.value, final.result()

    state = waits(return_state=True)
    assert state.is_completed(), state.message
    assert seen == {"short": None, "zero": None}
    assert state.result() == ("COMPLETED", "released")


def test_a_task_that_yields_returns_and_records_a_list():
    """Prefect 2: a generator task's call returns the list it yields (``[0, 1, 2]``), as do
    ``return_state=True`` then ``.result()`` and ``submit().result()``."""

    @task
    def count(n):
        yield from range(n)

    @flow
    def generators():
        return count(3), count(2, return_state=True).result(), count.submit(1).result()

    state = generators(return_state=True)
    assert state.result() == ([0, 1, 2], [0, 1], [0])
    runs = list(task_runs(flow_run=state.flow_run_id))
    assert {run.state_type for run in runs} == {"COMPLETED"}


def test_a_generator_that_raises_midway_crashes_the_run():
    """Prefect 2: the engine drains a generator task after the function returns, so an exception
    raised mid-iteration ends the run CRASHED ("Execution was interrupted by an unexpected
    exception: ValueError: mid-generator"); a direct call raises the ValueError, and
    ``return_state=True`` gives the Crashed state instead of raising."""

    @task
    def breaks():
        yield 1
        raise ValueError("mid-generator")

    seen = {}

    @flow
    def generators():
        with pytest.raises(ValueError, match="mid-generator"):
            breaks()
        seen["state"] = breaks(return_state=True)
        return "done"

    state = generators(return_state=True)
    assert state.is_completed(), state.message
    crashed = seen["state"]
    assert (crashed.type.value, crashed.name) == ("CRASHED", "Crashed")
    assert "ValueError: mid-generator" in crashed.message
    runs = list(task_runs(flow_run=state.flow_run_id))
    assert {(run.state_type, run.run_count) for run in runs} == {("CRASHED", 1)}


def test_run_names_count_on_across_calls_submits_and_maps():
    """Prefect 2: default run names are ``{task name}-{n}``, n counting the runs of that task in
    the flow run across calls, submits and maps (map runs take the numbers in index order):
    ``t-0 .. t-4``, never two ``t-0``. The next flow run starts again at ``t-0``."""

    @task
    def t(x=0):
        return task_run.name

    @flow
    def naming():
        names = [t(), t.submit().result()]
        names += [future.result() for future in t.map([1, 2])]
        names.append(t())
        return names

    state = naming(return_state=True)
    expected = ["t-0", "t-1", "t-2", "t-3", "t-4"]
    assert state.result() == expected
    assert sorted(recorded_names(state)) == expected
    assert naming() == expected


def test_copies_made_with_options_continue_the_counter_of_their_function():
    """Prefect 2 counts runs per task function (its task_key comes from the function, not the
    name or tags): after ``t()``, ``t.with_options(name="renamed")()`` twice gives
    ``renamed-1``, ``renamed-2``; ``with_options(tags=...)`` and ``with_options(retries=1)``
    give ``t-3``, ``t-4``. Another function named ``custom`` counts from ``custom-0``."""

    @task
    def t():
        return task_run.name

    @task(name="custom")
    def other():
        return task_run.name

    @flow
    def copies():
        renamed = t.with_options(name="renamed")
        return [
            t(),
            renamed(),
            renamed.submit().result(),
            t.with_options(tags=["x"])(),
            t.with_options(retries=1)(),
            other(),
            other(),
        ]

    state = copies(return_state=True)
    expected = ["t-0", "renamed-1", "renamed-2", "t-3", "t-4", "custom-0", "custom-1"]
    assert state.result() == expected
    assert sorted(recorded_names(state)) == sorted(expected)


def test_different_functions_sharing_a_name_count_separately():
    """Prefect 2: two different functions both named ``same`` each count from 0: ``same-0`` twice,
    then ``same-1`` twice."""

    @task(name="same")
    def first():
        return task_run.name

    @task(name="same")
    def second():
        return task_run.name

    @flow
    def shared():
        return [first(), second(), first(), second()]

    assert shared() == ["same-0", "same-0", "same-1", "same-1"]


def test_tasks_made_from_the_same_code_share_a_counter():
    """Prefect 2 keys the counter by the function's name and a hash of its code object
    (``task_key``), not by the function object: two Task objects made by one factory share it,
    ``t-0, t-1, t-2``."""

    def make():
        @task
        def t():
            return task_run.name

        return t

    @flow
    def shared():
        one, two = make(), make()
        return [one(), two(), one()]

    assert shared() == ["t-0", "t-1", "t-2"]


def test_names_from_a_callable_task_run_name_are_used_as_given():
    """Prefect 2: a callable ``task_run_name`` names the run as is, with no counter, so several
    runs may share the name (``fixed`` four times)."""

    @task(task_run_name=lambda: "fixed")
    def fixed(x):
        return task_run.name

    @flow
    def given():
        return [fixed(1), fixed(2), *[future.result() for future in fixed.map([3, 4])]]

    state = given(return_state=True)
    assert state.result() == ["fixed"] * 4
    assert recorded_names(state) == ["fixed"] * 4


def test_a_retried_flow_run_reuses_the_task_runs_that_completed():
    """Prefect 2 identifies a task call by its code and how many calls of that code came
    before it in the attempt: on a flow retry, ``t(1)`` and ``t.submit(2)`` stand for the runs
    that completed in the first attempt (the function is not called again, its result is
    returned). Where runs differs (README): the call that failed runs again as a new task run
    (``boom_once-1``) rather than as the same run."""
    calls = []
    attempts = []

    @task
    def t(x):
        calls.append(x)
        return 10 * x

    @task
    def boom_once():
        if len(attempts) == 1:
            raise ValueError("first flow attempt fails")
        return "ok"

    @flow(retries=1)
    def retried():
        attempts.append(1)
        value = t(1)
        t.submit(2).result()
        boom_once()
        return value + 1

    state = retried(return_state=True)
    assert state.is_completed(), state.message
    assert state.result() == 11
    assert calls == [1, 2]
    runs = {run.name: run for run in task_runs(flow_run=state.flow_run_id)}
    assert sorted(runs) == ["boom_once-0", "boom_once-1", "t-0", "t-1"]
    assert runs["boom_once-0"].state_type == "FAILED"
    assert runs["boom_once-1"].state_type == "COMPLETED"


def test_wait_timeout_generators_and_names_on_workers(runs_worker, tmp_path):
    """Prefect 2's behaviour does not depend on the task runner: on Celery workers
    ``wait(0.01)`` on an unfinished run is ``None``, a generator task returns a list, and run
    names count on across submits and maps (``own_name-0 .. own_name-2``)."""
    marker = tmp_path / "release"
    seen = {}

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_workers():
        future = waits_for_file.submit(str(marker))
        try:
            seen["short"] = future.wait(0.01)
        finally:
            marker.write_text("go")
        names = [own_name.submit().result(), *[f.result() for f in own_name.map([1, 2])]]
        return future.result(), counts_to.submit(3).result(), names

    state = on_workers(return_state=True)
    assert state.is_completed(), state.message
    assert seen == {"short": None}
    assert state.result() == ("released", [0, 1, 2], ["own_name-0", "own_name-1", "own_name-2"])


def test_an_async_retried_flow_reuses_completed_async_task_runs():
    """Prefect 2 reuses completed task runs on a flow retry in async flows too: ``await t(1)``
    in the second attempt returns the first attempt's result without calling the function."""
    import asyncio

    calls = []
    attempts = []

    @task
    async def t(x):
        calls.append(x)
        return 10 * x

    @flow(retries=1)
    async def retried():
        attempts.append(1)
        value = await t(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails after t")
        return value + 1

    assert asyncio.run(retried()) == 11
    assert calls == [1]
