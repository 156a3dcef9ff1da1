"""Task runners by the names Prefect users know: ``from runs.task_runners import ConcurrentTaskRunner``."""

from __future__ import annotations

from runs.runners import (
    ConcurrentTaskRunner,
    SequentialTaskRunner,
    TaskRunner,
    ThreadPoolTaskRunner,
)

__all__ = [
    "TaskRunner",
    "ThreadPoolTaskRunner",
    "ConcurrentTaskRunner",
    "SequentialTaskRunner",
    "CeleryTaskRunner",
]


def __getattr__(name: str):
    if name == "CeleryTaskRunner":
        from runs.runners.celery import CeleryTaskRunner

        return CeleryTaskRunner
    raise AttributeError(name)
