"""Runs over time and a flow's figures, counted by the database from flows that really ran."""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest

from runs import flow, task
from runs.selectors import FilterError, stats


@task
def step(x: int) -> int:
    if x < 0:
        raise ValueError("negative on purpose")
    return x


def _fresh_flow():
    """A flow of its own name, so counts are not shared with other tests' runs."""

    def body(x: int = 1) -> int:
        return step(x)

    return flow(name=f"stats-{uuid.uuid4().hex[:8]}")(body)


def _run(made, *values: int):
    """Run ``made`` once per value (negative ones fail); the FlowRun rows, in order."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer

    ids = [made(value, return_state=True).flow_run_id for value in values]
    writer.flush()
    rows = {row.id: row for row in FlowRun.objects.filter(id__in=ids)}
    return [rows[i] for i in ids]


def test_runs_are_counted_in_the_bucket_of_their_creation_by_state_type():
    made = _fresh_flow()
    runs = _run(made, 1, 2, 3, -1)

    data = stats.runs_over_time("1h", flow=made.name)

    assert data.total == 4
    assert data.totals == {"COMPLETED": 3, "FAILED": 1}
    assert len(data.buckets) == 12
    assert all(b.end - b.start == dt.timedelta(minutes=5) for b in data.buckets)
    assert data.buckets[0].start == data.start and data.buckets[-1].end == data.end
    assert data.start.minute % 5 == 0 and data.start.second == 0
    for run in runs:
        holding = [b for b in data.buckets if b.start <= run.created < b.end]
        assert len(holding) == 1 and holding[0].total >= 1
    assert sum(b.counts.get("FAILED", 0) for b in data.buckets) == 1


def test_each_window_has_its_buckets_and_leaves_out_older_runs():
    made = _fresh_flow()
    (run,) = _run(made, 5)

    day = stats.runs_over_time("24h", flow=made.name)
    week = stats.runs_over_time("7d", flow=made.name)
    assert (len(day.buckets), len(week.buckets)) == (24, 28)
    assert day.total == week.total == 1
    assert week.start.hour % 6 == 0

    later = run.created + dt.timedelta(minutes=30)
    shifted = stats.runs_over_time("1h", flow=made.name, moment=later)
    (holding,) = [b for b in shifted.buckets if b.total]
    assert holding.start <= run.created < holding.end
    assert shifted.buckets.index(holding) == 5

    gone = stats.runs_over_time("1h", flow=made.name, moment=run.created + dt.timedelta(hours=2))
    assert gone.total == 0 and len(gone.buckets) == 12


def test_task_runs_are_counted_too():
    made = _fresh_flow()
    _run(made, 1, -1)

    data = stats.runs_over_time("1h", kind="task", flow=made.name)

    assert data.totals == {"COMPLETED": 1, "FAILED": 1}


def test_an_unknown_window_names_the_choices():
    with pytest.raises(FilterError) as error:
        stats.runs_over_time("2y")
    assert error.value.errors == {"window": "Unknown window '2y'; choose one of 1h, 24h, 7d."}


def _nearest_rank(values: list[dt.timedelta], share: float) -> dt.timedelta:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def test_a_flows_success_rate_and_duration_percentiles():
    made = _fresh_flow()
    runs = _run(made, *range(1, 20), -1)
    since = min(run.created for run in runs)

    figures = stats.flow_stats(made.name, since=since)

    assert (figures.runs, figures.finished, figures.completed, figures.timed) == (20, 20, 19, 20)
    assert figures.success_rate == pytest.approx(0.95)
    durations = [run.end_time - run.start_time for run in runs]
    assert figures.p50 == _nearest_rank(durations, 0.5)
    assert figures.p95 == _nearest_rank(durations, 0.95)
    assert figures.p50 <= figures.p95


def test_a_flow_without_finished_runs_has_no_rate_nor_percentiles():
    made = _fresh_flow()
    _run(made, 1)

    figures = stats.flow_stats(made.name, since=stats.now() + dt.timedelta(hours=1))

    assert figures.runs == 0 and figures.success_rate is None
    assert figures.p50 is None and figures.p95 is None
