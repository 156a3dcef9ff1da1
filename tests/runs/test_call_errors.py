"""Prefect 2's errors of a call (issue 13, item 8): reserved parameter names, ``map()`` without
iterables or with iterables of different lengths, and ``task_run_name`` checks.

Option checks of retry delays are in test_options.py. Observed in Prefect 2.20.25:
/work/parity/f/RESULTS.md.
"""

from __future__ import annotations

import re

import pytest

from runs import flow, task
from runs.exceptions import MappingLengthMismatch, MappingMissingIterable, ReservedArgumentError
from runs.runners.celery import CeleryTaskRunner
from runs.selectors import get_task_run, state_history, task_runs
from runs.tasks import Task


def takes_wait_for(x, wait_for=None):
    return x


def takes_return_state(x, return_state=False):
    return x


def takes_kwargs(**kwargs):
    return kwargs


@task
def identity(x):
    return x


@task
def pair(x, y):
    return (x, y)


def not_a_name():
    return 42


@task(task_run_name=not_a_name, retries=1)
def badly_named():
    """Module level, so that a worker can load it."""
    return "ran"


# ---- reserved argument names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "reserved"),
    [
        (lambda: task(takes_wait_for), "wait_for"),
        (lambda: task(name="named")(takes_return_state), "return_state"),
        (lambda: Task(takes_wait_for), "wait_for"),
        (lambda: Task(fn=takes_return_state), "return_state"),
    ],
)
def test_reserved_parameter_names_are_refused_when_the_task_is_made(make, reserved):
    """Prefect 2: ``@task`` (bare, with options, or ``Task(fn)``) on a function with a parameter
    named ``wait_for`` or ``return_state`` raises ReservedArgumentError, a TypeError, at
    decoration: "'wait_for' is a reserved argument name and cannot be used."."""
    with pytest.raises(ReservedArgumentError, match=f"'{reserved}' is a reserved argument") as info:
        make()
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("fn", [takes_wait_for, takes_return_state])
def test_reserved_parameter_names_are_refused_on_flows_too(fn):
    """Prefect 2: ``@flow`` refuses a parameter named ``wait_for`` or ``return_state`` the same
    way (ReservedArgumentError at decoration)."""
    with pytest.raises(ReservedArgumentError, match="reserved argument"):
        flow(fn)


def test_var_keywords_are_not_reserved():
    """Prefect 2: ``def t(**kwargs)`` is a valid task; only named parameters are checked."""
    assert task(takes_kwargs).name == "takes_kwargs"


# ---- map() errors -----------------------------------------------------------------------------


def mapping_error(call):
    """The exception ``call()`` raises inside a flow, and the task runs that flow run recorded."""
    caught = []

    @flow
    def mapping():
        try:
            call()
        except Exception as exc:
            caught.append(exc)

    state = mapping(return_state=True)
    assert state.is_completed(), state.message
    (exc,) = caught
    return exc, list(task_runs(flow_run=state.flow_run_id))


@pytest.mark.parametrize(
    ("call", "parameters"),
    [
        (lambda: identity.map(5), ["x"]),
        (lambda: pair.map(1, y=2), ["x", "y"]),
        (lambda: identity.map("abc"), ["x"]),
        (lambda: identity.map(b"ab"), ["x"]),
    ],
)
def test_map_without_an_iterable_is_mapping_missing_iterable(call, parameters):
    """Prefect 2: ``t.map(5)`` (or only static values: str, bytes) raises MappingMissingIterable,
    "No iterable parameters were received. ... Parameters: {'x': 5}", before any run is recorded.
    In runs it is also a ValueError; its message names the parameters."""
    exc, runs = mapping_error(call)
    assert isinstance(exc, MappingMissingIterable) and isinstance(exc, ValueError)
    assert "iterable" in str(exc)
    assert all(re.search(rf"\b{name}\b", str(exc)) for name in parameters)
    assert runs == []


@pytest.mark.parametrize(
    ("call", "lengths"),
    [
        (lambda: pair.map([1, 2], [1, 2, 3]), {"x": 2, "y": 3}),
        (lambda: pair.map(x=[1, 2], y=[1]), {"x": 2, "y": 1}),
        (lambda: pair.map({"a": 1}, [1, 2]), {"x": 1, "y": 2}),
    ],
)
def test_map_over_iterables_of_different_lengths_is_mapping_length_mismatch(call, lengths):
    """Prefect 2: iterables of different lengths raise MappingLengthMismatch, "... must all be
    the same length. Got lengths: {'x': 2, 'y': 3}" (a dict counts its keys), before any run is
    recorded. In runs it is also a ValueError; its message gives each length."""
    exc, runs = mapping_error(call)
    assert isinstance(exc, MappingLengthMismatch) and isinstance(exc, ValueError)
    assert "length" in str(exc)
    for name, length in lengths.items():
        assert re.search(rf"\b{name}'?\W{{1,3}}{length}\b", str(exc)), (name, length, str(exc))
    assert runs == []


