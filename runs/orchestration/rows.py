"""Rows of the run history as the write-behind writer stores them, and the SQL that stores them.

Every value a user's code can shape (names, tags, messages, log lines) passes through
``runs.values`` here, on its way to the database: this is the one door, so no value can reach a
column it does not fit.
"""

from __future__ import annotations

from typing import Any

from runs.orchestration.records import FlowRunRecord, RunRecord, TaskRunRecord
from runs.states import State, StateType
from runs.values import capped_message, clean_text, cut

RUN_FIELDS = (
    "name",
    "state_type",
    "state_name",
    "state_message",
    "state_timestamp",
    "run_count",
    "start_time",
    "end_time",
    "owner",
    "result_key",
)
TASK_FIELDS = RUN_FIELDS + ("cache_key", "cache_expiration")

#: Column lengths of the fields cut to fit (runs.models).
RUN_NAME_LENGTH = 300
STATE_NAME_LENGTH = 64
TASK_NAME_LENGTH = 200
TASK_KEY_LENGTH = 64
TAG_LENGTH = 200
LOG_NAME_LENGTH = 200
PARAMETER_NAME_LENGTH = 200
VERSION_LENGTH = 200

#: A state type's text by state type: ``StateType.X.value`` goes through the enum's descriptor,
#: which costs more than building the rest of a row.
TYPE_TEXT: dict[StateType, str] = {t: t.value for t in StateType}

#: A batch: (run rows by run id, state rows in order, log rows in order).
Batch = tuple[
    dict[Any, tuple[RunRecord, dict[str, Any]]], list[tuple[RunRecord, State]], list[dict[str, Any]]
]


