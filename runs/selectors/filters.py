"""Filter values for the run lists: parsing them, and the filters every list shares.

Filters take plain values (text from a query string is fine) and raise :class:`FilterError`
with an error per field when a value cannot be used. Time ranges (``since``, ``until``) filter
on ``created``, the indexed column lists are sorted by: ``since`` is inclusive, ``until``
exclusive.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.db.models import DurationField, ExpressionWrapper, F, Model, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_datetime

from runs.models import STATE_TYPES

STATE_TYPE_NAMES = [value for value, _ in STATE_TYPES]


class FilterError(ValueError):
    """Filter values that cannot be used; ``errors`` maps each field to what was wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def values(value: Any) -> list[str]:
    """A list from a list, or from comma-separated text."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value if str(part).strip()]


def parse_state_types(value: Any, *, field_name: str = "state_type") -> list[str]:
    """State types (any case) as stored, e.g. ``"failed,crashed"`` -> ``["FAILED", "CRASHED"]``."""
    types = [v.upper() for v in values(value)]
    unknown = [v for v in types if v not in STATE_TYPE_NAMES]
    if unknown:
        raise FilterError(
            {
                field_name: (
                    f"Unknown state type {', '.join(unknown)}; use one or more of "
                    f"{', '.join(STATE_TYPE_NAMES)} (comma-separated)."
                )
            }
        )
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
                dt.datetime.combine(dt.date.fromisoformat(text), dt.time()) if text else None
            )
        except ValueError:
            when = None
        if when is None:
            raise FilterError(
                {
                    field_name: (
                        f"{text!r} is not a time; write ISO 8601, e.g. 2026-01-31T12:00:00Z "
                        "or 2026-01-31."
                    )
                }
            )
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        # In UTC: PostgreSQL refuses offsets beyond 15:59 that Python accepts.
        return when.astimezone(dt.UTC)
    except OverflowError:
        raise FilterError({field_name: f"{value!s} is out of the range of times."}) from None


def parse_uuid(value: Any, *, field_name: str) -> uuid.UUID:
    """A UUID from a UUID, a model instance (its primary key) or the UUID's text."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, Model):
        return value.pk
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise FilterError({field_name: f"{value!r} is not a run id (a UUID)."}) from None


#: The highest level a log line can have (the largest value of the Log.level column).
MAX_LEVEL = 32767


def parse_level(value: Any, *, field_name: str = "level") -> int:
    """A log level from a name (``INFO``, any case) or a number from 0 to :data:`MAX_LEVEL`;
    anything else is a FilterError naming ``field_name``.

    ``"²"`` passes ``str.isdigit`` yet is no number, and a number beyond the column's range
    fails in the query: both are refused here.
    """
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 6:
            number = int(text)
        elif text.isascii():
            named = logging.getLevelName(text.upper())
            number = named if isinstance(named, int) else None
    if number is None or not 0 <= number <= MAX_LEVEL:
        raise FilterError(
            {
                field_name: (
                    f"{str(value)[:50]!r} is not a log level; use DEBUG, INFO, WARNING, ERROR, "
                    f"CRITICAL or a number from 0 to {MAX_LEVEL}."
                )
            }
        )
    return number


#: The longest duration a filter takes, in seconds (a year): beyond it nothing matches anyway.
MAX_FILTER_SECONDS = 366 * 24 * 3600


def parse_seconds(value: Any, *, field_name: str) -> dt.timedelta:
    """A duration filter: a number of seconds, 0 or more (``1.5``); FilterError otherwise."""
    text = str(value).strip()
    try:
        seconds = float(text) if text.isascii() else None
    except ValueError:
        seconds = None
    if seconds is None or not 0 <= seconds <= MAX_FILTER_SECONDS:
        raise FilterError(
            {
                field_name: (
                    f"{text[:50]!r} is not a duration; give a number of seconds from 0 to "
                    f"{MAX_FILTER_SECONDS}, e.g. 1.5."
                )
            }
        )
    return dt.timedelta(seconds=seconds)


def parse_flag(value: Any, *, field_name: str) -> bool:
    """A yes/no filter: true/false, yes/no, 1/0, on/off (any case); FilterError otherwise."""
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise FilterError({field_name: f"{text[:50]!r} is not yes or no; use true or false."})


