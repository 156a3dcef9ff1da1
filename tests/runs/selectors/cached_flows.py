"""A flow with a cached task, for the cache selectors' tests."""

from __future__ import annotations

from datetime import timedelta

from runs import flow, task
from runs.tasks import task_input_hash


@task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))
def cached_double(x: int, salt: str) -> int:
    return 2 * x


@flow(name="selectors-cached")
def cached(x: int, salt: str) -> int:
    """One cached task run."""
    return cached_double(x, salt)


def run_cached_flow(salt: str):
    """Run :func:`cached` and write its rows; its one TaskRun."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer

    state = cached(1, salt, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id).task_runs.get()
