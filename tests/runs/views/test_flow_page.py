"""A flow's own page (/flows/NAME/) and the runs-over-time chart on the overview."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from runs import flow, task
from runs.registry import register_flow
from tests.runs.views.conftest import make_user


@task
def page_step(x: int) -> int:
    if x < 0:
        raise ValueError("negative on purpose")
    return x


@flow(name="flow-page-registered")
def flow_page_registered(x: int = 1, label: str = "hello") -> int:
    """A registered flow with a Run form."""
    return page_step(x)


def _flush():
    from runs.orchestration.writer import writer

    writer.flush()


def _script_flow():
    """A flow of its own name, only ever run from a script (never registered)."""

    def body(x: int = 1) -> int:
        return page_step(x)

    return flow(name=f"script-{uuid.uuid4().hex[:8]}")(body)


@pytest.fixture(scope="module")
def registered():
    """The registered flow, run three times to success and once to failure."""
    row = register_flow("tests.runs.views.test_flow_page:flow_page_registered")
    states = [flow_page_registered(x, return_state=True) for x in (1, 2, 3, -1)]
    _flush()
    return row, [state.flow_run_id for state in states]


def _dd(html: str, term: str) -> str:
    return re.search(rf"<dt>{term}</dt><dd>([^<]*)</dd>", html).group(1)


def test_a_flows_page_has_its_figures_chart_latest_runs_and_run_form(client, registered):
    row, run_ids = registered
    response = client.get("/flows/flow-page-registered/?chart=1h")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>flow-page-registered</h1>" in html and "A registered flow with a Run form." in html
    assert (_dd(html, "Runs"), _dd(html, "Finished"), _dd(html, "Success rate")) == (
        "4",
        "4",
        "75%",
    )
    assert re.search(r"\d", _dd(html, "Duration p50")) and re.search(
        r"\d", _dd(html, "Duration p95")
    )
    assert '<svg class="runs-chart__svg"' in html
    assert "Flow runs of flow-page-registered by state, last hour" in html
    assert 'href="?chart=1h" ' in html and re.search(
        r'href="\?chart=1h"[^>]*aria-current="true"', html
    )
    for run_id in run_ids:
        assert f'href="/flow-runs/{run_id}/"' in html
    assert 'href="/flow-runs/?flow=flow-page-registered"' in html
    assert 'action="/flows/flow-page-registered/run/"' in html
    assert f'name="f{row.id}-label" value="hello"' in html
    assert "Run flow-page-registered</button>" in html


def test_the_week_is_the_default_window_of_a_flows_page(client, registered):
    html = client.get("/flows/flow-page-registered/").content.decode()

    assert '<h2 id="flow-figures-heading">Last week</h2>' in html
    assert re.search(r'href="\?chart=7d"[^>]*aria-current="true"', html)


def test_the_run_form_on_a_flows_page_starts_a_run(registered):
    row, _ = registered
    operator = Client()
    operator.force_login(make_user("operator"))
    page = operator.get("/flows/flow-page-registered/").content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)

    response = operator.post(action, {f"f{row.id}-x": "7", f"f{row.id}-label": "from-page"})

    assert response.status_code == 302 and response["Location"].startswith("/flow-runs/")
    run_page = operator.get(response["Location"]).content.decode()
    assert 'href="/flows/flow-page-registered/"' in run_page


def test_a_viewer_sees_the_page_without_the_form(registered):
    viewer = Client()
    viewer.force_login(make_user("viewer"))

    html = viewer.get("/flows/flow-page-registered/").content.decode()

    assert "Success rate" in html and '<form method="post"' not in html.split("</header>")[1]
    assert "Starting this flow needs the Operator role" in html


def test_a_flow_run_only_from_scripts_has_a_page_without_a_form(client):
    made = _script_flow()
    made(1, return_state=True)
    _flush()

    html = client.get(f"/flows/{made.name}/").content.decode()

    assert f"<h1>{made.name}</h1>" in html
    assert "cannot be started here" in html and "runs deploy" in html
    assert f'action="/flows/{made.name}/run/"' not in html
    assert _dd(html, "Success rate") == "100%"


def test_a_flow_whose_name_holds_a_slash_has_a_page_and_links_to_it(client):
    made = flow(name=f"etl/daily {uuid.uuid4().hex[:6]}")(lambda: 1)
    made(return_state=True)
    _flush()
    href = f'href="/flows/{made.name.replace(" ", "%20")}/"'

    listed = client.get(f"/flow-runs/?flow={made.name}")
    assert listed.status_code == 200 and href in listed.content.decode()
    page = client.get(f"/flows/{made.name}/")
    assert page.status_code == 200 and f"<h1>{made.name}</h1>" in page.content.decode()


def test_an_unknown_flow_is_a_404_that_says_where_to_look(client):
    response = client.get("/flows/no-such-flow-here/")

    assert response.status_code == 404
    assert "No flow is named &#x27;no-such-flow-here&#x27;" in response.content.decode()


def test_flow_names_link_to_their_page_from_the_flows_page_and_the_run_lists(client, registered):
    _, run_ids = registered
    link = 'href="/flows/flow-page-registered/"'

    assert link in client.get("/flows/").content.decode()
    assert link in client.get("/flow-runs/?flow=flow-page-registered").content.decode()
    assert link in client.get(f"/flow-runs/{run_ids[0]}/").content.decode()


def test_the_overview_draws_the_last_day_and_switches_window_from_the_query(client, registered):
    html = client.get("/").content.decode()

    assert "Flow runs over time" in html and '<svg class="runs-chart__svg"' in html
    assert "Flow runs by state, last day, hourly (UTC)" in html
    assert re.search(r'href="\?chart=24h"[^>]*aria-current="true"', html)
    assert "Show as a table" in html

    week = client.get("/?chart=7d").content.decode()
    assert "Flow runs by state, last week, 6-hour (UTC)" in week
    assert 'hx-get="/?chart=7d"' in week  # the overview's refresh keeps the window

    wrong = client.get("/?chart=2y")
    assert wrong.status_code == 200
    assert "Unknown window &#x27;2y&#x27;; choose one of 1h, 24h, 7d." in wrong.content.decode()
