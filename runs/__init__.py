"""Prefect-style flows and tasks whose runs and states are rows in your Django database.

    from runs import flow, task

The names below are loaded on first use, so ``import runs`` stays cheap and needs no Django.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "flow": "runs.flows",
    "Flow": "runs.flows",
    "task": "runs.tasks",
    "Task": "runs.tasks",
    "tags": "runs.context",
    "unmapped": "runs.inputs",
    "allow_failure": "runs.inputs",
    "get_run_logger": "runs.logging",
    "get_client": "runs.client",
    "State": "runs.states",
    "StateType": "runs.states",
    "RunFuture": "runs.futures",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from runs.client import get_client
    from runs.context import tags
    from runs.flows import Flow, flow
    from runs.futures import RunFuture
    from runs.inputs import allow_failure, unmapped
    from runs.logging import get_run_logger
    from runs.states import State, StateType
    from runs.tasks import Task, task


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
