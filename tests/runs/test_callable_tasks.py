"""Any callable is a task (issue 13, item 4): callable objects, ``functools.partial`` and mocks.

Prefect 2.20 names such a task after the callable's ``__name__`` when it has one, else after
its class, and runs it like any task. Observed in Prefect 2.20.25: /work/parity/f/RESULTS.md.
"""

from __future__ import annotations

import functools
from unittest.mock import MagicMock, Mock

from runs import flow, task
from runs.runners.celery import CeleryTaskRunner
from runs.selectors import task_runs
from runs.tasks import Task, task_input_hash


class Adder:
    def __call__(self, x):
        return x + 100


def add(a, b):
    return a + b


#: Module level, so that a worker can load them.
ADDER_TASK = Task(fn=Adder())
PARTIAL_TASK = task(functools.partial(add, 1))


def recorded_names(state) -> list[str]:
    """Names of the task runs a flow run recorded, first created first."""
    return [run.name for run in reversed(task_runs(flow_run=state.flow_run_id))]


def test_callable_object_is_named_after_its_class_and_runs():
    """Prefect 2: ``Task(fn=obj)`` and ``task(obj)`` for an object with ``__call__`` are named
    after the class (``Adder``); calls and submits run it. The run counter is keyed by the
    class (its task_key is ``module.Adder``), so runs of two instances are ``Adder-0``,
    ``Adder-1``."""
    by_class = Task(fn=Adder())
    by_decorator = task(Adder())
    assert by_class.name == "Adder" and by_decorator.name == "Adder"

    @flow
    def uses_adder():
        return by_class(1), by_decorator.submit(2).result()

    state = uses_adder(return_state=True)
    assert state.is_completed() and state.result() == (101, 102)
    assert recorded_names(state) == ["Adder-0", "Adder-1"]


def test_partial_is_named_partial_and_can_be_called_and_mapped():
    """Prefect 2: ``task(functools.partial(add, 1))`` is named ``partial`` (a partial has no
    ``__name__``); a call gives ``add(1, 5)`` and ``.map([1, 2])`` gives ``[2, 3]``."""
    plus_one = task(functools.partial(add, 1))
    assert plus_one.name == "partial"

    @flow
    def uses_partial():
        return plus_one(5), [future.result() for future in plus_one.map([1, 2])]

    state = uses_partial(return_state=True)
    assert state.result() == (6, [2, 3])
    assert sorted(recorded_names(state)) == ["partial-0", "partial-1", "partial-2"]


def test_mocks_are_named_after_their_class_and_called_with_the_arguments():
    """Prefect 2: ``task(Mock())`` is named ``Mock`` and ``Task(fn=MagicMock())`` ``MagicMock``;
    the run calls the mock with the task's arguments and returns its ``return_value``."""
    mock = Mock(return_value=7)
    magic = MagicMock(return_value=8)
    mock_task = task(mock)
    magic_task = Task(fn=magic)
    assert (mock_task.name, magic_task.name) == ("Mock", "MagicMock")

    @flow
    def uses_mocks():
        return mock_task(3), magic_task(4)

    state = uses_mocks(return_state=True)
    assert state.result() == (7, 8)
    mock.assert_called_once_with(3)
    magic.assert_called_once_with(4)
    assert recorded_names(state) == ["Mock-0", "MagicMock-0"]


def test_a_callable_with_a_name_uses_it_and_the_name_option_wins():
    """Prefect 2: a callable that has ``__name__`` (a mock given one, a bound method) is named by
    it (``my_mock``, ``method``); ``name=`` beats both the ``__name__`` and the class name."""

    class Tripler:
        def method(self, x):
            return 3 * x

    named_mock = Mock(return_value=1)
    named_mock.__name__ = "my_mock"
    mock_task = task(named_mock)
    method_task = task(Tripler().method)
    renamed = task(Adder(), name="adder")
    assert (mock_task.name, method_task.name, renamed.name) == ("my_mock", "method", "adder")

    @flow
    def uses_named():
        return mock_task(), method_task(2), renamed(0)

    state = uses_named(return_state=True)
    assert state.result() == (1, 6, 100)
    assert recorded_names(state) == ["my_mock-0", "method-0", "adder-0"]


def test_task_input_hash_caches_runs_of_callable_objects_and_partials():
    """``cache_key_fn=task_input_hash`` on a callable object or a partial: the second call with
    the same input is ``Cached`` and the callable is not called again.

    Prefect 2.20.25 differs here: its task_input_hash reads ``fn.__code__``, so each such run
    ends CRASHED (``AttributeError: ... has no attribute '__code__'``). runs hashes the code of
    the callable's function instead (listed under "Where runs differs")."""
    counting = Mock(side_effect=lambda x: x * 2)
    cached_mock = task(counting, cache_key_fn=task_input_hash)
    cached_adder = task(Adder(), cache_key_fn=task_input_hash)
    cached_partial = task(functools.partial(add, 1), cache_key_fn=task_input_hash)

    @flow
    def caches():
        return [
            [t(1, return_state=True).name for _ in range(2)]
            for t in (cached_mock, cached_adder, cached_partial)
        ]

    state = caches(return_state=True)
    assert state.result() == [["Completed", "Cached"]] * 3
    assert counting.call_count == 1


def test_callable_objects_and_partials_run_on_workers(runs_worker):
    """Prefect 2 runs any callable task wherever the task runner sends it: on a Celery worker a
    callable object and a partial give the same results and names as in the process."""

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_workers():
        return ADDER_TASK.submit(1).result(), [f.result() for f in PARTIAL_TASK.map([1, 2])]

    state = on_workers(return_state=True)
    assert state.is_completed(), state.message
    assert state.result() == (101, [2, 3])
    assert sorted(recorded_names(state)) == ["Adder-0", "partial-0", "partial-1"]
