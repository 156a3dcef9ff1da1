"""Retries: same task run, run_count, history, delays (number, list, callable), jitter, conditions."""

from __future__ import annotations

import random
import statistics
import time

import pytest

from runs import flow, task
from runs.models import FlowRun, TaskRun
from runs.models import State as StateRow
from runs.retries import delay_for_attempt, jittered
from runs.tasks import exponential_backoff


def history(run):
    return list(StateRow.objects.filter(task_run=run).values_list("name", flat=True))


def test_retry_keeps_one_task_run_and_records_the_history():
    attempts = []

    @task(retries=2, retry_delay_seconds=0)
    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("try again")
        return "done"

    @flow
    def retrying():
        return flaky()

    state = retrying(return_state=True)
    assert state.result() == "done"
    (run,) = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert run.run_count == 3 and run.state_name == "Completed"
    assert history(run) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]
    scheduled = StateRow.objects.filter(task_run=run, name="AwaitingRetry").first()
    assert scheduled.type == "SCHEDULED" and scheduled.scheduled_time is not None


def test_retries_exhausted_end_failed_and_raise():
    @task(retries=1, retry_delay_seconds=0)
    def always_bad():
        raise ValueError("never")

    @flow
    def failing():
        always_bad()

    with pytest.raises(ValueError):
        failing()
    run = TaskRun.objects.filter(task_name="always_bad").latest("created")
    assert run.run_count == 2 and run.state_name == "Failed"


def test_list_of_delays_is_waited_between_attempts():
    times = []

    @task(retries=3, retry_delay_seconds=[0.05, 0.15, 0.3])
    def slow_retry():
        times.append(time.monotonic())
        raise RuntimeError("x")

    @flow
    def waiting():
        slow_retry(return_state=True)

    waiting(return_state=True)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 3
    for gap, expected in zip(gaps, [0.05, 0.15, 0.3], strict=True):
        assert expected <= gap < expected + 0.15


def test_delay_helpers():
    assert exponential_backoff(backoff_factor=10)(3) == [10, 20, 40]
    backoff = exponential_backoff(10)
    assert [delay_for_attempt(backoff, 3, n) for n in (1, 2, 3)] == [10, 20, 40]
    assert [delay_for_attempt([1, 10], 4, n) for n in (1, 2, 3, 4)] == [1, 10, 10, 10]
    assert delay_for_attempt(5, 2, 2) == 5


@pytest.mark.parametrize("factor", [0.5, 1.0, 3.0])
def test_jitter_stays_under_bound_and_keeps_mean(factor):
    rng = random.Random(42)
    samples = [jittered(10.0, factor, rng) for _ in range(20000)]
    assert max(samples) <= 10 * (1 + factor) + 1e-9 and min(samples) >= 0
    assert statistics.mean(samples) == pytest.approx(10.0, rel=0.03)


def test_retry_condition_fn_decides_per_failure():
    calls = []

    def only_on_io(task, task_run, state):
        return "IOError" in state.message or "OSError" in state.message

    @task(retries=3, retry_delay_seconds=0, retry_condition_fn=only_on_io)
    def picky():
        calls.append(1)
        raise ValueError("not worth retrying")

    @flow
    def f():
        return picky(return_state=True).is_failed()

    assert f() is True and len(calls) == 1


def test_flow_retries():
    attempts = []

    @flow(retries=2, retry_delay_seconds=0.01)
    def shaky_flow():
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("first time fails")
        return "ok"

    state = shaky_flow(return_state=True)
    assert state.result() == "ok"
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.run_count == 2
    names = list(StateRow.objects.filter(flow_run=run).values_list("name", flat=True))
    assert names == ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]


def test_invalid_retry_options_are_clear_errors():
    with pytest.raises(ValueError, match="retries"):
        task(retries=-1)(lambda: None)
    with pytest.raises(TypeError, match="retry_delay_seconds"):
        task(retries=1, retry_delay_seconds="abc")(lambda: None)
