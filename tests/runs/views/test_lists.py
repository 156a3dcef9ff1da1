"""Run lists: filters live in the query string, keyset pages, HTMX fragments, errors."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

from runs.states import now
from tests.runs.views.helpers import make_flow_run, make_task_run, unique


def test_flow_runs_filter_by_flow_state_tag_and_name(client):
    flow = unique("lists-flow")
    tag = unique("tag")
    wanted = make_flow_run(flow=flow, name=unique("wanted"), state="Failed", tags=(tag,))
    other_state = make_flow_run(flow=flow, name=unique("other"), state="Completed", tags=(tag,))
    other_flow = make_flow_run(name=unique("elsewhere"), state="Failed", tags=(tag,))

    html = client.get("/flow-runs/", {"flow": flow, "state": "Failed"}).content.decode()
    assert wanted.name in html and other_state.name not in html and other_flow.name not in html

    html = client.get("/flow-runs/", {"tag": tag, "state": "FAILED"}).content.decode()
    assert wanted.name in html and other_flow.name in html and other_state.name not in html

    html = client.get("/flow-runs/", {"q": wanted.name[-8:]}).content.decode()
    assert wanted.name in html and other_state.name not in html


def test_flow_runs_filter_by_time_range(client):
    flow = unique("lists-time")
    old = make_flow_run(flow=flow, name=unique("old"), created=now() - dt.timedelta(days=3))
    new = make_flow_run(flow=flow, name=unique("new"))
    html = client.get("/flow-runs/", {"flow": flow, "range": "24h"}).content.decode()
    assert new.name in html and old.name not in html
    since = (now() - dt.timedelta(days=4)).strftime("%Y-%m-%dT%H:%M")
    until = (now() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    html = client.get(
        "/flow-runs/", {"flow": flow, "since": since, "until": until}
    ).content.decode()
    assert old.name in html and new.name not in html


def test_task_runs_filter_by_state_name_keeps_it_in_the_form(client):
    flow_run = make_flow_run()
    timed_out = make_task_run(flow_run, state="TimedOut", task_name=unique("t"))
    failed = make_task_run(flow_run, state="Failed", task_name=unique("t"))
    response = client.get("/task-runs/", {"state": "TimedOut", "flow_run": str(flow_run.id)})
    html = response.content.decode()
    assert timed_out.name in html and failed.name not in html
    assert '<option value="TimedOut" selected>' in html


def test_task_runs_filter_by_task_name_and_flow_run(client):
    flow_run = make_flow_run()
    task = unique("named")
    mine = make_task_run(flow_run, task_name=task, name=unique("mine"))
    other = make_task_run(make_flow_run(), task_name=task, name=unique("other"))
    html = client.get(
        "/task-runs/", {"task_name": task, "flow_run": str(flow_run.id)}
    ).content.decode()
    assert mine.name in html and other.name not in html


def test_unknown_state_is_a_400_naming_the_problem(client):
    response = client.get("/task-runs/", {"state": "Sleeping"})
    assert response.status_code == 400
    assert "Unknown state Sleeping" in response.content.decode()


def test_unreadable_time_is_a_400_with_an_example(client):
    response = client.get("/flow-runs/", {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "ISO 8601" in response.content.decode()


def test_keyset_pages_walk_forward_and_back(client):
    flow_run = make_flow_run()
    task = unique("paged")
    start = now() - dt.timedelta(minutes=5)
    runs = [
        make_task_run(
            flow_run,
            task_name=task,
            name=f"{task}-{i:03d}",
            created=start + dt.timedelta(seconds=i),
        )
        for i in range(60)
    ]
    first = client.get("/task-runs/", {"task_name": task}).content.decode()
    assert runs[59].name in first and runs[10].name in first and runs[9].name not in first
    next_link = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlparse(next_link).query)
    assert query["task_name"] == [task] and query["cursor"]
    second = client.get("/task-runs/" + next_link).content.decode()
    assert runs[9].name in second and runs[0].name in second and runs[10].name not in second
    assert 'rel="next"' not in second
    previous = second.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    back = client.get("/task-runs/" + previous).content.decode()
    assert runs[59].name in back and runs[10].name in back


def test_a_forged_cursor_is_a_400(client):
    response = client.get("/task-runs/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400


def test_htmx_filter_request_gets_only_the_results_fragment(client):
    response = client.get("/task-runs/", {"state": "COMPLETED"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html


def test_empty_lists_say_what_to_do_next(client):
    html = client.get("/flow-runs/", {"q": unique("nothing-matches")}).content.decode()
    assert "No flow runs match these filters" in html and "Clear the filters" in html


def test_a_list_with_unfinished_runs_polls_often_and_a_finished_one_seldom(client):
    busy, done = unique("busy"), unique("done")
    make_flow_run(flow=busy, state="Running")
    make_flow_run(flow=done, state="Completed")
    busy_page = client.get("/flow-runs/", {"flow": busy}).content.decode()
    done_page = client.get("/flow-runs/", {"flow": done}).content.decode()
    assert 'data-poll="live"' in busy_page and "every 2000ms [!document.hidden]" in busy_page
    # Still polled, so a run started later shows up without a reload.
    assert 'data-poll="idle"' in done_page and "every 10000ms [!document.hidden]" in done_page


def test_runs_scheduled_for_later_stay_out_of_the_list_until_asked_for(client):
    from runs.registry import register_flow
    from runs.services.flow_runs import cancel_flow_run, start_flow_run

    register_flow("tests.runs.deploy_flows:hello")
    # A tag of its own: other tests' runs scheduled for later may share part of its name.
    tag = unique("later")
    later = start_flow_run(
        flow_name="deploy-tests-hello",
        scheduled_time=now() + dt.timedelta(hours=1),
        tags=[tag],
    )
    try:
        listed = f">{later.name}</a>"
        html = client.get("/flow-runs/", {"tag": tag}).content.decode()
        assert listed not in html
        assert "1 run scheduled for later is not listed" in html and "upcoming=1" in html
        html = client.get("/flow-runs/", {"tag": tag, "upcoming": "1"}).content.decode()
        assert listed in html and "Hide them" in html
    finally:
        cancel_flow_run(flow_run_id=later.id)
