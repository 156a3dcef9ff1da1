"""A flow run's log lines include its task runs' (logger and prints) on every face."""

from __future__ import annotations

from django.test import Client

from runs.client import get_client
from runs.models import Log
from runs.selectors import logs_for
from tests.runs.api.seed import api_client, user, walk
from tests.runs.selectors.logged_flows import run_logged_flow

EXPECTED = ["flow starts", "task warns about 3", "task prints 3", "flow ends badly"]


def test_task_run_log_lines_are_stored_with_their_flow_run():
    run, warned, printed = run_logged_flow(3)

    rows = Log.objects.filter(task_run__in=[warned, printed])

    assert sorted(rows.values_list("message", flat=True)) == ["task prints 3", "task warns about 3"]
    assert set(rows.values_list("flow_run_id", flat=True)) == {run.id}


def test_logs_for_a_flow_run_include_its_task_runs_and_filter_by_level():
    run, warned, printed = run_logged_flow(3)

    assert [line.message for line in logs_for(run)] == EXPECTED
    assert [line.message for line in logs_for(run, level="WARNING")] == [
        "task warns about 3",
        "flow ends badly",
    ]
    assert [line.message for line in logs_for(warned)] == ["task warns about 3"]
    assert [line.message for line in logs_for(printed)] == ["task prints 3"]


def test_the_api_lists_a_flow_runs_task_run_lines_both_ways():
    run, warned, _ = run_logged_flow(3)
    client = api_client()

    nested = walk(client, f"/api/flow-runs/{run.id}/logs/?page_size=2")
    listed = walk(client, f"/api/logs/?flow_run={run.id}")
    of_task = walk(client, f"/api/logs/?task_run={warned.id}")

    assert [line["message"] for line in nested] == EXPECTED
    assert [line["message"] for line in listed] == EXPECTED
    assert [(line["message"], line["flow_run"]) for line in of_task] == [
        ("task warns about 3", str(run.id))
    ]


def test_the_client_reads_a_flow_runs_task_run_lines():
    run, _, printed = run_logged_flow(3)

    lines = get_client(sync_client=True).read_logs(flow_run_id=run.id)

    assert [line.message for line in lines] == EXPECTED
    assert [line.task_run_id for line in lines if line.message == "task prints 3"] == [printed.id]


def test_the_dashboard_shows_the_same_lines():
    run, _, _ = run_logged_flow(3)
    browser = Client()
    browser.force_login(user())

    page = browser.get(f"/flow-runs/{run.id}/").content.decode()

    positions = [page.index(message) for message in EXPECTED]
    assert positions == sorted(positions)
