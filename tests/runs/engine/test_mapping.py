"""``task.map()`` as Prefect 2 maps (issue 13, item 5): ``**kwargs``, states and futures as the
iterable, ``allow_failure([...])``, which values are mapped, and async tasks on the
SequentialTaskRunner. Observed in Prefect 2.20.25: /work/parity/f/RESULTS.md."""

from __future__ import annotations

import asyncio

import pytest

from runs import allow_failure, flow, task, unmapped
from runs.runners.celery import CeleryTaskRunner
from runs.selectors import task_runs
from runs.states import Completed
from runs.task_runners import SequentialTaskRunner


@task
def identity(x):
    return x


@task
def pair(x, y):
    return (x, y)


@task
def kwargs_only(**kwargs):
    return kwargs


@task
def first_and_kwargs(a, **kw):
    return (a, kw)


@task
def make_list():
    return [10, 20, 30]


@task
def explode():
    raise ValueError("upstream failed")


def results_of(futures) -> list:
    return [future.result() for future in futures]


def run_flow(body):
    """Run ``body`` as a flow; its return value (the flow must complete)."""
    state = flow(name="mapping")(body)(return_state=True)
    assert state.is_completed(), state.message
    return state.result()


def test_keyword_iterables_are_spread_into_var_keyword_parameters():
    """Prefect 2: ``t.map(x=[1, 2], y=[3, 4])`` on ``def t(**kwargs)`` calls ``t(x=1, y=3)`` and
    ``t(x=2, y=4)``."""
    assert run_flow(lambda: results_of(kwargs_only.map(x=[1, 2], y=[3, 4]))) == [
        {"x": 1, "y": 3},
        {"x": 2, "y": 4},
    ]


def test_named_parameter_and_var_keywords_mapped_unmapped_and_static():
    """Prefect 2, ``def t(a, **kw)``: ``t.map([1, 2], b=[3, 4])`` -> ``(1, {'b': 3}), (2, {'b': 4})``;
    ``b=unmapped([3, 4])`` passes the whole list to each run; ``b=5`` is passed to each run."""

    def body():
        return (
            results_of(first_and_kwargs.map([1, 2], b=[3, 4])),
            results_of(first_and_kwargs.map([1, 2], b=unmapped([3, 4]))),
            results_of(first_and_kwargs.map(a=[1, 2], b=5)),
        )

    mapped, whole, static = run_flow(body)
    assert mapped == [(1, {"b": 3}), (2, {"b": 4})]
    assert whole == [(1, {"b": [3, 4]}), (2, {"b": [3, 4]})]
    assert static == [(1, {"b": 5}), (2, {"b": 5})]


def test_a_state_or_a_future_of_a_list_is_mapped_over_its_result():
    """Prefect 2: ``t.map(Completed(data=[1, 2, 3]))``, ``t.map(other(return_state=True))`` and
    ``t.map(other.submit())`` map over the list the state or future holds."""

    def body():
        return (
            results_of(identity.map(Completed(data=[1, 2, 3]))),
            results_of(identity.map(make_list(return_state=True))),
            results_of(identity.map(make_list.submit())),
        )

    assert run_flow(body) == ([1, 2, 3], [10, 20, 30], [10, 20, 30])


def test_allow_failure_of_a_list_of_futures_gives_each_run_a_value_or_the_exception():
    """Prefect 2: ``t.map(allow_failure([ok, failed]))`` runs once per future; the run for the
    failed upstream runs anyway and receives that upstream's exception as its argument. The same
    for ``[allow_failure(ok), allow_failure(failed)]`` and for a keyword beside another iterable."""

    def body():
        ok = identity.submit(1)
        failed = explode.submit()
        return (
            results_of(identity.map(allow_failure([ok, failed]))),
            results_of(identity.map([allow_failure(ok), allow_failure(failed)])),
            results_of(pair.map(x=allow_failure([ok, failed]), y=[1, 2])),
        )

    whole, each, keyword = run_flow(body)
    for first, second in (whole, each):
        assert first == 1
        assert isinstance(second, ValueError) and str(second) == "upstream failed"
    assert keyword[0] == (1, 1)
    assert isinstance(keyword[1][0], ValueError) and keyword[1][1] == 2


def test_mapping_over_a_failed_state_or_future_raises_before_any_run():
    """Prefect 2: ``t.map(failed(return_state=True))`` or ``t.map(failed.submit())`` raises in the
    flow (Prefect's UpstreamTaskError, "Upstream task run ... did not reach a 'COMPLETED'
    state.") and records no run of ``t``."""
    caught = []

    @flow
    def maps_failures():
        for make in (lambda: explode(return_state=True), explode.submit):
            try:
                identity.map(make())
            except Exception as exc:
                caught.append(exc)
        return "done"

    state = maps_failures(return_state=True)
    assert state.is_completed(), state.message
    assert len(caught) == 2
    assert all("upstream" in str(exc).lower() for exc in caught)
    names = [run.name for run in task_runs(flow_run=state.flow_run_id)]
    assert sorted(names) == ["explode-0", "explode-1"]


