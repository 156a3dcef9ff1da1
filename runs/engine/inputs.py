"""Resolving task inputs: futures and states become their results, and upstream runs are noted."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from runs.exceptions import UpstreamTaskError
from runs.inputs import allow_failure, unmapped
from runs.states import State

if TYPE_CHECKING:
    from runs.context import FlowRunContext

_PRIMITIVES = (type(None), bool, int, float, str, bytes)
_PRIMITIVE_TYPES = frozenset(_PRIMITIVES)
#: How deep and how wide inside collections upstream links are looked for.
MAX_DEPTH = 8
MAX_ITEMS = 10_000


class UpstreamNotCompleted(UpstreamTaskError):
    """An upstream the task needs did not complete; the task must not run."""

    def __init__(self, upstream_name: str, upstream_id: Any, state: State) -> None:
        self.upstream_id = upstream_id
        self.state = state
        super().__init__(
            f"Upstream task run {upstream_name!r} ({upstream_id}) ended {state.name}"
            f"{': ' + state.message if state.message else ''}. This task run did not start; "
            "wrap the upstream in allow_failure(...) to run regardless."
        )


_future_type: Any = None


def _is_future(value: Any) -> bool:
    global _future_type
    if _future_type is None:
        from runs.futures import RunFuture

        _future_type = RunFuture
    return isinstance(value, _future_type)


def collect_upstream(
    value: Any,
    flow_ctx: FlowRunContext,
    parameter: str,
    found: list[tuple[uuid.UUID, str]],
    depth: int = 0,
) -> None:
    """Note the task runs that ``value`` came from: a future, a State, or a result of a task
    run of ``flow_ctx``'s flow run (by identity, see runs.links), anywhere inside lists,
    tuples, sets and dicts (keys and values)."""
    if depth > MAX_DEPTH:
        return
    if type(value) in _PRIMITIVE_TYPES:  # most arguments: only a result's identity can link
        if flow_ctx.has_links():
            run_id = flow_ctx.linked_run(value)
            if run_id is not None:
                found.append((run_id, parameter))
        return
    if isinstance(value, unmapped | allow_failure):
        collect_upstream(value.value, flow_ctx, parameter, found, depth + 1)
        return
    if _is_future(value):
        found.append((value.task_run_id, parameter))
        return
    if isinstance(value, State):
        run_id = getattr(value, "task_run_id", None)
        if run_id is not None:
            found.append((run_id, parameter))
        return
    if flow_ctx.has_links():
        run_id = flow_ctx.linked_run(value)
        if run_id is not None:
            found.append((run_id, parameter))
    if isinstance(value, list | tuple | set | frozenset):
        for item in list(value)[:MAX_ITEMS]:
            collect_upstream(item, flow_ctx, parameter, found, depth + 1)
    elif isinstance(value, dict):
        for item in list(value.items())[:MAX_ITEMS]:
            collect_upstream(item, flow_ctx, parameter, found, depth + 1)


def needs_resolution(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds a future, a State or a wrapper somewhere (cheap for plain values)."""
    if isinstance(value, _PRIMITIVES) or depth > 3:
        return False
    if _is_future(value) or isinstance(value, State | unmapped | allow_failure):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return any(needs_resolution(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(needs_resolution(v, depth + 1) for v in value.values())
    return False


def resolve(value: Any, allowed: bool = False, depth: int = 0) -> Any:
    """``value`` with futures and states replaced by their results (waiting for futures).

    Lists, tuples, sets and dicts are rebuilt, as Prefect 2 does: a task gets copies of them
    (a task that changes its list leaves the flow's alone, and returns a new object).
    Raises UpstreamNotCompleted for an upstream that did not complete, unless it is wrapped in
    ``allow_failure`` (then its exception is passed on as the value).
    """
    if isinstance(value, _PRIMITIVES) or depth > MAX_DEPTH:
        return value
    if isinstance(value, allow_failure):
        return resolve(value.value, True, depth + 1)
    if isinstance(value, unmapped):
        return resolve(value.value, allowed, depth + 1)
    if _is_future(value):
        state = value.wait()
        return _state_value(state, value.name, value.task_run_id, allowed)
    if isinstance(value, State):
        return _state_value(value, value.run_name or value.name, value.task_run_id, allowed)
    kind = type(value)
    if kind in _REBUILT or (isinstance(value, _COLLECTIONS) and needs_resolution(value)):
        return _rebuild(value, allowed, depth + 1)
    return value


_REBUILT = frozenset({list, tuple, set, frozenset, dict})
_COLLECTIONS = (list, tuple, set, frozenset, dict)


def _rebuild(value: Any, allowed: bool, depth: int) -> Any:
    if isinstance(value, dict):
        items = {k: resolve(v, allowed, depth) for k, v in value.items()}
        return items if type(value) is dict else type(value)(items)
    items = [resolve(v, allowed, depth) for v in value]
    if isinstance(value, list):
        return items if type(value) is list else type(value)(items)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*items)
    return type(value)(items)


def _state_value(state: State, name: str, run_id: Any, allowed: bool) -> Any:
    if state.is_completed():
        return state.result()
    if allowed:
        return state.result(raise_on_failure=False) if state.is_final() else None
    raise UpstreamNotCompleted(name, run_id, state)
