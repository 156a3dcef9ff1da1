"""Flow runs: the filtered list with keyset pages, and one run's page that updates live."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from runs import selectors
from runs.exceptions import ObjectNotFound
from runs.models import Flow, TaskRun, TaskRunDependency
from runs.selectors import FilterError
from runs.services.flow_runs import FlowRunError, cancel_flow_run
from runs.timeline import build_timeline
from runs.views.common import PAGE_SIZE, filter_choices, list_filters, render_page
from runs.views.logs import flow_run_logs, logs_context, logs_fragment

TASK_RUNS_SHOWN = 100
LINKS_SHOWN = 200


@login_required
def flow_run_list(request: HttpRequest) -> HttpResponse:
    """Flow runs, newest first; every filter lives in the query string."""
    kwargs, shown, errors = list_filters(request, extra=("flow",))
    page = None
    if not errors:
        try:
            page = selectors.keyset_page(selectors.flow_runs(**kwargs),
                                         cursor=request.GET.get("cursor") or None, size=PAGE_SIZE)
        except FilterError as exc:
            errors.update(exc.errors)
    live = bool(page and not request.GET.get("cursor")
                and any(not run.is_final for run in page.items))
    context = {
        "page": page, "live": live, "filters": shown, "errors": errors, **filter_choices(),
        "flows": Flow.objects.order_by("name").values_list("name", flat=True),
        "filtered": any(shown.values()),
        "has_flows": Flow.objects.exclude(entrypoint="").exists(),
    }
    return render_page(request, "runs/flow_runs.html", context,
                       partial="runs/partials/flow_run_results.html",
                       status=400 if errors else 200)


def _links(task_run_ids: list) -> list[TaskRunDependency]:
    return list(TaskRunDependency.objects.filter(downstream_id__in=task_run_ids)
                .select_related("upstream", "downstream").order_by("id")[:LINKS_SHOWN])


@login_required
def flow_run_detail(request: HttpRequest, flow_run_id) -> HttpResponse:
    """One flow run; ``?fragment=live`` gives only the part that polls while it is unfinished."""
    try:
        run = selectors.get_flow_run(flow_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    context = {"run": run, **logs_context(request, run, lambda lvl: flow_run_logs(run, lvl))}
    response = logs_fragment(request, "runs/flow_run.html", context)
    if response is not None:
        return response
    expand = frozenset(request.GET.getlist("expand"))
    base = reverse("flow-run", args=[run.id])

    def expand_url(task_key: str) -> str:
        keys = sorted(expand | {task_key})
        return f"{base}?{urlencode([('expand', k) for k in keys])}#timeline"

    prefix = context["task_run_prefix"]
    timeline = build_timeline(run, expand=expand, run_url=lambda rid: f"{prefix}{rid}/",
                              expand_url=expand_url)
    task_runs = list(TaskRun.objects.filter(flow_run=run).order_by("created", "id").only(
        "id", "name", "state_type", "state_name", "state_message", "run_count", "start_time",
        "end_time")[:TASK_RUNS_SHOWN])
    query = request.GET.copy()
    query.pop("fragment", None)
    params = [(key, value) for key, values in query.lists() for value in values]
    context.update({
        "states": list(selectors.state_history(run)),
        "timeline": timeline,
        "task_runs": task_runs,
        "more_task_runs": max(timeline.task_runs - len(task_runs), 0),
        "links": _links([t.id for t in task_runs]),
        "subflows": list(selectors.flow_runs(parent=run.id)[:50]),
        "live_url": f"{base}?{urlencode([('fragment', 'live'), *params])}",
    })
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "live":
        return render_page(request, "runs/flow_run.html", context,
                           partial="runs/partials/flow_run_live.html")
    return render_page(request, "runs/flow_run.html", context)


@login_required
@require_POST
def flow_run_cancel(request: HttpRequest, flow_run_id) -> HttpResponse:
    """Cancel a scheduled, pending or running flow run, then show its page again."""
    try:
        run = cancel_flow_run(flow_run_id=flow_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    except FlowRunError as exc:
        messages.info(request, str(exc))
    else:
        messages.success(request, f"Cancelled flow run {run.name!r}.")
    return redirect("flow-run", flow_run_id=flow_run_id)
