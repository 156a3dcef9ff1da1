"""Reading runs for the REST API, the dashboard and the client: filters and keyset pages.

Filters take plain values (text from a query string is fine) and raise :class:`FilterError`
with an error per field when a value cannot be used. Time ranges (``since``, ``until``) filter
on ``created``, the indexed column lists are sorted by: ``since`` is inclusive, ``until``
exclusive.

:func:`keyset_page` pages any of these querysets by the values of its sort columns (never by
offset), so the 500th page costs what the first does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.dateparse import parse_datetime

from runs.models import STATE_TYPES, FlowRun, Log, RunTag, State, TaskRun

STATE_TYPE_NAMES = [value for value, _ in STATE_TYPES]


class FilterError(ValueError):
    """Filter values that cannot be used; ``errors`` maps each field to what was wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


# --- parsing filter values -------------------------------------------------------------------


def _values(value: Any) -> list[str]:
    """A list from a list, or from comma-separated text."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value if str(part).strip()]


def parse_state_types(value: Any, *, field_name: str = "state_type") -> list[str]:
    """State types (any case) as stored, e.g. ``"failed,crashed"`` -> ``["FAILED", "CRASHED"]``."""
    types = [v.upper() for v in _values(value)]
    unknown = [v for v in types if v not in STATE_TYPE_NAMES]
    if unknown:
        raise FilterError({field_name: (
            f"Unknown state type {', '.join(unknown)}; use one or more of "
            f"{', '.join(STATE_TYPE_NAMES)} (comma-separated).")})
    return types


def parse_time(value: Any, *, field_name: str) -> dt.datetime:
    """A UTC datetime from a datetime or ISO 8601 text; a time without a zone is taken as UTC."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        try:
            when = parse_datetime(text) or (
                dt.datetime.combine(dt.date.fromisoformat(text), dt.time()) if text else None)
        except ValueError:
            when = None
        if when is None:
            raise FilterError({field_name: (
                f"{text!r} is not a time; write ISO 8601, e.g. 2026-01-31T12:00:00Z "
                "or 2026-01-31.")})
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        # In UTC: PostgreSQL refuses offsets beyond 15:59 that Python accepts.
        return when.astimezone(dt.UTC)
    except OverflowError:
        raise FilterError({field_name: f"{value!s} is out of the range of times."}) from None


def parse_uuid(value: Any, *, field_name: str) -> uuid.UUID:
    """A UUID from a UUID or its text."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise FilterError({field_name: f"{value!r} is not a run id (a UUID)."}) from None


def parse_level(value: Any, *, field_name: str = "level") -> int:
    """A log level from a number (``20``) or a name (``INFO``, any case)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    number = logging.getLevelName(text.upper())
    if isinstance(number, int):
        return number
    raise FilterError({field_name: (
        f"Unknown log level {text!r}; use DEBUG, INFO, WARNING, ERROR, CRITICAL or a number.")})


