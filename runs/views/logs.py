"""The logs section of the run pages: lines at a chosen level, polled while the run is unfinished."""

from __future__ import annotations

import uuid

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from runs import selectors
from runs.models import Log, TaskRun
from runs.selectors import FilterError
from runs.views.common import render_page

LOG_LEVELS = [("", "All levels"), ("DEBUG", "Debug"), ("INFO", "Info"),
              ("WARNING", "Warning"), ("ERROR", "Error")]
LOG_LINES_SHOWN = 200
_ZERO_ID = uuid.UUID(int=0)


def flow_run_logs(run, level: str) -> QuerySet[Log]:
    """Log lines of the flow run and of its task runs, oldest first, at ``level`` or above."""
    lines = Log.objects.filter(
        Q(flow_run_id=run.id)
        | Q(task_run_id__in=TaskRun.objects.filter(flow_run_id=run.id).values("id")))
    if level:
        lines = lines.filter(level__gte=selectors.parse_level(level))
    return log_rows(lines)


def log_rows(lines: QuerySet[Log]) -> QuerySet:
    """What the logs table shows of each line, oldest first, as plain dicts."""
    return lines.order_by("timestamp", "id").values(
        "timestamp", "level", "message", "task_run_id", run_name=F("task_run__name"))


def task_run_url_prefix() -> str:
    """The path of task run pages without the id, so long tables need not reverse each row."""
    return reverse("task-run", args=[_ZERO_ID]).replace(str(_ZERO_ID), "")


def logs_context(request: HttpRequest, run, lines_for_level) -> dict:
    """The logs section's context: lines at the chosen level, and whether they still poll."""
    level = request.GET.get("level", "").strip()
    errors = {}
    try:
        lines = list(lines_for_level(level)[:LOG_LINES_SHOWN])
    except FilterError as exc:
        errors.update(exc.errors)
        lines = []
    query = {"fragment": "log-lines", **({"level": level} if level else {})}
    return {"logs": lines, "log_levels": LOG_LEVELS, "level": level, "errors": errors,
            "log_limit": LOG_LINES_SHOWN, "task_run_prefix": task_run_url_prefix(),
            "logs_live_url": f"{request.path}?{urlencode(query)}"}


def logs_fragment(request: HttpRequest, page: str, context: dict) -> HttpResponse | None:
    """The logs section (``fragment=logs``) or only its lines (``fragment=log-lines``)."""
    fragment = request.GET.get("fragment")
    if not getattr(request, "htmx", False) or fragment not in ("logs", "log-lines"):
        return None
    partial = "runs/partials/logs.html" if fragment == "logs" else "runs/partials/log_lines.html"
    return render_page(request, page, context, partial=partial)
