"""One flow's page: its runs over time, success rate, duration percentiles, latest runs, Run form."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from runs.charts import runs_chart
from runs.exceptions import ObjectNotFound
from runs.forms import FlowRunForm
from runs.selectors import flows as flow_selectors
from runs.selectors import runs as run_selectors
from runs.selectors import stats
from runs.views.common import render_page
from runs.views.flows import run_choices
from runs.views.permissions import can_view

LATEST_RUNS = 10


@can_view
def flow_detail(request: HttpRequest, flow_name: str) -> HttpResponse:
    """The flow named ``flow_name`` (registered or only run from a script); ``?chart=`` picks
    the window (1h, 24h, 7d; a week by default) of the chart and the figures."""
    try:
        row = flow_selectors.get_flow(flow_name)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    chart = runs_chart(
        request.GET.get("chart"), list_base=reverse("runs:flow-runs"), flow=row.name, default="7d"
    )
    latest = list(run_selectors.flow_runs(flow=row.name)[:LATEST_RUNS])
    card = None
    if row.entrypoint:
        card = {
            "flow": row,
            "form": FlowRunForm(schema=row.parameters_schema, prefix=f"f{row.id}"),
            "last_run": latest[0] if latest else None,
            **run_choices([row.id])[row.id],
        }
    context = {
        "flow": row,
        "chart": chart,
        "chart_target": "flow-live",
        "window_label": stats.WINDOWS[chart.window].label,
        "figures": stats.flow_stats(row.name, since=chart.start, until=chart.end),
        "latest": latest,
        "all_runs_url": f"{reverse('runs:flow-runs')}?{urlencode({'flow': row.name})}",
        "card": card,
        "live": any(not run.is_final for run in latest),
    }
    return render_page(request, "runs/flow.html", context)
