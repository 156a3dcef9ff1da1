"""Reading log lines: one definition of "the lines of a run" for the dashboard, API and client.

Every task-run line is stored with its flow run (see :mod:`runs.logging`), so a flow run's
lines, its task runs' included, are one indexed range on ``(flow_run, timestamp)``.

Besides the querysets (:func:`logs_for`, :func:`log_lines`), the dashboard reads them three
ways, all over the same querysets the API pages: :func:`log_page` (the newest lines, or any
page before and after them, cut by :func:`~runs.selectors.paging.keyset_page`),
:func:`lines_after` (what was stored since a page was read, for following a running run) and
:func:`log_chunks` (every line in keyset chunks, for a download that never holds the log).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Coalesce

from runs.models import FlowRun, Log, TaskRun
from runs.selectors.filters import Errors, FilterError, parse_level, parse_uuid
from runs.selectors.paging import keyset_page

#: The keyset order of every log list.
LOG_ORDER = ("timestamp", "id")
_NEWEST_FIRST = ("-timestamp", "-id")
#: Page tokens of :func:`log_page`: the oldest page, and the prefixes of cursors that read
#: newest first ("d.") or oldest first ("a.").
OLDEST_PAGE = "oldest"
_DESCENDING, _ASCENDING = "d.", "a."
#: The most lines :func:`lines_after` and :func:`log_chunks` read in one query.
MAX_CHUNK = 5000


def _lines(
    *, flow_run_id=None, task_run_id=None, level: int | None = None, search: str = ""
) -> QuerySet[Log]:
    """The one definition of a run's lines: a flow run's are those stored with it (its task
    runs' included), a task run's those stored with it."""
    queryset = Log.objects.all()
    if flow_run_id is not None:
        queryset = queryset.filter(flow_run_id=flow_run_id)
    if task_run_id is not None:
        queryset = queryset.filter(task_run_id=task_run_id)
    if level is not None:
        queryset = queryset.filter(level__gte=level)
    if search:
        queryset = queryset.filter(message__icontains=search)
    return queryset.order_by(*LOG_ORDER)


def _search(value: Any) -> str:
    return "" if value is None else str(value).strip()


def logs_for(run: FlowRun | TaskRun, *, level: Any = None, search: Any = None) -> QuerySet[Log]:
    """Log lines of a run, oldest first; a flow run's include those of its task runs.

    ``level`` (a number or a name such as ``WARNING``) keeps lines at that level or above;
    FilterError names ``level`` when it is neither. ``search`` keeps lines whose message
    contains it, any case.
    """
    level = None if level in (None, "") else parse_level(level)
    if isinstance(run, FlowRun):
        return _lines(flow_run_id=run.id, level=level, search=_search(search))
    return _lines(task_run_id=run.id, level=level, search=_search(search))


def logs(run: FlowRun | TaskRun, level: Any = None) -> QuerySet[Log]:
    """:func:`logs_for`, by its earlier name."""
    return logs_for(run, level=level)


def log_lines(
    *, flow_run: Any = None, task_run: Any = None, level: Any = None, search: Any = None
) -> QuerySet[Log]:
    """Log lines, oldest first, of one flow run (as :func:`logs_for` it), one task run, or all.

    ``flow_run`` and ``task_run`` are runs or their ids (an unknown id has no lines); the lines
    of both when both are given. ``search`` keeps messages containing it, any case.
    FilterError names every value that cannot be used.
    """
    errors = Errors()
    ids = {}
    for name, value in (("flow_run", flow_run), ("task_run", task_run)):
        if value not in (None, ""):
            with errors:
                ids[f"{name}_id"] = parse_uuid(value, field_name=name)
    number = None
    if level not in (None, ""):
        with errors:
            number = parse_level(level)
    errors.raise_any()
    return _lines(**ids, level=number, search=_search(search))


def log_table(lines: QuerySet[Log]) -> QuerySet:
    """What a logs table shows of each of ``lines``, oldest first, as plain dicts:
    ``timestamp``, ``level``, ``message``, ``task_run_id`` and ``run_name`` (the task run's)."""
    return lines.order_by(*LOG_ORDER).values(
        "timestamp", "level", "message", "task_run_id", run_name=F("task_run__name")
    )


def _shown(lines: QuerySet[Log]) -> QuerySet[Log]:
    """``lines`` with what a reader sees of each: ``run_name`` is the task run's name, or the
    flow run's for the flow's own lines."""
    return lines.annotate(run_name=Coalesce(F("task_run__name"), F("flow_run__name"))).only(
        "id", "timestamp", "level", "message", "task_run_id"
    )


def _last_id() -> int:
    """The id of the newest line stored (any run): lines stored later have larger ids."""
    return Log.objects.aggregate(last=Max("id"))["last"] or 0


@dataclass
class LogPage:
    """Lines of a run, oldest first, with the tokens of the pages beside them.

    ``older`` and ``newer`` are :func:`log_page` tokens, None where there is nothing more that
    way (``newer`` is None on the newest lines). ``after`` is the id :func:`lines_after` takes
    to read only what was stored since this page was read.
    """

    lines: list[Log] = field(default_factory=list)
    older: str | None = None
    newer: str | None = None
    after: int = 0


def log_page(lines: QuerySet[Log], *, page: str = "", size: int = 200) -> LogPage:
    """A page of ``size`` of ``lines`` (from :func:`logs_for` or :func:`log_lines`).

    ``page`` is "" for the newest lines (the tail), :data:`OLDEST_PAGE` for the first ones,
    or a token from ``older``/``newer`` of an earlier page. Any other token is a FilterError
    naming ``log_page``.
    """
    page = (page or "").strip()
    if page in ("", OLDEST_PAGE):
        newest_first, cursor = page == "", None
    elif page.startswith((_DESCENDING, _ASCENDING)):
        newest_first, cursor = page.startswith(_DESCENDING), page[2:]
    else:
        raise FilterError({"log_page": _BAD_PAGE})
    after = _last_id()  # read first: a line stored meanwhile is shown again, never missed
    ordering = _NEWEST_FIRST if newest_first else LOG_ORDER
    try:
        cut = keyset_page(_shown(lines), cursor=cursor, size=size, ordering=ordering)
    except FilterError:
        raise FilterError({"log_page": _BAD_PAGE}) from None
    items = cut.items
    if newest_first:
        items.reverse()
        older, newer = cut.next_cursor, cut.previous_cursor
        prefix = _DESCENDING
    else:
        older, newer = cut.previous_cursor, cut.next_cursor
        prefix = _ASCENDING
    return LogPage(
        lines=items,
        older=older and prefix + older,
        newer=newer and prefix + newer,
        after=max([after, *(line.id for line in items)]),
    )


_BAD_PAGE = (
    "This page of the logs is not one the dashboard gave out; follow the Older or Newer links, "
    "or leave log_page out for the newest lines."
)


@dataclass
class NewLines:
    """Lines stored since a page was read, oldest first; ``after`` is the id to ask from next
    time; ``more`` says that more lines came than were read (a reader should jump to the
    newest page rather than append them all)."""

    lines: list[Log] = field(default_factory=list)
    after: int = 0
    more: bool = False


def lines_after(lines: QuerySet[Log], *, after: int, limit: int = 500) -> NewLines:
    """At most ``limit`` of ``lines`` stored after the line with id ``after`` (a
    :attr:`LogPage.after` or :attr:`NewLines.after`), in the order a page shows them.

    Lines are numbered as they are stored, so a line that comes late with an earlier time is
    still found.
    """
    limit = max(1, min(limit, MAX_CHUNK))
    last = _last_id()  # read first: a line stored meanwhile is read next time, never twice
    rows = list(
        _shown(lines)
        .filter(id__gt=after, id__lte=last)
        .order_by("id")[: limit + 1]  # the id range, so the query starts at the new lines
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = rows[-1].id if more else max(after, last)
    rows.sort(key=lambda line: (line.timestamp, line.id))
    return NewLines(lines=rows, after=next_after, more=more)


def log_chunks(lines: QuerySet[Log], *, size: int = 2000) -> Iterator[list[tuple]]:
    """Every one of ``lines``, oldest first, as ``(timestamp, level, run_name, message)``
    tuples in lists of at most ``size`` (``run_name``: the task run's name, or the flow run's).

    One keyset query a list, on the order of every log list, so a log of any length is never
    held whole, nor a read kept open between lists. Plain tuples, not models: a download
    reads millions of them.
    """
    size = max(1, min(size, MAX_CHUNK))
    rows = lines.order_by(*LOG_ORDER).values_list(
        "timestamp", "id", "level", Coalesce(F("task_run__name"), F("flow_run__name")), "message"
    )
    chunk = rows
    while True:
        batch = list(chunk[:size])
        if batch:
            yield [(when, level, name, message) for when, _, level, name, message in batch]
        if len(batch) < size:
            return
        when, last, *_ = batch[-1]
        # After (when, last) in (timestamp, id) order; the leading >= lets the index start there.
        chunk = rows.filter(
            Q(timestamp__gte=when) & (Q(timestamp__gt=when) | Q(timestamp=when, id__gt=last))
        )
