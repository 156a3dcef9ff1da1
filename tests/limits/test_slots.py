"""Tag concurrency limits in the engine: exact under contention, waiting, aborting, freeing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from runs import conf, flow, task
from runs.models import State as StateRow
from runs.models import TaskRun
from runs_limits import services
from runs_limits.models import ConcurrencySlot, SlotWaiter
from tests.limits.history import max_concurrency, running_spans


def new_tag() -> str:
    return f"tag-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def quick_wait():
    with conf.override(RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS=1.0):
        yield


def test_limit_of_two_never_lets_three_run():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=2)
    spans = []

    @task(tags=[tag])
    def work(i):
        started = time.monotonic()
        time.sleep(0.1)
        spans.append((started, time.monotonic()))
        return i

    @flow
    def f():
        return [future.result() for future in [work.submit(i) for i in range(8)]]

    state = f(return_state=True)
    assert state.result() == list(range(8))
    assert max_concurrency(spans) == 2
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert runs.filter(state_type="COMPLETED").count() == 8
    assert StateRow.objects.filter(task_run__in=runs, name="AwaitingConcurrencySlot").exists()
    assert not ConcurrencySlot.objects.filter(limit__tag=tag).exists()


def test_limit_of_zero_aborts_without_running():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=0)
    ran = []

    @task(tags=[tag])
    def forbidden():
        ran.append(1)

    @flow
    def f():
        state = forbidden(return_state=True)
        return state.type.value, state.name, state.message

    state_type, name, message = f()
    assert (state_type, name) == ("FAILED", "Aborted") and tag in message and ran == []


def test_run_with_two_limited_tags_waits_for_both():
    tag_a, tag_b = new_tag(), new_tag()
    services.create_limit(tag=tag_a, concurrency_limit=1)
    services.create_limit(tag=tag_b, concurrency_limit=1)
    events = []
    release_a = threading.Event()

    @task(tags=[tag_a])
    def holds_a():
        events.append("a-start")
        release_a.wait(5)
        events.append("a-end")

    @task(tags=[tag_b, tag_a])
    def needs_both():
        events.append("both")

    @flow
    def f():
        first = holds_a.submit()
        while "a-start" not in events:
            time.sleep(0.01)
        second = needs_both.submit()
        time.sleep(0.3)
        waiting = second.state.name
        release_a.set()
        second.result()
        first.result()
        return waiting

    assert f() == "AwaitingConcurrencySlot"
    assert events == ["a-start", "a-end", "both"]


def test_waiters_are_served_first_come_first_served():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=1)
    order = []

    @task(tags=[tag])
    def step(i):
        order.append(i)
        time.sleep(0.05)

    @flow
    def f():
        futures = []
        for i in range(5):
            futures.append(step.submit(i))
            time.sleep(0.03)  # submit in a known order
        for future in futures:
            future.result()

    f()
    assert order == [0, 1, 2, 3, 4]


def test_slots_are_freed_on_failure_timeout_and_between_retries():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=1)
    held_during_retry_wait = []

    @task(tags=[tag])
    def fails():
        raise ValueError("x")

    @task(tags=[tag], timeout_seconds=0.1)
    def times_out():
        time.sleep(1)

    @task(tags=[tag], retries=1, retry_delay_seconds=0.3)
    def retried():
        if not held_during_retry_wait:
            held_during_retry_wait.append("first")
            raise ValueError("again")
        return "ok"

    def watch():
        time.sleep(0.15)
        held_during_retry_wait.append(ConcurrencySlot.objects.filter(limit__tag=tag).count())

    @flow
    def f():
        fails(return_state=True)
        times_out(return_state=True)
        watcher = threading.Thread(target=watch)
        watcher.start()
        result = retried()
        watcher.join()
        return result

    assert f() == "ok"
    assert held_during_retry_wait == ["first", 0]
    assert not ConcurrencySlot.objects.filter(limit__tag=tag).exists()


def test_raising_a_limit_wakes_waiters():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=0 + 1)
    gate = threading.Event()

    @task(tags=[tag])
    def blocker():
        gate.wait(5)

    @task(tags=[tag])
    def quick():
        return "ran"

    @flow
    def f():
        first = blocker.submit()
        time.sleep(0.1)
        second = quick.submit()
        time.sleep(0.2)
        assert second.state.name == "AwaitingConcurrencySlot"
        services.create_limit(tag=tag, concurrency_limit=2)
        result = second.result(timeout=3)
        gate.set()
        first.result()
        return result

    with conf.override(RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS=30):
        started = time.monotonic()
        assert f() == "ran"
        assert time.monotonic() - started < 3


def run_in_two_processes(tmp_path, script: str, slot_wait_seconds: float, timeout: float) -> list:
    """Run ``script`` in two processes at once; the lists they print as their last line, joined."""
    import json

    # A process still running near the timeout prints where each of its threads is, and exits.
    dump = f"import faulthandler; faulthandler.dump_traceback_later({timeout - 10}, exit=True)\n"
    (tmp_path / "worker.py").write_text(dump + script)
    env = {**os.environ, "RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS": str(slot_wait_seconds)}
    processes = [
        subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    printed = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, err
            printed.extend(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            process.kill()
    return printed


def test_exact_across_two_processes(tmp_path, is_postgres):
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=2)
    script = textwrap.dedent(f"""
        import json, sys, time
        from runs import flow, task

        spans = []

        @task(tags=[{tag!r}])
        def work(i):
            started = time.time()
            time.sleep(0.1)
            spans.append((started, time.time()))

        @flow
        def f():
            for future in [work.submit(i) for i in range(4)]:
                future.result()

        f()
        print(json.dumps(spans))
    """)
    spans = run_in_two_processes(tmp_path, script, slot_wait_seconds=1, timeout=60)
    assert len(spans) == 8
    assert max_concurrency(spans) <= 2
    # The recorded history keeps the limit too: a run's end is written before its slot is free.
    assert len(running_spans(tag)) == 8
    assert max_concurrency(running_spans(tag)) <= 2


def test_runs_with_overlapping_tags_in_two_processes_all_finish_within_their_limits(tmp_path):
    a, b = new_tag(), new_tag()
    services.create_limit(tag=a, concurrency_limit=1)
    services.create_limit(tag=b, concurrency_limit=2)
    script = textwrap.dedent(f"""
        import json, time
        from runs import flow, task

        @task
        def work(tags):
            started = time.time()
            time.sleep(0.02)
            return [tags, started, time.time()]

        @flow
        def f():
            choices = [[{a!r}], [{b!r}], [{a!r}, {b!r}], [{b!r}, {a!r}]]
            futures = [work.with_options(tags=choices[i % 4]).submit(choices[i % 4])
                       for i in range(16)]
            return [future.result() for future in futures]

        print(json.dumps(f()))
    """)
    started = time.monotonic()
    # Only a wake-up can end a wait early: a run left waiting would time the test out.
    runs = run_in_two_processes(tmp_path, script, slot_wait_seconds=120, timeout=90)
    assert len(runs) == 32
    assert time.monotonic() - started < 60
    assert max_concurrency([(s, e) for tags, s, e in runs if a in tags]) == 1
    assert max_concurrency([(s, e) for tags, s, e in runs if b in tags]) <= 2
    assert max_concurrency(running_spans(a)) == 1
    assert max_concurrency(running_spans(b)) <= 2


def test_waiter_rows_are_cleaned_up():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=1)

    @task(tags=[tag])
    def t():
        time.sleep(0.05)

    @flow
    def f():
        for future in [t.submit() for _ in range(4)]:
            future.result()

    f()
    assert not SlotWaiter.objects.filter(limit__tag=tag).exists()


def test_slot_of_a_killed_process_comes_back_within_a_bounded_time(tmp_path):
    import signal

    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=1)
    (tmp_path / "holder.py").write_text(
        textwrap.dedent(f"""
        import time
        from runs import flow, task

        @task(tags=[{tag!r}])
        def hold():
            print("STARTED", flush=True)
            time.sleep(60)

        @flow
        def f():
            hold()

        f()
    """)
    )
    env = {**os.environ, "RUNS_HEARTBEAT_SECONDS": "0.2"}
    process = subprocess.Popen(
        [sys.executable, "holder.py"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "STARTED"
        deadline = time.monotonic() + 10
        while not TaskRun.objects.filter(
            task_name="hold", tags=[tag], state_type="RUNNING"
        ).exists():
            # the slot is taken first; the RUNNING row follows with the write-behind buffer
            assert time.monotonic() < deadline, "the holder never was RUNNING in the database"
            time.sleep(0.05)
        holder_id = ConcurrencySlot.objects.get(limit__tag=tag).task_run_id
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        killed_at = time.monotonic()

        @task(tags=[tag])
        def after():
            return time.monotonic()

        @flow
        def g():
            return after()

        ran_at = g()
        assert ran_at - killed_at < 3  # lease of 3 heartbeats of 0.2 s, plus a margin
        assert not ConcurrencySlot.objects.filter(task_run_id=holder_id).exists()
        while time.monotonic() - killed_at < 10:  # this process's reaper ends it CRASHED
            if TaskRun.objects.get(id=holder_id).state_type == "CRASHED":
                break
            time.sleep(0.1)
        assert TaskRun.objects.get(id=holder_id).state_type == "CRASHED"
    finally:
        if process.poll() is None:
            process.kill()
