"""Reading what a flow run's timeline draws, aggregated in the database.

A flow run may have 100,000 task runs; the timeline never loads them all. It reads:

- :func:`timeline_summary`: task runs counted by task key and state (``GROUP BY``, streamed
  along the index ``taskrun_timeline``), which gives the row count and each folded map's counts;
- :func:`timeline_buckets`: for the folded maps, how many runs reached each state in each slice
  of the time axis (one index range count per slice, so no sort of 100,000 rows);
- :func:`timeline_page`: one page of the rows drawn one per run, first created first (along the
  index ``taskrun_flowrun_rows``, which holds what the filter needs);
- :func:`state_rows`: the states of the runs on that page.

Rows are read with the cursor: Django's per-value converters cost more than the query for
thousands of rows; here only the times are made aware, and ids stay as the database gives them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.db.models import Case, Count, FloatField, Func, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest

from runs.models import State, TaskRun

_CHUNK = 500


class _EpochSeconds(Func):
    """Seconds since 1970 of a datetime expression, as a float, on SQLite and PostgreSQL."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores naive UTC text on SQLite; julianday() reads it (microseconds included).
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)


class _Bucket(Func):
    """``floor(x)`` as an integer, for an ``x`` that is never negative."""

    output_field = IntegerField()
    template = "CAST(FLOOR(%(expressions)s) AS INTEGER)"

    def as_sqlite(self, compiler, connection, **extra):
        # CAST truncates, which is floor for the values given here, and needs no Python function
        # registered with the connection (FLOOR may be one: slow per row).
        template = "CAST(%(expressions)s AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _fetch(queryset, *, time_columns: tuple[int, ...] = ()) -> list[list]:
    sql, params = queryset.query.sql_with_params()
    return _execute(sql, params, time_columns)


def _execute(sql: str, params, time_columns: tuple[int, ...] = ()) -> list[list]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        row = list(row)
        for i in time_columns:
            row[i] = _aware(row[i])
        out.append(row)
    return out