# ---- task_run_name ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [42, ["a"]])
def test_task_run_name_neither_string_nor_callable_is_a_type_error_at_decoration(bad):
    """Prefect 2: ``@task(task_run_name=42)`` (or a list) raises TypeError at decoration, naming
    ``task_run_name``; ``with_options(task_run_name=42)`` too. ``None`` is accepted."""
    with pytest.raises(TypeError, match="task_run_name"):
        task(task_run_name=bad)(takes_kwargs)
    with pytest.raises(TypeError, match="task_run_name"):
        task(takes_kwargs).with_options(task_run_name=bad)
    assert task(task_run_name=None)(takes_kwargs).task_run_name is None


def test_flow_run_name_neither_string_nor_callable_is_a_type_error_at_decoration():
    """Prefect 2: ``@flow(flow_run_name=42)`` raises TypeError at decoration, naming
    ``flow_run_name``."""
    with pytest.raises(TypeError, match="flow_run_name"):
        flow(flow_run_name=42)(takes_kwargs)


def test_callable_task_run_name_returning_a_non_string_fails_the_run_unrun():
    """Prefect 2: a callable ``task_run_name`` that returns 42 (or None) fails the run's attempt
    before the function runs: Pending, Running, then FAILED named ``Failed`` (run_count 1), the
    default run name kept (``named_int-0``),
    message "... for 'task_run_name' returned type int but a string is required." A direct call
    raises that TypeError; ``return_state=True`` and ``submit().wait()`` give the Failed state."""
    calls = []

    @task(task_run_name=lambda: 42)
    def named_int(x):
        calls.append(x)

    @task(task_run_name=lambda: None)
    def named_none(x):
        calls.append(x)

    seen = {}

    @flow
    def naming():
        with pytest.raises(TypeError, match="returned type int but a string is required"):
            named_int(1)
        seen["state"] = named_int(2, return_state=True)
        seen["waited"] = named_int.submit(3).wait()
        with pytest.raises(TypeError, match="returned type int"):
            named_int.submit(4).result()
        with pytest.raises(TypeError, match="returned type NoneType but a string is required"):
            named_none(5)
        return "done"

    state = naming(return_state=True)
    assert state.is_completed(), state.message
    assert calls == []
    for failed in (seen["state"], seen["waited"]):
        assert (failed.type.value, failed.name) == ("FAILED", "Failed")
        assert "task_run_name" in failed.message
        assert "returned type int but a string is required" in failed.message
    runs = sorted(task_runs(flow_run=state.flow_run_id), key=lambda run: run.name)
    assert [run.name for run in runs] == [f"named_int-{i}" for i in range(4)] + ["named_none-0"]
    assert {(run.state_type, run.state_name, run.run_count) for run in runs} == {
        ("FAILED", "Failed", 1)
    }
    assert [state.name for state in state_history(runs[0])] == ["Pending", "Running", "Failed"]


def test_failed_task_run_name_is_an_attempt_that_retries_apply_to():
    """Prefect 2: the name is resolved inside each attempt, so with ``retries=2`` the run is
    tried 3 times (AwaitingRetry, Retrying between) and ends FAILED with run_count 3; the
    function never runs."""
    calls = []

    @task(task_run_name=lambda: 42, retries=2)
    def retried():
        calls.append(1)

    @flow
    def retrying():
        return retried(return_state=True).task_run_id, "done"

    state = retrying(return_state=True)
    task_run_id, _ = state.result()
    run = get_task_run(task_run_id)
    assert (run.state_name, run.run_count, calls) == ("Failed", 3, [])
    assert [s.name for s in state_history(run)] == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "AwaitingRetry",
        "Retrying",
        "Failed",
    ]


def test_flow_returning_a_call_whose_run_name_failed_is_failed():
    """Prefect 2: a flow that returns the call of such a task ends FAILED with the TypeError in
    its message; one that returns its state ends FAILED ("1/1 states failed.")."""

    @task(task_run_name=lambda: 42)
    def named_int():
        return 1

    @flow
    def returns_call():
        return named_int()

    @flow
    def returns_state():
        return named_int(return_state=True)

    by_call = returns_call(return_state=True)
    assert by_call.is_failed() and "returned type int" in by_call.message
    by_state = returns_state(return_state=True)
    assert by_state.is_failed() and "1/1" in by_state.message


def test_failed_task_run_name_on_a_worker_fails_the_run_the_same_way(runs_worker):
    """Prefect 2: a callable ``task_run_name`` returning 42 fails each attempt wherever the run
    executes; on a Celery worker with ``retries=1``: FAILED after 2 attempts, function never run,
    and ``result()`` raises the TypeError."""

    seen = {}

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_workers():
        future = badly_named.submit()
        seen["state"] = future.wait()
        try:
            seen["result"] = future.result()
        except Exception as exc:
            seen["result"] = exc
        return future.task_run_id, "done"

    state = on_workers(return_state=True)
    assert state.is_completed(), state.message
    assert isinstance(seen["result"], TypeError), seen
    assert "returned type int but a string is required" in str(seen["result"])
    run = get_task_run(state.result()[0])
    assert (run.state_type, run.state_name, run.run_count) == ("FAILED", "Failed", 2)
    assert "Completed" not in [s.name for s in state_history(run)]
