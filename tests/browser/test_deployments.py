"""Deployments and Work queues in Chromium: a cron deployment's next runs, pausing a queue from
the page, the waiting line, and both pages at phone width. Screenshots go to /tmp/shots/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def shot(page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def scheduled():
    """A cron deployment (every 5 minutes) in its own queue, its next runs made, and two runs
    waiting in a second queue that holds them (limit 0)."""
    from runs.registry import register_flow
    from runs.services.deployments import ScheduleInput, create_deployment
    from runs.services.flow_runs import start_flow_run
    from runs.services.scheduling import schedule_pass
    from runs.services.work_queues import create_work_queue

    register_flow("tests.runs.deploy_flows:add")
    suffix = uuid.uuid4().hex[:6]
    queue = create_work_queue(name=f"browser-q-{suffix}", description="browser test queue")
    held = create_work_queue(name=f"browser-held-{suffix}", concurrency_limit=0)
    deployment = create_deployment(
        flow_name="deploy-tests-add",
        name=f"every-five-{suffix}",
        parameters={"x": 3},
        work_queue=queue.name,
        tags=["browser"],
        schedules=[ScheduleInput(kind="cron", value="*/5 * * * *")],
    )
    schedule_pass(deployment_ids=[deployment.id])
    waiting = [
        start_flow_run(flow_name="deploy-tests-add", parameters={"x": i}, work_queue=held.name)
        for i in range(2)
    ]
    return {"deployment": deployment, "queue": queue, "held": held, "waiting": waiting}


def test_a_cron_deployment_shows_its_next_runs(page, live_server, scheduled):
    deployment = scheduled["deployment"]

    page.goto(f"{live_server.url}/deployments/")

    row = page.locator(f'tr[data-deployment="{deployment.full_name}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("*/5 * * * *")
    expect(row).to_contain_text("(in ")
    expect(row.get_by_role("button", name="Run now")).to_be_visible()
    shot(page, "deployments")

    row.get_by_role("link", name=deployment.name).click()
    page.wait_for_url(f"**/deployments/{deployment.id}/")
    upcoming = page.locator("#upcoming tbody tr")
    expect(upcoming.first).to_be_visible()
    assert upcoming.count() >= 3
    expect(upcoming.first).to_contain_text("Scheduled")
    expect(page.locator("#schedules")).to_contain_text("*/5 * * * *")
    shot(page, "deployment")


def test_pausing_a_queue_from_the_page_shows_paused(page, live_server, scheduled):
    queue = scheduled["queue"]

    page.goto(f"{live_server.url}/work-queues/")
    row = page.locator(f'tr[data-queue="{queue.name}"]')
    row.get_by_role("button", name=f"Pause {queue.name}").click()

    page.wait_for_url("**/work-queues/")
    row = page.locator(f'tr[data-queue="{queue.name}"]')
    expect(row.get_by_text("Paused", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name=f"Resume {queue.name}")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Paused work queue")
    shot(page, "work-queues")

    row.get_by_role("link", name=queue.name).click()
    page.wait_for_url(f"**/work-queues/{queue.name}/")
    expect(page.get_by_text("Paused: starts nothing new.")).to_be_visible()
    shot(page, "work-queue-paused")


def test_the_waiting_line_in_order(page, live_server, scheduled):
    held = scheduled["held"]
    first, second = scheduled["waiting"]

    page.goto(f"{live_server.url}/work-queues/{held.name}/")

    line = page.locator("#queue-waiting tbody tr")
    expect(line).to_have_count(2)
    expect(line.nth(0)).to_contain_text(first.name)
    expect(line.nth(1)).to_contain_text(second.name)
    shot(page, "work-queue-line")

    line.nth(1).get_by_role("link", name=second.name).click()
    page.wait_for_url(f"**/flow-runs/{second.id}/")
    expect(page.locator(".queue-place")).to_contain_text("at place 2")
    shot(page, "flow-run-waiting")


def test_the_run_form_fills_a_deployments_defaults(page, live_server, scheduled):
    deployment = scheduled["deployment"]

    page.goto(f"{live_server.url}/flows/")
    form = page.locator(f"#run-form-{deployment.flow_id}")
    form.get_by_label("Deployment").select_option(str(deployment.id))

    expect(form.get_by_label("Work queue")).to_have_value(scheduled["queue"].name)
    expect(form.get_by_label("x", exact=True)).to_have_value("3")
    form.scroll_into_view_if_needed()
    shot(page, "run-form-deployment")


@pytest.mark.parametrize("path", ["deployments", "work-queues"])
def test_the_pages_fit_a_phone(page, live_server, scheduled, path):
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/{path}/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"phone-{path}")
    page.locator("table").first.scroll_into_view_if_needed()
    shot(page, f"phone-{path}-table", full_page=False)


def test_the_queue_page_picks_up_a_new_waiting_run_without_a_reload(page, live_server, scheduled):
    from runs import conf
    from runs.services.flow_runs import start_flow_run

    held = scheduled["held"]
    with conf.override(RUNS_DASHBOARD_IDLE_POLL_SECONDS=0.3, RUNS_DASHBOARD_POLL_SECONDS=0.2):
        page.goto(f"{live_server.url}/work-queues/{held.name}/")
        page.evaluate("window.notReloaded = true")
        expect(page.locator("#queue-waiting tbody tr")).to_have_count(2)

        third = start_flow_run(
            flow_name="deploy-tests-add", parameters={"x": 9}, work_queue=held.name
        )

        expect(page.locator("#queue-waiting tbody tr")).to_have_count(3)
        expect(page.locator('#queue-waiting tr[data-place="3"]')).to_contain_text(third.name)
        assert page.evaluate("window.notReloaded") is True


def test_the_detail_pages_fit_a_phone(page, live_server, scheduled):
    page.set_viewport_size({"width": 390, "height": 844})
    pages = {
        "phone-work-queue": f"/work-queues/{scheduled['held'].name}/",
        "phone-deployment": f"/deployments/{scheduled['deployment'].id}/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, name, full_page=False)
