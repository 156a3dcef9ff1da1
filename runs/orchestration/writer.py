"""The write-behind buffer: state rows, run rows and logs reach the database in batches.

Transitions that decide nothing against the database are buffered and written together, by a
background thread every ``FLUSH_INTERVAL`` seconds, when the buffer grows, and whenever a
transition must be decided in the database (``in_transaction``) or a flow run ends. Nothing
buffered is lost on a normal exit: ``flush`` runs at interpreter exit too.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from runs.orchestration.records import FlowRunRecord, RunRecord, TaskRunRecord
from runs.states import State

T = TypeVar("T")
FLUSH_INTERVAL = 0.2
MAX_BUFFERED = 2000

logger = logging.getLogger("runs.writer")

_RUN_FIELDS = (
    "name", "state_type", "state_name", "state_message", "state_timestamp", "run_count",
    "start_time", "end_time", "owner", "result_key",
)
_TASK_FIELDS = _RUN_FIELDS + ("cache_key", "cache_expiration")


def _run_columns(record: RunRecord) -> dict[str, Any]:
    state = record.state
    columns: dict[str, Any] = {
        "name": record.name,
        "state_type": state.type.value if state else "PENDING",
        "state_name": state.name if state else "Pending",
        "state_message": (state.message if state else "")[:10000],
        "state_timestamp": state.timestamp if state else None,
        "run_count": record.run_count,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "owner": record.owner,
        "result_key": record.result_key,
    }
    if isinstance(record, TaskRunRecord):
        columns["cache_key"] = record.cache_key
        columns["cache_expiration"] = record.cache_expiration
    return columns


class Writer:
    """Buffers rows; ``flush`` writes them in one transaction, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._runs: dict[Any, tuple[RunRecord, dict[str, Any]]] = {}
        self._states: list[tuple[RunRecord, State]] = []
        self._logs: list[dict[str, Any]] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    # ---- adding -------------------------------------------------------------------------
    def add_transition(self, record: RunRecord, state: State) -> None:
        """Buffer the run's current columns and the new state row."""
        columns = _run_columns(record)
        with self._lock:
            self._runs[record.id] = (record, columns)
            self._states.append((record, state))
            size = len(self._states) + len(self._logs)
        self._ensure_thread()
        if size >= MAX_BUFFERED:
            self._wake.set()

    def add_log(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._logs.append(row)
        self._ensure_thread()

    def pending(self) -> int:
        with self._lock:
            return len(self._states) + len(self._logs) + len(self._runs)

    # ---- writing ------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered now, in one transaction."""
        from django.db import transaction

        with self._flush_lock:
            batch = self._drain()
            if not any(batch):
                return
            try:
                with transaction.atomic():
                    self._write(batch)
            except BaseException:
                self._requeue(batch)
                raise

    def in_transaction(self, decide: Callable[[], T], record: RunRecord | None = None) -> T:
        """Run ``decide`` in a transaction that first writes the buffer (so it sees every earlier
        transition) and then the rows the decision added.

        ``record``'s own buffered rows are held back and written with the decision's rows, in one
        insert instead of an insert and an update.
        """
        from django.db import transaction

        with self._flush_lock:
            before = self._drain()
            mine, others = _split(before, record)
            try:
                with transaction.atomic():
                    self._write(others)
                    result = decide()
                    after = self._drain()
                    try:
                        self._write(_merge(mine, after))
                    except BaseException:
                        self._requeue(after)
                        raise
            except BaseException:
                self._requeue(before)
                raise
            return result

    @contextmanager
    def serialized(self) -> Iterator[None]:
        """Hold off this process's flushes and decisions while the caller writes on its own.

        On SQLite, where the database has one write lock, a short write transaction of the
        orchestration's (a concurrency slot) then never waits for the lock in SQLite's busy
        handler, which sleeps whole milliseconds; elsewhere it is free to run beside them.
        """
        from django.db import connection

        if connection.vendor != "sqlite":
            yield
            return
        with self._flush_lock:
            yield

    def _drain(self):
        with self._lock:
            batch = (self._runs, self._states, self._logs)
            self._runs, self._states, self._logs = {}, [], []
        return batch

    def _requeue(self, batch) -> None:
        runs, states, logs = batch
        with self._lock:
            for key, value in runs.items():
                self._runs.setdefault(key, value)
            self._states[:0] = states
            self._logs[:0] = logs

    def _write(self, batch) -> None:
        from runs.models import FlowRun, Log, RunTag, TaskRun, TaskRunDependency
        from runs.models import State as StateRow

        runs, states, logs = batch
        if not (runs or states or logs):
            return
        new_flow_runs, new_task_runs, tags, deps = [], [], [], []
        updated_flow_runs, updated_task_runs = [], []
        for record, columns in runs.values():
            if isinstance(record, TaskRunRecord):
                if record.persisted:
                    updated_task_runs.append({"id": record.id, **columns})
                else:
                    new_task_runs.append(_new_task_run(record, columns))
                    tags.extend({"tag": t, "task_run_id": record.id, "flow_run_id": None}
                                for t in record.tags)
                    deps.extend({"upstream_id": up, "downstream_id": record.id, "parameter": p}
                                for up, p in dict.fromkeys(record.upstream))
            elif isinstance(record, FlowRunRecord):
                if record.persisted:
                    updated_flow_runs.append({"id": record.id, **columns})
                else:
                    new_flow_runs.append(_new_flow_run(record, columns))
                    tags.extend({"tag": t, "task_run_id": None, "flow_run_id": record.id}
                                for t in record.tags)
        _insert_rows(FlowRun, new_flow_runs)
        _update_rows(FlowRun, _RUN_FIELDS, updated_flow_runs)
        _insert_rows(TaskRun, new_task_runs)
        _update_rows(TaskRun, _TASK_FIELDS, updated_task_runs)
        _insert_rows(RunTag, tags)
        _insert_rows(TaskRunDependency, deps)
        _insert_rows(StateRow, [_state_row(r, s) for r, s in states])
        _insert_rows(Log, logs)
        for record, _ in runs.values():
            record.persisted = True

    # ---- background ---------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        import os

        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="runs-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        from django.db import close_old_connections

        while True:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                logger.exception("Could not write run history; will try again")
                close_old_connections()


def _split(batch, record: RunRecord | None):
    """(the batch's rows of ``record``, the rest)."""
    runs, states, logs = batch
    if record is None or record.id not in runs:
        return ({}, [], []), batch
    mine_runs = {record.id: runs[record.id]}
    other_runs = {k: v for k, v in runs.items() if k != record.id}
    mine_states = [item for item in states if item[0] is record]
    other_states = [item for item in states if item[0] is not record]
    return (mine_runs, mine_states, []), (other_runs, other_states, logs)


def _merge(first, second):
    runs = {**first[0], **second[0]}
    return runs, first[1] + second[1], first[2] + second[2]


_STATEMENTS: dict[tuple, tuple[str, list]] = {}


def _insert_rows(model, rows: list[dict[str, Any]]) -> None:
    """INSERT rows (dicts keyed by field attname) with one executemany.

    The ORM's bulk_create builds a model instance and compiles a query per call; on the hot path
    of every task run that costs more than the database. Values still go through each field's
    own ``get_db_prep_save``, so types are adapted exactly as the ORM would.
    """
    if not rows:
        return
    from django.db import connection

    key = ("insert", model, connection.vendor)
    if key not in _STATEMENTS:
        fields = [f for f in model._meta.concrete_fields
                  if not (f.primary_key and f.get_internal_type() in ("AutoField", "BigAutoField"))]
        quote = connection.ops.quote_name
        sql = (f"INSERT INTO {quote(model._meta.db_table)} "
               f"({', '.join(quote(f.column) for f in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        _STATEMENTS[key] = (sql, fields)
    sql, fields = _STATEMENTS[key]
    defaults = {f.attname: f.get_default() for f in fields if f.attname not in rows[0]}
    params = [
        [f.get_db_prep_save(row[f.attname] if f.attname in row else defaults[f.attname],
                            connection) for f in fields]
        for row in rows
    ]
    _run(sql, params)


def _update_rows(model, field_names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """UPDATE each row by primary key (``id``) in one executemany."""
    if not rows:
        return
    from django.db import connection

    key = ("update", model, field_names, connection.vendor)
    if key not in _STATEMENTS:
        fields = [model._meta.get_field(name) for name in field_names]
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = (f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
               f"WHERE {quote(model._meta.pk.column)} = %s")
        _STATEMENTS[key] = (sql, fields)
    sql, fields = _STATEMENTS[key]
    pk = model._meta.pk
    params = [
        [f.get_db_prep_save(row[f.attname], connection) for f in fields]
        + [pk.get_db_prep_value(row["id"], connection)]
        for row in rows
    ]
    _run(sql, params)


def _run(sql: str, params: list[list[Any]]) -> None:
    """One statement per row list: a single row goes as a plain execute (psycopg's executemany
    opens a pipeline, which costs more than it saves for one row)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
            return
        for start in range(0, len(params), 500):
            cursor.executemany(sql, params[start:start + 500])


def _new_task_run(record: TaskRunRecord, columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record.id, "flow_run_id": record.flow_run_id, "task_key": record.task_key,
        "task_name": record.task_name, "map_index": record.map_index,
        "parameters": record.parameters, "tags": record.tags, "created": record.created,
        **columns,
    }


def _new_flow_run(record: FlowRunRecord, columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record.id, "flow_id": record.flow_id, "parameters": record.parameters,
        "tags": record.tags, "created": record.created,
        "parent_task_run_id": record.parent_task_run_id, "expected_start_time": None,
        **columns,
    }


def _state_row(record: RunRecord, state: State) -> dict[str, Any]:
    is_task = isinstance(record, TaskRunRecord)
    return {
        "task_run_id": record.id if is_task else None,
        "flow_run_id": None if is_task else record.id,
        "type": state.type.value, "name": state.name, "message": state.message[:10000],
        "timestamp": state.timestamp, "scheduled_time": state.scheduled_time,
        "result_key": state.result_key, "cache_key": state.cache_key,
        "cache_expiration": state.cache_expiration,
    }


writer = Writer()


def _flush_at_exit() -> None:
    try:
        if writer.pending():
            writer.flush()
    except Exception as exc:  # the database may be gone at exit; nothing more can be done
        logger.error("Could not write the last run history at exit: %s", exc)


atexit.register(_flush_at_exit)
