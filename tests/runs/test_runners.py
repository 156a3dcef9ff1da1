"""The thread task runner: submit, map, unmapped, wait_for, futures, upstream links, failures."""

from __future__ import annotations

import threading
import time

import pytest

from runs import allow_failure, flow, task, unmapped
from runs.models import TaskRun, TaskRunDependency


def test_submit_returns_future_with_result_state_and_id():
    @task
    def square(x):
        return x * x

    @flow
    def f():
        future = square.submit(4)
        assert future.task_run_id is not None
        return future.result(), future.wait().name, future.state.is_completed()

    assert f() == (16, "Completed", True)


def test_future_result_timeout_raises_and_wait_timeout_gives_none():
    """Prefect 2: result(timeout) raises TimeoutError; wait(timeout) returns None."""

    @task
    def slow():
        time.sleep(0.3)

    @flow
    def f():
        future = slow.submit()
        with pytest.raises(TimeoutError):
            future.result(timeout=0.01)
        return future.wait(timeout=0.01), future.result()

    assert f() == (None, None)


def test_failed_future_raises_or_returns_exception():
    @task
    def bad():
        raise ValueError("boom")

    @flow
    def f():
        future = bad.submit()
        exc = future.result(raise_on_failure=False)
        with pytest.raises(ValueError):
            future.result()
        return type(exc).__name__

    assert f(return_state=True).result(raise_on_failure=False) is not None


def test_map_one_run_per_element_with_index_and_static_values():
    @task
    def add_together(x, y):
        return x + y

    @task
    def sum_plus(x, static_iterable):
        return x + sum(static_iterable)

    @flow
    def sum_it(numbers, static_value):
        return (
            [f.result() for f in add_together.map(numbers, static_value)],
            [f.result() for f in sum_plus.map(numbers, unmapped([1, 2, 3]))],
        )

    state = sum_it([1, 2, 3], 5, return_state=True)
    assert state.result() == ([6, 7, 8], [7, 8, 9])
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id, task_name="add_together")
    assert sorted(runs.values_list("map_index", flat=True)) == [0, 1, 2]


def test_map_zips_iterables_and_rejects_different_lengths():
    @task
    def pair(a, b):
        return (a, b)

    @flow
    def f():
        good = [x.result() for x in pair.map([1, 2], ["a", "b"])]
        with pytest.raises(ValueError, match="a=2, b=3"):
            pair.map([1, 2], [1, 2, 3])
        return good

    assert f() == [(1, "a"), (2, "b")]


def test_futures_as_arguments_resolve_and_record_upstream():
    @task
    def one():
        return 1

    @task
    def plus(x, y):
        return x + y

    @flow
    def f():
        a = one.submit()
        b = plus.submit(a, 10)
        direct = plus(b, 100)
        return b.task_run_id, direct

    state = f(return_state=True)
    b_id, direct = state.result()
    assert direct == 111
    b_run = TaskRun.objects.get(id=b_id)
    assert [r.task_name for r in b_run.upstream.all()] == ["one"]
    direct_run = TaskRun.objects.get(flow_run_id=state.flow_run_id, name="plus-1")
    assert list(direct_run.upstream.values_list("id", flat=True)) == [b_id]


def test_wait_for_orders_runs_and_records_dependency():
    order = []

    @task
    def task_1():
        time.sleep(0.1)
        order.append(1)

    @task
    def task_2():
        order.append(2)

    @flow
    def my_flow():
        x = task_1.submit()
        y = task_2.submit(wait_for=[x])
        y.result()
        return x.task_run_id, y.task_run_id

    x_id, y_id = my_flow()
    assert order == [1, 2]
    assert TaskRunDependency.objects.filter(upstream_id=x_id, downstream_id=y_id).exists()


