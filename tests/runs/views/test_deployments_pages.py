"""The Deployments pages: schedules in words, next and last runs, pause/resume, Run now (to the
run's page, or to the filled-in Run form when a required parameter is missing), schedule
toggles; and the Run form's Deployment and Work queue selects."""

from __future__ import annotations

import pytest
from django.test import Client

from runs.registry import register_flow
from runs.selectors.deployments import deployment_detail, get_deployment
from runs.selectors.runs import get_flow_run
from runs.services.deployments import ScheduleInput, create_deployment, pause_deployment
from runs.services.scheduling import schedule_pass
from runs.services.work_queues import create_work_queue
from tests.runs.views.conftest import make_user, unique

ADD = "tests.runs.deploy_flows:add"
HELLO = "tests.runs.deploy_flows:hello"


@pytest.fixture(autouse=True)
def _registered():
    register_flow(ADD)
    register_flow(HELLO)


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def deployment(**given):
    given.setdefault("flow_name", "deploy-tests-add")
    given.setdefault("name", unique("dep"))
    given.setdefault("parameters", {"x": 2})
    return create_deployment(**given)


def held_queue():
    return create_work_queue(name=unique("wq"), concurrency_limit=0)


def test_the_list_shows_schedules_next_run_last_run_and_queue(client):
    queue = held_queue()
    made = deployment(
        work_queue=queue.name,
        schedules=[ScheduleInput(kind="cron", value="0 9 * * 1-5", timezone="Europe/Paris")],
    )
    schedule_pass(deployment_ids=[made.id])
    next_run = deployment_detail(made.id).upcoming[0]

    html = client.get("/deployments/").content.decode()

    row = html.split(f'data-deployment="{made.full_name}"')[1].split("</tr>")[0]
    assert "0 9 * * 1-5" in row and "Europe/Paris" in row
    assert f"/flow-runs/{next_run.id}/" in row and "(in " in row
    assert "never" in row
    assert f'href="/work-queues/{queue.name}/"' in row
    assert "Run now" in row and "Pause" in row


def test_the_deployment_page_shows_upcoming_runs_settings_and_schedules(client):
    queue = held_queue()
    made = deployment(
        work_queue=queue.name,
        tags=["etl"],
        description="adds numbers",
        schedules=[ScheduleInput(kind="interval", value="3600")],
    )
    schedule_pass(deployment_ids=[made.id])
    upcoming = deployment_detail(made.id).upcoming

    html = client.get(f"/deployments/{made.id}/").content.decode()

    assert made.full_name in html and "adds numbers" in html
    assert "every 1 hour" in html or "every hour" in html
    assert all(f"/flow-runs/{run.id}/" in html for run in upcoming[:3])
    assert '<span class="tag">etl</span>' in html and f"/work-queues/{queue.name}/" in html
    assert "<dt>x</dt><dd><code>2</code></dd>" in html
    assert "Pause schedule" in html


def test_run_now_opens_the_new_flow_run_page(client):
    made = deployment(work_queue=held_queue().name, tags=["nightly"])

    response = client.post(f"/deployments/{made.id}/run/")

    assert response.status_code == 302 and response["Location"].startswith("/flow-runs/")
    run = get_flow_run(response["Location"].split("/")[2])
    assert run.deployment_id == made.id and run.parameters["x"] == 2 and run.tags == ["nightly"]
    page = client.get(f"/deployments/{made.id}/").content.decode()
    assert run.name in page


def test_run_now_without_a_required_parameter_opens_the_filled_run_form(client):
    queue = held_queue()
    made = deployment(parameters={}, work_queue=queue.name)

    response = client.post(f"/deployments/{made.id}/run/")

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"/flows/?deployment={made.id}")
    html = client.get(location).content.decode()
    assert "cannot run with its defaults" in html
    form = html.split(f'id="run-form-{made.flow_id}"')[1].split("</form>")[0]
    assert f'<option value="{made.id}" selected>' in form
    assert f'<option value="{queue.name}" selected>' in form


def test_pause_and_resume_from_the_list_and_the_page(client):
    made = deployment(schedules=[ScheduleInput(kind="interval", value="60")])

    response = client.post(f"/deployments/{made.id}/pause/")
    assert response.status_code == 302 and response["Location"] == "/deployments/"
    assert get_deployment(made.id).paused
    row = client.get("/deployments/").content.decode().split(f'data-deployment="{made.full_name}"')
    assert "Paused" in row[1].split("</tr>")[0] and "Resume" in row[1].split("</tr>")[0]

    response = client.post(f"/deployments/{made.id}/resume/", {"next": "detail"})
    assert response["Location"] == f"/deployments/{made.id}/"
    assert not get_deployment(made.id).paused