def test_dicts_are_mapped_over_their_keys_and_strings_and_bytes_are_static():
    """Prefect 2: a dict is iterated (one run per key); ``str`` and ``bytes`` are passed whole to
    every run (``pair.map('abc', [1, 2, 3])`` -> ``('abc', 1), ('abc', 2), ('abc', 3)``)."""

    def body():
        return (
            results_of(identity.map({"a": 1, "b": 2})),
            results_of(pair.map("abc", [1, 2, 3])),
            results_of(pair.map(b"ab", [1, 2])),
        )

    keys, text, raw = run_flow(body)
    assert keys == ["a", "b"]
    assert text == [("abc", 1), ("abc", 2), ("abc", 3)]
    assert raw == [(b"ab", 1), (b"ab", 2)]


def test_tuples_sets_ranges_generators_are_mapped_and_an_empty_list_makes_no_runs():
    """Prefect 2: any other iterable is mapped (tuple, set, range, generator); ``t.map([])``
    returns ``[]`` and records no run."""

    def body():
        return (
            results_of(identity.map((1, 2))),
            sorted(results_of(identity.map({1, 2}))),
            results_of(identity.map(range(3))),
            results_of(identity.map(x for x in [4, 5])),
            identity.map([]),
        )

    state = flow(name="iterables")(body)(return_state=True)
    assert state.result() == ([1, 2], [1, 2], [0, 1, 2], [4, 5], [])
    assert task_runs(flow_run=state.flow_run_id).count() == 9


def test_sequential_runner_runs_async_tasks_submitted_and_mapped_from_an_async_flow():
    """Prefect 2's SequentialTaskRunner runs each async run submitted (or mapped) from an async
    flow to the end, one after the other, in the flow's event loop. In runs ``submit``, ``map``
    and ``result`` are plain calls in async flows (API.md); Prefect 2 awaits them."""
    order = []

    @task
    async def slow(x):
        order.append(("start", x))
        await asyncio.sleep(0.01)
        order.append(("end", x))
        return 2 * x

    @flow(task_runner=SequentialTaskRunner())
    async def sequential():
        first, second = slow.submit(1), slow.submit(2)
        mapped = slow.map([3, 4])
        return [first.result(), second.result(), *results_of(mapped), await slow(5)]

    state = asyncio.run(sequential(return_state=True))
    assert state.is_completed(), state.message
    assert state.result() == [2, 4, 6, 8, 10]
    assert order == [(edge, x) for x in range(1, 6) for edge in ("start", "end")]
    runs = task_runs(flow_run=state.flow_run_id)
    assert sorted(run.name for run in runs) == [f"slow-{i}" for i in range(5)]
    assert {run.state_type for run in runs} == {"COMPLETED"}


@pytest.mark.parametrize("runner", [SequentialTaskRunner, None])
def test_sync_tasks_mapped_from_an_async_flow(runner):
    """Prefect 2: a sync task submitted or mapped from an async flow gives futures whose result
    is the value, with either runner."""

    @task
    def add_one(x):
        return x + 1

    options = {} if runner is None else {"task_runner": runner()}

    @flow(**options)
    async def mixed():
        return add_one.submit(1).result(), results_of(add_one.map([2, 3]))

    assert asyncio.run(mixed()) == (2, [3, 4])


def test_kwargs_states_and_allow_failure_map_the_same_on_workers(runs_worker):
    """Prefect 2's mapping rules do not depend on the task runner: on Celery workers
    ``**kwargs`` are spread, a future of a list is mapped, and ``allow_failure([ok, failed])``
    gives the failed upstream's exception to its run."""

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_workers():
        ok = identity.submit(1)
        failed = explode.submit()
        return (
            results_of(kwargs_only.map(x=[1, 2], y=[3, 4])),
            results_of(identity.map(make_list.submit())),
            results_of(identity.map(allow_failure([ok, failed]))),
        )

    state = on_workers(return_state=True)
    assert state.is_completed(), state.message
    spread, from_future, allowed = state.result()
    assert spread == [{"x": 1, "y": 3}, {"x": 2, "y": 4}]
    assert from_future == [10, 20, 30]
    assert allowed[0] == 1
    assert isinstance(allowed[1], ValueError) and str(allowed[1]) == "upstream failed"
