"""The one writer of flow runs made ahead by schedules, and of their Late and Skipped states.

Runs are inserted in bulk with ``ON CONFLICT DO NOTHING``: the unique constraint
``flowrun_one_per_scheduled_time`` (deployment, expected_start_time) turns a second scheduler's
rows into no-ops, so two schedulers may run at once and every time still gets one run. State
and tag rows are written only for the runs that were really inserted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runs.orchestration.rows import RUN_NAME_LENGTH, TAG_LENGTH
from runs.states import now as utc_now
from runs.values import capped_message, cut

SCHEDULED_MESSAGE = "Made ahead by its deployment's schedule; waits for its time."
LATE_MESSAGE = "Its scheduled time has passed and it has not started."
#: Rows per statement when ids are read back (under every backend's parameter limit).
_CHUNK = 900


@dataclass
class PlannedRun:
    """A run a schedule asks for: its deployment's flow at ``time``."""

    deployment_id: int
    schedule_id: int | None
    work_queue_id: int | None
    flow_id: int
    time: dt.datetime
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    #: "" for a random name.
    name: str = ""


def create_scheduled_runs(runs: list[PlannedRun]) -> int:
    """Insert SCHEDULED "Scheduled" flow runs for ``runs``; the number really inserted (a time
    its deployment already has a run for is left as it is)."""
    from django.db import transaction

    from runs.models import FlowRun, RunTag
    from runs.models import State as StateRow
    from runs.names import random_run_name

    if not runs:
        return 0
    # When the rows are really made, whatever clock planned them: lists sort by it.
    created = utc_now()
    rows = []
    clean_tags: dict[int, list[str]] = {}  # runs of one deployment share their tags' list
    for run in runs:
        tags = clean_tags.get(id(run.tags))
        if tags is None:
            tags = clean_tags[id(run.tags)] = [cut(str(t), TAG_LENGTH) for t in run.tags]
        rows.append(
            {
                "id": ordered_uuid(),
                "name": cut(run.name or random_run_name(), RUN_NAME_LENGTH),
                "flow_id": run.flow_id,
                "deployment_id": run.deployment_id,
                "schedule_id": run.schedule_id,
                "work_queue_id": run.work_queue_id,
                "expected_start_time": run.time,
                "parameters": run.parameters,
                "tags": tags,
            }
        )
    run_constants = {
        "auto_scheduled": True,
        "state_type": "SCHEDULED",
        "state_name": "Scheduled",
        "state_message": SCHEDULED_MESSAGE,
        "state_timestamp": created,
        "created": created,
    }
    state_constants = {
        "task_run_id": None,
        "type": "SCHEDULED",
        "name": "Scheduled",
        "message": SCHEDULED_MESSAGE,
        "timestamp": created,
    }
    with transaction.atomic():
        inserted = _insert(FlowRun, rows, run_constants, ignore_conflicts=True)
        if inserted != len(rows):  # some times had a run already (another scheduler's)
            mine_ids = set()
            ids = [row["id"] for row in rows]
            for start in range(0, len(ids), _CHUNK):
                mine_ids.update(
                    FlowRun.objects.filter(id__in=ids[start : start + _CHUNK]).values_list(
                        "id", flat=True
                    )
                )
            rows = [row for row in rows if row["id"] in mine_ids]
        _insert(
            StateRow,
            [
                {"flow_run_id": row["id"], "scheduled_time": row["expected_start_time"]}
                for row in rows
            ],
            state_constants,
        )
        _insert(
            RunTag,
            [
                {"tag": tag, "flow_run_id": row["id"]}
                for row in rows
                for tag in dict.fromkeys(row["tags"])
            ],
            {"task_run_id": None},
        )
    return len(rows)


_sequence = itertools.count()


def ordered_uuid() -> uuid.UUID:
    """A UUID (version 7 layout) that sorts by creation: the milliseconds since 1970, then a
    counter, then random bits. Rows made in bulk then go to the end of the id index instead of
    all over it."""
    millis = time.time_ns() // 1_000_000
    sequence = next(_sequence) & 0x3FFFFFFF  # 30 bits
    noise = int.from_bytes(os.urandom(6), "big") & 0xFFFFFFFFFFF  # 44 bits
    value = (
        (millis & 0xFFFFFFFFFFFF) << 80
        | 0x7 << 76
        | (sequence >> 18) << 64
        | 0b10 << 62
        | (sequence & 0x3FFFF) << 44
        | noise
    )
    return uuid.UUID(int=value)