class _Errors:
    """Collects the FilterErrors of several filters, to report them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def __enter__(self) -> _Errors:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, FilterError):
            self.errors.update(error.errors)
            return True
        return False

    def raise_any(self) -> None:
        if self.errors:
            raise FilterError(self.errors)


def _time_range(queryset: QuerySet, since: Any, until: Any) -> QuerySet:
    errors: dict[str, str] = {}
    bounds: dict[str, dt.datetime] = {}
    for name, value in (("since", since), ("until", until)):
        if value in (None, ""):
            continue
        try:
            bounds[name] = parse_time(value, field_name=name)
        except FilterError as error:
            errors.update(error.errors)
    if errors:
        raise FilterError(errors)
    if "since" in bounds:
        queryset = queryset.filter(created__gte=bounds["since"])
    if "until" in bounds:
        queryset = queryset.filter(created__lt=bounds["until"])
    return queryset


def _state_filters(queryset: QuerySet, state_type: Any, state_name: Any) -> QuerySet:
    if state_type not in (None, "", []):
        types = parse_state_types(state_type)
        if types:
            queryset = queryset.filter(state_type__in=types) if len(types) > 1 else \
                queryset.filter(state_type=types[0])
    if state_name not in (None, "", []):
        names = _values(state_name)
        if names:
            queryset = queryset.filter(state_name__in=names) if len(names) > 1 else \
                queryset.filter(state_name=names[0])
    return queryset


# --- runs ------------------------------------------------------------------------------------


def flow_runs(*, flow: str | None = None, state_type: Any = None, state_name: Any = None,
              tag: str | None = None, since: Any = None, until: Any = None,
              parent: Any = None, search: str | None = None) -> QuerySet[FlowRun]:
    """Flow runs, newest first, filtered.

    ``flow`` is a flow name; ``state_type`` one type or several (list or comma-separated);
    ``state_name`` likewise (exact names, e.g. ``Cached``); ``tag`` one tag; ``since``/``until``
    bound ``created``; ``parent`` is the id of the task run a subflow was called from, or of the
    flow run that task run belongs to; ``search`` matches part of the run's name, any case.
    """
    queryset = FlowRun.objects.select_related("flow")
    errors = _Errors()
    if flow:
        queryset = queryset.filter(flow__name=flow)
    with errors:
        queryset = _state_filters(queryset, state_type, state_name)
    if tag:
        queryset = queryset.filter(
            id__in=RunTag.objects.filter(tag=tag, flow_run__isnull=False).values("flow_run_id"))
    with errors:
        queryset = _time_range(queryset, since, until)
    if parent not in (None, ""):
        with errors:
            parent_id = parse_uuid(parent, field_name="parent")
            queryset = queryset.filter(
                Q(parent_task_run_id=parent_id) | Q(parent_task_run__flow_run_id=parent_id))
    if search:
        queryset = queryset.filter(name__icontains=search)
    errors.raise_any()
    return queryset.order_by("-created", "-id")


def task_runs(*, flow_run: Any = None, state_type: Any = None, state_name: Any = None,
              tag: str | None = None, task_name: str | None = None, since: Any = None,
              until: Any = None, search: str | None = None) -> QuerySet[TaskRun]:
    """Task runs, newest first, filtered like :func:`flow_runs`.

    ``flow_run`` is a flow run (or its id); ``task_name`` the exact name of the task.
    """
    queryset = TaskRun.objects.all()
    errors = _Errors()
    if flow_run not in (None, ""):
        with errors:
            flow_run_id = flow_run.pk if isinstance(flow_run, Model) else \
                parse_uuid(flow_run, field_name="flow_run")
            queryset = queryset.filter(flow_run_id=flow_run_id)
    with errors:
        queryset = _state_filters(queryset, state_type, state_name)
    if tag:
        queryset = queryset.filter(
            id__in=RunTag.objects.filter(tag=tag, task_run__isnull=False).values("task_run_id"))
    if task_name:
        queryset = queryset.filter(task_name=task_name)
    with errors:
        queryset = _time_range(queryset, since, until)
    if search:
        queryset = queryset.filter(name__icontains=search)
    errors.raise_any()
    return queryset.order_by("-created", "-id")


def get_flow_run(flow_run_id: Any) -> FlowRun:
    """One flow run with its flow; ObjectNotFound when there is none with this id."""
    from runs.exceptions import ObjectNotFound

    try:
        run_id = parse_uuid(flow_run_id, field_name="id")
    except FilterError:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.") from None
    run = FlowRun.objects.select_related("flow").filter(id=run_id).first()
    if run is None:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.")
    return run


def get_task_run(task_run_id: Any) -> TaskRun:
    """One task run with its flow run and flow; ObjectNotFound when there is none with this id."""
    from runs.exceptions import ObjectNotFound

    try:
        run_id = parse_uuid(task_run_id, field_name="id")
    except FilterError:
        raise ObjectNotFound(f"No task run has id {task_run_id}.") from None
    run = TaskRun.objects.select_related("flow_run", "flow_run__flow").filter(id=run_id).first()
    if run is None:
        raise ObjectNotFound(f"No task run has id {task_run_id}.")
    return run


def upstream_ids(task_run: TaskRun) -> list[uuid.UUID]:
    """Ids of the task runs ``task_run`` waited for or took values from."""
    from runs.models import TaskRunDependency

    return list(dict.fromkeys(
        TaskRunDependency.objects.filter(downstream=task_run).order_by("id")
        .values_list("upstream_id", flat=True)))


def state_history(run: FlowRun | TaskRun) -> QuerySet[State]:
    """Every state of a flow run or task run, oldest first."""
    if isinstance(run, FlowRun):
        return State.objects.filter(flow_run=run).order_by("timestamp", "id")
    return State.objects.filter(task_run=run).order_by("timestamp", "id")


def logs(run: FlowRun | TaskRun, level: Any = None) -> QuerySet[Log]:
    """Log lines of a run, oldest first; a flow run's include those of its task runs.

    ``level`` (a number or a name such as ``WARNING``) keeps lines at that level or above.
    """
    if isinstance(run, FlowRun):
        queryset = Log.objects.filter(flow_run=run)
    else:
        queryset = Log.objects.filter(task_run=run)
    if level not in (None, ""):
        queryset = queryset.filter(level__gte=parse_level(level))
    return queryset.order_by("timestamp", "id")


def log_lines(*, flow_run: Any = None, task_run: Any = None, level: Any = None) -> QuerySet[Log]:
    """Log lines, oldest first, of one flow run (with its task runs'), one task run, or all."""
    queryset = Log.objects.all()
    errors: dict[str, str] = {}
    for name, value in (("flow_run", flow_run), ("task_run", task_run)):
        if value in (None, ""):
            continue
        try:
            queryset = queryset.filter(**{f"{name}_id": parse_uuid(value, field_name=name)})
        except FilterError as error:
            errors.update(error.errors)
    if level not in (None, ""):
        try:
            queryset = queryset.filter(level__gte=parse_level(level))
        except FilterError as error:
            errors.update(error.errors)
    if errors:
        raise FilterError(errors)
    return queryset.order_by("timestamp", "id")


# --- keyset pages ----------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a list: its items and opaque cursors to the pages beside it (or None)."""

    items: list = field(default_factory=list)
    next_cursor: str | None = None
    previous_cursor: str | None = None


def _encode(payload: dict) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("v"), list):
        raise FilterError({"cursor": (
            "This cursor is not one this API gave out; use the next or previous link of a "
            "page, or leave the cursor out for the first page.")})
    return payload


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _fields(queryset: QuerySet, ordering: Sequence[str]) -> list[tuple[str, bool, Any]]:
    """(name, descending, model field) for each sort column."""
    out = []
    for term in ordering:
        name = term.lstrip("-")
        out.append((name, term.startswith("-"), queryset.model._meta.get_field(name)))
    return out


