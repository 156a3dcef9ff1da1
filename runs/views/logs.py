"""The logs section of the run pages: lines at a chosen level, polled while the run is unfinished."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from runs import selectors
from runs.selectors import FilterError
from runs.views.common import render_page

LOG_LEVELS = [
    ("", "All levels"),
    ("DEBUG", "Debug"),
    ("INFO", "Info"),
    ("WARNING", "Warning"),
    ("ERROR", "Error"),
]
LOG_LINES_SHOWN = 200
_ZERO_ID = uuid.UUID(int=0)


def task_run_url_prefix() -> str:
    """The path of task run pages without the id, so long tables need not reverse each row."""
    return reverse("task-run", args=[_ZERO_ID]).replace(str(_ZERO_ID), "")


def logs_context(request: HttpRequest, run) -> dict:
    """The logs section's context: the run's lines (``selectors.logs_for``) at the chosen
    level, and the URL that polls them."""
    level = request.GET.get("level", "").strip()
    errors = {}
    try:
        lines = list(selectors.log_table(selectors.logs_for(run, level=level))[:LOG_LINES_SHOWN])
    except FilterError as exc:
        errors.update(exc.errors)
        lines = []
    query = {"fragment": "log-lines", **({"level": level} if level else {})}
    return {
        "logs": lines,
        "log_levels": LOG_LEVELS,
        "level": level,
        "errors": errors,
        "log_limit": LOG_LINES_SHOWN,
        "task_run_prefix": task_run_url_prefix(),
        "logs_live_url": f"{request.path}?{urlencode(query)}",
    }


def logs_fragment(request: HttpRequest, page: str, context: dict) -> HttpResponse | None:
    """The logs section (``fragment=logs``) or only its lines (``fragment=log-lines``)."""
    fragment = request.GET.get("fragment")
    if not getattr(request, "htmx", False) or fragment not in ("logs", "log-lines"):
        return None
    partial = "runs/partials/logs.html" if fragment == "logs" else "runs/partials/log_lines.html"
    return render_page(request, page, context, partial=partial)
