"""Reading what a flow run's timeline draws: its task runs and their states, in bulk.

Rows are read with the cursor: Django's per-value converters cost more than the query for
thousands of rows; here only the times are made aware, and ids stay as the database gives
them (the drawing turns into UUIDs only the rows it draws).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from runs.models import State, TaskRun

_CHUNK = 500


def _fetch(queryset, *, time_columns: tuple[int, ...]) -> list[list]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        row = list(row)
        for i in time_columns:
            value = row[i]
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            if value is not None and value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            row[i] = value
        out.append(row)
    return out


def timeline_task_runs(flow_run_id) -> list[list]:
    """The task runs of a flow run, first created first, as rows of ``id, name, task_key,
    task_name, map_index, state_type, state_name, created, start_time, end_time``."""
    return _fetch(
        TaskRun.objects.filter(flow_run_id=flow_run_id)
        .order_by("created", "id")
        .values_list(
            "id",
            "name",
            "task_key",
            "task_name",
            "map_index",
            "state_type",
            "state_name",
            "created",
            "start_time",
            "end_time",
        ),
        time_columns=(7, 8, 9),
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
