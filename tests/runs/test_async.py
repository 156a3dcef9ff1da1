"""Async tasks and flows: awaited, gathered concurrently, submitted, and sync tasks inside them."""

from __future__ import annotations

import asyncio
import time

from runs import flow, task
from runs.models import TaskRun


def test_docs_async_example_runs_gathered_tasks_concurrently(capsys):
    @task
    async def print_values(values):
        for value in values:
            await asyncio.sleep(0.05)
            print(value, end=" ")

    @flow
    async def async_flow():
        await print_values([1, 2])
        coros = [print_values("abcd"), print_values("6789")]
        started = time.monotonic()
        await asyncio.gather(*coros)
        return time.monotonic() - started

    state = asyncio.run(async_flow(return_state=True))
    assert state.result() < 0.35  # 4 sleeps of 0.05 each side by side, not 8 in a row
    out = capsys.readouterr().out
    assert out.startswith("1 2 ") and sorted(out.split()[2:]) == sorted("abcd6789")
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert runs.count() == 3 and set(runs.values_list("state_name", flat=True)) == {"Completed"}


def test_async_submit_and_map_and_sync_task_in_async_flow():
    @task
    async def double(x):
        await asyncio.sleep(0.01)
        return 2 * x

    @task
    def inc(x):
        return x + 1

    @flow
    async def f():
        future = double.submit(5)
        mapped = double.map([1, 2, 3])
        return future.result(), [m.result() for m in mapped], inc(1)

    assert asyncio.run(f()) == (10, [2, 4, 6], 2)


def test_async_task_failure_and_retry():
    attempts = []

    @task(retries=1, retry_delay_seconds=0)
    async def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first")
        return "ok"

    @flow
    async def f():
        return await flaky()

    assert asyncio.run(f()) == "ok"
    run = TaskRun.objects.filter(task_name="flaky").latest("created")
    assert run.run_count == 2


def test_async_task_called_from_sync_flow_returns_result():
    @task
    async def value():
        return 7

    @flow
    def f():
        return value()

    assert f() == 7
