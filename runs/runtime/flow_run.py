"""The current flow run: ``id``, ``name``, ``flow_name``, ``parameters``, ``tags``, ``run_count``."""

from __future__ import annotations

from typing import Any

from runs.context import flow_run_context

__all__ = ["id", "name", "flow_name", "parameters", "tags", "run_count"]


def _get(attribute: str) -> Any:
    ctx = flow_run_context.get()
    record = ctx.flow_run if ctx is not None else None
    if attribute == "id":
        return str(record.id) if record else None
    if attribute == "name":
        return record.name if record else None
    if attribute == "flow_name":
        return ctx.flow.name if ctx else None
    if attribute == "parameters":
        return dict(record.parameters) if record else {}
    if attribute == "tags":
        return list(record.tags) if record else []
    if attribute == "run_count":
        return record.run_count if record else 0
    raise AttributeError(f"runs.runtime.flow_run has no attribute {attribute!r}")


def __getattr__(name: str) -> Any:
    return _get(name)
