"""Every dashboard page: 200 for a signed-in user, a redirect to sign in for anyone else."""

from __future__ import annotations

import pytest
from django.test import Client

from runs_limits.services import create_limit
from tests.runs.views.helpers import make_flow_run, make_task_run, unique


@pytest.fixture
def pages(sample_run):
    limit, _ = create_limit(tag=unique("pages"), concurrency_limit=3)
    task_run = sample_run.task_runs.first()
    return [
        "/",
        "/flow-runs/",
        f"/flow-runs/{sample_run.id}/",
        "/task-runs/",
        f"/task-runs/{task_run.id}/",
        "/flows/",
        "/limits/",
        f"/limits/{limit.id}/",
        f"/limits/{limit.id}/edit/",
        f"/limits/{limit.id}/delete/",
        "/cache/",
    ]


def test_every_page_opens_for_a_signed_in_user(client, pages):
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"<h1" in response.content, path


def test_every_page_sends_anonymous_users_to_sign_in(anonymous, pages):
    for path in pages:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/?next="), path


def test_sign_in_page_opens_and_signs_in(user):
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content
    response = client.post("/login/", {"username": user.username, "password": "pw-123456"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_says_so(user):
    response = Client().post("/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_sign_out_is_a_post_and_ends_the_session(client):
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_forms_without_a_csrf_token_are_refused(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/limits/", {"tag": unique("csrf"), "concurrency_limit": "1"})
    assert response.status_code == 403


def test_every_form_carries_a_csrf_token(client, sample_run):
    for path in ("/limits/", "/flows/", "/cache/", f"/flow-runs/{sample_run.id}/"):
        html = client.get(path).content.decode()
        assert html.count('method="post"') <= html.count("csrfmiddlewaretoken"), path


def test_missing_runs_are_404(client):
    for path in (
        "/flow-runs/00000000-0000-0000-0000-000000000000/",
        "/task-runs/00000000-0000-0000-0000-000000000000/",
        "/limits/00000000-0000-0000-0000-000000000000/",
    ):
        assert client.get(path).status_code == 404, path


def test_overview_counts_runs_by_state_and_lists_failures(client):
    flow_run = make_flow_run(state="Failed", name=unique("overview-failed"))
    make_task_run(flow_run, state="TimedOut", name=unique("overview-timedout"))
    html = client.get("/").content.decode()
    assert "Last hour" in html and "Last day" in html and "Last week" in html
    assert flow_run.name in html
    assert "badge--timedout" in html


def test_overview_polls_often_while_work_runs_and_seldom_when_none_does(client):
    running = make_flow_run(state="Running", name=unique("overview-running"))
    html = client.get("/").content.decode()
    assert running.name in html
    assert 'data-poll="live"' in html and 'hx-select="#overview-live"' in html
    running.state_type, running.state_name = "COMPLETED", "Completed"
    running.save()
    from runs.models import FlowRun, TaskRun

    if (
        not FlowRun.objects.filter(state_type__in=["RUNNING", "PENDING", "SCHEDULED"]).exists()
        and not TaskRun.objects.filter(state_type="RUNNING").exists()
    ):
        again = client.get("/", HTTP_HX_REQUEST="true").content.decode()
        assert 'data-poll="idle"' in again
