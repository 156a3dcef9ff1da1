"""Finding things in the run lists (issue 15, item 5): retried, duration and message filters,
sortable columns that stay keyset-paged, times with their zone, a Cached run's source, and
``since`` after ``until`` is an error. Runs come from running the sample flow."""

from __future__ import annotations

import uuid

import pytest

from runs import selectors
from runs.models import FlowRun
from runs.orchestration.writer import writer
from tests.runs.views.sample_flows import dashboard_sample


@pytest.fixture(scope="module")
def two_samples():
    """Two runs of the sample flow with one salt: the second one's cached task is Cached."""
    salt = uuid.uuid4().hex
    first = dashboard_sample(count=3, salt=salt, return_state=True)
    second = dashboard_sample(count=3, salt=salt, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=first.flow_run_id), FlowRun.objects.get(id=second.flow_run_id)


def _names(client, **query) -> str:
    return client.get("/task-runs/", query).content.decode()


def test_retried_finds_runs_that_ran_more_than_once_after_they_finished(client, two_samples):
    first, _ = two_samples
    flaky = first.task_runs.get(task_name="fails_once")
    square = first.task_runs.filter(task_name="square").first()

    retried = _names(client, flow_run=str(first.id), retried="true")
    once = _names(client, flow_run=str(first.id), retried="false")

    assert flaky.state_type == "COMPLETED" and flaky.run_count == 2
    assert flaky.name in retried and square.name not in retried
    assert square.name in once and flaky.name not in once


def test_duration_and_message_filters(client, two_samples):
    first, _ = two_samples
    slow = first.task_runs.get(task_name="too_slow")
    square = first.task_runs.filter(task_name="square").first()

    long_ones = _names(client, flow_run=str(first.id), min_duration="0.09")
    timed_out = _names(client, flow_run=str(first.id), message="timeout of 0.1")

    assert slow.name in long_ones and square.name not in long_ones
    assert slow.name in timed_out and square.name not in timed_out


def test_a_bad_duration_or_flag_is_an_error_beside_its_field(client):
    page = client.get("/task-runs/", {"min_duration": "soon", "retried": "maybe"})

    html = page.content.decode()
    assert page.status_code == 400
    assert "is not a duration" in html and "is not yes or no" in html


def test_since_after_until_is_an_error_not_an_empty_list(client):
    page = client.get("/flow-runs/", {"since": "2026-11-25", "until": "2026-11-24"})
    api = client.get("/api/flow-runs/", {"since": "2026-11-25", "until": "2026-11-24"})

    assert page.status_code == 400
    assert "is not after since" in page.content.decode()
    assert api.status_code == 400 and "until" in api.json()


def test_sorting_by_duration_pages_by_keyset_without_gaps_or_repeats(two_samples):
    first, _ = two_samples
    queryset, ordering = selectors.run_sort(selectors.task_runs(flow_run=first.id), "-duration")
    expected = [run.id for run in queryset.order_by(*ordering)]

    seen, cursor = [], None
    while True:
        page = selectors.keyset_page(queryset, cursor=cursor, size=2, ordering=ordering)
        seen += [run.id for run in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    assert seen == expected and len(seen) == first.task_runs.count()
    durations = [run.duration for run in queryset.order_by(*ordering) if run.duration]
    assert durations == sorted(durations, reverse=True)


def test_column_headers_sort_and_say_so(client, two_samples):
    first, _ = two_samples

    page = client.get("/task-runs/", {"flow_run": str(first.id), "sort": "-duration"})

    html = page.content.decode()
    assert page.status_code == 200
    assert 'aria-sort="descending"><a class="sort-link" href="?flow_run=' in html
    assert "sort=duration" in html  # the next click sorts the other way
    assert html.index(first.task_runs.get(task_name="too_slow").name) < html.index(
        first.task_runs.filter(task_name="square").first().name
    )
    assert client.get("/task-runs/", {"sort": "sideways"}).status_code == 400


def test_times_show_their_zone(client, two_samples):
    assert " UTC</time>" in client.get("/flow-runs/").content.decode()


def test_a_cached_run_links_to_the_run_that_computed_its_result(client, two_samples):
    first, second = two_samples
    computed = first.task_runs.get(task_name="cached_total")
    cached = second.task_runs.get(task_name="cached_total")

    page = client.get(f"/task-runs/{cached.id}/").content.decode()

    assert cached.state_name == "Cached"
    assert f'<dt>Result from</dt><dd><a href="/task-runs/{computed.id}/">' in page
