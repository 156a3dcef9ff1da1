"""The examples of Prefect 2's Tasks page, with `from runs import ...`, run as plain scripts.

Each script runs in a fresh process (as a user would run it) against the session's RUNS_HOME;
delays are shortened where the docs wait for seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def run_script(source: str, tmp_path, extra_env: dict[str, str] | None = None) -> str:
    path = tmp_path / "example.py"
    path.write_text(textwrap.dedent(source))
    env = {**os.environ, **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_calling_a_task_from_a_flow(tmp_path):
    out = run_script(
        """
        from runs import flow, task

        @task
        def my_task():
            print("Hello, I'm a task")

        @flow
        def my_flow():
            my_task()

        my_flow()
    """,
        tmp_path,
    )
    assert "Hello, I'm a task" in out


def test_calling_a_task_function_from_another_task(tmp_path):
    out = run_script(
        """
        from runs import flow, task

        @task
        def my_first_task(msg):
            print(f"Hello, {msg}")

        @task
        def my_second_task(msg):
            my_first_task.fn(msg)

        @flow
        def my_flow():
            my_second_task("Trillian")

        my_flow()
    """,
        tmp_path,
    )
    assert "Hello, Trillian" in out


def test_task_run_names_and_runtime(tmp_path):
    out = run_script(
        """
        import datetime
        from runs import flow, task
        from runs.runtime import flow_run, task_run

        @task(name="My Example Task",
              description="An example task for a tutorial.",
              task_run_name="hello-{name}-on-{date:%A}")
        def my_task(name, date):
            return task_run.name

        def generate_task_name():
            flow_name = flow_run.flow_name
            task_name = task_run.task_name
            parameters = task_run.parameters
            name = parameters["name"]
            limit = parameters["limit"]
            return f"{flow_name}-{task_name}-with-{name}-and-{limit}"

        @task(name="my-example-task",
              description="An example task for a tutorial.",
              task_run_name=generate_task_name)
        def my_other_task(name: str, limit: int = 100):
            return task_run.name

        @flow
        def my_flow(name: str):
            print(my_task(name="marvin", date=datetime.datetime.utcnow()))
            print(my_other_task(name=name))

        my_flow(name="marvin")
    """,
        tmp_path,
    )
    assert "hello-marvin-on-" in out
    assert "my-flow-my-example-task-with-marvin-and-100" in out


def test_tags(tmp_path):
    out = run_script(
        """
        from runs import flow, task, tags
        from runs.runtime import task_run

        @task(name="hello-task", tags=["test"])
        def my_task():
            print("Hello, I'm a task", sorted(task_run.tags))

        @task
        def other_task():
            print("other", sorted(task_run.tags))

        @flow
        def my_flow():
            my_task()
            with tags("test"):
                other_task()

        my_flow()
    """,
        tmp_path,
    )
    assert "Hello, I'm a task ['test']" in out and "other ['test']" in out


def test_retries_with_backoff_jitter_and_custom_delays(tmp_path):
    out = run_script(
        """
        from runs import flow, task
        from runs.tasks import exponential_backoff

        attempts = {"a": 0, "b": 0, "c": 0}

        @task(retries=3, retry_delay_seconds=[0.01, 0.02, 0.03])
        def some_task_with_manual_backoff_retries():
            attempts["a"] += 1
            if attempts["a"] < 4:
                raise RuntimeError("flaky")
            return "a"

        @task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=0.01))
        def some_task_with_exponential_backoff_retries():
            attempts["b"] += 1
            if attempts["b"] < 3:
                raise RuntimeError("flaky")
            return "b"

        @task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=0.01),
              retry_jitter_factor=1)
        def jittered():
            attempts["c"] += 1
            if attempts["c"] < 2:
                raise RuntimeError("flaky")
            return "c"

        @flow
        def f():
            return (some_task_with_manual_backoff_retries(),
                    some_task_with_exponential_backoff_retries(), jittered())

        print(f(), attempts)
    """,
        tmp_path,
    )
    assert "('a', 'b', 'c') {'a': 4, 'b': 3, 'c': 2}" in out


def test_caching_example_runs_expensive_operation_once(tmp_path):
    source = """
        from runs import task, flow

        def static_cache_key(context, parameters):
            # return a constant
            return "static cache key KEY"

        @task(cache_key_fn=static_cache_key)
        def cached_task():
            print('running an expensive operation')
            return 42

        @flow
        def test_caching():
            cached_task()

        test_caching()
        test_caching()
        test_caching()
    """.replace("KEY", tmp_path.name)
    assert run_script(source, tmp_path).count("running an expensive operation") == 1
    assert run_script(source, tmp_path).count("running an expensive operation") == 0


def test_refresh_cache_setting_from_environment(tmp_path):
    source = """
        from runs import task, flow

        @task(cache_key_fn=lambda c, p: "refresh-key KEY")
        def follows():
            print("follows ran")

        @task(cache_key_fn=lambda c, p: "refresh-key-2 KEY", refresh_cache=False)
        def never():
            print("never ran")

        @flow
        def f():
            follows()
            never()

        f()
    """.replace("KEY", tmp_path.name)
    first = run_script(source, tmp_path)
    assert "follows ran" in first and "never ran" in first
    second = run_script(source, tmp_path, {"RUNS_TASKS_REFRESH_CACHE": "true"})
    assert "follows ran" in second and "never ran" not in second


def test_timeouts_example_never_logs_second_line(tmp_path):
    out = run_script(
        """
        from runs import flow, task, get_run_logger
        import time

        @task(timeout_seconds=0.2)
        def show_timeouts():
            logger = get_run_logger()
            logger.info("I will execute")
            time.sleep(1)
            logger.info("I will not execute")

        @flow
        def f():
            state = show_timeouts(return_state=True)
            return state.name, state.task_run_id

        name, run_id = f()
        time.sleep(1)
        from runs.models import Log  # Django is set up by the first flow call
        print(name, sorted(Log.objects.filter(task_run_id=run_id).values_list("message", flat=True)))
    """,
        tmp_path,
    )
    assert "TimedOut ['I will execute']" in out


@pytest.mark.parametrize("runner", ["thread", "celery"])
def test_wait_for_and_map_examples(tmp_path, runner, request):
    extra_env = {"RUNS_DEFAULT_TASK_RUNNER": runner}
    if runner == "celery":
        worker = request.getfixturevalue("runs_worker")
    out = run_script(
        """
        from runs import flow, task, unmapped

        @task
        def task_1():
            print("task 1")

        @task
        def task_2():
            print("task 2")

        @flow
        def my_flow():
            x = task_1()
            # task 2 will wait for task_1 to complete
            y = task_2(wait_for=[x])

        @task
        def print_nums(nums):
            for n in nums:
                print(n)

        @task
        def square_num(num):
            return num**2

        @flow
        def map_flow(nums):
            print_nums(nums)
            squared_nums = square_num.map(nums)
            print_nums(squared_nums)

        @task
        def add_together(x, y):
            return x + y

        @flow
        def sum_it(numbers, static_value):
            futures = add_together.map(numbers, static_value)
            return futures

        @task
        def sum_plus(x, static_iterable):
            return x + sum(static_iterable)

        @flow
        def sum_it_unmapped(numbers, static_iterable):
            futures = sum_plus.map(numbers, static_iterable)
            return futures

        my_flow()
        map_flow([1, 2, 3, 5, 8, 13])
        # A flow that returns futures gives their states, as in Prefect 2.
        print("sum", [state.result() for state in sum_it([1, 2, 3], 5)])
        states = sum_it_unmapped([4, 5, 6], unmapped([1, 2, 3]))
        print("unmapped", [state.result() for state in states])
    """,
        tmp_path,
        extra_env,
    )
    assert out.index("task 1") < out.index("task 2")
    assert "169" in out
    assert "sum [6, 7, 8]" in out and "unmapped [10, 11, 12]" in out
    if runner == "celery":
        assert "runs.run_task_run" in worker.log()  # the mapped runs ran on the worker


@pytest.mark.parametrize("gathered", [True])
def test_async_example(tmp_path, gathered):
    out = run_script(
        """
        import asyncio

        from runs import task, flow

        @task
        async def print_values(values):
            for value in values:
                await asyncio.sleep(0.01) # yield
                print(value, end=" ")

        @flow
        async def async_flow():
            await print_values([1, 2])  # runs immediately
            coros = [print_values("abcd"), print_values("6789")]

            # asynchronously gather the tasks
            await asyncio.gather(*coros)

        asyncio.run(async_flow())
    """,
        tmp_path,
    )
    assert out.startswith("1 2 ") and sorted(out.split()[2:]) == sorted("abcd6789")
