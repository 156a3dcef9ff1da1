"""Smaller Prefect 2 parity points (issue 13, item 9): ``future.wait(timeout)``, tasks that
yield, and task-run names unique per task in a flow run. Observed in Prefect 2.20.25:
/work/parity/f/RESULTS.md."""

from __future__ import annotations

import threading

import pytest

from runs import flow, task
from runs.runtime import task_run
from runs.selectors import task_runs


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
