"""Task runs: the filtered list with keyset pages, and one task run's page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from runs import selectors
from runs.exceptions import ObjectNotFound
from runs.selectors import FilterError
from runs.selectors import cache as cache_selectors
from runs.selectors import runs as run_selectors
from runs.states import FINAL_TYPES, now
from runs.views.common import (
    filter_choices,
    is_filtered,
    is_live,
    list_filters,
    render_page,
    sorted_page,
)
from runs.views.logs import logs_context, logs_fragment
from runs.views.permissions import can_view


@can_view
def task_run_list(request: HttpRequest) -> HttpResponse:
    """Task runs, newest first; every filter lives in the query string."""
    kwargs, shown, errors = list_filters(request, extra=("task_name", "flow_run"))
    page = None
    if not errors:
        try:
            runs = selectors.task_runs(**kwargs, with_flow_run=True)
            page = sorted_page(request, runs, shown["sort"])
        except FilterError as exc:
            errors.update(exc.errors)
    live = is_live(request, page)
    context = {
        "page": page,
        "live": live,
        "filters": shown,
        "errors": errors,
        **filter_choices("task_name"),
        "filtered": is_filtered(shown),
    }
    return render_page(
        request,
        "runs/task_runs.html",
        context,
        partial="runs/partials/task_run_results.html",
        status=400 if errors else 200,
    )


def _history_rows(states: list) -> list[dict]:
    """Each state with how long the run stayed in it (until the next state, or now)."""
    rows = []
    for index, state in enumerate(states):
        following = states[index + 1].timestamp if index + 1 < len(states) else None
        final = state.type in FINAL_TYPES
        if following is not None:
            lasted = following - state.timestamp
        else:
            lasted = None if final else now() - state.timestamp
        rows.append({"state": state, "lasted": lasted, "final": final})
    return rows


@can_view
def task_run_detail(request: HttpRequest, task_run_id) -> HttpResponse:
    """One task run; ``?fragment=live`` gives only the part that polls while it is unfinished."""
    try:
        run = selectors.get_task_run(task_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    context = {"run": run, **logs_context(request, run)}
    response = logs_fragment(request, "runs/task_run.html", context)
    if response is not None:
        return response
    states = list(selectors.state_history(run))
    context.update(
        {
            "history": _history_rows(states),
            "retries": sum(1 for s in states if s.name == "AwaitingRetry"),
            "upstream": run_selectors.upstream_task_runs(run),
            "downstream": run_selectors.downstream_task_runs(run),
            "subflows": run_selectors.subflow_runs(run),
            "cache_expired": cache_selectors.is_expired(run.cache_expiration),
            "cache_source": run_selectors.cache_source(run),
            "live_url": reverse("runs:task-run", args=[run.id]) + "?fragment=live",
        }
    )
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "live":
        return render_page(
            request, "runs/task_run.html", context, partial="runs/partials/task_run_live.html"
        )
    return render_page(request, "runs/task_run.html", context)
