"""The logs section of the run pages: the newest lines, followed while the run is unfinished;
pages before and after them; level and text filters.

One query string drives it all: ``level`` and ``search`` (the filters, as in the logs API),
``log_page`` (a page token of :func:`runs.selectors.logs.log_page`; none: the newest lines).
With HTMX, ``fragment=logs`` answers the section, ``fragment=log-lines`` its lines, and
``fragment=log-follow&after=ID&shown=N`` the rows stored since (appended to the table by the
row that asked, which it replaces).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from runs.selectors import FilterError
from runs.selectors.logs import OLDEST_PAGE, lines_after, log_page, logs_for
from runs.states import now
from runs.views.common import render_page

LOG_LEVELS = [
    ("", "All levels"),
    ("DEBUG", "Debug"),
    ("INFO", "Info"),
    ("WARNING", "Warning"),
    ("ERROR", "Error"),
]
#: Lines on one page of the logs.
LOG_PAGE_SIZE = 200
#: Lines one poll of a followed page appends at most; more, and the page jumps to the newest.
NEW_LINES_PER_POLL = 500
#: Lines a followed page holds at most before it jumps to the newest page (keeps it light).
MAX_FOLLOWED_LINES = 2000
#: How long after a run ends its page still asks for lines (the last ones are written behind).
FOLLOW_GRACE = dt.timedelta(seconds=5)
_ZERO_ID = uuid.UUID(int=0)
_FILTERS = ("level", "search")


def task_run_url_prefix() -> str:
    """The path of task run pages without the id, so long tables need not reverse each row."""
    return reverse("runs:task-run", args=[_ZERO_ID]).replace(str(_ZERO_ID), "")


def is_followed(run) -> bool:
    """Whether the run's newest lines are followed: while it runs, and a moment after."""
    if not run.is_final:
        return True
    return run.end_time is not None and now() - run.end_time < FOLLOW_GRACE


def _whole_number(value: str | None) -> int:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0


def logs_context(request: HttpRequest, run) -> dict:
    """The logs section's context: a page of the run's lines (``selectors.logs_for`` with the
    request's ``level`` and ``search``, cut by ``log_page``), the links to the pages beside it,
    the download link, and, on the newest page of a running run, the URL that follows it.

    For ``fragment=log-follow``: only the lines stored since ``after`` instead of a page, or
    ``log_jump`` when so many came that the newest page should replace the lines shown.
    """
    query = {name: request.GET.get(name, "").strip() for name in (*_FILTERS, "log_page")}
    filters = {name: query[name] for name in _FILTERS if query[name]}
    path = request.path
    context = {
        "log_levels": LOG_LEVELS,
        "level": query["level"],
        "search": query["search"],
        "log_filtered": bool(filters),
        "errors": {},
        "logs": [],
        "log_limit": LOG_PAGE_SIZE,
        "task_run_prefix": task_run_url_prefix(),
        "log_following": False,
        "log_download_url": _download_url(run, filters),
        "logs_tail_url": f"{path}?{urlencode({'fragment': 'log-lines', **filters})}",
        "logs_newest_url": _page_url(path, filters, "") if query["log_page"] else None,
    }
    if request.GET.get("fragment") == "live" and getattr(request, "htmx", False):
        return context  # the live part of the page shows no lines
    try:
        lines = logs_for(run, level=query["level"], search=query["search"])
        if request.GET.get("fragment") == "log-follow" and getattr(request, "htmx", False):
            shown = _whole_number(request.GET.get("shown"))
            new = lines_after(
                lines, after=_whole_number(request.GET.get("after")), limit=NEW_LINES_PER_POLL
            )
            if not (new.more or shown + len(new.lines) > MAX_FOLLOWED_LINES):
                context.update(_following(path, filters, run, new.lines, new.after, shown))
                return context
            context["log_jump"] = True
            query["log_page"] = ""
            context["logs_newest_url"] = None
        page = log_page(lines, page=query["log_page"], size=LOG_PAGE_SIZE)
    except FilterError as exc:
        context["errors"] = exc.errors
        return context
    context.update(
        {
            "logs_older_url": page.older and _page_url(path, filters, page.older),
            "logs_newer_url": page.newer and _page_url(path, filters, page.newer),
            "logs_oldest_url": page.older and _page_url(path, filters, OLDEST_PAGE),
            "log_at_newest": page.newer is None,
        }
    )
    if page.newer is None:
        context.update(_following(path, filters, run, page.lines, page.after, 0))
        context["logs_newest_url"] = None
    else:
        context["logs"] = page.lines
    return context


def _following(path: str, filters: dict, run, lines: list, after: int, shown: int) -> dict:
    """The context of lines that end at the newest: ``log_follow_url`` asks for the next ones
    while the run is followed."""
    shown += len(lines)
    query = {"fragment": "log-follow", **filters, "after": after, "shown": shown}
    return {
        "logs": lines,
        "log_at_newest": True,
        "log_following": is_followed(run),
        "log_follow_url": f"{path}?{urlencode(query)}",
    }


def _page_url(path: str, filters: dict, token: str) -> str:
    query = {**filters, **({"log_page": token} if token else {})}
    return f"{path}?{urlencode(query)}" if query else path


def _download_url(run, filters: dict) -> str:
    name = "runs:task-run-logs" if getattr(run, "flow_run_id", None) else "runs:flow-run-logs"
    url = reverse(name, args=[run.id])
    return f"{url}?{urlencode(filters)}" if filters else url


def logs_fragment(request: HttpRequest, page: str, context: dict) -> HttpResponse | None:
    """With HTMX, the logs section (``fragment=logs``, or any request aimed at ``#logs``),
    only its lines (``fragment=log-lines``), or the rows stored since (``fragment=log-follow``;
    the newest page, swapped in for the lines, when that is what the context asks)."""
    if not getattr(request, "htmx", False):
        return None
    fragment = request.GET.get("fragment")
    if fragment is None and request.htmx.target == "logs":
        fragment = "logs"
    if fragment not in ("logs", "log-lines", "log-follow"):
        return None
    partial = {
        "logs": "runs/partials/logs.html",
        "log-lines": "runs/partials/log_lines.html",
        "log-follow": "runs/partials/log_rows.html",
    }[fragment]
    if fragment == "log-follow" and (context.get("log_jump") or context.get("errors")):
        partial = "runs/partials/log_lines.html"
    response = render_page(request, page, context, partial=partial)
    if partial == "runs/partials/log_lines.html" and fragment == "log-follow":
        response["HX-Retarget"] = "#log-lines"
        response["HX-Reswap"] = "outerHTML"
    patch_vary_headers(response, ("HX-Request",))
    return response
