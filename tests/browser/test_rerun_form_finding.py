"""Issue 15 in Chromium: re-run a flow run (item 3), the Run form that never guesses (item 4),
finding a retried run and sorting by duration (item 5)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def finished_sample():
    """A finished run of the registered sample flow: a TimedOut task, a retried one."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer
    from runs.registry import register_flow
    from tests.runs.views.sample_flows import dashboard_sample

    register_flow("tests.runs.views.sample_flows:dashboard_sample")
    state = dashboard_sample(count=2, salt=uuid.uuid4().hex, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id)


def test_retry_failed_and_run_again_from_a_flow_runs_page(page, live_server, finished_sample):
    page.goto(f"{live_server.url}/flow-runs/{finished_sample.id}/")
    expect(page.locator(".task-summary")).to_contain_text("1 TimedOut")
    screenshot(page, "flow-run-rerun-actions")

    page.get_by_role("button", name="Retry failed").click()

    expect(page).to_have_url(re.compile(r"/flow-runs/[0-9a-f-]{36}/$"))
    assert str(finished_sample.id) not in page.url
    expect(page.get_by_text("Re-run of an earlier flow run.")).to_be_visible()
    page.get_by_role("link", name="an earlier flow run").click()
    page.get_by_role("link", name="Run again…").click()
    card = page.locator("#flow-dashboard-sample")
    expect(card.get_by_label("count", exact=True)).to_have_value("2")
    expect(card.get_by_label("salt", exact=True)).to_have_value(finished_sample.parameters["salt"])
    screenshot(page, "flows-run-again-prefilled")


def test_cancel_asks_first(page, live_server):
    from runs.models import FlowRun
    from tests.runs.views.sample_flows import held_run

    with held_run() as run:
        page.goto(f"{live_server.url}/flow-runs/{run.id}/")
        cancel = page.get_by_role("button", name="Cancel this run")

        page.once("dialog", lambda dialog: dialog.dismiss())
        cancel.click()
        page.wait_for_timeout(500)
        assert FlowRun.objects.get(id=run.id).state_type == "RUNNING"

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel this run").click()
        expect(page.locator("#flow-run-live h1 .badge")).to_contain_text("Cancelled")


def test_a_number_the_browser_cannot_read_is_an_error_beside_its_field(page, live_server):
    from runs.registry import register_flow

    register_flow("runs.demo_flows:demo_map")
    page.goto(f"{live_server.url}/flows/")
    card = page.locator("#flow-demo-map")

    card.get_by_label("count", exact=True).fill("abc")
    card.get_by_role("button", name="Run demo-map").click()
    expect(page.locator("#flow-demo-map .field-error")).to_contain_text("whole number")
    page.locator("#flow-demo-map").get_by_label("count", exact=True).fill("-5")
    page.locator("#flow-demo-map").get_by_role("button", name="Run demo-map").click()

    expect(page.locator("#flow-demo-map .field-error")).to_contain_text("at least 0")
    assert "/flows/" in page.url
    screenshot(page, "flows-form-bounds-error")


def test_find_a_retried_run_and_sort_by_duration(page, live_server, finished_sample):
    page.goto(f"{live_server.url}/task-runs/?flow_run={finished_sample.id}")
    page.get_by_text("More filters").click()
    page.get_by_label("Retried").select_option("true")

    results = page.locator("#results")
    expect(results.get_by_role("link", name=re.compile(r"^fails_once"))).to_be_visible()
    expect(results.get_by_role("link", name=re.compile(r"^square"))).to_have_count(0)
    assert "retried=true" in page.url

    page.goto(f"{live_server.url}/task-runs/?flow_run={finished_sample.id}")
    page.locator("#results").get_by_role("link", name="Duration").click()
    first = page.locator("#results tbody tr").first
    expect(first).to_contain_text("too_slow")
    expect(page.locator('#results th[aria-sort="descending"]')).to_contain_text("Duration")
    screenshot(page, "task-runs-sorted-by-duration")
