"""The Work queues pages: counts and the waiting line from real runs, pause/resume and limits
from the page (Admins only), the create form's errors beside its fields, the flow run page's
place in line."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from runs.registry import register_flow
from runs.selectors.work_queues import work_queue_detail
from runs.services.deployments import create_deployment, run_deployment
from runs.services.flow_runs import start_flow_run
from runs.services.scheduling import mark_late_runs
from runs.services.work_queues import create_work_queue, get_work_queue
from runs.states import now
from tests.runs.views.conftest import make_user, unique

ADD = "tests.runs.deploy_flows:add"


@pytest.fixture(autouse=True)
def _registered():
    register_flow(ADD)


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def held_queue(**given):
    """A queue that starts nothing (limit 0), so its runs wait in line."""
    given.setdefault("concurrency_limit", 0)
    return create_work_queue(name=unique("wq"), **given)


def waiting_runs(queue, count: int) -> list:
    return [
        start_flow_run(flow_name="deploy-tests-add", parameters={"x": i}, work_queue=queue.name)
        for i in range(count)
    ]


def test_the_list_shows_each_queue_with_its_counts(client):
    queue = held_queue(description="nightly reports")
    waiting_runs(queue, 2)
    unlimited = create_work_queue(name=unique("wq-free"))

    html = client.get("/work-queues/").content.decode()

    assert f'data-queue="{queue.name}"' in html and f'data-queue="{unlimited.name}"' in html
    assert "nightly reports" in html and "Holding" in html
    row = html.split(f'data-queue="{queue.name}"')[1].split("</tr>")[0]
    assert "0 / 0" in row and 'data-label="Waiting">2</td>' in row
    free_row = html.split(f'data-queue="{unlimited.name}"')[1].split("</tr>")[0]
    assert "no limit" in free_row
    assert 'data-queue="default"' in html


def test_the_queue_page_shows_the_line_in_order_and_late_runs(client):
    queue = held_queue()
    deployment = create_deployment(
        flow_name="deploy-tests-add",
        name=unique("dep"),
        parameters={"x": 1},
        work_queue=queue.name,
    )
    first = run_deployment(deployment.id)
    second, third = waiting_runs(queue, 2)
    mark_late_runs(now=now() + dt.timedelta(hours=1), deployment_ids=[deployment.id])

    html = client.get(f"/work-queues/{queue.name}/").content.decode()

    assert "Waiting in line (3)" in html
    line = html.split('id="queue-waiting"')[1].split("</section>")[0]
    assert line.index(first.name) < line.index(second.name) < line.index(third.name)
    assert 'data-place="1"' in line and 'data-place="3"' in line
    assert "Late" in line
    assert "Limit 0: starts nothing new" in html


def test_the_live_fragment_is_the_lists_only(client):
    queue = held_queue()
    waiting_runs(queue, 1)

    response = client.get(f"/work-queues/{queue.name}/?fragment=live", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="work-queue-live"') and "<html" not in html


def test_pausing_from_the_page_says_paused_then_resume_starts_again(client):
    queue = create_work_queue(name=unique("wq-pause"))

    response = client.post(f"/work-queues/{queue.name}/pause/", {"next": "detail"})

    assert response.status_code == 302 and response["Location"] == f"/work-queues/{queue.name}/"
    assert get_work_queue(queue.name).paused
    html = client.get(response["Location"]).content.decode()
    assert "Paused: starts nothing new." in html and "Resume" in html
    listed = client.get("/work-queues/").content.decode()
    assert "badge--paused" in listed.split(f'data-queue="{queue.name}"')[1].split("</tr>")[0]

    client.post(f"/work-queues/{queue.name}/resume/")
    assert not get_work_queue(queue.name).paused


def test_setting_and_clearing_a_limit(client):
    queue = create_work_queue(name=unique("wq-limit"))

    response = client.post(f"/work-queues/{queue.name}/limit/", {"concurrency_limit": "3"})
    assert response.status_code == 302
    assert get_work_queue(queue.name).concurrency_limit == 3
    assert "now has a limit of 3" in client.get("/work-queues/").content.decode()

    client.post(f"/work-queues/{queue.name}/limit/", {"concurrency_limit": ""})
    assert get_work_queue(queue.name).concurrency_limit is None


@pytest.mark.parametrize(
    "value,message", [("-1", "cannot be negative"), ("many", "is not a whole number")]
)
def test_a_bad_limit_is_shown_beside_its_field(client, value, message):
    queue = create_work_queue(name=unique("wq-bad"), concurrency_limit=2)

    response = client.post(f"/work-queues/{queue.name}/limit/", {"concurrency_limit": value})

    assert response.status_code == 400
    html = response.content.decode()
    row = html.split(f'data-queue="{queue.name}"')[1].split("</tr>")[0]
    assert message in row and 'class="field-error"' in row and 'aria-invalid="true"' in row
    assert get_work_queue(queue.name).concurrency_limit == 2

    detail = client.post(
        f"/work-queues/{queue.name}/limit/", {"concurrency_limit": value, "next": "detail"}
    )
    assert detail.status_code == 400 and message in detail.content.decode()


def test_creating_a_queue_from_the_form(client):
    name = unique("wq-new")

    response = client.post(
        "/work-queues/", {"name": name, "concurrency_limit": "2", "description": "two at once"}
    )

    assert response.status_code == 302
    queue = get_work_queue(name)
    assert (queue.concurrency_limit, queue.description) == (2, "two at once")
    assert f"runs worker -Q {name}" in client.get("/work-queues/").content.decode()


@pytest.mark.parametrize(
    "name,limit,message",
    [
        ("", "1", "Give the queue a name"),
        ("has space", "1", "letters, digits"),
        ("default", "1", "already exists"),
        ("ok-name", "-3", "cannot be negative"),
        ("ok-name", "2.5", "is not a whole number"),
    ],
)
def test_bad_input_in_the_create_form_is_shown_beside_the_field(client, name, limit, message):
    if name == "ok-name":
        name = unique("wq-ok")

    response = client.post("/work-queues/", {"name": name, "concurrency_limit": limit})

    assert response.status_code == 400
    html = response.content.decode()
    form = html.split('id="work-queue-form"')[1].split("</form>")[0]
    assert message in form and 'class="field-error"' in form


def test_viewers_read_but_cannot_change_queues():
    queue = create_work_queue(name=unique("wq-view"))
    viewer = signed_in("viewer")

    html = viewer.get("/work-queues/").content.decode()
    assert queue.name in html and "New work queue" not in html
    assert "/pause/" not in html and "/limit/" not in html
    assert viewer.get(f"/work-queues/{queue.name}/").status_code == 200
    assert viewer.post(f"/work-queues/{queue.name}/pause/").status_code == 403
    assert viewer.post("/work-queues/", {"name": unique("x")}).status_code == 403
    operator = signed_in("operator")
    assert (
        operator.post(f"/work-queues/{queue.name}/limit/", {"concurrency_limit": "1"}).status_code
        == 403
    )
    assert not get_work_queue(queue.name).paused


def test_unknown_queues_are_404_not_500(client):
    missing = unique("nope")
    assert client.get(f"/work-queues/{missing}/").status_code == 404
    assert client.post(f"/work-queues/{missing}/pause/").status_code == 404
    assert (
        client.post(f"/work-queues/{missing}/limit/", {"concurrency_limit": "1"}).status_code == 404
    )
    assert client.get(f"/work-queues/{missing}/pause/").status_code == 405


def test_anonymous_visitors_go_to_sign_in(anonymous):
    response = anonymous.get("/work-queues/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_waiting_run_page_says_its_place_in_line(client):
    queue = held_queue()
    queue_name = queue.name
    runs = waiting_runs(queue, 2)
    client.post(f"/work-queues/{queue_name}/pause/")
    client.post(f"/work-queues/{queue_name}/limit/", {"concurrency_limit": ""})
    assert len(work_queue_detail(queue_name).waiting_runs) == 2

    html = client.get(f"/flow-runs/{runs[1].id}/").content.decode()

    assert f'Queue <a href="/work-queues/{queue_name}/">{queue_name}</a> is paused' in html
    assert "at place 2" in html

    client.post(f"/work-queues/{queue_name}/limit/", {"concurrency_limit": "0"})
    client.post(f"/work-queues/{queue_name}/resume/")
    html = client.get(f"/flow-runs/{runs[1].id}/").content.decode()
    assert "has limit 0" in html and "at place 2" in html


def test_a_waiting_run_in_a_full_queue_says_place_limit_and_running(client):
    queue = create_work_queue(name=unique("wq-full"), concurrency_limit=1)
    first, second = waiting_runs(queue, 2)  # the first takes the only place

    html = client.get(f"/flow-runs/{second.id}/").content.decode()

    assert f'Waiting in queue <a href="/work-queues/{queue.name}/">{queue.name}</a>' in html
    assert "place 1" in html and "limit 1, 1 running" in html
    assert "Waiting in queue" not in client.get(f"/flow-runs/{first.id}/").content.decode()


def test_the_pages_say_whether_a_live_worker_serves_a_queue(tmp_path):
    import time

    from tests.workers import start_worker

    queue = create_work_queue(name=unique("served"))
    client = signed_in("viewer")
    html = client.get(f"/work-queues/{queue.name}/").content.decode()
    assert "no worker" in html
    worker = start_worker(tmp_path, queue=queue.name, concurrency=1)
    try:
        deadline = time.monotonic() + 20
        while "1 worker process" not in html and time.monotonic() < deadline:
            time.sleep(0.1)
            html = client.get(f"/work-queues/{queue.name}/").content.decode()
        assert "1 worker process" in html
    finally:
        worker.stop()
