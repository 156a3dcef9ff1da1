"""Run pages never answer a 500 for what a run or a query string holds (issue 14, item 4).

Parameters named like a dict's methods (``items``, ``keys``, ``values``) are shown as
parameters; an odd ``?level=`` on a run page or its log fragments renders the page with a
message naming the level, and the lines are not filtered by it.
"""

from __future__ import annotations

import pytest

from runs import flow, get_run_logger, task
from runs.models import FlowRun
from runs.orchestration.writer import writer

ODD_LEVELS = {
    "superscript-2": "²",
    "arabic-indic-3": "٣",
    "negative": "-1",
    "word": "abc",
    "20-digits": "99999999999999999999",
    "5000-digits": "1" * 5000,
}


@task
def count_items(items: list, keys: str = "k", values: int = 0) -> int:
    get_run_logger().warning("counting the items")
    return len(items) + values


@flow(name="views-dict-method-parameters")
def dict_method_parameters(items: list, keys: str = "key-param", values: int = 7) -> int:
    """Parameters named like a dict's methods, for the flow and for a task."""
    get_run_logger().info("the flow starts")
    return count_items(items, keys=keys, values=values)


@pytest.fixture(scope="module")
def run_with_items():
    """A finished run of :func:`dict_method_parameters`, and its task run."""
    state = dict_method_parameters(["first-item", "second-item"], return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    return run, run.task_runs.get(task_name="count_items")


def test_flow_run_page_shows_parameters_named_items_keys_and_values(client, run_with_items):
    run, _ = run_with_items

    response = client.get(f"/flow-runs/{run.id}/")

    html = response.content.decode()
    assert response.status_code == 200
    for name in ("items", "keys", "values"):
        assert f"<dt>{name}</dt>" in html
    assert "first-item" in html and "key-param" in html and "<code>7</code>" in html


def test_task_run_page_shows_parameters_named_items_keys_and_values(client, run_with_items):
    _, task_run = run_with_items

    response = client.get(f"/task-runs/{task_run.id}/")

    html = response.content.decode()
    assert response.status_code == 200
    for name in ("items", "keys", "values"):
        assert f"<dt>{name}</dt>" in html
    assert "second-item" in html


@pytest.mark.parametrize("level", ODD_LEVELS.values(), ids=ODD_LEVELS.keys())
@pytest.mark.parametrize("page", ["flow-runs", "task-runs"])
def test_an_odd_level_renders_the_run_page_with_a_message(client, run_with_items, page, level):
    run = run_with_items[0] if page == "flow-runs" else run_with_items[1]

    response = client.get(f"/{page}/{run.id}/", {"level": level})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="field-error"' in html and "is not a log level" in html


@pytest.mark.parametrize("level", ODD_LEVELS.values(), ids=ODD_LEVELS.keys())
@pytest.mark.parametrize("fragment", ["logs", "log-lines"])
def test_an_odd_level_renders_the_log_fragments(client, run_with_items, fragment, level):
    run, task_run = run_with_items

    for path in (f"/flow-runs/{run.id}/", f"/task-runs/{task_run.id}/"):
        response = client.get(path, {"level": level, "fragment": fragment}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, (path, fragment, level)


def test_an_odd_level_in_the_live_fragment_renders(client, run_with_items):
    run, task_run = run_with_items

    for path in (f"/flow-runs/{run.id}/", f"/task-runs/{task_run.id}/"):
        response = client.get(path, {"level": "²", "fragment": "live"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, path


@pytest.mark.parametrize("level, shown, hidden", [("WARNING", 1, 0), ("30", 1, 0), ("0", 1, 1)])
def test_good_levels_still_filter(client, run_with_items, level, shown, hidden):
    run, _ = run_with_items

    html = client.get(f"/flow-runs/{run.id}/", {"level": level}).content.decode()

    assert html.count("counting the items") == shown
    assert html.count("the flow starts") == hidden
    assert "is not a log level" not in html


def test_flows_page_shows_a_flow_with_parameters_named_items_keys_and_values(client):
    from runs.registry import register_flow

    register_flow(f"{__name__}:dict_method_parameters")

    response = client.get("/flows/")

    assert response.status_code == 200
    assert "views-dict-method-parameters" in response.content.decode()
