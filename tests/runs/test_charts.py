"""The runs-over-time chart: stacked bars in the badges' colours, labelled, linked, with a table."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django.test import Client

from runs import flow, task
from runs.badges import badge_for
from runs.charts import runs_chart
from tests.runs.views.conftest import make_user


@task
def chart_step(x: int) -> int:
    if x < 0:
        raise ValueError("negative on purpose")
    return x


def _ran(*values: int) -> str:
    """A flow of its own name run once per value (negative ones fail); its name."""

    def body(x: int = 1) -> int:
        return chart_step(x)

    made = flow(name=f"chart-{uuid.uuid4().hex[:8]}")(body)
    for value in values:
        made(value, return_state=True)
    from runs.orchestration.writer import writer

    writer.flush()
    return made.name


def test_bars_are_stacked_by_state_in_the_badges_colours_with_a_title():
    name = _ran(1, 2, -1)

    chart = runs_chart("1h", list_base="/flow-runs/", flow=name)
    svg = str(chart.svg)

    assert chart.window == "1h" and chart.total == 3 and not chart.error
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert f"<title>Flow runs of {name} by state, last hour, 5-minute (UTC)</title>" in svg
    assert "3 in all (2 Completed, 1 Failed)" in svg
    completed = re.findall(r'<rect [^>]*data-state="COMPLETED"', svg)
    failed = re.findall(r'<rect [^>]*data-state="FAILED"', svg)
    assert completed and failed
    assert f'fill="{badge_for("COMPLETED", None).color}"' in completed[0]
    assert f'fill="{badge_for("FAILED", None).color}"' in failed[0]
    assert re.search(r"<title>[^<]+ UTC: 2 Completed</title>", svg)
    assert [(item.name, item.count) for item in chart.legend] == [("Completed", 2), ("Failed", 1)]
    assert (
        len(re.findall(r'class="runs-chart__tick[^"]*">\d\d:\d\d<', svg)) == 6
    )  # every 10 minutes


def test_the_table_holds_the_same_counts_and_each_link_lists_those_runs():
    name = _ran(1, -1)
    client = Client()
    client.force_login(make_user("viewer"))

    chart = runs_chart("24h", list_base="/flow-runs/", flow=name)

    (row,) = chart.rows
    assert row.label.endswith(" UTC") and row.total == 2
    assert [count for count, _ in row.cells] == [1, 1]
    failed_url = row.cells[1][1]
    assert "state=FAILED" in failed_url and "since=" in failed_url and "until=" in failed_url
    listed = client.get(failed_url)
    assert listed.status_code == 200
    html = listed.content.decode()
    assert html.count(f">{name}</a>") == 1  # the flow column links to its page, one row
    assert "Failed" in html and "Completed</span>" not in html


def test_an_empty_window_says_so_and_an_unknown_window_draws_the_default_and_says_why():
    chart = runs_chart("2y", list_base="/flow-runs/", flow=f"none-{uuid.uuid4().hex[:6]}")

    assert chart.window == "24h"
    assert chart.error == "Unknown window '2y'; choose one of 1h, 24h, 7d."
    assert chart.total == 0 and chart.rows == [] and chart.legend == []
    assert "No runs in this window" in str(chart.svg)
    assert chart.windows == [("1h", "Last hour"), ("24h", "Last day"), ("7d", "Last week")]


def test_a_week_is_cut_in_six_hours_with_its_days_on_the_axis():
    name = _ran(1)

    chart = runs_chart("7d", list_base="/flow-runs/", flow=name)

    svg = str(chart.svg)
    assert chart.end - chart.start == dt.timedelta(days=7) and chart.start.hour % 6 == 0
    assert "last week, 6-hour" in chart.title
    assert len(re.findall(r"<rect ", svg)) == 1
    labels = re.findall(
        r'class="runs-chart__tick[^"]*">((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d)<', svg
    )
    assert len(labels) in (6, 7)  # midnights (UTC) of the week
