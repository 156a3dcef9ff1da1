"""Keyset pages: the one way every list (dashboard, runs API, limits API) is cut into pages.

:func:`keyset_page` pages a queryset by the values of its sort columns (never by offset), so
the 500th page costs what the first does. Cursors are opaque: base64 of the last row's sort
values, marked when they point backwards.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.duration import duration_iso_string

from runs.selectors.filters import FilterError


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
        raise FilterError(
            {
                "cursor": (
                    "This cursor is not one this API gave out; use the next or previous link of a "
                    "page, or leave the cursor out for the first page."
                )
            }
        )
    return payload


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return duration_iso_string(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _fields(queryset: QuerySet, ordering: Sequence[str]) -> list[tuple[str, bool, Any]]:
    """(name, descending, field) for each sort column: a model field, or an annotation of the
    queryset (its output field reads the cursor's values back)."""
    out = []
    for term in ordering:
        name = term.lstrip("-")
        annotation = queryset.query.annotations.get(name)
        field = annotation.output_field if annotation is not None else None
        out.append((name, term.startswith("-"), field or queryset.model._meta.get_field(name)))
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


def keyset_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    size: int,
    ordering: Sequence[str] = ("-created", "-id"),
    offset: int = 0,
) -> Page:
    """A page of ``size`` items of ``queryset`` sorted by ``ordering`` (non-null, unique last).

    ``cursor`` is None for the first page, else a ``next_cursor`` or ``previous_cursor`` of an
    earlier page. ``offset`` skips that many items of the first page only (for callers that
    count, such as Prefect's ``read_concurrency_limits(limit, offset)``); the cursors it gives
    are keyset cursors like any other. Raises FilterError for a cursor this function did not
    make.
    """
    if size < 1:
        raise FilterError({"size": "The page size must be 1 or more."})
    columns = _fields(queryset, ordering)
    forward = True
    if cursor:
        offset = 0
        payload = _decode(cursor)
        forward = not payload.get("r")
        try:
            if len(payload["v"]) != len(columns):
                raise ValueError("wrong number of values")
            values = [
                _utc(f.to_python(v)) for (_, _, f), v in zip(columns, payload["v"], strict=True)
            ]
            if any(v is None for v in values):
                raise ValueError("empty value")
        except Exception:  # noqa: BLE001 - any bad value means a forged cursor
            raise FilterError(
                {"cursor": "This cursor is damaged; start again from the first page."}
            ) from None
        queryset = queryset.filter(_after(columns, values, forward))
    order = list(ordering) if forward else [_flip(term) for term in ordering]
    rows = list(queryset.order_by(*order)[offset : offset + size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    page = Page(items=rows)
    if not rows:
        return page
    has_next = more if forward else True
    has_previous = (bool(cursor) or offset > 0) if forward else more
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
    return [_jsonable(getattr(row, getattr(f, "attname", None) or name)) for name, _, f in columns]
