"""The timeline SVG: retries as segments, maps collapsed, quick for 10,000 task runs."""

from __future__ import annotations

import datetime as dt
import uuid

from runs.models import TaskRun
from runs.states import now
from runs.timeline import build_timeline
from tests.runs.views.helpers import make_flow_run, make_task_run


def _build(run, **kwargs):
    return build_timeline(
        run, run_url=lambda i: f"/task-runs/{i}/", expand_url=lambda k: f"?expand={k}", **kwargs
    )


def test_a_retried_run_has_one_segment_per_attempt():
    flow_run = make_flow_run()
    make_task_run(
        flow_run,
        task_name="retried",
        state="Completed",
        history=("Pending", "Running", "AwaitingRetry", "Retrying", "Completed"),
    )
    svg = str(_build(flow_run).svg)
    assert "Attempt 1 (Running): failed, then AwaitingRetry" in svg
    assert "Attempt 2 (Retrying): Completed" in svg


def test_mapped_runs_share_a_row_with_counts_until_expanded():
    flow_run = make_flow_run()
    for index in range(5):
        make_task_run(
            flow_run,
            task_name="mapped",
            task_key="key-mapped",
            map_index=index,
            state="Failed" if index == 0 else "Completed",
        )
    timeline = _build(flow_run)
    assert timeline.rows == 1 and timeline.groups == [("key-mapped", "mapped", 5, False)]
    assert "5 mapped runs (4 Completed, 1 Failed)" in str(timeline.svg)
    expanded = _build(flow_run, expand={"key-mapped"})
    assert expanded.rows == 5


def test_ten_thousand_mapped_task_runs_fold_into_one_row():
    """(How fast it draws is measured by tests/perf/bench_dashboard.py, not here.)"""
    flow_run = make_flow_run()
    start = now()
    TaskRun.objects.bulk_create(
        [
            TaskRun(
                id=uuid.uuid4(),
                flow_run=flow_run,
                name=f"many-{i}",
                task_name="many",
                task_key="key-many",
                map_index=i,
                state_type="COMPLETED",
                state_name="Completed",
                created=start + dt.timedelta(microseconds=i),
                start_time=start,
                end_time=start + dt.timedelta(seconds=1),
            )
            for i in range(10_000)
        ],
        batch_size=2000,
    )
    timeline = _build(flow_run)
    assert timeline.task_runs == 10_000 and timeline.rows == 1
