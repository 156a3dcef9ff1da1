"""Caching: keys, hits (Cached, function not run), expiry, refresh, long keys, lost results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta

from runs import conf, flow, task
from runs.models import Log
from runs.tasks import task_input_hash


def unique_key() -> str:
    return f"key-{uuid.uuid4().hex}"


def test_task_input_hash_cache_hit_restores_result_without_running():
    runs = []

    @task(cache_key_fn=task_input_hash, cache_expiration=timedelta(days=1))
    def hello_task(name_input):
        runs.append(name_input)
        return "hello " + name_input

    @flow
    def hello_flow(name_input):
        return hello_task(name_input), hello_task(name_input, return_state=True).name

    name = uuid.uuid4().hex
    assert hello_flow(name) == ("hello " + name, "Cached")
    assert hello_flow(name) == ("hello " + name, "Cached")
    assert runs == [name]
    assert hello_flow(name + "x")[0] == "hello " + name + "x"
    assert runs == [name, name + "x"]


def test_static_key_runs_only_once_across_flow_runs():
    key = unique_key()
    runs = []

    @task(cache_key_fn=lambda context, parameters: key)
    def cached_task():
        runs.append(1)
        return 42

    @flow
    def test_caching():
        state = cached_task(return_state=True)
        return state.name, state.type.value, state.result()

    results = [test_caching() for _ in range(3)]
    assert runs == [1]
    assert results == [
        ("Completed", "COMPLETED", 42),
        ("Cached", "COMPLETED", 42),
        ("Cached", "COMPLETED", 42),
    ]


def test_cache_key_fn_sees_context():
    seen = {}

    def cache_within_flow_run(context, parameters):
        seen["flow_run_id"] = context.task_run.flow_run_id
        seen["task_run_id"] = context.task_run_id
        seen["task"] = context.task.name
        return f"{context.task_run.flow_run_id}-{task_input_hash(context, parameters)}"

    @task(cache_key_fn=cache_within_flow_run)
    def cached_task(x):
        return x

    @flow
    def f():
        return cached_task(1, return_state=True).name, cached_task(1, return_state=True).name

    state = f(return_state=True)
    assert state.result() == ("Completed", "Cached")
    assert seen["flow_run_id"] == state.flow_run_id and seen["task"] == "cached_task"
    assert f() == ("Completed", "Cached")  # another flow run: its own key


def test_cache_expiration():
    key = unique_key()
    runs = []

    @task(cache_key_fn=lambda c, p: key, cache_expiration=timedelta(seconds=0.3))
    def short_lived():
        runs.append(1)
        return len(runs)

    @flow
    def f():
        return short_lived()

    assert f() == 1 and f() == 1
    time.sleep(0.35)
    assert f() == 2


def test_refresh_cache_true_always_runs_and_overwrites():
    key = unique_key()

    @task(cache_key_fn=lambda c, p: key)
    def reader():
        return "stale"

    @task(cache_key_fn=lambda c, p: key, refresh_cache=True)
    def refresher():
        return "fresh"

    @flow
    def f():
        return reader(), refresher(), reader()

    assert f() == ("stale", "fresh", "fresh")


def test_refresh_setting_and_explicit_false():
    key = unique_key()
    runs = []

    @task(cache_key_fn=lambda c, p: key)
    def follows_setting():
        runs.append("follows")
        return len(runs)

    @task(cache_key_fn=lambda c, p: key, refresh_cache=False)
    def never_refreshes():
        runs.append("never")
        return -1

    @flow
    def f():
        return follows_setting(), never_refreshes()

    assert f() == (1, 1)
    with conf.override(RUNS_TASKS_REFRESH_CACHE=True):
        assert f() == (2, 2)
    assert runs == ["follows", "follows"]


def test_key_over_max_length_fails_without_running():
    runs = []

    @task(cache_key_fn=lambda c, p: "k" * 30)
    def long_key():
        runs.append(1)

    @flow
    def f():
        state = long_key(return_state=True)
        return state.name, state.message

    with conf.override(RUNS_TASK_CACHE_KEY_MAX_LENGTH=20):
        name, message = f()
    assert name == "Failed" and "cache key" in message and "30" in message
    assert runs == []


def test_deleted_result_is_a_miss_with_warning():
    key = unique_key()
    runs = []

    @task(cache_key_fn=lambda c, p: key)
    def producer():
        runs.append(1)
        return len(runs)

    @flow
    def f():
        state = producer(return_state=True)
        return state.name, state.result_key, state.result()

    name, result_key, value = f()
    from runs.results import storage_path

    (storage_path() / result_key).unlink()
    name, _, value = f()
    assert (name, value) == ("Completed", 2) and runs == [1, 1]
    assert Log.objects.filter(
        level=30, message__contains="no stored result", message__icontains=key
    ).exists()


def test_unpicklable_result_with_persistence_fails_naming_type():
    import threading

    @task(persist_result=True)
    def give_lock():
        return threading.Lock()

    @flow
    def f():
        state = give_lock(return_state=True)
        return state.name, state.message

    name, message = f()
    assert name == "Failed" and "lock" in message.lower() and "cannot be pickled" in message


def test_task_input_hash_is_stable_across_processes(tmp_path):
    script = textwrap.dedent("""
        from runs.tasks import task_input_hash
        class Ctx: pass
        class T: pass
        def fn(x): return x
        ctx = Ctx(); ctx.task = T(); ctx.task.task_key = "k"; ctx.task.fn = fn
        print(task_input_hash(ctx, {"b": [1, 2], "a": {"z": 1, "y": 2}}))
        print(task_input_hash(ctx, {"a": object.__new__(type("X", (), {}))}) is None or "pickled")
    """)
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        outputs.add(out[0])
    assert len(outputs) == 1


def test_unhashable_inputs_give_no_key():
    from runs.tasks import hash_objects

    class Unpicklable:
        def __reduce__(self):
            raise TypeError("no")

    assert hash_objects(Unpicklable()) is None


def test_cache_hit_across_processes(tmp_path):
    key = unique_key()
    script = textwrap.dedent(f"""
        from runs import flow, task
        @task(cache_key_fn=lambda c, p: {key!r})
        def expensive():
            print("RAN")
            return 7
        @flow
        def f():
            s = expensive(return_state=True)
            return s.name, s.result()
        print(f())
    """)
    outs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ),
        ).stdout
        for _ in range(2)
    ]
    assert "RAN" in outs[0] and "('Completed', 7)" in outs[0]
    assert "RAN" not in outs[1] and "('Cached', 7)" in outs[1]
