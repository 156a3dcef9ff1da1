"""``task.map``: one task run per element of the iterable arguments, as Prefect 2 maps.

The arguments are bound to the function; a future or State given as an argument becomes its
result first (the list to map over), and every mapped run records it (or the task run an
argument's value came from) as an upstream. Each
argument that is iterable (not ``str``, ``bytes`` or a file; a dict maps over its keys) is
mapped over, and all of them must be the same length; ``unmapped(...)`` passes a value to
every run whole; ``allow_failure(...)`` around an iterable wraps each of its elements; the
entries of ``**kwargs`` are arguments like the others.
"""

from __future__ import annotations

import inspect
import io
from typing import TYPE_CHECKING, Any

from runs.exceptions import MappingLengthMismatch, MappingMissingIterable
from runs.futures import RunFuture, RunFutureList
from runs.inputs import allow_failure, unmapped
from runs.states import State

if TYPE_CHECKING:
    from runs.tasks import Task


def is_mappable(value: Any) -> bool:
    """Whether ``.map()`` maps over ``value`` (Prefect's ``isiterable``)."""
    if isinstance(value, str | bytes | io.IOBase):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _variadic_keyword(signature: inspect.Signature) -> str | None:
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return parameter.name
    return None


def _top_level_result(value: Any) -> Any:
    """A future or State argument as its result (the upstream must have completed)."""
    from runs.engine.inputs import resolve

    if isinstance(value, RunFuture | State):
        return resolve(value)
    return value


def map_task(
    task: Task, args: tuple, kwargs: dict, wait_for: Any = None, return_state: bool = False
) -> list[Any]:
    """Submit one run of ``task`` per element; returns their futures (their final states with
    ``return_state=True``). MappingMissingIterable without an iterable argument,
    MappingLengthMismatch for iterables of different lengths (both ValueErrors)."""
    from runs.engine.inputs import MAX_DEPTH, collect_upstream
    from runs.engine.task_engine import require_flow_context, submit_task

    flow_ctx = require_flow_context(task)
    arguments = dict(task.signature.bind(*args, **kwargs).arguments)
    upstream: list = []
    for name, value in arguments.items():  # the arguments themselves, not their elements
        collect_upstream(value, flow_ctx, name, upstream, depth=MAX_DEPTH)
    arguments = {name: _top_level_result(value) for name, value in arguments.items()}
    spread = _variadic_keyword(task.signature)
    if spread is not None and spread in arguments:
        arguments.update(arguments.pop(spread))

    mapped: dict[str, list[Any]] = {}
    static: dict[str, Any] = {}
    failure_allowed: set[str] = set()
    for name, value in arguments.items():
        if isinstance(value, allow_failure):
            failure_allowed.add(name)
            value = value.value
        if isinstance(value, unmapped):
            static[name] = value.value
        elif is_mappable(value):
            mapped[name] = list(value)
        else:
            static[name] = value
    if not mapped:
        raise MappingMissingIterable(
            f"{task.name}.map() got no iterable argument to map over (arguments: "
            f"{', '.join(arguments) or 'none'}). Pass a list to map over, and wrap values that "
            "every run takes whole in unmapped(...)."
        )
    lengths = {name: len(values) for name, values in mapped.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise MappingLengthMismatch(
            f"{task.name}.map() got iterables of different lengths ({detail}); the mapped "
            "arguments must all be the same length (wrap a value every run takes whole in "
            "unmapped(...))."
        )

    parameters = task.signature.parameters.values()
    named = [p.name for p in parameters if p.kind is not p.VAR_KEYWORD]
    # Positional-only and *args parameters cannot be passed by name.
    by_position = spread is not None or any(
        p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL) for p in parameters
    )
    futures = []
    for index in range(next(iter(lengths.values()))):
        call = {**static, **{name: values[index] for name, values in mapped.items()}}
        for name in failure_allowed:
            call[name] = allow_failure(call[name])
        if spread is not None:
            extra = {name: call.pop(name) for name in list(call) if name not in named}
            call[spread] = extra
        positional, keywords = _call_arguments(task.signature, call) if by_position else ((), call)
        futures.append(
            submit_task(
                task,
                positional,
                keywords,
                wait_for=wait_for,
                map_index=index,
                upstream=upstream,
            )
        )
    if return_state:
        return RunFutureList(future.wait() for future in futures)
    return RunFutureList(futures)


def _call_arguments(signature: inspect.Signature, call: dict[str, Any]) -> tuple[tuple, dict]:
    bound = inspect.BoundArguments(signature, call)  # type: ignore[arg-type]
    return bound.args, bound.kwargs
