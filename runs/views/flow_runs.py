"""Flow runs: the filtered list with keyset pages, and one run's page that updates live."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from runs import selectors
from runs.exceptions import ObjectNotFound
from runs.parameters import ParameterError
from runs.registry import RegistrationError, UnknownFlow
from runs.selectors import FilterError
from runs.selectors import flows as flow_selectors
from runs.selectors import runs as run_selectors
from runs.selectors.work_queues import queue_place
from runs.services.flow_runs import FlowRunError, cancel_flow_run, rerun_flow_run
from runs.timeline import build_timeline
from runs.views.common import (
    filter_choices,
    is_filtered,
    is_live,
    list_filters,
    render_page,
    sorted_page,
)
from runs.views.logs import logs_context, logs_fragment
from runs.views.permissions import can_operate, can_view

TASK_RUNS_SHOWN = 100
LINKS_SHOWN = 200


@can_view
def flow_run_list(request: HttpRequest) -> HttpResponse:
    """Flow runs, newest first; every filter lives in the query string."""
    kwargs, shown, errors = list_filters(request, extra=("flow",))
    # runs a deployment's schedules made ahead stay out of the list unless asked for
    show_upcoming = request.GET.get("upcoming", "") in ("1", "true", "yes", "on")
    kwargs["upcoming"] = show_upcoming
    page = None
    if not errors:
        try:
            page = sorted_page(request, selectors.flow_runs(**kwargs), shown["sort"])
        except FilterError as exc:
            errors.update(exc.errors)
    if page:
        summary = run_selectors.task_state_summary([run.id for run in page.items])
        for run in page.items:
            run.task_problems = summary.get(run.id, [])
    live = is_live(request, page)
    context = {
        "page": page,
        "live": live,
        "filters": shown,
        "errors": errors,
        **filter_choices("flow"),
        "flows": flow_selectors.flow_names(),
        "filtered": is_filtered(shown),
        "has_flows": flow_selectors.any_registered_flows(),
        "show_upcoming": show_upcoming,
        "upcoming_count": 0
        if show_upcoming or errors
        else run_selectors.upcoming_flow_run_count(**kwargs),
    }
    return render_page(
        request,
        "runs/flow_runs.html",
        context,
        partial="runs/partials/flow_run_results.html",
        status=400 if errors else 200,
    )


@can_view
def flow_run_detail(request: HttpRequest, flow_run_id) -> HttpResponse:
    """One flow run; ``?fragment=live`` gives only the part that polls while it is unfinished."""
    try:
        run = selectors.get_flow_run(flow_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    context = {
        "run": run,
        "task_problems": run_selectors.task_state_summary([run.id]).get(run.id, []),
        "queue_place": queue_place(run),
        **logs_context(request, run),
    }
    response = logs_fragment(request, "runs/flow_run.html", context)
    if response is not None:
        return response
    expand = frozenset(request.GET.getlist("expand"))
    base = reverse("runs:flow-run", args=[run.id])

    def expand_url(task_key: str) -> str:
        keys = sorted(expand | {task_key})
        return f"{base}?{urlencode([('expand', k) for k in keys])}#timeline"

    prefix = context["task_run_prefix"]
    timeline = build_timeline(
        run,
        expand=expand,
        page=request.GET.get("rows"),
        run_url=lambda rid: f"{prefix}{rid}/",
        expand_url=expand_url,
    )
    task_runs = run_selectors.task_runs_of(run, limit=TASK_RUNS_SHOWN, summary=True)
    query = request.GET.copy()
    query.pop("fragment", None)
    params = [(key, value) for key, values in query.lists() for value in values]
    context.update(
        {
            "states": list(selectors.state_history(run)),
            "timeline": timeline,
            "task_runs": task_runs,
            "more_task_runs": max(timeline.task_runs - len(task_runs), 0),
            "links": run_selectors.dependency_links([t.id for t in task_runs], limit=LINKS_SHOWN),
            "subflows": run_selectors.subflow_runs(run),
            "live_url": f"{base}?{urlencode([('fragment', 'live'), *params])}",
        }
    )
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "live":
        return render_page(
            request, "runs/flow_run.html", context, partial="runs/partials/flow_run_live.html"
        )
    return render_page(request, "runs/flow_run.html", context)


@can_operate
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
    return redirect("runs:flow-run", flow_run_id=flow_run_id)


@can_operate
@require_POST
def flow_run_rerun(request: HttpRequest, flow_run_id) -> HttpResponse:
    """Run a finished flow run's flow again with its parameters ("Retry failed"), then open the
    new run's page; what stops it is said on the first run's page."""
    try:
        new = rerun_flow_run(flow_run_id=flow_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    except (FlowRunError, UnknownFlow, RegistrationError) as exc:
        messages.error(request, str(exc))
    except ParameterError as exc:
        problems = "; ".join(f"{name}: {text}" for name, text in exc.errors.items())
        messages.error(
            request,
            f"The recorded parameters no longer fit the flow ({problems}); use Run again to "
            "change them.",
        )
    else:
        messages.success(request, f"Started {new.name!r}, a re-run of this flow run's flow.")
        return redirect("runs:flow-run", flow_run_id=new.id)
    return redirect("runs:flow-run", flow_run_id=flow_run_id)