def _aware(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def timeline_summary(flow_run_id) -> list[list]:
    """A flow run's task runs counted by task key and state.

    Rows of ``task_key, state_type, state_name, runs, mapped`` (``mapped``: how many of the
    ``runs`` belong to a ``.map()``).
    """
    mapped = Sum(Case(When(map_index__gte=0, then=Value(1)), default=Value(0)))
    return _fetch(
        TaskRun.objects.filter(flow_run_id=flow_run_id)
        .values("state_type", "state_name", "task_key")  # the index's order: no sort
        .annotate(runs=Count("*"), mapped=mapped)
        .order_by()
        .values_list("task_key", "state_type", "state_name", "runs", "mapped")
    )


def task_names(flow_run_id, combos: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Task key -> the task's name, given a ``(task_key, state_type, state_name)`` of each key
    (so that each is one index look-up)."""
    names = {}
    for key, state_type, state_name in combos:
        if key in names:
            continue
        found = list(
            TaskRun.objects.filter(
                flow_run_id=flow_run_id, state_type=state_type, state_name=state_name, task_key=key
            )
            .order_by()  # any one of them: sorting would read every one
            .values_list("task_name", flat=True)[:1]
        )
        names[key] = found[0] if found else key
    return names


def timeline_buckets(
    flow_run_id,
    combos: Iterable[tuple[str, str, str]],
    *,
    bounds: list[dt.datetime],
) -> dict[tuple[str, str, str], list[int]]:
    """For each ``(task_key, state_type, state_name)``, its mapped runs that ended in each slice.

    Slice ``i`` runs from ``bounds[i]`` up to ``bounds[i + 1]``; the last slice also holds runs
    that ended later. Runs that have not ended are not counted here (see
    :func:`unended_buckets`). On SQLite, one query per combination, each slice an index range
    count (no sort of every run); PostgreSQL groups by slice (it hashes instead of sorting, and
    plans 160 sub-queries slowly).
    """
    combos = [tuple(combo) for combo in combos]
    if connection.vendor != "sqlite":
        return _grouped_buckets(flow_run_id, combos, bounds=bounds)
    table = connection.ops.quote_name(TaskRun._meta.db_table)
    q = connection.ops.quote_name
    where = (
        f"{q('flow_run_id')} = %s AND {q('state_type')} = %s AND {q('state_name')} = %s "
        f"AND {q('task_key')} = %s AND {q('end_time')} >= %s"
    )
    slices = len(bounds) - 1
    run_id = TaskRun._meta.get_field("flow_run").get_db_prep_value(flow_run_id, connection)
    times = [connection.ops.adapt_datetimefield_value(bound) for bound in bounds]
    out = {}
    for key, type_, name in combos:
        columns, params = [], []
        for i in range(slices):
            upper = f" AND {q('end_time')} < %s" if i < slices - 1 else ""
            columns.append(
                f"(SELECT COUNT(*) FROM {table} WHERE {where}{upper} AND {q('map_index')} >= 0)"
            )
            params += [run_id, type_, name, key, times[i]] + ([times[i + 1]] if upper else [])
        (row,) = _execute(f"SELECT {', '.join(columns)}", params)
        out[(key, type_, name)] = [int(count or 0) for count in row]
    return out


def _grouped_buckets(flow_run_id, combos: list[tuple], *, bounds: list[dt.datetime]) -> dict:
    slices = len(bounds) - 1
    width = (bounds[-1] - bounds[0]).total_seconds() / max(slices, 1)
    out = {combo: [0] * slices for combo in combos}
    if not combos:
        return out
    moment = _EpochSeconds("end_time")
    offset = Greatest(moment - Value(bounds[0].timestamp()), Value(0.0))
    queryset = (
        TaskRun.objects.filter(
            flow_run_id=flow_run_id,
            task_key__in={key for key, _, _ in combos},
            end_time__isnull=False,
            map_index__gte=0,
        )
        .annotate(slice=_Bucket(offset / Value(max(width, 1e-6))))
        .values("task_key", "state_type", "state_name", "slice")
        .annotate(runs=Count("*"))
        .order_by()
        .values_list("task_key", "state_type", "state_name", "slice", "runs")
    )
    for key, type_, name, bucket, runs in _fetch(queryset):
        if (key, type_, name) in out:
            out[(key, type_, name)][min(bucket, slices - 1)] += runs
    return out


def unended_buckets(
    flow_run_id, task_keys: Iterable[str], *, origin: dt.datetime, width: float
) -> list[tuple]:
    """Mapped runs of ``task_keys`` without an end time, counted by state and time slice.

    A run counts where it started, or, not started, where it was created; slice ``b`` covers
    ``origin + b * width`` seconds up to the next one. Rows of ``task_key, state_type,
    state_name, slice, runs``.
    """
    keys = list(task_keys)
    if not keys:
        return []
    moment = _EpochSeconds(Coalesce("start_time", "created"))
    offset = Greatest(moment - Value(origin.timestamp()), Value(0.0))
    queryset = (
        TaskRun.objects.filter(
            flow_run_id=flow_run_id, task_key__in=keys, end_time=None, map_index__gte=0
        )
        .annotate(slice=_Bucket(offset / Value(max(width, 1e-6))))
        .values("task_key", "state_type", "state_name", "slice")
        .annotate(runs=Count("*"))
        .order_by()
        .values_list("task_key", "state_type", "state_name", "slice", "runs")
    )
    return [tuple(row) for row in _fetch(queryset)]


def timeline_page(flow_run_id, expanded: Iterable[str], *, offset: int, limit: int) -> list[list]:
    """Task runs drawn one per row (not mapped, or of an ``expanded`` map), first created first.

    Rows of ``id, name, state_type, state_name, created, start_time, end_time``.
    """
    one_per_row = Q(map_index__lt=0)
    keys = list(expanded)
    if keys:
        one_per_row |= Q(task_key__in=keys)
    ids = TaskRun.objects.filter(one_per_row, flow_run_id=flow_run_id).order_by("created", "id")
    ids = [row[0] for row in _fetch(ids.values_list("id")[offset : offset + limit])]
    if not ids:
        return []
    return _fetch(
        TaskRun.objects.filter(id__in=ids)
        .order_by("created", "id")
        .values_list("id", "name", "state_type", "state_name", "created", "start_time", "end_time"),
        time_columns=(4, 5, 6),
    )


def state_rows(task_run_ids: list) -> dict[object, list[tuple]]:
    """Task run id -> its states as ``(type, name, timestamp)``, oldest first."""
    history: dict[object, list[tuple]] = {}
    for start in range(0, len(task_run_ids), _CHUNK):
        chunk = task_run_ids[start : start + _CHUNK]
        for run_id, type_, name, timestamp in _fetch(
            State.objects.filter(task_run_id__in=chunk)
            .order_by("timestamp", "id")
            .values_list("task_run_id", "type", "name", "timestamp"),
            time_columns=(3,),
        ):
            history.setdefault(run_id, []).append((type_, name, timestamp))
    return history
