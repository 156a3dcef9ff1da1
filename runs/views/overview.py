"""Overview: runs by state over the last hour, day and week; recent failures; what runs now."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from runs.badges import badge_for
from runs.models import Flow, FlowRun, TaskRun
from runs.states import STATE_NAMES, now
from runs.views.common import render_page

WINDOWS = [("Last hour", dt.timedelta(hours=1)), ("Last day", dt.timedelta(days=1)),
           ("Last week", dt.timedelta(days=7))]
FAILED_TYPES = ["FAILED", "CRASHED"]


def _counts(model, since: dt.datetime) -> list[dict]:
    """Runs created since ``since`` by state name, most first.

    One count per state name rather than one GROUP BY: each count reads only the
    (state_name, created) index, which keeps the week's count quick at millions of runs.
    """
    counts = []
    for name, type_ in STATE_NAMES.items():
        count = model.objects.filter(state_name=name, created__gte=since).count()
        if count:
            counts.append({"badge": badge_for(type_.value, name), "type": type_.value,
                           "name": name, "count": count})
    return sorted(counts, key=lambda c: -c["count"])


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The landing page; its "running now" fragment polls while anything runs."""
    moment = now()
    running_flows = list(FlowRun.objects.select_related("flow")
                         .filter(state_type__in=["RUNNING", "PENDING", "SCHEDULED"])
                         .order_by("-created")[:20])
    running_tasks = list(TaskRun.objects.filter(state_type="RUNNING").order_by("-created")[:20])
    context = {
        "running_flows": running_flows,
        "running_tasks": running_tasks,
        "live": bool(running_flows or running_tasks),
    }
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "running":
        return render_page(request, "runs/overview.html", context,
                           partial="runs/partials/running_now.html")
    windows = []
    for label, length in WINDOWS:
        since = moment - length
        windows.append({"label": label, "flow_runs": _counts(FlowRun, since),
                        "task_runs": _counts(TaskRun, since),
                        "range": {"Last hour": "1h", "Last day": "24h", "Last week": "7d"}[label]})
    context.update({
        "windows": windows,
        "failed_flow_runs": FlowRun.objects.select_related("flow")
        .filter(state_type__in=FAILED_TYPES).order_by("-created")[:10],
        "failed_task_runs": TaskRun.objects.filter(state_type__in=FAILED_TYPES)
        .order_by("-created")[:10],
        "has_runs": FlowRun.objects.exists(),
        "has_flows": Flow.objects.exclude(entrypoint="").exists(),
    })
    return render_page(request, "runs/overview.html", context)
