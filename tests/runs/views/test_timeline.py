"""The timeline: retries as segments, maps folded with their counts inline and their states where
they happened in time, rows one per run paged, quick for 10,000 task runs."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter

import pytest

from runs.models import FlowRun, TaskRun
from runs.states import now
from runs.timeline import BUCKETS, ROWS_PER_PAGE, UNITS, build_timeline
from tests.runs.views.helpers import make_flow_run, make_task_run
from tests.runs.views.timeline_flows import FAILING, many_steps, map_with_failures


def _build(run, **kwargs):
    return build_timeline(
        run, run_url=lambda i: f"/task-runs/{i}/", expand_url=lambda k: f"?expand={k}", **kwargs
    )


def _recorded(flow, **parameters) -> FlowRun:
    from runs.orchestration.writer import writer

    state = flow(**parameters, return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.end_time is not None, "the flow run's end is not recorded yet"
    return run


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


@pytest.fixture(scope="module")
def mapped_run() -> FlowRun:
    """200 mapped runs, the 20 of FAILING failed."""
    return _recorded(map_with_failures, count=200)


@pytest.fixture(scope="module")
def steps_run() -> FlowRun:
    """250 plain task calls: three pages of rows."""
    return _recorded(many_steps, count=250)


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


def test_a_folded_map_shows_its_counts_inline(client, mapped_run):
    html = client.get(f"/flow-runs/{mapped_run.id}/").content.decode()
    assert "checked ×200" in _text(html)
    assert "180 ok, 20 failed" in _text(html)
    key = mapped_run.task_runs.filter(map_index__gte=0).first().task_key
    timeline = _build(mapped_run)
    assert timeline.rows == 1
    assert [(g.key, g.name, g.size, g.expanded) for g in timeline.groups] == [
        (key, "checked", 200, False)
    ]
    assert "200 mapped runs (180 Completed, 20 Failed)" in str(timeline.svg)


def _failed_rects(svg: str, failed_colour: str) -> list[float]:
    return [
        float(x)
        for x in re.findall(rf'<rect x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="[\d.]+" '
                            rf'fill="{failed_colour}"/>', svg)
    ]  # fmt: skip


def test_a_folded_map_draws_its_failures_where_they_happened(mapped_run):
    from runs.badges import state_color

    svg = str(_build(mapped_run).svg)
    xs = _failed_rects(svg, state_color("Failed", "FAILED"))
    assert xs, "no failed slices drawn"
    failed = mapped_run.task_runs.filter(state_name="Failed")
    assert sorted(failed.values_list("map_index", flat=True)) == list(FAILING)
    start = mapped_run.start_time
    span = max(now() if mapped_run.end_time is None else mapped_run.end_time, start) - start
    span_s = span.total_seconds()
    slice_units = UNITS / BUCKETS
    ends = [(run.end_time - start).total_seconds() / span_s * UNITS for run in failed]

    # Each failure is drawn in the slice of the axis where it ended (give or take the rounding
    # of slice bounds to microseconds), nowhere else.
    def within(x, end):
        return x - 0.05 <= end < x + slice_units + 0.05

    for x in xs:
        assert any(within(x, end) for end in ends), (x, sorted(ends))
    for end in ends:
        assert any(within(x, end) for x in xs), (end, xs)
    # Not a proportion bar laid over the whole span: the failures cover few slices.
    assert len(xs) < BUCKETS / 2


def test_expanding_a_map_pages_its_rows(client, mapped_run):
    key = mapped_run.task_runs.filter(map_index__gte=0).first().task_key
    first = _build(mapped_run, expand={key})
    assert first.rows == ROWS_PER_PAGE and first.pages == 2 and first.hidden_rows == 100
    html = client.get(f"/flow-runs/{mapped_run.id}/", {"expand": key}).content.decode()
    assert html.count('class="tl__label"') == ROWS_PER_PAGE
    assert "Rows 1–100 of 200" in _text(html)
    assert "Later rows →" in html and f"expand={key}&amp;rows=2#timeline" in html
    second = client.get(f"/flow-runs/{mapped_run.id}/", {"expand": key, "rows": 2})
    html = second.content.decode()
    assert html.count('class="tl__label"') == ROWS_PER_PAGE
    assert "Rows 101–200 of 200" in _text(html) and "← Earlier rows" in html
    assert "fold</a>" in html  # the group list offers to fold it again


def test_plain_calls_page_and_odd_page_numbers_clamp(client, steps_run):
    assert _build(steps_run).pages == 3
    last = _build(steps_run, page=3)
    assert last.rows == 50 and last.first_row == 201 and last.last_row == 250
    assert _build(steps_run, page="999").page == 3
    for odd in ("abc", "-4", "0", "²"):
        response = client.get(f"/flow-runs/{steps_run.id}/", {"rows": odd})
        assert response.status_code == 200
        assert "Rows 1–100 of 250" in _text(response.content.decode())


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
    assert "10,000 ok" in _text(str(timeline.svg))


def test_an_unfinished_map_counts_its_running_runs_where_they_started():
    flow_run = make_flow_run(state="Running")
    for index in range(5):
        make_task_run(
            flow_run,
            task_name="slow",
            task_key="key-slow",
            map_index=index,
            state="Running" if index >= 3 else "Completed",
        )
    timeline = _build(flow_run)
    assert timeline.rows == 1
    svg = str(timeline.svg)
    assert "3 ok, 2 running" in _text(svg)
    tips = re.findall(r"<title>[^<]*: ([^<]*)</title>", svg)
    counted = Counter()
    for tip in tips:
        for count, name in re.findall(r"(\d+) (\w+)", tip):
            counted[name] += int(count)
    assert counted == {"Running": 2, "Completed": 3}
