"""What a user does in the dashboard, in a real Chromium: sign in, limits, filters, live runs."""

from __future__ import annotations

import re
import threading
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_leads_to_the_overview(browser, live_server, browser_user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/flow-runs/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/flow-runs/"))
    expect(page.get_by_role("heading", name="Sign in to runs")).to_be_visible()
    screenshot(page, "login")
    page.get_by_label("Username").fill(browser_user)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    sign_in(page, live_server, browser_user)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    context.close()


def test_create_a_limit_in_the_ui_and_read_it_back(page, live_server):
    from runs_limits import selectors

    tag = f"ui-{uuid.uuid4().hex[:8]}"
    page.goto(f"{live_server.url}/limits/")
    page.get_by_label("Tag").fill(tag)
    page.get_by_label("Limit").fill("3")
    page.get_by_role("button", name="Create limit").click()
    row = page.locator(f'tr[data-tag="{tag}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("0 / 3")
    expect(page.get_by_role("status")).to_contain_text(f"Created the limit on tag '{tag}'")
    screenshot(page, "limits-created")
    assert selectors.get_limit_by_tag(tag).concurrency_limit == 3

    row.get_by_role("link", name="Edit").click()
    page.get_by_label("Limit").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(f'tr[data-tag="{tag}"]')).to_contain_text("0 / 5")
    page.locator(f'tr[data-tag="{tag}"]').get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name=re.compile("Delete the limit on"))).to_be_visible()
    screenshot(page, "limit-delete-confirm")
    page.get_by_role("button", name="Delete limit").click()
    expect(page.locator(f'tr[data-tag="{tag}"]')).to_have_count(0)


def test_a_bad_limit_shows_its_error_beside_the_field(page, live_server):
    page.goto(f"{live_server.url}/limits/")
    page.get_by_label("Tag").fill(f"neg-{uuid.uuid4().hex[:6]}")
    page.get_by_label("Limit").fill("-2")
    page.get_by_role("button", name="Create limit").click()
    error = page.locator("#id_concurrency_limit_error")
    expect(error).to_contain_text("The limit cannot be negative")
    expect(page.get_by_label("Limit")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "limits-inline-error")
    page.get_by_label("Tag").fill("")
    page.get_by_label("Limit").fill("2")
    page.get_by_role("button", name="Create limit").click()
    expect(page.locator("#id_tag_error")).to_contain_text("The tag cannot be empty")


@pytest.fixture(scope="module")
def finished_sample_run():
    from runs.models import FlowRun
    from runs.orchestration.writer import writer
    from tests.runs.views.sample_flows import dashboard_sample

    state = dashboard_sample(count=3, salt=uuid.uuid4().hex, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id)


def test_filter_task_runs_by_state_and_share_the_url(page, live_server, finished_sample_run):
    page.goto(f"{live_server.url}/task-runs/")
    page.get_by_label("State").select_option("TimedOut")
    expect(page).to_have_url(re.compile(r"[?&]state=TimedOut"))
    badges = page.locator("#results tbody .badge")
    expect(badges.first).to_have_text(re.compile("TimedOut"))
    assert set(badges.all_inner_texts()) == {badges.first.inner_text()}
    screenshot(page, "task-runs-filtered")
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    expect(other.get_by_label("State")).to_have_value("TimedOut")
    expect(other.locator("#results tbody .badge").first).to_have_text(re.compile("TimedOut"))
    other.close()


def test_a_running_flow_shows_timedout_and_retrying_then_completes_live(page, live_server):
    from runs.models import FlowRun
    from tests.runs.views import sample_flows

    salt = uuid.uuid4().hex
    sample_flows.release_retry.clear()
    worker = threading.Thread(
        target=sample_flows.dashboard_sample,
        kwargs={"count": 3, "salt": salt, "hold": True},
        daemon=True,
    )
    worker.start()
    try:
        deadline = time.monotonic() + 15
        run = None
        while run is None and time.monotonic() < deadline:
            run = FlowRun.objects.filter(parameters__salt=salt).first()
            time.sleep(0.05)
        assert run is not None, "the flow run was not recorded"
        page.goto(f"{live_server.url}/flow-runs/{run.id}/")
        live = page.locator("#flow-run-live")
        expect(live.locator("tbody .badge--retrying")).to_contain_text("Retrying")
        expect(live.locator("tbody .badge--timedout")).to_contain_text("TimedOut")
        expect(live.locator("h1 .badge")).to_contain_text("Running")
        page.evaluate("window.notReloaded = true")
        screenshot(page, "flow-run-live-retrying-timedout")
    finally:
        sample_flows.release_retry.set()
    expect(page.locator("#flow-run-live h1 .badge")).to_contain_text("Completed", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#flow-run-live")).to_have_attribute("data-final", "true")
    screenshot(page, "flow-run-live-finished")
    worker.join(10)


def test_start_a_flow_from_the_form_and_watch_it_complete(page, live_server, runs_worker):
    """Needs a real worker (tests/workers.py's runs_worker fixture)."""
    from runs.registry import register_flow

    register_flow("tests.runs.views.sample_flows:dashboard_quick")
    page.goto(f"{live_server.url}/flows/")
    card = page.locator("#flow-dashboard-quick")
    card.get_by_label("n", exact=True).fill("")
    card.get_by_role("button", name="Run dashboard-quick").click()
    card = page.locator("#flow-dashboard-quick")
    expect(card.locator(".field-error")).to_contain_text("This field is required")
    screenshot(page, "flows-form-error")
    card.get_by_label("n", exact=True).fill("6")
    card.get_by_role("button", name="Run dashboard-quick").click()
    expect(page).to_have_url(re.compile(r"/flow-runs/[0-9a-f-]{36}/$"))
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#flow-run-live h1 .badge")).to_contain_text("Completed", timeout=60_000)
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "flow-run-started-from-form")


def test_the_keyboard_reaches_the_skip_link_and_the_navigation(page, live_server):
    page.goto(f"{live_server.url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Overview"
    for _ in range(6):  # Flow runs, Task runs, Flows, Deployments, Work queues, Limits
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Limits"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/limits/$"))
    page.keyboard.press("Tab")  # skip link
    page.get_by_label("Tag").focus()
    page.keyboard.type("kbd-" + uuid.uuid4().hex[:6])
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Created the limit")
