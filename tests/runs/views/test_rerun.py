"""Re-run from the dashboard (issue 15, item 3): "Run again" opens the Run form filled with a
run's parameters; "Retry failed" starts the same flow with the same parameters as a new flow
run linked to the first; a Cancel asks first."""

from __future__ import annotations

import pytest

from runs.models import FlowRun
from runs.registry import register_flow
from runs.services.flow_runs import start_flow_run
from tests.runs.views.conftest import make_user
from tests.runs.views.sample_flows import held_run


@pytest.fixture
def quick_flow():
    return register_flow("tests.runs.views.sample_flows:dashboard_quick")


@pytest.fixture
def finished_failed_run():
    """A finished flow run of a registered flow with a failed and a timed-out task run."""
    from runs.orchestration.writer import writer
    from tests.runs.views.sample_flows import dashboard_sample

    register_flow("tests.runs.views.sample_flows:dashboard_sample")
    state = dashboard_sample(count=2, salt="rerun", return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id)


def test_run_again_fills_the_form_with_the_runs_parameters(client, quick_flow):
    run = start_flow_run(
        flow_name="dashboard-quick", parameters={"n": 7, "label": "again", "ratio": 0.75}
    )

    page = client.get(f"/flows/?rerun={run.id}").content.decode()

    prefix = f"f{quick_flow.id}"
    assert f'name="{prefix}-n" value="7"' in page
    assert f'name="{prefix}-label" value="again"' in page
    assert f'name="{prefix}-ratio" value="0.75"' in page
    assert f'flow run <a href="/flow-runs/{run.id}/">{run.name}</a>' in page


def test_retry_failed_starts_a_linked_run_with_the_same_parameters(client, finished_failed_run):
    first = finished_failed_run
    page = client.get(f"/flow-runs/{first.id}/").content.decode()
    assert "Retry failed" in page and "Run again" in page
    assert "TimedOut</span>" in page  # the summary names the task runs to look at

    response = client.post(f"/flow-runs/{first.id}/rerun/")

    new = FlowRun.objects.get(rerun_of=first)
    assert response.status_code == 302 and response["Location"] == f"/flow-runs/{new.id}/"
    assert new.parameters == first.parameters and new.flow_id == first.flow_id
    assert "Re-run of" in client.get(response["Location"]).content.decode()


def test_a_viewer_sees_no_rerun_buttons_and_cannot_post(finished_failed_run):
    from django.test import Client

    viewer = Client()
    viewer.force_login(make_user("viewer"))

    page = viewer.get(f"/flow-runs/{finished_failed_run.id}/").content.decode()
    response = viewer.post(f"/flow-runs/{finished_failed_run.id}/rerun/")

    assert "Retry failed" not in page and "Run again" not in page
    assert response.status_code == 403
    assert not FlowRun.objects.filter(rerun_of=finished_failed_run).exists()


def test_an_unfinished_run_cannot_be_rerun_and_its_cancel_asks_first(client):
    with held_run() as run:
        response = client.post(f"/flow-runs/{run.id}/rerun/", follow=True)
        page = client.get(f"/flow-runs/{run.id}/").content.decode()

    assert "re-run it once it has finished" in response.content.decode()
    assert not FlowRun.objects.filter(rerun_of=run).exists()
    assert 'hx-confirm="Cancel flow run' in page


def test_the_list_row_of_a_completed_run_names_its_failed_task_runs(client, finished_failed_run):
    page = client.get("/flow-runs/", {"flow": finished_failed_run.flow.name}).content.decode()

    assert 'class="task-count task-count--failed"' in page
    assert "TimedOut</span>" in page
