"""Values a database cannot hold, sent to POST /api/flow-runs/: stored made safe, never a 500,
and the web process goes on starting runs."""

from __future__ import annotations

from runs.models import FlowRun
from runs.orchestration.writer import writer
from runs.registry import register_flow
from tests.runs.api.seed import api_client


def test_a_nan_parameter_starts_a_run_a_nul_is_a_400_and_later_posts_still_work():
    register_flow("tests.runs.orchestration.bad_value_tasks:scaled")
    client = api_client()

    odd = client.post(
        "/api/flow-runs/",
        {"flow": "bad-values-scaled", "parameters": {"factor": "NaN", "label": "-Infinity"}},
        format="json",
    )
    nul = client.post(
        "/api/flow-runs/",
        {"flow": "bad-values-scaled", "parameters": {"factor": 1, "label": "a\x00b"}},
        format="json",
    )
    later = client.post(
        "/api/flow-runs/",
        {"flow": "bad-values-scaled", "parameters": {"factor": 1.5}},
        format="json",
    )

    assert odd.status_code == 201, odd.content
    assert nul.status_code == 400 and "NUL" in nul.json()["parameters"][0]
    assert later.status_code == 201, later.content
    writer.flush()
    assert FlowRun.objects.get(id=odd.json()["id"]).parameters == {
        "factor": "NaN",
        "label": "-Infinity",
    }
    assert FlowRun.objects.get(id=later.json()["id"]).parameters == {"factor": 1.5, "label": ""}
    assert client.get(f"/api/flow-runs/{odd.json()['id']}/").json()["parameters"]["factor"] == "NaN"
