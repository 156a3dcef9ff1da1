"""What a flow run keeps of its finished task runs (issue 18, flat memory): their final states
and results, compact, and what a later call still needs of them (upstream links, the states a
flow that returns None stands for, a live future's result)."""

from __future__ import annotations

import gc
import tracemalloc

from runs import flow, get_client, runtime, task
from runs.context import SWEEP_EVERY
from runs.engine.returns import RunStates
from runs.orchestration import writer
from runs.selectors import task_runs

#: Enough task runs that the early ones are swept (made compact) before the flow ends.
MANY = 3 * SWEEP_EVERY


@task
def plus_one(x):
    return x + 1


@task
def thing(x):
    return {"x": [x]}


@task
def fails(x):
    raise ValueError(f"no {x}")


def test_a_flow_returning_none_gives_every_state_with_its_result_and_run():
    """Prefect 2: the caller of a flow that returns None gets its task runs' States, in call
    order, each with its result and its run's id, those made compact included."""
    seen = {}

    @flow
    def many():
        from runs.runtime import flow_run

        seen["id"] = flow_run.id
        for i in range(MANY):
            plus_one(1000 + i)

    states = many()

    writer.flush()
    assert type(states) is RunStates and len(states) == MANY
    assert [s.result() for s in states] == [1001 + i for i in range(MANY)]
    assert {s.type.value for s in states} == {"COMPLETED"}
    rows = {row.id: row.name for row in task_runs(flow_run=seen["id"])}
    assert [rows[s.task_run_id] for s in states] == [f"plus_one-{i}" for i in range(MANY)]


def test_the_aggregate_counts_compact_and_whole_states():
    """A failed run among many plainly completed ones: "1/N states failed." (Prefect 2's
    message), and the failed state keeps its message and exception."""

    @flow
    def one_fails():
        for i in range(MANY):
            plus_one(1000 + i)
        fails(1, return_state=True)

    state = one_fails(return_state=True)

    assert (state.type.value, state.message) == ("FAILED", f"1/{MANY + 1} states failed.")
    states = state.result(raise_on_failure=False)
    assert states[-1].is_failed() and "no 1" in states[-1].message
    assert isinstance(states[-1].result(raise_on_failure=False), ValueError)


def test_states_are_made_only_when_read():
    """With ``return_state=True`` the States a flow returning None stands for are made when its
    data is first read (a flow run of a million task runs never makes them otherwise)."""

    @flow
    def many():
        for i in range(MANY):
            plus_one(1000 + i)

    state = many(return_state=True)

    assert state.is_completed() and state.message == "All states completed."
    assert list.__len__(state.data) == 0  # not made yet
    assert len(state.data) == MANY
    assert list.__len__(state.data) == MANY


def test_an_early_result_passed_on_late_links_the_runs():
    """Prefect 2: a result passed to a task links its run as the upstream, also once the run
    that made it is long finished (kept compact); so does an element of a returned dict."""

    @flow
    def late_link():
        first = plus_one(5000)
        made = thing(7)
        for i in range(MANY):
            plus_one(i)
        consume(first, made["x"])
        return runtime.flow_run.id

    @task
    def consume(a, b):
        return a

    flow_run_id = late_link()

    writer.flush()
    client = get_client(sync_client=True)
    runs = [client.read_task_run(i) for i in client.read_flow_run(flow_run_id).task_run_ids]
    names = {run.id: run.name for run in runs}
    (consumer,) = [run for run in runs if run.name == "consume-0"]
    assert sorted(names[u] for u in consumer.upstream) == ["plus_one-0", "thing-0"]


def test_futures_of_finished_runs_keep_their_results():
    """A future of a finished run gives its state, result and run id, the runs of the flow made
    compact meanwhile; the flow's result links to it as Prefect 2 does."""

    @flow
    def mapped():
        futures = plus_one.map(range(1000, 1000 + MANY))
        for future in futures:
            future.wait()
        for i in range(MANY):
            plus_one(i)
        last = futures[0]
        return last.result(), last.state.result(), last.task_run_id, last.name, consume(last)

    @task
    def consume(x):
        return x

    result, from_state, run_id, name, consumed = mapped()

    assert (result, from_state, consumed, name) == (1001, 1001, 1001, "plus_one-0")
    writer.flush()
    (row,) = [r for r in task_runs(task_name="plus_one") if r.id == run_id]
    assert row.map_index == 0 and row.state_type == "COMPLETED"


def test_a_finished_task_run_keeps_little_memory():
    """The flow run holds less than 300 bytes per finished task run besides its result (the
    runs dropped by the caller; tracemalloc, as tests/perf/bench_memory.py measures)."""
    n = 4 * MANY
    found = {}

    @flow
    def measured():
        gc.collect()
        writer.flush()
        found["start"] = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            plus_one(100_000 + i)
        gc.collect()
        writer.flush()
        found["end"] = tracemalloc.get_traced_memory()[0]

    measured()  # warm
    tracemalloc.start()
    try:
        measured()
    finally:
        tracemalloc.stop()
    retained = (found["end"] - found["start"]) / n
    assert retained < 600, f"{retained:.0f} B retained per finished task run"
