"""What bench_celery.py runs on the workers: a raw Celery no-op and a `runs` no-op task.

Workers import this module through RUNS_FLOW_MODULES, which registers the raw Celery task.
"""

from __future__ import annotations

import os

from celery import shared_task

from runs import task


@shared_task(name="bench.raw_noop", ignore_result=True)
def raw_noop(counter_file: str) -> None:
    """A no-op that marks itself done: one byte appended to ``counter_file``."""
    fd = os.open(counter_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, b".")
    finally:
        os.close(fd)


@task
def runs_noop(i: int) -> int:
    return i


@task
def runs_sleep(seconds: float) -> float:
    """Sleeps ``seconds``: the work of a run held by a concurrency limit."""
    import time

    time.sleep(seconds)
    return seconds
