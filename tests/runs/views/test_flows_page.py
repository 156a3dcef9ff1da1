"""The Flows page: a Run form per registered flow, typed from its parameters."""

from __future__ import annotations

import pytest

from runs.models import FlowRun
from runs.registry import register_flow


@pytest.fixture
def quick_flow():
    return register_flow("tests.runs.views.sample_flows:dashboard_quick")


def test_each_registered_flow_has_a_form_with_typed_fields_and_defaults(client, quick_flow):
    html = client.get("/flows/").content.decode()
    prefix = f"f{quick_flow.id}"
    assert "Run dashboard-quick" in html
    assert f'<label for="id_{prefix}-n">n</label>' in html and "<strong>Required.</strong>" in html
    # Numbers are typed as text, so what the browser cannot read still reaches the server.
    assert f'type="text" name="{prefix}-n" inputmode="numeric"' in html
    assert f'name="{prefix}-label" value="x"' in html
    assert f'type="text" name="{prefix}-ratio" value="0.5" inputmode="decimal"' in html
    assert f'type="checkbox" name="{prefix}-loud"' in html


def test_bad_parameters_are_shown_inline_and_nothing_starts(client, quick_flow):
    before = FlowRun.objects.filter(flow=quick_flow).count()
    prefix = f"f{quick_flow.id}"
    response = client.post(
        "/flows/dashboard-quick/run/", {f"{prefix}-n": "three", f"{prefix}-ratio": "0.5"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Expected a whole number, e.g. 3" in html and 'class="field-error"' in html
    missing = client.post("/flows/dashboard-quick/run/", {f"{prefix}-ratio": "0.5"})
    assert "This field is required" in missing.content.decode()
    assert FlowRun.objects.filter(flow=quick_flow).count() == before


def test_submitting_starts_a_scheduled_run_and_opens_its_page(client, quick_flow):
    prefix = f"f{quick_flow.id}"
    response = client.post(
        "/flows/dashboard-quick/run/",
        {
            f"{prefix}-n": "4",
            f"{prefix}-label": "hello",
            f"{prefix}-ratio": "0.25",
            f"{prefix}-loud": "on",
        },
    )
    assert response.status_code == 302
    run = FlowRun.objects.filter(flow=quick_flow).order_by("-created").first()
    assert response["Location"] == f"/flow-runs/{run.id}/"
    assert run.parameters == {"n": 4, "label": "hello", "ratio": 0.25, "loud": True}
    page = client.get(response["Location"]).content.decode()
    run.refresh_from_db()  # a worker may have finished it before the page was read
    assert 'hx-trigger="every 1s"' in page or run.state_type == "COMPLETED"


def test_an_unknown_flow_is_a_404_with_the_list(client):
    response = client.post("/flows/no-such-flow/run/", {})
    assert response.status_code == 404
    assert "No registered flow is named" in response.content.decode()
