"""Tasks and flows that tests send to real ``runs worker`` processes (importable by workers)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from runs import flow, get_run_logger, task
from runs.tasks import task_input_hash


@task
def double(x: int) -> int:
    return 2 * x


@task
def text_of(char: str, n: int) -> str:
    return char * n


@task
def pid_of_worker() -> int:
    return os.getpid()


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def explode(x: int) -> int:
    raise ValueError(f"cannot take {x}")


@task(retries=2, retry_delay_seconds=0)
def fails_until_third_attempt(counter_file: str) -> int:
    """Counts attempts in a file (attempts happen in other processes) and fails twice."""
    path = Path(counter_file)
    attempts = int(path.read_text() or 0) + 1 if path.exists() else 1
    path.write_text(str(attempts))
    if attempts < 3:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@task(timeout_seconds=0.3)
def sleeps_past_timeout(marker_file: str) -> None:
    get_run_logger().info("started")
    time.sleep(5)
    Path(marker_file).write_text("the line after the sleep ran")


@task(cache_key_fn=task_input_hash)
def cached_square(x: int, counter_file: str) -> int:
    with open(counter_file, "a") as out:
        out.write("ran\n")
    return x * x


@task
def sleep_then_return(seconds: float, started_file: str) -> str:
    Path(started_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


@flow(name="celery-add")
def add_flow(x: int, y: int = 1) -> int:
    """A registered flow started by id in the tests."""
    return add(x, y)


@task
def record_interval(folder: str, index: int, seconds: float) -> int:
    """Sleeps, and writes its own start and end times (for overlap checks across processes)."""
    started = time.time()
    time.sleep(seconds)
    Path(folder, f"{index}.interval").write_text(f"{started} {time.time()}")
    return index


@task
async def async_double(x: int) -> int:
    import asyncio

    await asyncio.sleep(0.01)
    return 2 * x


@task
def mark_and_sleep(folder: str, name: str, seconds: float) -> str:
    Path(folder, name).write_text("started")
    time.sleep(seconds)
    return name


@flow(name="celery-cancellable")
def cancellable(folder: str, seconds: float = 1.0) -> str:
    """A first step that takes a while, then a second one (which a cancellation must stop)."""
    mark_and_sleep(folder, "first", seconds)
    return mark_and_sleep(folder, "second", 0)


@task(retries=1)
def dies_on_first_attempt(folder: str) -> str:
    """First attempt: writes its process id to ``folder``/pid and sleeps (the test kills that
    process); the retry finds the file and returns."""
    import os
    from pathlib import Path

    marker = Path(folder) / "pid"
    if marker.exists():
        return f"retried in {os.getpid()}"
    marker.write_text(str(os.getpid()))
    time.sleep(60)
    return "not killed"


@task
def leaves_a_mark(folder: str, index: int) -> int:
    """Writes ``folder``/``index`` when it runs (a test checks which runs ever started)."""
    (Path(folder) / str(index)).write_text("ran")
    return index


@flow
def sends_then_waits(queue: str, folder: str, n: int) -> list:
    """Sends ``n`` runs to ``queue`` through a CeleryTaskRunner and waits for them all."""
    from runs.runners.celery import CeleryTaskRunner

    with_runner = sends_then_waits_on.with_options(task_runner=CeleryTaskRunner(queue=queue))
    return with_runner(folder, n)


@flow
def sends_then_waits_on(folder: str, n: int) -> list:
    futures = leaves_a_mark.map(folder, range(n))
    print("sent", flush=True)
    return [future.result() for future in futures]


@task
def waits_for_go(folder: str, index: int) -> int:
    """Writes ``folder``/``index``, then waits (up to 30 s) for ``folder``/go."""
    (Path(folder) / str(index)).write_text("ran")
    deadline = time.monotonic() + 30
    while not (Path(folder) / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return index
