"""Flows the dashboard tests run in-process: a timeout, a retry, a map, a cache, logs, upstreams."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from runs import flow, get_run_logger, task
from runs.runtime import task_run
from runs.tasks import task_input_hash

#: Set by a test to let the retried task's second attempt finish (it waits while Retrying).
release_retry = threading.Event()
release_retry.set()


@task(timeout_seconds=0.1)
def too_slow() -> None:
    get_run_logger().info("starting the slow step")
    time.sleep(3)


@task(retries=1, retry_delay_seconds=0)
def fails_once(hold: bool) -> str:
    if task_run.run_count == 1:
        get_run_logger().warning("first attempt fails on purpose")
        raise RuntimeError("first attempt fails")
    if hold:
        release_retry.wait(30)
    return "second attempt ok"


@task
def square(x: int) -> int:
    return x * x


@task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))
def cached_total(values: list[int], salt: str) -> int:
    return sum(values)


@flow(name="dashboard-sample")
def dashboard_sample(count: int = 5, salt: str = "s", hold: bool = False) -> int:
    """A timing-out task, a retried one, a map, a cached task fed by the map."""
    get_run_logger().info("sample flow starts")
    slow = too_slow.submit()
    flaky = fails_once.submit(hold)
    squares = square.map(range(count))
    total = cached_total([f.result() for f in squares], salt, wait_for=[flaky])
    slow.wait()
    get_run_logger().error("sample flow logs an error line")
    return total


@flow(name="dashboard-quick")
def dashboard_quick(n: int, label: str = "x", ratio: float = 0.5, loud: bool = False) -> int:
    """Typed parameters for the Run form."""
    return square(n)


#: Set by a test to let held_flow's task finish; cleared, the flow run stays RUNNING.
release_held = threading.Event()
release_held.set()


@task
def waits_for_release() -> None:
    release_held.wait(10)


@flow(name="rerun-held")
def held_flow() -> None:
    """A flow run that stays RUNNING until the test sets ``release_held``."""
    waits_for_release()


@contextmanager
def held_run(timeout: float = 10.0):
    """Run held_flow in a thread; yield its flow run once it is recorded RUNNING, and let it
    finish on exit."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer

    release_held.clear()
    thread = threading.Thread(target=held_flow, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        run = None
        while run is None and time.monotonic() < deadline:
            writer.flush()  # the RUNNING state may still wait in the write-behind
            run = FlowRun.objects.filter(flow__name="rerun-held", state_type="RUNNING").first()
            time.sleep(0.05)
        assert run is not None, "held_flow was not recorded RUNNING in time"
        yield run
    finally:
        release_held.set()
        thread.join(timeout)
