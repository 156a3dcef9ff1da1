"""The run lists' new filters and sorts through the API: the same selectors as the dashboard
(issue 15, item 5)."""

from __future__ import annotations

import uuid

import pytest

from runs.models import FlowRun
from runs.orchestration.writer import writer
from tests.runs.api.seed import api_client
from tests.runs.views.sample_flows import dashboard_sample


@pytest.fixture(scope="module")
def sample():
    state = dashboard_sample(count=3, salt=uuid.uuid4().hex, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id)


def _names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["task_name"] for item in response.json()["results"]]


def test_retried_duration_and_message_filter_task_runs(sample):
    client = api_client("viewer")
    query = {"flow_run": str(sample.id)}

    retried = _names(client.get("/api/task-runs/", {**query, "retried": "true"}))
    long_ones = _names(client.get("/api/task-runs/", {**query, "min_duration": "0.09"}))
    timed_out = _names(client.get("/api/task-runs/", {**query, "message": "TIMEOUT OF"}))

    assert retried == ["fails_once"]
    assert "too_slow" in long_ones and "square" not in long_ones
    assert timed_out == ["too_slow"]


def test_sort_by_duration_puts_the_longest_first_and_a_bad_sort_is_a_400(sample):
    client = api_client("viewer")

    longest = client.get(
        "/api/task-runs/", {"flow_run": str(sample.id), "sort": "-duration", "page_size": 1}
    )
    bad = client.get("/api/flow-runs/", {"sort": "sideways"})

    assert _names(longest) == ["too_slow"]
    assert longest.json()["next"]  # keyset pages go on in that order
    assert bad.status_code == 400 and "sort" in bad.json()


def test_a_bad_duration_names_its_field(sample):
    response = api_client("viewer").get("/api/flow-runs/", {"max_duration": "-1"})

    assert response.status_code == 400
    assert "max_duration" in response.json()
