"""A timed-out task with retries left is retried in every runner (main thread, threads, async)."""

from __future__ import annotations

import asyncio
import time

from runs import flow, task
from runs.models import State as StateRow
from runs.models import TaskRun
from runs.runners import SequentialTaskRunner, ThreadPoolTaskRunner


def _history(task_run_id) -> list[str]:
    return list(
        StateRow.objects.filter(task_run_id=task_run_id)
        .order_by("timestamp", "id")
        .values_list("name", flat=True)
    )


def _slow_first_attempt(attempts: list):
    @task(timeout_seconds=0.1, retries=1, retry_delay_seconds=0)
    def slow_once():
        attempts.append(1)
        if len(attempts) == 1:
            time.sleep(1)
        return "second try"

    return slow_once


def _assert_retried_after_timeout(state, attempts: list) -> None:
    assert state.is_completed(), state
    assert state.result() == "second try" and len(attempts) == 2
    assert _history(state.task_run_id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]
    run = TaskRun.objects.get(id=state.task_run_id)
    assert run.run_count == 2


def test_timed_out_task_submitted_to_threads_is_retried():
    attempts: list = []
    slow_once = _slow_first_attempt(attempts)

    @flow(task_runner=ThreadPoolTaskRunner())
    def f():
        return {"state": slow_once.submit().wait()}

    _assert_retried_after_timeout(f()["state"], attempts)


def test_timed_out_task_in_a_busy_python_loop_in_a_thread_is_retried():
    attempts: list = []

    @task(timeout_seconds=0.1, retries=1, retry_delay_seconds=0)
    def spins_once():
        attempts.append(1)
        if len(attempts) == 1:
            end = time.monotonic() + 1
            while time.monotonic() < end:
                pass
        return "second try"

    @flow
    def f():
        return {"state": spins_once.submit().wait()}

    _assert_retried_after_timeout(f()["state"], attempts)


def test_timed_out_task_called_in_the_main_thread_is_retried():
    attempts: list = []
    slow_once = _slow_first_attempt(attempts)

    @flow(task_runner=SequentialTaskRunner())
    def f():
        return {"state": slow_once(return_state=True)}

    _assert_retried_after_timeout(f()["state"], attempts)


def test_timed_out_sync_task_called_from_an_async_flow_is_retried():
    attempts: list = []
    slow_once = _slow_first_attempt(attempts)

    @flow
    async def f():
        return {"state": slow_once(return_state=True)}

    _assert_retried_after_timeout(asyncio.run(f())["state"], attempts)


def test_timed_out_async_task_is_retried():
    attempts: list = []

    @task(timeout_seconds=0.1, retries=1, retry_delay_seconds=0)
    async def slow_once():
        attempts.append(1)
        if len(attempts) == 1:
            await asyncio.sleep(1)
        return "second try"

    @flow
    async def f():
        return {"state": await slow_once(return_state=True)}

    _assert_retried_after_timeout(asyncio.run(f())["state"], attempts)


def test_task_stuck_past_the_grace_period_is_timed_out_at_once_and_its_rest_never_runs():
    reached = []

    @task(timeout_seconds=0.1)
    def stuck():
        time.sleep(0.8)  # one C call: the interrupt waits for it to return
        reached.append(True)

    @flow
    def f():
        started = time.monotonic()
        state = stuck.submit().wait()
        return state, time.monotonic() - started

    state, waited = f()
    assert state.name == "TimedOut" and waited < 0.6
    assert _history(state.task_run_id) == ["Pending", "Running", "TimedOut"]
    time.sleep(0.9)
    assert not reached


def _slow_flow_once(attempts: list):
    @flow(timeout_seconds=0.1, retries=1, retry_delay_seconds=0)
    def slow_flow_once():
        attempts.append(1)
        if len(attempts) == 1:
            time.sleep(1)
        return "second try"

    return slow_flow_once


def _flow_history(flow_run_id) -> list[str]:
    return list(
        StateRow.objects.filter(flow_run_id=flow_run_id)
        .order_by("timestamp", "id")
        .values_list("name", flat=True)
    )


def test_timed_out_flow_is_retried_in_the_main_thread():
    attempts: list = []
    state = _slow_flow_once(attempts)(return_state=True)
    assert state.result() == "second try" and len(attempts) == 2
    assert _flow_history(state.flow_run_id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]


def test_timed_out_flow_run_in_a_thread_is_retried():
    attempts: list = []
    slow_flow_once = _slow_flow_once(attempts)

    async def main():
        return slow_flow_once(return_state=True)  # a sync flow: run in a thread of its own

    state = asyncio.run(main())
    assert state.result() == "second try" and len(attempts) == 2
    assert _flow_history(state.flow_run_id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]