def test_plain_value_from_direct_call_links_upstream():
    @task
    def make():
        return {"rows": 3}

    @task
    def use(data):
        return data["rows"]

    @flow
    def f():
        data = make()
        return use(data)

    state = f(return_state=True)
    use_run = TaskRun.objects.get(flow_run_id=state.flow_run_id, task_name="use")
    assert [r.task_name for r in use_run.upstream.all()] == ["make"]


def test_failed_upstream_stops_downstream_with_link_unless_allowed():
    ran = []

    @task
    def bad():
        raise ValueError("upstream broke")

    @task
    def needs(x):
        ran.append("needs")

    @task
    def after():
        ran.append("after")

    @task
    def tolerant(x):
        ran.append("tolerant")
        return type(x).__name__

    @flow
    def f():
        upstream = bad.submit()
        blocked = needs.submit(upstream)
        waited = after.submit(wait_for=[upstream])
        allowed = tolerant.submit(allow_failure(upstream))
        return [blocked.wait(), waited.wait(), allowed.result()], upstream.task_run_id

    state = f(return_state=True)
    (blocked, waited, allowed), upstream_id = state.result()
    assert blocked.name == "UpstreamFailed" and blocked.type.value == "FAILED"
    assert str(upstream_id) in blocked.message and "did not start" in blocked.message
    assert waited.name == "UpstreamFailed"
    assert allowed == "ValueError"
    assert ran == ["tolerant"]


def test_flow_waits_for_unresolved_futures():
    finished = threading.Event()

    @task
    def background():
        time.sleep(0.2)
        finished.set()

    @flow
    def f():
        background.submit()

    state = f(return_state=True)
    assert finished.is_set() and state.is_completed()
    run = TaskRun.objects.get(flow_run_id=state.flow_run_id)
    assert run.state_type == "COMPLETED"


def test_submitted_runs_run_concurrently():
    @task
    def nap():
        time.sleep(0.2)

    @flow
    def f():
        started = time.monotonic()
        for future in [nap.submit() for _ in range(5)]:
            future.wait()
        return time.monotonic() - started

    assert f() < 0.8


def test_docs_map_example():
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
        return [f.result() for f in squared_nums]

    assert map_flow([1, 2, 3, 5, 8, 13]) == [1, 4, 9, 25, 64, 169]


def test_sequential_task_runner_runs_submissions_in_order():
    from runs.task_runners import SequentialTaskRunner

    order = []

    @task
    def record(i):
        order.append(i)
        return i

    @flow(task_runner=SequentialTaskRunner())
    def f():
        return [future.result() for future in [record.submit(i) for i in range(5)]]

    assert f() == [0, 1, 2, 3, 4] and order == [0, 1, 2, 3, 4]


def test_large_map_is_recorded_completely():
    @task
    def inc(x):
        return x + 1

    @flow
    def big(n):
        return sum(future.result() for future in inc.map(range(n)))

    state = big(2000, return_state=True)
    assert state.result() == sum(range(1, 2001))
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert runs.count() == 2000 and runs.filter(state_type="COMPLETED").count() == 2000


def test_a_map_over_10000_elements_is_recorded_in_batches_and_bounds_what_runs():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from runs.task_runners import ThreadPoolTaskRunner

    lock = threading.Lock()
    running = {"now": 0, "peak": 0}

    @task
    def tracked(x):
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        with lock:
            running["now"] -= 1
        return x

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=8))
    def huge(n):
        with CaptureQueriesContext(connection) as queries:
            futures = tracked.map(range(n))
        return len(queries), sum(f.result() for f in futures)

    state = huge(10_000, return_state=True)
    queries_while_mapping, total = state.result()
    assert total == sum(range(10_000))
    assert queries_while_mapping < 100  # rows go in batches, not a round trip per element
    assert running["peak"] <= 8  # never more in flight than the pool's threads
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert runs.filter(state_type="COMPLETED").count() == 10_000
    assert sorted(runs.values_list("map_index", flat=True)) == list(range(10_000))