def _after(columns: list[tuple[str, bool, Any]], values: list[Any], forward: bool) -> Q:
    """Rows strictly after ``values`` in the sort order (before them when not ``forward``).

    Written as ``a <= x AND (a < x OR (a = x AND b < y))`` so that the database can start an
    index range scan at ``x`` instead of filtering the whole index.
    """
    def op(descending: bool) -> str:
        return "lt" if descending == forward else "gt"

    either = Q()
    for index, (name, descending, _) in enumerate(columns):
        equal = Q(**{columns[j][0]: values[j] for j in range(index)})
        either |= equal & Q(**{f"{name}__{op(descending)}": values[index]})
    first_name, first_desc, _ = columns[0]
    leading = Q(**{f"{first_name}__{op(first_desc)}e": values[0]})
    return leading & either


def keyset_page(queryset: QuerySet, *, cursor: str | None, size: int,
                ordering: Sequence[str] = ("-created", "-id")) -> Page:
    """A page of ``size`` items of ``queryset`` sorted by ``ordering`` (non-null, unique last).

    ``cursor`` is None for the first page, else a ``next_cursor`` or ``previous_cursor`` of an
    earlier page. Raises FilterError for a cursor this function did not make.
    """
    if size < 1:
        raise FilterError({"size": "The page size must be 1 or more."})
    columns = _fields(queryset, ordering)
    forward = True
    if cursor:
        payload = _decode(cursor)
        forward = not payload.get("r")
        try:
            if len(payload["v"]) != len(columns):
                raise ValueError("wrong number of values")
            values = [_utc(f.to_python(v))
                      for (_, _, f), v in zip(columns, payload["v"], strict=True)]
            if any(v is None for v in values):
                raise ValueError("empty value")
        except Exception:  # noqa: BLE001 - any bad value means a forged cursor
            raise FilterError({"cursor": "This cursor is damaged; start again from the first page."}
                              ) from None
        queryset = queryset.filter(_after(columns, values, forward))
    order = list(ordering) if forward else [_flip(term) for term in ordering]
    rows = list(queryset.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    page = Page(items=rows)
    if not rows:
        return page
    has_next = more if forward else True
    has_previous = bool(cursor) if forward else more
    if has_next:
        page.next_cursor = _encode({"v": _key(rows[-1], columns)})
    if has_previous:
        page.previous_cursor = _encode({"v": _key(rows[0], columns), "r": 1})
    return page


def _utc(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


def _flip(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


def _key(row: Any, columns: Iterable[tuple[str, bool, Any]]) -> list[Any]:
    return [_jsonable(getattr(row, f.attname)) for _, _, f in columns]
