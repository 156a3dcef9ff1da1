"""Reading flow runs, task runs, their states and dependencies, for every face.

Lists are newest first (``-created, -id``, the order their indexes serve) unless a function
says otherwise; :mod:`runs.selectors.paging` cuts them into pages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from runs.exceptions import ObjectNotFound
from runs.models import FlowRun, RunTag, State, TaskRun, TaskRunDependency
from runs.selectors.filters import (
    Errors,
    FilterError,
    parse_flag,
    parse_state_types,
    parse_uuid,
    run_filters,
    state_filters,
    time_range,
)
from runs.states import STATE_NAMES, now

#: State types of runs that have not ended yet, as the overview's "running now" shows them.
ACTIVE_TYPES = ("RUNNING", "PENDING", "SCHEDULED")
FAILED_TYPES = ("FAILED", "CRASHED")


def flow_runs(
    *,
    flow: str | None = None,
    state_type: Any = None,
    state_name: Any = None,
    tag: str | None = None,
    since: Any = None,
    until: Any = None,
    parent: Any = None,
    search: str | None = None,
    retried: Any = None,
    min_duration: Any = None,
    max_duration: Any = None,
    message: str | None = None,
    upcoming: Any = True,
) -> QuerySet[FlowRun]:
    """Flow runs, newest first, filtered.

    ``flow`` is a flow name; ``state_type`` one type or several (list or comma-separated);
    ``state_name`` likewise (exact names, e.g. ``Cached``); ``tag`` one tag; ``since``/``until``
    bound ``created``; ``parent`` is the id of the task run a subflow was called from, or of the
    flow run that task run belongs to; ``search`` matches part of the run's name, any case;
    ``retried``, ``min_duration``/``max_duration`` and ``message`` as in
    :func:`runs.selectors.filters.run_filters`. ``upcoming`` false leaves out the runs
    scheduled for later that have not started (a deployment's schedules make them ahead).
    """
    queryset = FlowRun.objects.select_related("flow")
    errors = Errors()
    if upcoming not in (None, ""):
        with errors:
            if not parse_flag(upcoming, field_name="upcoming"):
                queryset = queryset.exclude(not_yet_due())
    if flow:
        queryset = queryset.filter(flow__name=flow)
    with errors:
        queryset = state_filters(queryset, state_type, state_name)
    if tag:
        queryset = queryset.filter(
            id__in=RunTag.objects.filter(tag=tag, flow_run__isnull=False).values("flow_run_id")
        )
    with errors:
        queryset = time_range(queryset, since, until)
    if parent not in (None, ""):
        with errors:
            parent_id = parse_uuid(parent, field_name="parent")
            queryset = queryset.filter(
                Q(parent_task_run_id=parent_id) | Q(parent_task_run__flow_run_id=parent_id)
            )
    if search:
        queryset = queryset.filter(name__icontains=search)
    with errors:
        queryset = run_filters(
            queryset,
            retried=retried,
            min_duration=min_duration,
            max_duration=max_duration,
            message=message,
        )
    errors.raise_any()
    return queryset.order_by("-created", "-id")


def task_runs(
    *,
    flow_run: Any = None,
    state_type: Any = None,
    state_name: Any = None,
    tag: str | None = None,
    task_name: str | None = None,
    since: Any = None,
    until: Any = None,
    search: str | None = None,
    retried: Any = None,
    min_duration: Any = None,
    max_duration: Any = None,
    message: str | None = None,
    with_flow_run: bool = False,
) -> QuerySet[TaskRun]:
    """Task runs, newest first, filtered like :func:`flow_runs`.

    ``flow_run`` is a flow run (or its id); ``task_name`` the exact name of the task;
    ``with_flow_run`` loads each run's flow run in the same query.
    """
    queryset = (
        TaskRun.objects.select_related("flow_run") if with_flow_run else TaskRun.objects.all()
    )
    errors = Errors()
    if flow_run not in (None, ""):
        with errors:
            queryset = queryset.filter(flow_run_id=parse_uuid(flow_run, field_name="flow_run"))
    with errors:
        queryset = state_filters(queryset, state_type, state_name)
    if tag:
        queryset = queryset.filter(
            id__in=RunTag.objects.filter(tag=tag, task_run__isnull=False).values("task_run_id")
        )
    if task_name:
        queryset = queryset.filter(task_name=task_name)
    with errors:
        queryset = time_range(queryset, since, until)
    if search:
        queryset = queryset.filter(name__icontains=search)
    with errors:
        queryset = run_filters(
            queryset,
            retried=retried,
            min_duration=min_duration,
            max_duration=max_duration,
            message=message,
        )
    errors.raise_any()
    return queryset.order_by("-created", "-id")


def get_flow_run(flow_run_id: Any) -> FlowRun:
    """One flow run with its flow; ObjectNotFound when there is none with this id."""
    try:
        run_id = parse_uuid(flow_run_id, field_name="id")
    except FilterError:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.") from None
    run = (
        FlowRun.objects.select_related("flow", "deployment", "work_queue").filter(id=run_id).first()
    )
    if run is None:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.")
    return run


def find_flow_run(text: str, *, scan: int = 5000) -> FlowRun:
    """The flow run whose id is ``text``, or the only one of the newest ``scan`` whose id starts
    with it (4 hex digits at least); ObjectNotFound saying which, and what to do, otherwise."""
    hint = "`runs flow-run ls` lists them."
    try:
        run_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        run = FlowRun.objects.select_related("flow").filter(id=run_id).first()
        if run is None:
            raise ObjectNotFound(f"No flow run has id {text}. {hint}")
        return run
    prefix = text.replace("-", "").lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        raise ObjectNotFound(f"{text!r} is not a flow run id. {hint}")
    newest = FlowRun.objects.select_related("flow").order_by("-created")[:scan]
    matches = [run for run in newest if run.id.hex.startswith(prefix)]
    if not matches:
        raise ObjectNotFound(f"No flow run id starts with {text}. {hint}")
    if len(matches) > 1:
        raise ObjectNotFound(f"{len(matches)} flow runs start with {text}; give more of the id.")
    return matches[0]


def get_task_run(task_run_id: Any) -> TaskRun:
    """One task run with its flow run and flow; ObjectNotFound when there is none with this id."""
    try:
        run_id = parse_uuid(task_run_id, field_name="id")
    except FilterError:
        raise ObjectNotFound(f"No task run has id {task_run_id}.") from None
    run = TaskRun.objects.select_related("flow_run", "flow_run__flow").filter(id=run_id).first()
    if run is None:
        raise ObjectNotFound(f"No task run has id {task_run_id}.")
    return run


#: What a list of task runs shows; loading only these keeps long flow runs' pages quick.
SUMMARY_FIELDS = (
    "id",
    "name",
    "state_type",
    "state_name",
    "state_message",
    "run_count",
    "start_time",
    "end_time",
)


def task_runs_of(
    flow_run: FlowRun, *, limit: int | None = None, summary: bool = False
) -> list[TaskRun]:
    """The task runs of ``flow_run``, first created first (at most ``limit``); with
    ``summary``, only the :data:`SUMMARY_FIELDS` are loaded."""
    queryset = TaskRun.objects.filter(flow_run_id=flow_run.id).order_by("created", "id")
    if summary:
        queryset = queryset.only(*SUMMARY_FIELDS)
    return list(queryset if limit is None else queryset[:limit])


def subflow_runs(run: FlowRun | TaskRun, *, limit: int = 50) -> list[FlowRun]:
    """Flow runs called from the task run ``run`` (or from any task run of the flow run
    ``run``), first created first."""
    if isinstance(run, TaskRun):
        queryset = FlowRun.objects.select_related("flow").filter(parent_task_run_id=run.id)
    else:
        queryset = flow_runs(parent=run.id)
    return list(queryset.order_by("created", "id")[:limit])


def upstream_ids(task_run: TaskRun) -> list[uuid.UUID]:
    """Ids of the task runs ``task_run`` waited for or took values from."""
    return list(
        dict.fromkeys(
            TaskRunDependency.objects.filter(downstream=task_run)
            .order_by("id")
            .values_list("upstream_id", flat=True)
        )
    )


def upstream_task_runs(task_run: TaskRun, *, limit: int = 100) -> list[TaskRun]:
    """The task runs ``task_run`` waited for or took values from, first created first."""
    return list(
        TaskRun.objects.filter(id__in=upstream_ids(task_run)).order_by("created", "id")[:limit]
    )


def downstream_task_runs(task_run: TaskRun, *, limit: int = 100) -> list[TaskRun]:
    """The task runs that waited for ``task_run`` or took its value, first created first."""
    ids = TaskRunDependency.objects.filter(upstream=task_run).values("downstream_id")
    return list(TaskRun.objects.filter(id__in=ids).order_by("created", "id")[:limit])


def dependency_links(task_run_ids: list, *, limit: int = 200) -> list[TaskRunDependency]:
    """The dependencies into the task runs ``task_run_ids``, with both ends loaded."""
    return list(
        TaskRunDependency.objects.filter(downstream_id__in=task_run_ids)
        .select_related("upstream", "downstream")
        .order_by("id")[:limit]
    )


def state_history(run: FlowRun | TaskRun) -> QuerySet[State]:
    """Every state of a flow run or task run, oldest first."""
    if isinstance(run, FlowRun):
        return State.objects.filter(flow_run=run).order_by("timestamp", "id")
    return State.objects.filter(task_run=run).order_by("timestamp", "id")


# --- the overview ----------------------------------------------------------------------------
# Sorted by ``created`` alone: the (state_type, -created) indexes then serve the whole order.


def state_counts(kind: str, since: dt.datetime) -> dict[str, int]:
    """How many flow runs (``kind="flow"``) or task runs (``"task"``) created since ``since``
    are in each state name.

    One count per state name rather than one GROUP BY: each count reads only the
    (state_name, created) index, which keeps the week's count quick at millions of runs.
    The counts are one statement of scalar subqueries (``SELECT (SELECT COUNT(*) ...), ...``):
    one round trip, and none of the ORM's cost of building 14 queries, which was most of the
    overview's time. Names with no run are left out.
    """
    model = {"flow": FlowRun, "task": TaskRun}[kind]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    name_column = quote(model._meta.get_field("state_name").column)
    created_column = quote(model._meta.get_field("created").column)
    one = f"(SELECT COUNT(*) FROM {table} WHERE {name_column} = %s AND {created_column} >= %s)"
    names = list(STATE_NAMES)
    moment = connection.ops.adapt_datetimefield_value(since)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join([one] * len(names)),
            [value for name in names for value in (name, moment)],
        )
        row = cursor.fetchone()
    return {name: count for name, count in zip(names, row, strict=True) if count}


def not_yet_due() -> Q:
    """Runs scheduled for later that have not started: what a deployment's schedules made
    ahead of time, or a run started with a delay."""
    return Q(state_type="SCHEDULED", expected_start_time__gt=now())


def upcoming_flow_run_count(**filters: Any) -> int:
    """How many flow runs are scheduled for later (left out of the lists by default), among
    those :func:`flow_runs` selects with ``filters``."""
    filters["upcoming"] = True
    return flow_runs(**filters).filter(not_yet_due()).count()


def active_flow_runs(*, limit: int = 20) -> list[FlowRun]:
    """Flow runs that have not ended (scheduled and due, pending, running), newest first;
    runs scheduled for later are left out."""
    return list(
        FlowRun.objects.select_related("flow")
        .filter(state_type__in=ACTIVE_TYPES)
        .exclude(not_yet_due())
        .order_by("-created")[:limit]
    )


def running_task_runs(*, limit: int = 20) -> list[TaskRun]:
    """Task runs running now, newest first."""
    return list(TaskRun.objects.filter(state_type="RUNNING").order_by("-created")[:limit])


def failed_flow_runs(*, limit: int = 10) -> list[FlowRun]:
    """The latest failed or crashed flow runs, newest first."""
    return list(
        FlowRun.objects.select_related("flow")
        .filter(state_type__in=FAILED_TYPES)
        .order_by("-created")[:limit]
    )


def failed_task_runs(*, limit: int = 10) -> list[TaskRun]:
    """The latest failed or crashed task runs, newest first."""
    return list(TaskRun.objects.filter(state_type__in=FAILED_TYPES).order_by("-created")[:limit])


def any_flow_runs() -> bool:
    """Whether any flow run has been recorded."""
    return FlowRun.objects.exists()


def latest_flow_runs(
    *,
    flow: str | None = None,
    state: str | None = None,
    limit: int = 20,
    upcoming: bool = False,
) -> list[FlowRun]:
    """The newest ``limit`` flow runs, of the flow named ``flow`` and in the state types
    ``state`` (comma-separated) when given, runs scheduled for later only with ``upcoming``;
    FilterError names an unknown state type."""
    if state:
        parse_state_types(state, field_name="state")
    return list(flow_runs(flow=flow, state_type=state, upcoming=upcoming)[:limit])


#: Task-run states a flow run's summary counts: those a person should look at.
ATTENTION_STATE_TYPES = ("FAILED", "CRASHED", "CANCELLED")


def task_state_summary(flow_run_ids: list) -> dict[uuid.UUID, list[tuple[str, str, int]]]:
    """Per flow run, its task runs that failed, crashed or were cancelled, counted by state
    name: ``{run_id: [(state_type, state_name, count), ...]}``, most first. A Completed flow
    run whose TimedOut task it tolerated shows ``1 TimedOut`` this way."""
    rows = (
        TaskRun.objects.filter(flow_run_id__in=flow_run_ids, state_type__in=ATTENTION_STATE_TYPES)
        .values_list("flow_run_id", "state_type", "state_name")
        .annotate(count=Count("id"))
        .order_by()
    )
    summary: dict[uuid.UUID, list[tuple[str, str, int]]] = {}
    for run_id, state_type, state_name, count in rows:
        summary.setdefault(run_id, []).append((state_type, state_name, count))
    for counts in summary.values():
        counts.sort(key=lambda item: -item[2])
    return summary


def cache_source(task_run: TaskRun) -> TaskRun | None:
    """The task run whose result a Cached task run reused: the one that computed it (its
    Completed state holds the same cache key and result), or None when that is gone."""
    if task_run.state_name != "Cached" or not task_run.cache_key:
        return None
    hit = (
        State.objects.filter(task_run=task_run, name="Cached")
        .exclude(result_key="")
        .order_by("-timestamp")
        .values_list("result_key", flat=True)
        .first()
    )
    if hit is None:
        return None
    origin = (
        State.objects.filter(cache_key=task_run.cache_key, result_key=hit, type="COMPLETED")
        .exclude(name="Cached")
        .exclude(task_run=task_run)
        .order_by("timestamp")
        .values_list("task_run_id", flat=True)
        .first()
    )
    return TaskRun.objects.filter(id=origin).select_related("flow_run").first() if origin else None
