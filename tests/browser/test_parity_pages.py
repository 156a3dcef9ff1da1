"""What Prefect 2 programs record shows in the dashboard: versions, a traceback logged with
``exc_info``, and the lines of state hooks."""

from __future__ import annotations

from runs import flow, get_run_logger, task
from tests.browser.conftest import screenshot


def _said_done(task, task_run, state):
    get_run_logger().info("hook saw %s", state.name)


@task(version="2.1.0", on_completion=[_said_done])
def versioned(x):
    try:
        x = x / 0
    except ZeroDivisionError:
        get_run_logger().error("caught it", exc_info=True)
    return x


@flow(version="flow-7")
def parity_pages_flow():
    return versioned(3)


def test_version_traceback_and_hook_lines_show_on_the_run_pages(page, live_server):
    from runs.orchestration import writer
    from runs.selectors import task_runs

    state = parity_pages_flow(return_state=True)
    writer.flush()
    (run,) = task_runs(flow_run=state.flow_run_id)

    page.goto(f"{live_server.url}/task-runs/{run.id}/")
    body = page.locator("body")
    body.get_by_text("2.1.0").first.wait_for()
    text = body.inner_text()
    assert "Version" in text
    assert "ZeroDivisionError: division by zero" in text
    assert "hook saw Completed" in text
    screenshot(page, "task-run-version-traceback-hook")

    page.goto(f"{live_server.url}/flow-runs/{state.flow_run_id}/")
    body.get_by_text("flow-7").first.wait_for()
    screenshot(page, "flow-run-version")
