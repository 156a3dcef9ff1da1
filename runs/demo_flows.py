"""Demo flows that `runs up` registers: retries, a timeout, caching, a map, a concurrency limit."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Annotated

from annotated_types import Interval

from runs import flow, get_run_logger, task
from runs.tasks import task_input_hash


@task(retries=3, retry_delay_seconds=0.5)
def flaky_step(failure_rate: float) -> str:
    """Fails at random; retried up to 3 times."""
    if random.random() < failure_rate:
        raise RuntimeError("The flaky service did not answer")
    return "ok"


@flow(name="demo-retries")
def demo_retries(failure_rate: Annotated[float, Interval(ge=0, le=1)] = 0.6) -> str:
    """A task that fails at random and is retried (watch AwaitingRetry and Retrying)."""
    return flaky_step(failure_rate)


@task(timeout_seconds=1)
def slow_step(seconds: float) -> None:
    """Sleeps longer than its timeout: ends TimedOut."""
    get_run_logger().info("I will execute")
    time.sleep(seconds)
    get_run_logger().info("I will not execute")


@flow(name="demo-timeout")
def demo_timeout(seconds: Annotated[float, Interval(ge=0, le=60)] = 3.0) -> str:
    """A task over its 1-second timeout ends TimedOut; the flow goes on."""
    state = slow_step(seconds, return_state=True)
    return state.name


@task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))
def expensive_square(x: int) -> int:
    """Cached for an hour per input: the second run of the flow shows Cached."""
    time.sleep(0.5)
    return x * x


@flow(name="demo-caching")
def demo_caching(x: int = 7) -> int:
    """Run it twice with the same x: the second time the task is Cached."""
    return expensive_square(x)


@task
def double(x: int) -> int:
    return 2 * x


@flow(name="demo-map")
def demo_map(count: Annotated[int, Interval(ge=0, le=10_000)] = 20) -> int:
    """One task run per element with .map()."""
    return sum(future.result() for future in double.map(range(count)))


@task(tags=["demo-limited"])
def limited_step(i: int) -> int:
    """Carries the tag demo-limited: at most as many run at once as its limit allows."""
    time.sleep(0.5)
    return i


@flow(name="demo-concurrency-limit")
def demo_concurrency_limit(count: Annotated[int, Interval(ge=0, le=100)] = 6) -> list:
    """Create a limit on tag demo-limited (e.g. 2) and watch runs wait for slots."""
    return [future.result() for future in limited_step.map(range(count))]
