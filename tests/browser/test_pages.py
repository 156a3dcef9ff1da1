"""Every page renders in Chromium at desktop and phone width; screenshots are saved to look at."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def recorded_run():
    from runs.models import FlowRun
    from runs.orchestration.writer import writer
    from runs.registry import register_flow
    from tests.runs.views.sample_flows import dashboard_sample

    register_flow("tests.runs.views.sample_flows:dashboard_quick")
    for name in (
        "demo_retries",
        "demo_timeout",
        "demo_caching",
        "demo_map",
        "demo_concurrency_limit",
    ):
        register_flow(f"runs.demo_flows:{name}")
    state = dashboard_sample(count=6, salt=uuid.uuid4().hex, return_state=True)
    writer.flush()
    return FlowRun.objects.get(id=state.flow_run_id)


@pytest.fixture(scope="module")
def a_limit():
    from runs_limits.services import create_limit

    limit, _ = create_limit(tag=f"pages-{uuid.uuid4().hex[:6]}", concurrency_limit=2)
    return limit


def _paths(run, limit) -> dict[str, str]:
    task_run = run.task_runs.filter(state_name="TimedOut").first()
    return {
        "overview": "/",
        "flow-runs": "/flow-runs/",
        "flow-run": f"/flow-runs/{run.id}/",
        "task-runs": "/task-runs/",
        "task-run": f"/task-runs/{task_run.id}/",
        "flows": "/flows/",
        "limits": "/limits/",
        "limit": f"/limits/{limit.id}/",
        "limit-delete": f"/limits/{limit.id}/delete/",
        "cache": "/cache/",
    }


@pytest.mark.parametrize("width,label", [(1280, "desktop"), (390, "phone")])
def test_every_page_renders_without_sideways_scrolling(
    page, live_server, recorded_run, a_limit, width, label
):
    page.set_viewport_size({"width": width, "height": 900})
    for name, path in _paths(recorded_run, a_limit).items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, name
        assert page.locator("h1").first.is_visible()
        screenshot(page, f"{label}-{name}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at {width}px"
