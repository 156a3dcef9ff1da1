"""Reading log lines: one definition of "the lines of a run" for the dashboard, API and client.

Every task-run line is stored with its flow run (see :mod:`runs.logging`), so a flow run's
lines, its task runs' included, are one indexed range on ``(flow_run, timestamp)``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from runs.models import FlowRun, Log, TaskRun
from runs.selectors.filters import Errors, parse_level, parse_uuid

#: The keyset order of every log list.
LOG_ORDER = ("timestamp", "id")


def _lines(*, flow_run_id=None, task_run_id=None, level: int | None = None) -> QuerySet[Log]:
    """The one definition of a run's lines: a flow run's are those stored with it (its task
    runs' included), a task run's those stored with it."""
    queryset = Log.objects.all()
    if flow_run_id is not None:
        queryset = queryset.filter(flow_run_id=flow_run_id)
    if task_run_id is not None:
        queryset = queryset.filter(task_run_id=task_run_id)
    if level is not None:
        queryset = queryset.filter(level__gte=level)
    return queryset.order_by(*LOG_ORDER)


def logs_for(run: FlowRun | TaskRun, *, level: Any = None) -> QuerySet[Log]:
    """Log lines of a run, oldest first; a flow run's include those of its task runs.

    ``level`` (a number or a name such as ``WARNING``) keeps lines at that level or above;
    FilterError names ``level`` when it is neither.
    """
    level = None if level in (None, "") else parse_level(level)
    if isinstance(run, FlowRun):
        return _lines(flow_run_id=run.id, level=level)
    return _lines(task_run_id=run.id, level=level)


def logs(run: FlowRun | TaskRun, level: Any = None) -> QuerySet[Log]:
    """:func:`logs_for`, by its earlier name."""
    return logs_for(run, level=level)


def log_lines(*, flow_run: Any = None, task_run: Any = None, level: Any = None) -> QuerySet[Log]:
    """Log lines, oldest first, of one flow run (as :func:`logs_for` it), one task run, or all.

    ``flow_run`` and ``task_run`` are runs or their ids (an unknown id has no lines); the lines
    of both when both are given. FilterError names every value that cannot be used.
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
    return _lines(**ids, level=number)


def log_table(lines: QuerySet[Log]) -> QuerySet:
    """What a logs table shows of each of ``lines``, oldest first, as plain dicts:
    ``timestamp``, ``level``, ``message``, ``task_run_id`` and ``run_name`` (the task run's)."""
    return lines.order_by(*LOG_ORDER).values(
        "timestamp", "level", "message", "task_run_id", run_name=F("task_run__name")
    )
