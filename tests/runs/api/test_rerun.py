"""POST /api/flow-runs/ID/rerun/ (issue 15, item 3): the same flow and parameters as a new
flow run linked to the first, from scripts."""

from __future__ import annotations

import pytest

from runs.models import FlowRun
from runs.orchestration.writer import writer
from runs.registry import register_flow
from tests.runs.api.flows import needs_name
from tests.runs.api.seed import api_client
from tests.runs.views.sample_flows import held_run


@pytest.fixture
def finished_run():
    register_flow("tests.runs.api.flows:needs_name")
    state = needs_name("ab", times=2, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id)


def test_rerun_answers_201_with_a_new_linked_run_of_the_same_parameters(finished_run):
    response = api_client("operator").post(f"/api/flow-runs/{finished_run.id}/rerun/")

    body = response.json()
    assert response.status_code == 201, body
    assert body["rerun_of"] == str(finished_run.id)
    assert body["parameters"] == {"name": "ab", "times": 2}
    assert body["flow"] == "api-needs-name"
    assert response["Location"] == body["url"]
    assert body["state"]["type"] in ("SCHEDULED", "PENDING", "RUNNING", "COMPLETED")


def test_rerun_of_an_unfinished_run_is_409_naming_why():
    with held_run() as run:
        response = api_client("operator").post(f"/api/flow-runs/{run.id}/rerun/")

    assert response.status_code == 409
    assert "once it has finished" in response.json()["detail"]


def test_a_viewer_may_not_rerun_and_an_unknown_id_is_404(finished_run):
    refused = api_client("viewer").post(f"/api/flow-runs/{finished_run.id}/rerun/")
    missing = api_client("operator").post(
        "/api/flow-runs/00000000-0000-0000-0000-000000000000/rerun/"
    )

    assert refused.status_code == 403
    assert missing.status_code == 404
    assert not FlowRun.objects.filter(rerun_of=finished_run).exists()


def test_the_client_reruns_in_process(finished_run):
    from runs.client import get_client

    with get_client(sync_client=True) as client:
        new = client.rerun_flow_run(finished_run.id)

    assert new.rerun_of_id == finished_run.id
    assert new.parameters == {"name": "ab", "times": 2}
