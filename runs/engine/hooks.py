"""State hooks: ``on_completion``, ``on_failure`` (tasks and flows), ``on_cancellation`` and
``on_crashed`` (flows), called after a final state is recorded.

As in Prefect 2, each hook is called with keywords, ``task=, task_run=, state=`` (``flow=,
flow_run=, state=`` for a flow), in the process that drives the run (a Celery worker for a
CeleryTaskRunner task run). A hook that raises is logged on the run's logger, with its
traceback, and changes nothing: the state stands and the caller sees no error. A task's
completion hooks are not called for a Cached state (Prefect's default).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from runs.engine.threads import in_event_loop, run_in_thread
from runs.states import State, StateType

TASK_HOOKS = ("on_completion", "on_failure")
FLOW_HOOKS = ("on_completion", "on_failure", "on_cancellation", "on_crashed")

# Module-level names: an enum member's lookup on its class costs more than a global's.
_COMPLETED, _FAILED, _CANCELLED, _CRASHED = (
    StateType.COMPLETED,
    StateType.FAILED,
    StateType.CANCELLED,
    StateType.CRASHED,
)


def _how_to_pass(option: str) -> str:
    return f"Please provide a list of hooks to {option!r}: {option}=[hook1, hook2]."


def validate_hooks(option: str, hooks: Iterable[Callable[..., Any]] | None) -> list | None:
    """``hooks`` as a list, or a TypeError saying what to pass (ValueError for an empty list,
    as Prefect 2 refuses one)."""
    if hooks is None:
        return None
    if callable(hooks) or isinstance(hooks, str | bytes):
        # A lone hook (even one that happens to be iterable) is the usual mistake.
        raise TypeError(
            f"Expected iterable for {option!r}; got {type(hooks).__name__} instead. "
            f"{_how_to_pass(option)}"
        )
    try:
        hooks = list(hooks)
    except TypeError:
        raise TypeError(
            f"Expected iterable for {option!r}; got {type(hooks).__name__} instead. "
            f"{_how_to_pass(option)}"
        ) from None
    if not hooks:
        raise ValueError(f"Empty list passed for {option!r}: pass None for no hooks.")
    for hook in hooks:
        if not callable(hook):
            raise TypeError(
                f"Expected callables in {option!r}; got {type(hook).__name__} instead. "
                f"{_how_to_pass(option)}"
            )
    return hooks


def hook_name(hook: Callable[..., Any]) -> str:
    """The name a hook is logged under: its ``__name__``, a partial's function's, or its class's."""
    name = getattr(hook, "__name__", None)
    if name is not None:
        return name
    if isinstance(hook, functools.partial):
        return hook_name(hook.func)
    return type(hook).__name__


def run_hooks(owner: Any, record: Any, state: State) -> None:
    """Call ``owner``'s hooks for ``state`` (a Task or a Flow, its run's record).

    Returns at once when there is none: this is on every run's path.
    """
    # Identity tests, not a dict keyed by StateType: an enum member's hash is Python code.
    kind = state.type
    if kind is _COMPLETED:
        hooks = owner.on_completion
        if hooks and state.name == "Cached":
            return
    elif kind is _FAILED:
        hooks = owner.on_failure
    elif kind is _CANCELLED:
        hooks = getattr(owner, "on_cancellation", None)  # a Task has none
    elif kind is _CRASHED:
        hooks = getattr(owner, "on_crashed", None)
    else:
        return
    if not hooks:
        return
    if in_event_loop():
        # An async run's last step: neither a blocking hook nor the ORM may run on the loop.
        run_in_thread(lambda: _call_hooks(owner, record, state, hooks))
    else:
        _call_hooks(owner, record, state, hooks)


def _call_hooks(owner: Any, record: Any, state: State, hooks: list) -> None:
    from runs.logging import flow_run_logger, task_run_logger
    from runs.orchestration.records import TaskRunRecord

    if isinstance(record, TaskRunRecord):
        logger = task_run_logger(record)
        arguments = {"task": owner, "task_run": record, "state": state}
    else:
        logger = flow_run_logger(record)
        arguments = {"flow": owner, "flow_run": record, "state": state}
    for hook in hooks:
        name = hook_name(hook)
        logger.info("Running hook %r in response to entering state %r", name, state.name)
        try:
            returned = hook(**arguments)
            if inspect.isawaitable(returned):
                asyncio.run(_awaited(returned))
        except Exception as exc:
            logger.error(
                "An error was encountered while running hook %r\n%s",
                name,
                "".join(traceback.format_exception(exc)).rstrip(),
            )
        else:
            logger.info("Hook %r finished running successfully", name)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
