"""``task.map``: one task run per element of the iterable arguments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from runs.futures import RunFuture
from runs.inputs import unmapped

if TYPE_CHECKING:
    from runs.tasks import Task

_STATIC = (str, bytes, dict)


def _is_mapped(value: Any) -> bool:
    return (isinstance(value, Iterable) and not isinstance(value, (*_STATIC, unmapped))) or (
        isinstance(value, RunFuture)
    )


def map_task(task: Task, args: tuple, kwargs: dict, wait_for: Any = None) -> list[RunFuture]:
    """Submit one run of ``task`` per element; iterables are zipped and must be the same length."""
    from runs.engine.task_engine import require_flow_context, submit_task

    require_flow_context(task)
    bound = task.signature.bind(*args, **kwargs)
    arguments = dict(bound.arguments)
    mapped: dict[str, list[Any]] = {}
    for name, value in arguments.items():
        if isinstance(value, RunFuture):
            value = value.result()
        if _is_mapped(value):
            mapped[name] = list(value)
    if not mapped:
        raise ValueError(
            f"{task.name}.map() needs at least one iterable argument to map over; got none. "
            "Wrap static iterables in unmapped(...) and pass a list to map over."
        )
    lengths = {name: len(values) for name, values in mapped.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(
            f"{task.name}.map() got iterables of different lengths ({detail}); "
            "mapped arguments must all be the same length."
        )
    count = next(iter(lengths.values()))
    futures = []
    for index in range(count):
        call_args = {
            name: (mapped[name][index] if name in mapped else value)
            for name, value in arguments.items()
        }
        call_args = {k: (v.value if isinstance(v, unmapped) else v) for k, v in call_args.items()}
        futures.append(submit_task(task, (), call_args, wait_for=wait_for, map_index=index))
    return futures
