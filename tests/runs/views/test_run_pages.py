"""Flow run and task run pages: history, timeline, links, logs, live polling, badges."""

from __future__ import annotations

import datetime as dt

from runs.badges import badge_for
from runs.models import TaskRunDependency
from runs.states import now
from tests.runs.views.helpers import make_flow_run, make_task_run, unique


def test_flow_run_page_shows_badges_timeline_links_parameters_and_logs(client, sample_run):
    html = client.get(f"/flow-runs/{sample_run.id}/").content.decode()
    assert "badge--timedout" in html and ">TimedOut</span>" in html
    assert '<svg class="timeline"' in html
    assert "square ×4" in html  # the map is one row until expanded
    assert "fails_once-0</a> → <a" in html  # an upstream link
    assert "sample flow starts" in html and "first attempt fails on purpose" in html
    assert "<dt>count</dt>" in html


def test_flow_run_log_level_filter_keeps_higher_levels(client, sample_run):
    html = client.get(f"/flow-runs/{sample_run.id}/", {"level": "ERROR"}).content.decode()
    assert "sample flow logs an error line" in html
    assert "sample flow starts" not in html
    fragment = client.get(
        f"/flow-runs/{sample_run.id}/",
        {"level": "WARNING", "fragment": "logs"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="logs">')
    assert "first attempt fails on purpose" in fragment


def test_expanding_a_map_draws_one_row_per_run(client, sample_run):
    square = sample_run.task_runs.filter(map_index__gte=0).first()
    html = client.get(f"/flow-runs/{sample_run.id}/", {"expand": square.task_key}).content.decode()
    assert "square ×4" not in html
    for index in range(4):
        assert f">square-{index}</a>" in html  # one labelled row per run


def test_unfinished_flow_run_polls_and_a_final_one_does_not(client):
    running = make_flow_run(state="Running")
    html = client.get(f"/flow-runs/{running.id}/").content.decode()
    assert 'hx-trigger="every 1s"' in html and "fragment=live" in html
    fragment = client.get(
        f"/flow-runs/{running.id}/", {"fragment": "live"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="flow-run-live"')
    running.state_type, running.state_name, running.end_time = "COMPLETED", "Completed", now()
    running.save()
    fragment = client.get(
        f"/flow-runs/{running.id}/", {"fragment": "live"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in fragment and "badge--completed" in fragment


def test_subflows_are_listed_on_the_parent(client):
    parent = make_flow_run()
    task_run = make_task_run(parent)
    child = make_flow_run(name=unique("child"))
    child.parent_task_run = task_run
    child.save()
    assert child.name in client.get(f"/flow-runs/{parent.id}/").content.decode()
    assert child.name in client.get(f"/task-runs/{task_run.id}/").content.decode()


def test_task_run_page_shows_history_with_durations_retries_and_cache(client, sample_run):
    retried = sample_run.task_runs.get(task_name="fails_once")
    html = client.get(f"/task-runs/{retried.id}/").content.decode()
    for name in ("AwaitingRetry", "Retrying", "Completed"):
        assert f"badge--{name.lower()}" in html
    assert "<dt>Run count</dt><dd>2</dd>" in html
    assert "<dt>Retries</dt><dd>1</dd>" in html
    assert "first attempt fails" in html  # the failed attempt's message
    cached = sample_run.task_runs.get(task_name="cached_total")
    html = client.get(f"/task-runs/{cached.id}/").content.decode()
    assert cached.cache_key[:20] in html and "Expire this cache entry" in html
    assert "fails_once-0" in html  # upstream


def test_task_run_page_lists_downstream_runs(client):
    flow_run = make_flow_run()
    upstream = make_task_run(flow_run, name=unique("up"))
    downstream = make_task_run(flow_run, name=unique("down"))
    TaskRunDependency.objects.create(upstream=upstream, downstream=downstream, parameter="x")
    assert downstream.name in client.get(f"/task-runs/{upstream.id}/").content.decode()
    assert upstream.name in client.get(f"/task-runs/{downstream.id}/").content.decode()


def test_running_task_run_polls(client):
    run = make_task_run(
        make_flow_run(state="Running"),
        state="Retrying",
        history=("Pending", "Running", "AwaitingRetry", "Retrying"),
        created=now() - dt.timedelta(seconds=2),
    )
    html = client.get(f"/task-runs/{run.id}/").content.decode()
    assert 'hx-trigger="every 1s"' in html and "badge--retrying" in html


def test_badges_tell_timedout_from_failed_and_retrying_from_running():
    assert badge_for("FAILED", "TimedOut").css != badge_for("FAILED", "Failed").css
    assert badge_for("RUNNING", "Retrying").css != badge_for("RUNNING", "Running").css
    assert badge_for("FAILED", "TimedOut").symbol != badge_for("FAILED", "Failed").symbol
    assert badge_for("RUNNING", "Retrying").symbol != badge_for("RUNNING", "Running").symbol
    for name in (
        "Scheduled",
        "AwaitingRetry",
        "Pending",
        "AwaitingConcurrencySlot",
        "Running",
        "Retrying",
        "Completed",
        "Cached",
        "Failed",
        "TimedOut",
        "Aborted",
        "Crashed",
        "Cancelled",
    ):
        badge = badge_for(None, name)
        assert badge.name == name and f"badge--{name.lower()}" in badge.css
        assert f"badge--{badge.type.lower()}" in badge.css  # the type's colour family


def test_log_lines_poll_while_the_run_is_unfinished(client):
    from runs.logging import flow_run_logger
    from runs.orchestration.writer import writer

    running = make_flow_run(state="Running")
    flow_run_logger(running).info("still going")
    writer.flush()
    html = client.get(f"/flow-runs/{running.id}/").content.decode()
    assert (
        'id="log-follow"' in html and "fragment=log-follow" in html
    )  # tests/runs/views/test_logs.py
    lines = client.get(
        f"/flow-runs/{running.id}/", {"fragment": "log-lines"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert lines.lstrip().startswith('<div id="log-lines"') and "still going" in lines
    running.state_type, running.state_name = "COMPLETED", "Completed"
    running.save()
    lines = client.get(
        f"/flow-runs/{running.id}/", {"fragment": "log-lines"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in lines


def test_an_unfinished_flow_run_can_be_cancelled_from_its_page(client):
    running = make_flow_run(state="Running")
    html = client.get(f"/flow-runs/{running.id}/").content.decode()
    assert "Cancel this run" in html
    response = client.post(f"/flow-runs/{running.id}/cancel/", follow=True)
    running.refresh_from_db()
    assert running.state_name == "Cancelled"
    assert "Cancelled flow run" in response.content.decode()
    assert "Cancel this run" not in response.content.decode()
    again = client.post(f"/flow-runs/{running.id}/cancel/", follow=True)
    assert "already Cancelled" in again.content.decode()