def test_a_schedule_is_paused_and_resumed_from_the_page(client):
    made = deployment(schedules=[ScheduleInput(kind="interval", value="3600")])
    schedule = deployment_detail(made.id).schedules[0]
    schedule_pass(deployment_ids=[made.id])
    assert deployment_detail(made.id).upcoming

    client.post(f"/deployments/{made.id}/schedules/{schedule.id}/active/", {"active": "0"})

    detail = deployment_detail(made.id)
    assert not detail.schedules[0].active and not detail.upcoming
    html = client.get(f"/deployments/{made.id}/").content.decode()
    assert "Resume schedule" in html and "(paused)" in html
    client.post(f"/deployments/{made.id}/schedules/{schedule.id}/active/", {"active": "1"})
    assert deployment_detail(made.id).schedules[0].active


def test_a_schedule_of_another_deployment_is_404(client):
    one = deployment(schedules=[ScheduleInput(kind="interval", value="3600")])
    other = deployment()
    schedule = deployment_detail(one.id).schedules[0]

    response = client.post(f"/deployments/{other.id}/schedules/{schedule.id}/active/")

    assert response.status_code == 404
    assert deployment_detail(one.id).schedules[0].active


def test_viewers_read_operators_act():
    made = deployment(work_queue=held_queue().name)
    viewer = signed_in("viewer")

    html = viewer.get("/deployments/").content.decode()
    assert made.full_name in html and "Run now" not in html
    assert viewer.get(f"/deployments/{made.id}/").status_code == 200
    assert viewer.post(f"/deployments/{made.id}/run/").status_code == 403
    assert viewer.post(f"/deployments/{made.id}/pause/").status_code == 403
    operator = signed_in("operator")
    assert operator.post(f"/deployments/{made.id}/pause/").status_code == 302
    assert get_deployment(made.id).paused


def test_unknown_deployments_are_404_not_500(client):
    assert client.get("/deployments/999999999/").status_code == 404
    assert client.post("/deployments/999999999/run/").status_code == 404
    assert client.post("/deployments/999999999/pause/").status_code == 404
    assert client.get("/flows/?deployment=999999999").status_code == 404


def test_a_paused_deployment_says_so_on_its_page(client):
    made = deployment(schedules=[ScheduleInput(kind="interval", value="3600")])
    pause_deployment(made.id)

    html = client.get(f"/deployments/{made.id}/").content.decode()

    assert "Paused: its schedules make no new runs." in html
    assert "None: the deployment is paused." in html


def test_the_live_fragment_holds_the_runs_only(client):
    made = deployment()

    response = client.get(f"/deployments/{made.id}/?fragment=live", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="deployment-live"') and "<html" not in html


# ---- the Run form ----------------------------------------------------------------------------


def test_the_run_form_offers_the_flows_deployments_and_the_queues(client):
    made = deployment()
    queue = create_work_queue(name=unique("wq-form"))

    html = client.get("/flows/").content.decode()

    form = html.split(f'id="run-form-{made.flow_id}"')[1].split("</form>")[0]
    assert f'<option value="{made.id}">{made.name}</option>' in form
    assert '<option value="default" selected>' in form and f'value="{queue.name}"' in form


def test_choosing_a_deployment_fills_its_defaults(client):
    queue = held_queue()
    made = deployment(parameters={"x": 41}, work_queue=queue.name)

    html = client.get(f"/flows/?deployment={made.id}").content.decode()

    form = html.split(f'id="run-form-{made.flow_id}"')[1].split("</form>")[0]
    assert 'value="41"' in form and f'<option value="{queue.name}" selected>' in form


def test_the_run_form_runs_a_deployment_in_the_queue_chosen(client):
    queue = held_queue()
    made = deployment(parameters={"x": 5}, tags=["from-form"])
    prefix = f"f{made.flow_id}"

    response = client.post(
        "/flows/deploy-tests-add/run/",
        {f"{prefix}-x": "7", "deployment": str(made.id), "work_queue": queue.name},
    )

    assert response.status_code == 302
    run = get_flow_run(response["Location"].split("/")[2])
    assert run.deployment_id == made.id and run.work_queue_id == queue.id
    assert run.parameters["x"] == 7 and run.tags == ["from-form"]


def test_the_run_form_without_selects_goes_to_the_default_queue(client):
    row = register_flow(HELLO)

    response = client.post(f"/flows/{row.name}/run/", {f"f{row.id}-name": "you"})

    assert response.status_code == 302
    run = get_flow_run(response["Location"].split("/")[2])
    assert run.work_queue.name == "default" and run.deployment_id is None


@pytest.mark.parametrize("field", ["work_queue", "deployment"])
def test_a_bad_queue_or_deployment_is_shown_beside_its_select(client, field):
    made = deployment()
    other = deployment(flow_name="deploy-tests-hello", parameters={})
    values = {"work_queue": "default", "deployment": str(made.id)}
    values[field] = unique("missing") if field == "work_queue" else str(other.id)

    response = client.post("/flows/deploy-tests-add/run/", {f"f{made.flow_id}-x": "1", **values})

    assert response.status_code == 400
    html = response.content.decode()
    error = html.split(f'id="f{made.flow_id}-{field}_error"')[1].split("</p>")[0]
    assert ("No work queue" in error) if field == "work_queue" else ("runs another flow" in error)