def mark_late(
    before: dt.datetime,
    *,
    now: dt.datetime | None = None,
    deployment_ids: Iterable[Any] | None = None,
) -> int:
    """Waiting runs named "Scheduled" whose time is before ``before`` become SCHEDULED "Late"
    (only those of ``deployment_ids`` when given); the number marked."""
    from runs.models import FlowRun

    runs = FlowRun.objects.filter(
        state_type="SCHEDULED",
        state_name="Scheduled",
        dispatched_at__isnull=True,
        start_time__isnull=True,
        expected_start_time__lt=before,
    )
    if deployment_ids is not None:
        runs = runs.filter(deployment_id__in=list(deployment_ids))
    return _move(runs, "SCHEDULED", "Late", LATE_MESSAGE, now or utc_now())


def skip_runs(ids: Iterable[Any], message: str, *, now: dt.datetime | None = None) -> int:
    """Cancel the runs of ``ids`` that still wait (SCHEDULED, not sent): CANCELLED "Skipped"
    with ``message``; the number cancelled."""
    from runs.models import FlowRun

    ids = list(ids)
    total = 0
    for start in range(0, len(ids), _CHUNK):
        runs = FlowRun.objects.filter(
            id__in=ids[start : start + _CHUNK],
            state_type="SCHEDULED",
            dispatched_at__isnull=True,
        )
        total += _move(runs, "CANCELLED", "Skipped", message, now or utc_now())
    return total


def _move(queryset, state_type: str, state_name: str, message: str, when: dt.datetime) -> int:
    """Give every run of ``queryset`` a new state (a State row each), in one transaction."""
    from django.db import connection, transaction

    from runs.models import FlowRun
    from runs.models import State as StateRow

    message = capped_message(message)
    with transaction.atomic():
        if connection.features.has_select_for_update:
            queryset = queryset.select_for_update(of=("self",))
        found = list(queryset.values_list("id", "expected_start_time"))
        if not found:
            return 0
        ids = [run_id for run_id, _ in found]
        changes: dict[str, Any] = {
            "state_type": state_type,
            "state_name": state_name,
            "state_message": message,
            "state_timestamp": when,
        }
        if state_type == "CANCELLED":
            changes["end_time"] = when
        for start in range(0, len(ids), _CHUNK):
            FlowRun.objects.filter(id__in=ids[start : start + _CHUNK]).update(**changes)
        _insert(
            StateRow,
            [{"flow_run_id": run_id, "scheduled_time": expected} for run_id, expected in found],
            {
                "task_run_id": None,
                "type": state_type,
                "name": state_name,
                "message": message,
                "timestamp": when,
            },
        )
    return len(found)


_SQL: dict[tuple, tuple[str, list]] = {}


def _insert(
    model,
    rows: list[dict[str, Any]],
    constants: dict[str, Any] | None = None,
    *,
    ignore_conflicts: bool = False,
) -> int:
    """INSERT rows (dicts keyed by field attname; ``constants`` holds the values every row
    shares) in batches of 500, ``ON CONFLICT DO NOTHING`` when ``ignore_conflicts`` (SQLite
    3.24+ and PostgreSQL); the number of rows inserted.

    Values go through each field's ``get_db_prep_save`` as the ORM's would; a constant, or a
    value many rows share (a deployment's parameters), is prepared once: for thousands of rows
    that is most of the cost.
    """
    from django.db import DEFAULT_DB_ALIAS, connections

    if not rows:
        return 0
    constants = constants or {}
    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    names = tuple(rows[0])
    key = (model, connection.vendor, ignore_conflicts, names, tuple(constants))
    if key not in _SQL:
        varying = [model._meta.get_field(n) for n in names]
        fixed = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in names and not (f.primary_key and "id" not in names)
        ]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in varying + fixed)
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {{values}}" + (
            " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        )
        _SQL[key] = (sql, (varying, fixed))
    sql, (varying, fixed) = _SQL[key]
    row_marks = f"({', '.join(['%s'] * (len(varying) + len(fixed)))})"
    tail = [
        f.get_db_prep_save(
            constants[f.attname] if f.attname in constants else f.get_default(), connection
        )
        for f in fixed
    ]
    prepared: dict[tuple, Any] = {}
    fields = list(zip(names, varying, strict=True))
    params = []
    for row in rows:
        values = []
        for name, field_ in fields:
            value = row[name]
            cache_key = (name, id(value)) if isinstance(value, dict | list) else (name, value)
            try:
                values.append(prepared[cache_key])
            except KeyError:
                values.append(
                    prepared.setdefault(cache_key, field_.get_db_prep_save(value, connection))
                )
            except TypeError:  # a value that cannot be a key
                values.append(field_.get_db_prep_save(value, connection))
        values.extend(tail)
        params.append(values)
    inserted = 0
    one = sql.format(values=row_marks)
    with connection.cursor() as cursor:
        # One statement stepped over the rows: SQLite runs it in C, psycopg in a pipeline (a
        # statement of many rows costs psycopg more to parse than it saves).
        for start in range(0, len(params), 500):
            cursor.executemany(one, params[start : start + 500])
            inserted += max(cursor.rowcount, 0)
    return inserted
