"""Upstream links by identity: a value a task run returned, passed to another task, links the two.

As in Prefect 2, a flow run remembers the ``id`` of each result of its task runs (and of the
direct elements of a returned list, tuple, set or dict), whichever way the flow got it: the
call, ``future.result()``, ``state.result()``. Singletons (None, booleans, Ellipsis,
NotImplemented) and the small integers Python shares (-5 to 256) cannot be told apart, so they
are never linked. Each entry holds the value too, so its ``id`` is not reused while it is kept.
"""

from __future__ import annotations

import types
from typing import Any

#: id(value) -> (task run id, value)
ResultLinks = dict[int, tuple[Any, Any]]

_UNTRACKABLE = frozenset({bool, type(None), types.EllipsisType, types.NotImplementedType})
_COLLECTIONS = (list, tuple, set, frozenset)


def trackable(value: Any) -> bool:
    """Whether ``value``'s identity is its own (not a singleton or a shared small integer)."""
    kind = type(value)
    if kind in _UNTRACKABLE:
        return False
    return not (kind is int and -5 <= value <= 256)


def link_result(links: ResultLinks, run_id: Any, result: Any) -> None:
    """Remember that ``result`` and its direct elements came from the task run ``run_id``."""
    if trackable(result):
        links[id(result)] = (run_id, result)
    if isinstance(result, _COLLECTIONS):
        items: Any = result
    elif isinstance(result, dict):
        items = (*result.keys(), *result.values())
    else:
        return
    for item in items:
        if trackable(item):
            links[id(item)] = (run_id, item)


def linked_run(links: ResultLinks, value: Any) -> Any:
    """The task run ``value`` came from, or None."""
    known = links.get(id(value))
    if known is not None and known[1] is value:
        return known[0]
    return None


def link_in_current_flow_run(flow_run_id: Any, run_id: Any, result: Any) -> None:
    """Link ``result`` to ``run_id`` in the flow run being executed here, if it is
    ``flow_run_id`` (a future's result read inside its own flow)."""
    from runs.context import flow_run_context

    ctx = flow_run_context.get()
    if ctx is not None and ctx.flow_run.id == flow_run_id:
        link_result(ctx.results_by_id, run_id, result)
