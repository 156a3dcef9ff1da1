"""Live everywhere (issue 15, item 1): pages opened while nothing runs still pick up a flow
started afterwards, without a reload; a hidden tab does not poll."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from runs import conf, flow, task
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@task
def live_step(x: int) -> int:
    return x + 1


@flow(name="browser-live-everywhere")
def live_flow(label: str) -> int:
    return live_step(1)


@pytest.fixture(autouse=True)
def quick_polls():
    with conf.override(RUNS_DASHBOARD_IDLE_POLL_SECONDS=0.3, RUNS_DASHBOARD_POLL_SECONDS=0.2):
        yield


def _mark_no_reload(page) -> None:
    page.evaluate("window.notReloaded = true")


@pytest.mark.parametrize("path", ["/flow-runs/", "/task-runs/"])
def test_a_flow_started_after_the_page_opened_appears_without_a_reload(page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    _mark_no_reload(page)
    label = uuid.uuid4().hex[:8]

    state = live_flow(label, return_state=True)

    from runs.orchestration.writer import writer
    from runs.selectors.runs import get_flow_run

    writer.flush()
    run = get_flow_run(state.flow_run_id)
    name = run.name if path != "/task-runs/" else run.task_runs.first().name
    expect(page.get_by_role("link", name=name, exact=True).first).to_be_visible(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True


def test_the_overview_shows_a_flow_started_after_it_opened_as_running(page, live_server):
    from tests.runs.views.sample_flows import held_run

    page.goto(f"{live_server.url}/")
    _mark_no_reload(page)
    with held_run():
        expect(page.locator("#running-now").get_by_text("rerun-held").first).to_be_visible()
        screenshot(page, "overview-live-running")
    assert page.evaluate("window.notReloaded") is True


def test_a_limits_usage_appears_without_a_reload(page, live_server):
    from runs_limits.services import create_limit

    tag = f"live-{uuid.uuid4().hex[:6]}"
    page.goto(f"{live_server.url}/limits/")
    _mark_no_reload(page)
    create_limit(tag=tag, concurrency_limit=2)

    expect(page.locator(f'tr[data-tag="{tag}"]')).to_be_visible(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "limits-live")


def test_a_hidden_tab_does_not_poll_until_shown_again(page, live_server):
    page.goto(f"{live_server.url}/flow-runs/")
    polls: list[str] = []
    page.on(
        "request",
        lambda request: polls.append(request.url) if "/flow-runs/" in request.url else None,
    )
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true})"
    )
    page.wait_for_timeout(1200)
    hidden_polls = len(polls)

    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(600)

    assert hidden_polls == 0
    assert len(polls) >= 1