class Errors:
    """Collects the FilterErrors of several filters, to report them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def __enter__(self) -> Errors:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, FilterError):
            self.errors.update(error.errors)
            return True
        return False

    def raise_any(self) -> None:
        """Raise one FilterError naming every field that failed, if any did."""
        if self.errors:
            raise FilterError(self.errors)


def time_range(queryset: QuerySet, since: Any, until: Any) -> QuerySet:
    """``queryset`` created at or after ``since`` and before ``until`` (either may be empty)."""
    errors = Errors()
    bounds: dict[str, dt.datetime] = {}
    for name, value in (("since", since), ("until", until)):
        if value in (None, ""):
            continue
        with errors:
            bounds[name] = parse_time(value, field_name=name)
    if "since" in bounds and "until" in bounds and bounds["since"] >= bounds["until"]:
        errors.errors["until"] = (
            f"Until ({until}) is not after since ({since}), so nothing could match; swap them."
        )
    errors.raise_any()
    if "since" in bounds:
        queryset = queryset.filter(created__gte=bounds["since"])
    if "until" in bounds:
        queryset = queryset.filter(created__lt=bounds["until"])
    return queryset


def run_filters(
    queryset: QuerySet,
    *,
    retried: Any = None,
    min_duration: Any = None,
    max_duration: Any = None,
    message: Any = None,
) -> QuerySet:
    """Filters flow runs and task runs share: ``retried`` (run more than once), a duration
    range in seconds (runs that have ended), ``message`` (part of the state message)."""
    errors = Errors()
    if retried not in (None, ""):
        with errors:
            if parse_flag(retried, field_name="retried"):
                queryset = queryset.filter(run_count__gt=1)
            else:
                queryset = queryset.filter(run_count__lte=1)
    bounds = {}
    for name, value in (("min_duration", min_duration), ("max_duration", max_duration)):
        if value not in (None, ""):
            with errors:
                bounds[name] = parse_seconds(value, field_name=name)
    if bounds:
        queryset = with_duration(queryset).filter(end_time__isnull=False)
        if "min_duration" in bounds:
            queryset = queryset.filter(duration_key__gte=bounds["min_duration"])
        if "max_duration" in bounds:
            queryset = queryset.filter(duration_key__lte=bounds["max_duration"])
    if message:
        queryset = queryset.filter(state_message__icontains=message)
    errors.raise_any()
    return queryset


#: What a run sorts by when its duration is unknown (not started or not ended): below all.
NO_DURATION = dt.timedelta(microseconds=-1)


def with_duration(queryset: QuerySet) -> QuerySet:
    """``queryset`` with ``duration_key``: end minus start, or NO_DURATION when either is
    missing (so it can be a keyset sort column: never null)."""
    if "duration_key" in queryset.query.annotations:
        return queryset
    return queryset.annotate(
        duration_key=Coalesce(
            ExpressionWrapper(F("end_time") - F("start_time"), output_field=DurationField()),
            Value(NO_DURATION, output_field=DurationField()),
        )
    )


#: Sorts of the run lists: query value -> keyset ordering (unique last).
RUN_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created", "-id"),
    "created": ("created", "id"),
    "-duration": ("-duration_key", "-id"),
    "duration": ("duration_key", "id"),
    "-runs": ("-run_count", "-created", "-id"),
    "runs": ("run_count", "created", "id"),
}


def run_sort(queryset: QuerySet, sort: Any) -> tuple[QuerySet, tuple[str, ...]]:
    """``queryset`` ready to be sorted by ``sort`` (a key of RUN_SORTS; empty: newest first),
    and the keyset ordering to page it by."""
    sort = str(sort or "-created").strip()
    if sort not in RUN_SORTS:
        raise FilterError(
            {"sort": f"Unknown sort {sort[:50]!r}; use one of {', '.join(RUN_SORTS)}."}
        )
    if "duration" in sort:
        queryset = with_duration(queryset)
    return queryset, RUN_SORTS[sort]


def state_filters(queryset: QuerySet, state_type: Any, state_name: Any) -> QuerySet:
    """``queryset`` in any of the state types and any of the state names given (each optional)."""
    if state_type not in (None, "", []):
        types = parse_state_types(state_type)
        if types:
            queryset = (
                queryset.filter(state_type__in=types)
                if len(types) > 1
                else queryset.filter(state_type=types[0])
            )
    if state_name not in (None, "", []):
        names = values(state_name)
        if names:
            queryset = (
                queryset.filter(state_name__in=names)
                if len(names) > 1
                else queryset.filter(state_name=names[0])
            )
    return queryset
