"""Timeouts: TimedOut state and the rest of the function never runs (direct, thread, async, flow)."""

from __future__ import annotations

import asyncio
import time

from runs import flow, get_run_logger, task
from runs.models import Log, TaskRun


def test_direct_call_times_out_and_next_line_never_runs():
    reached = []

    @task(timeout_seconds=0.2)
    def show_timeouts():
        logger = get_run_logger()
        logger.info("I will execute")
        time.sleep(5)
        reached.append(True)
        logger.info("I will not execute")

    @flow
    def f():
        state = show_timeouts(return_state=True)
        return state.type, state.name, state.task_run_id

    started = time.monotonic()
    state_type, name, task_run_id = f()
    assert time.monotonic() - started < 2
    assert (state_type.value, name) == ("FAILED", "TimedOut")
    run = TaskRun.objects.get(id=task_run_id)
    assert run.state_name == "TimedOut" and run.state_type == "FAILED"
    messages = list(Log.objects.filter(task_run=run).values_list("message", flat=True))
    assert "I will execute" in messages and "I will not execute" not in messages
    assert not reached


def test_submitted_task_times_out_in_thread_at_deadline():
    reached = []

    @task(timeout_seconds=0.2)
    def sleepy():
        time.sleep(0.8)
        reached.append(True)

    @flow
    def f():
        future = sleepy.submit()
        started = time.monotonic()
        state = future.wait()
        return state, time.monotonic() - started

    state, waited = f()
    assert state.name == "TimedOut" and waited < 0.6
    time.sleep(0.9)  # the thread wakes from its sleep; its next line must not run
    assert not reached


def test_async_task_times_out():
    reached = []

    @task(timeout_seconds=0.1)
    async def slow():
        await asyncio.sleep(2)
        reached.append(True)

    @flow
    async def f():
        return (await slow(return_state=True)).name

    assert asyncio.run(f()) == "TimedOut" and not reached


def test_flow_timeout_is_timed_out_failure():
    @flow(timeout_seconds=0.2)
    def slow_flow():
        time.sleep(3)

    state = slow_flow(return_state=True)
    assert state.is_failed() and state.name == "TimedOut"


def test_timed_out_task_is_retried_when_it_has_retries():
    attempts = []

    @task(timeout_seconds=0.1, retries=1, retry_delay_seconds=0)
    def sometimes_slow():
        attempts.append(1)
        if len(attempts) == 1:
            time.sleep(2)
        return "second try"

    @flow
    def f():
        return sometimes_slow()

    assert f() == "second try" and len(attempts) == 2


def test_flow_timeout_does_not_wait_for_submitted_runs():
    @task
    def long_sleeper():
        time.sleep(1.5)

    @flow(timeout_seconds=0.2)
    def impatient():
        long_sleeper.submit()
        time.sleep(5)

    started = time.monotonic()
    state = impatient(return_state=True)
    assert state.name == "TimedOut" and time.monotonic() - started < 1.2


def test_task_runs_still_queued_when_their_flow_run_times_out_never_start():
    from runs.models import FlowRun
    from runs.models import State as StateRow
    from runs.orchestration import writer

    @task
    def step(x):
        time.sleep(0.02)
        return x

    @flow(timeout_seconds=0.3)
    def too_long():
        return [future.result() for future in step.map(range(300))]

    from runs.states import now

    state = too_long(return_state=True)
    returned = now()
    assert state.name == "TimedOut"
    flow_run = FlowRun.objects.get(id=state.flow_run_id)
    deadline = time.monotonic() + 20
    runs = TaskRun.objects.filter(flow_run=flow_run)
    while runs.exclude(state_type__in=["COMPLETED", "CANCELLED"]).exists() or runs.count() < 300:
        assert time.monotonic() < deadline
        writer.flush()
        time.sleep(0.05)
    cancelled = runs.filter(state_type="CANCELLED")
    assert cancelled.exists()
    assert "Its flow run had ended (TimedOut)" in cancelled.first().state_message
    started = StateRow.objects.filter(task_run__flow_run=flow_run, type="RUNNING")
    assert started.count() == runs.filter(state_type="COMPLETED").count()
    # Once the flow has returned TimedOut, nothing it left queued starts.
    assert max(started.values_list("timestamp", flat=True)) <= returned
