"""State hooks: ``on_completion``, ``on_failure`` (tasks and flows), ``on_cancellation`` and
``on_crashed`` (flows), called after a final state is recorded. (Stub: being written.)"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

TASK_HOOKS = ("on_completion", "on_failure")
FLOW_HOOKS = ("on_completion", "on_failure", "on_cancellation", "on_crashed")


def validate_hooks(option: str, hooks: Iterable[Callable[..., Any]] | None) -> list | None:
    """``hooks`` as a list, or a TypeError saying what to pass."""
    return None if hooks is None else list(hooks)


def run_hooks(owner: Any, record: Any, state: Any) -> None:
    """Call ``owner``'s hooks for ``state`` (a Task or a Flow, its run's record)."""
