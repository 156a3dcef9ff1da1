"""Overview: runs by state over the last hour, day and week; recent failures; what runs now."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from runs.badges import badge_for
from runs.charts import runs_chart
from runs.selectors import flows as flow_selectors
from runs.selectors import runs as run_selectors
from runs.states import STATE_NAMES, now
from runs.views.common import render_page
from runs.views.permissions import can_view

WINDOWS = [
    ("Last hour", dt.timedelta(hours=1)),
    ("Last day", dt.timedelta(days=1)),
    ("Last week", dt.timedelta(days=7)),
]


def _counts(kind: str, since: dt.datetime) -> list[dict]:
    """Runs created since ``since`` by state name, with their badges, most first."""
    counts = [
        {
            "badge": badge_for(STATE_NAMES[name].value, name),
            "type": STATE_NAMES[name].value,
            "name": name,
            "count": count,
        }
        for name, count in run_selectors.state_counts(kind, since).items()
    ]
    return sorted(counts, key=lambda c: -c["count"])


@can_view
def overview(request: HttpRequest) -> HttpResponse:
    """The landing page; it refreshes itself, often while anything runs (the poll tag)."""
    moment = now()
    running_flows = run_selectors.active_flow_runs(limit=20)
    running_tasks = run_selectors.running_task_runs(limit=20)
    context = {
        "running_flows": running_flows,
        "running_tasks": running_tasks,
        "live": bool(running_flows or running_tasks),
    }
    windows = []
    for label, length in WINDOWS:
        since = moment - length
        windows.append(
            {
                "label": label,
                "flow_runs": _counts("flow", since),
                "task_runs": _counts("task", since),
                "range": {"Last hour": "1h", "Last day": "24h", "Last week": "7d"}[label],
            }
        )
    context.update(
        {
            "windows": windows,
            "failed_flow_runs": run_selectors.failed_flow_runs(limit=10),
            "failed_task_runs": run_selectors.failed_task_runs(limit=10),
            "has_runs": run_selectors.any_flow_runs(),
            "has_flows": flow_selectors.any_registered_flows(),
            "chart": runs_chart(request.GET.get("chart"), list_base=reverse("runs:flow-runs")),
        }
    )
    return render_page(request, "runs/overview.html", context)