def run_columns(record: RunRecord) -> dict[str, Any]:
    """The run row's current columns, as they are stored."""
    state = record.state
    columns: dict[str, Any] = {
        "name": cut(record.name, RUN_NAME_LENGTH),
        "state_type": TYPE_TEXT[state.type] if state else "PENDING",
        "state_name": cut(state.name, STATE_NAME_LENGTH) if state else "Pending",
        "state_message": capped_message(state.message) if state else "",
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


def log_row(row: dict[str, Any]) -> dict[str, Any]:
    """A log row with its name and message made storable."""
    row["name"] = cut(row.get("name") or "", LOG_NAME_LENGTH)
    row["message"] = capped_message(row.get("message") or "")
    return row


def state_row(record: RunRecord, state: State) -> dict[str, Any]:
    is_task = isinstance(record, TaskRunRecord)
    return {
        "task_run_id": record.id if is_task else None,
        "flow_run_id": None if is_task else record.id,
        "type": TYPE_TEXT[state.type],
        "name": cut(state.name, STATE_NAME_LENGTH),
        "message": capped_message(state.message),
        "timestamp": state.timestamp,
        "scheduled_time": state.scheduled_time,
        "result_key": state.result_key,
        "cache_key": None if state.cache_key is None else clean_text(state.cache_key),
        "cache_expiration": state.cache_expiration,
    }


def _tags(record: RunRecord) -> list[str]:
    return [cut(str(tag), TAG_LENGTH) for tag in record.tags]


def _version(record: RunRecord) -> str | None:
    """The run's ``version=`` as stored: text cut to its column, None when not given."""
    version = record.version
    return None if version is None else cut(str(version), VERSION_LENGTH)


def new_task_run(record: TaskRunRecord, columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record.id,
        "flow_run_id": record.flow_run_id,
        "task_key": cut(record.task_key, TASK_KEY_LENGTH),
        "task_name": cut(record.task_name, TASK_NAME_LENGTH),
        "map_index": record.map_index,
        "parameters": record.parameters,
        "tags": _tags(record),
        "version": _version(record),
        "created": record.created,
        **columns,
    }


def new_flow_run(record: FlowRunRecord, columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record.id,
        "flow_id": record.flow_id,
        "parameters": record.parameters,
        "tags": _tags(record),
        "version": _version(record),
        "created": record.created,
        "parent_task_run_id": record.parent_task_run_id,
        "rerun_of_id": record.rerun_of_id,
        "deployment_id": record.deployment_id,
        "work_queue_id": record.work_queue_id,
        "expected_start_time": record.expected_start_time,
        "dispatched_at": record.dispatched_at,
        **columns,
    }


def run_id_of_log(row: dict[str, Any]) -> Any:
    """The run a log row belongs to: its task run, else its flow run."""
    return row.get("task_run_id") or row.get("flow_run_id")


def write_batch(batch: Batch) -> None:
    """Insert and update the batch's rows, in an order the foreign keys accept.

    The caller holds the transaction and marks the records persisted once it commits. A
    failure carries the table it happened in as ``runs_table`` on the exception.
    """
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
                new_task_runs.append(new_task_run(record, columns))
                tags.extend(
                    {"tag": t, "task_run_id": record.id, "flow_run_id": None} for t in _tags(record)
                )
                deps.extend(
                    {
                        "upstream_id": up,
                        "downstream_id": record.id,
                        "parameter": cut(p, PARAMETER_NAME_LENGTH),
                    }
                    for up, p in dict.fromkeys(record.upstream)
                )
        elif isinstance(record, FlowRunRecord):
            if record.persisted:
                updated_flow_runs.append({"id": record.id, **columns})
            else:
                new_flow_runs.append(new_flow_run(record, columns))
                tags.extend(
                    {"tag": t, "task_run_id": None, "flow_run_id": record.id} for t in _tags(record)
                )
    try:
        insert_rows(FlowRun, new_flow_runs)
        update_rows(FlowRun, RUN_FIELDS, updated_flow_runs)
        insert_rows(TaskRun, new_task_runs)
        update_rows(TaskRun, TASK_FIELDS, updated_task_runs)
        insert_rows(RunTag, tags)
        insert_rows(TaskRunDependency, deps)
        insert_rows(StateRow, [state_row(r, s) for r, s in states])
        insert_rows(Log, logs)
    finally:
        _DATETIME_TEXTS.clear()


def mark_persisted(batch: Batch) -> None:
    """Once a batch has committed, its runs' next writes are updates."""
    for record, _ in batch[0].values():
        record.persisted = True


_STATEMENTS: dict[tuple, tuple[str, list, list]] = {}


def _real_connection():
    """The default database's connection object itself: ``django.db.connection`` is a proxy
    whose every attribute is looked up again in a context-local store, and a field's
    ``get_db_prep_save`` reads several attributes of it per value."""
    from django.db import DEFAULT_DB_ALIAS, connections

    return connections[DEFAULT_DB_ALIAS]


def _converter(field, connection) -> Any:
    """``value -> field.get_db_prep_save(value, connection)``, with a shortcut for the plain
    values the writer stores (UUIDs, aware datetimes, text, integers, booleans).

    A shortcut is kept only if it gives what the field gives for a sample value and for None
    (checked here, once per field and database); any other value goes through the field.
    """
    import datetime as dt
    import uuid

    def slow(value, _prep=field.get_db_prep_save):
        return _prep(value, connection)

    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    fast = sample = None
    if kind == "UUIDField":
        sample = uuid.uuid4()
        if slow(sample) is sample:

            def fast(value):
                return value if value is None or type(value) is uuid.UUID else slow(value)

        else:
            last = [(None, None)]  # the last UUID seen and its text: a run's rows come together

            def fast(value):
                if type(value) is uuid.UUID:
                    seen = last[0]
                    if seen[0] is value:
                        return seen[1]
                    text = value.hex
                    last[0] = (value, text)
                    return text
                return None if value is None else slow(value)

    elif kind == "DateTimeField":
        sample = dt.datetime.now(dt.UTC)
        utc = dt.UTC
        if slow(sample) is sample:

            def fast(value):
                if value is None or (type(value) is dt.datetime and value.tzinfo is utc):
                    return value
                return slow(value)

        else:
            texts = _DATETIME_TEXTS  # a state's time is also its run's columns'

            def fast(value):
                if type(value) is dt.datetime and value.tzinfo is utc:
                    text = texts.get(value)
                    if text is None:
                        if len(texts) >= 4096:  # filled outside a batch (write_batch empties it)
                            texts.clear()
                        # str() of it made naive: the "+00:00" off
                        text = texts[value] = value.isoformat(" ")[:-6]
                    return text
                return None if value is None else slow(value)

    elif kind in ("CharField", "TextField"):
        sample = "x"

        def fast(value):
            return value if value is None or type(value) is str else slow(value)

    elif kind in (
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "BigIntegerField",
        "PositiveBigIntegerField",
    ):
        sample = 7

        def fast(value):
            return value if value is None or type(value) is int else slow(value)

    elif kind == "BooleanField":
        sample = True

        def fast(value):
            return value if value is None or type(value) is bool else slow(value)

    elif kind == "JSONField" and target.encoder is None:
        import json

        sample = {"x": [1, "y", None]}
        dumps = json.dumps
        plain = (dict, list, str, int)

        def fast(value):
            if type(value) in plain:
                return dumps(value) if value else _EMPTY_JSON.get(type(value)) or dumps(value)
            return slow(value)

    if fast is None:
        return slow
    try:
        if fast(sample) != slow(sample) or type(fast(sample)) is not type(slow(sample)):
            return slow
        if slow(None) is not None:
            return slow
    except Exception:
        return slow
    return fast


_EMPTY_JSON = {list: "[]", dict: "{}"}
#: Datetimes already made text in the batch being written (emptied after each batch, so that
#: the writer keeps no datetime of a finished run).
_DATETIME_TEXTS: dict[Any, str] = {}


def _insert_statement(model, connection) -> tuple[str, list, list]:
    key = ("insert", model, connection.vendor)
    statement = _STATEMENTS.get(key)
    if statement is None:
        fields = [
            f
            for f in model._meta.concrete_fields
            if not (f.primary_key and f.get_internal_type() in ("AutoField", "BigAutoField"))
        ]
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        statement = _STATEMENTS[key] = (sql, fields, [_converter(f, connection) for f in fields])
    return statement


def insert_rows(model, rows: list[dict[str, Any]]) -> None:
    """INSERT rows (dicts keyed by field attname) with one executemany.

    The ORM's bulk_create builds a model instance and compiles a query per call; on the hot path
    of every task run that costs more than the database. Values are adapted as each field's own
    ``get_db_prep_save`` does (through it, but for the plain values a shortcut checked against
    it: see ``_converter``).
    """
    if not rows:
        return
    connection = _real_connection()
    sql, fields, converters = _insert_statement(model, connection)
    first = rows[0]
    pairs = [
        (f.attname, convert, None if f.attname in first else f.get_default())
        for f, convert in zip(fields, converters, strict=True)
    ]
    try:
        if all(name in first for name, _, _ in pairs):
            params = [[convert(row[name]) for name, convert, _ in pairs] for row in rows]
        else:
            params = [
                [convert(row[name] if name in row else default) for name, convert, default in pairs]
                for row in rows
            ]
        if len(params) >= COPY_FROM and connection.vendor == "postgresql":
            _copy(model, fields, params, connection)
        else:
            _run(sql, params, connection)
    except Exception as exc:
        exc.runs_table = model._meta.db_table
        raise


#: Rows past which PostgreSQL gets them by COPY rather than INSERT (one round trip, no SQL to
#: quote per value: psycopg's client-side binding, Django's default, quotes each value in Python).
COPY_FROM = 2


def _copy(model, fields: list, params: list[list[Any]], connection) -> None:
    """Rows in by ``COPY ... FROM STDIN`` on PostgreSQL; errors are Django's, as for INSERT."""
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        "FROM STDIN"
    )
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(sql) as copy:
            write_row = copy.write_row
            for row in params:
                write_row(row)


def update_rows(model, field_names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """UPDATE each row by primary key (``id``) in one executemany."""
    if not rows:
        return
    connection = _real_connection()
    key = ("update", model, field_names, connection.vendor)
    if key not in _STATEMENTS:
        fields = [model._meta.get_field(name) for name in field_names]
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = (
            f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
            f"WHERE {quote(model._meta.pk.column)} = %s"
        )
        converters = [_converter(f, connection) for f in fields]
        _STATEMENTS[key] = (sql, fields, converters)
    sql, fields, converters = _STATEMENTS[key]
    pairs = [(f.attname, convert) for f, convert in zip(fields, converters, strict=True)]
    pk = model._meta.pk
    try:
        params = [
            [convert(row[name]) for name, convert in pairs]
            + [pk.get_db_prep_value(row["id"], connection)]
            for row in rows
        ]
        _run(sql, params, connection)
    except Exception as exc:
        exc.runs_table = model._meta.db_table
        raise


def _run(sql: str, params: list[list[Any]], connection) -> None:
    """One statement per row list: a single row goes as a plain execute (psycopg's executemany
    opens a pipeline, which costs more than it saves for one row)."""
    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
            return
        for start in range(0, len(params), 500):
            cursor.executemany(sql, params[start : start + 500])
