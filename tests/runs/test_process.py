"""The process runtime: each named thread once per process, forgotten after fork, and the exit
steps once, in the order that loses nothing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from runs.process import ProcessRuntime


def _blocking(stop: threading.Event) -> None:
    stop.wait(10)


def test_a_named_thread_starts_once_however_many_callers_ask_together():
    runtime, stop, started = ProcessRuntime(), threading.Event(), []

    def target() -> None:
        started.append(threading.current_thread().name)
        stop.wait(10)

    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        runtime.ensure("writer", target)

    callers = [threading.Thread(target=ask) for _ in range(8)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    try:
        assert list(runtime.running()) == ["writer"]
        assert runtime.ensure("writer", target) is runtime.running()["writer"]
        assert runtime.running()["writer"].daemon
    finally:
        stop.set()
    runtime.running().get("writer", threading.Thread()).join(2)
    assert started == ["runs-writer"]


def test_a_thread_that_ended_is_started_again_when_asked():
    runtime, runs = ProcessRuntime(), []

    first = runtime.ensure("slot-listener", runs.append, 1)
    first.join(2)
    assert runtime.running() == {}
    second = runtime.ensure("slot-listener", runs.append, 2)
    second.join(2)

    assert second is not first and runs == [1, 2]


def test_exit_steps_run_once_writer_then_slots_then_heartbeat_and_a_failure_stops_none(caplog):
    runtime, order = ProcessRuntime(), []
    runtime.on_stop("retention", lambda: order.append("retention"))
    runtime.on_stop("heartbeat", lambda: order.append("heartbeat"))
    runtime.on_stop("slots", lambda: (order.append("slots"), 1 / 0))
    runtime.on_stop("writer", lambda: order.append("writer"))

    log = logging.getLogger("runs.process")
    log.addHandler(caplog.handler)  # the "runs" loggers do not propagate to the root
    try:
        runtime.stop()
        runtime.stop()
    finally:
        log.removeHandler(caplog.handler)

    assert order == ["writer", "slots", "heartbeat", "retention"]
    assert "'slots'" in caplog.text and "ZeroDivisionError" in caplog.text


def test_a_forked_child_forgets_the_parents_threads_and_starts_its_own():
    from runs.process import runtime  # the process's own, forgotten by os.register_at_fork

    stop = threading.Event()
    parent_thread = runtime.ensure("test-fork", _blocking, stop)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's exit code
        try:
            inherited = "test-fork" in runtime.running()
            child_thread = runtime.ensure("test-fork", lambda: None)
            child_thread.join(2)
            os.write(write_end, f"{inherited} {child_thread is not parent_thread}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    stop.set()
    parent_thread.join(2)

    assert report == "False True"


def test_fork_hooks_run_in_the_child_after_its_threads_are_forgotten():
    runtime, stop, seen = ProcessRuntime(), threading.Event(), []
    runtime.ensure("heartbeat", _blocking, stop)
    runtime.on_fork("slots", lambda: seen.append(sorted(runtime.running())))
    runtime.on_stop("writer", lambda: seen.append("flushed"))
    runtime.stop()

    runtime.after_fork_in_child()  # what the child of a fork runs
    runtime.stop()  # a child's own exit steps run in the child too
    stop.set()

    assert seen == ["flushed", [], "flushed"]


SCRIPT = """
import os, sys, threading
from runs import flow, task
from runs.process import runtime

@task(tags=["process-test"])
def one(x):
    return x

@flow
def many(n):
    return sum(one(i) for i in range(n))

print(many(5))
print(sorted(runtime.running()), runtime.stop_order())
print(sorted(t.name for t in threading.enumerate() if t.name.startswith("runs-")))
pid = os.fork()
if pid == 0:
    print("child", sorted(runtime.running()), many(3), sorted(runtime.running()), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_the_engines_threads_start_once_through_the_runtime_and_a_forked_child_starts_its_own(
    tmp_path,
):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # its own SQLite
    env["RUNS_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "10"
    assert lines[1] == "['heartbeat', 'writer'] ['writer', 'slots', 'heartbeat']"
    assert lines[2] == "['runs-heartbeat', 'runs-writer']"
    assert lines[3] == "child [] 3 ['heartbeat', 'writer']"
