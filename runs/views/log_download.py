""" "Download logs": a flow run's lines (its task runs' included) or a task run's, as text.

The response is streamed: lines are read in keyset chunks (``selectors.logs.log_chunks`` over
``logs_for``, the lines the page and the API show) and written as they are read, so a log of
any size is never held in memory. ``level`` and ``search`` filter as on the page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from runs import selectors
from runs.exceptions import ObjectNotFound
from runs.selectors import FilterError
from runs.selectors.logs import log_chunks, logs_for
from runs.values import printable
from runs.views.permissions import can_view

#: Lines read by one query of a download.
DOWNLOAD_CHUNK = 2000
_KEPT = "\n\t"


def format_line(when, level: int, run_name: str, message: str) -> str:
    """One line of the text: its time (UTC, ISO 8601 to the millisecond), level, run name and
    message; control characters a terminal would act on are escaped (``\\x1b``), the
    newlines and tabs of a traceback kept."""
    return (
        f"{when.isoformat(timespec='milliseconds')} {logging.getLevelName(level):<8} "
        f"{printable(run_name)} | {printable(message, keep=_KEPT)}\n"
    )


def stream_lines(lines) -> Iterator[str]:
    """The text of ``lines``, a chunk of lines at a time."""
    for chunk in log_chunks(lines, size=DOWNLOAD_CHUNK):
        yield "".join([format_line(*row) for row in chunk])


def _download(request: HttpRequest, run, kind: str) -> HttpResponse:
    level = request.GET.get("level", "").strip()
    search = request.GET.get("search", "").strip()
    try:
        lines = logs_for(run, level=level, search=search)
    except FilterError as exc:
        text = "".join(f"{name}: {message}\n" for name, message in exc.errors.items())
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name).strip("-.") or kind
    response = StreamingHttpResponse(stream_lines(lines), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{name}-logs.txt"
    )
    return response


@can_view
def flow_run_logs(request: HttpRequest, flow_run_id) -> HttpResponse:
    """The flow run's lines and its task runs', oldest first, as a text file."""
    try:
        run = selectors.get_flow_run(flow_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    return _download(request, run, "flow-run")


@can_view
def task_run_logs(request: HttpRequest, task_run_id) -> HttpResponse:
    """The task run's lines, oldest first, as a text file."""
    try:
        run = selectors.get_task_run(task_run_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    return _download(request, run, "task-run")
