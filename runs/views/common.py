"""What the dashboard's views share: page-or-fragment rendering and list filters from the query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from runs import selectors
from runs.badges import STATE_NAME_CHOICES, STATE_TYPE_CHOICES
from runs.selectors import FilterError
from runs.states import now

PAGE_SIZE = 50

#: The filter fields every list form shows, each with its error beside it.
FILTER_FIELDS = (
    "state",
    "tag",
    "range",
    "since",
    "until",
    "retried",
    "min_duration",
    "max_duration",
    "message",
    "q",
)
#: Filters the selectors read under the same name (they check the values).
PASSED_AS_IS = ("retried", "min_duration", "max_duration", "message")

#: Quick time ranges of the list filters: query value -> (label, length).
RANGES: dict[str, tuple[str, dt.timedelta]] = {
    "1h": ("Last hour", dt.timedelta(hours=1)),
    "24h": ("Last day", dt.timedelta(days=1)),
    "7d": ("Last week", dt.timedelta(days=7)),
    "30d": ("Last 30 days", dt.timedelta(days=30)),
}


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only ``partial`` when HTMX asked for the fragment."""
    if partial and getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context, status=status)
    return render(request, template, context, status=status)


def state_filter(value: str) -> dict[str, str]:
    """``state`` in the query holds types (FAILED) and names (TimedOut), comma-separated."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    types = [p.upper() for p in parts if p.upper() in STATE_TYPE_CHOICES]
    names = [p for p in parts if p.upper() not in STATE_TYPE_CHOICES]
    unknown = [n for n in names if n not in STATE_NAME_CHOICES]
    if unknown:
        raise FilterError(
            {
                "state": (
                    f"Unknown state {', '.join(unknown)}; pick one from the list, e.g. Failed or "
                    "COMPLETED."
                )
            }
        )
    if types and names:
        raise FilterError({"state": "Choose state types or state names, not both at once."})
    return {"state_type": ",".join(types), "state_name": ",".join(names)}


def list_filters(request: HttpRequest, *, extra: tuple[str, ...] = ()) -> tuple[dict, dict, dict]:
    """(selector keyword arguments, values to show in the form, errors by field) from the query."""
    query = request.GET
    shown = {key: query.get(key, "").strip() for key in (*FILTER_FIELDS, "sort", *extra)}
    kwargs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if shown["state"]:
        try:
            kwargs.update(state_filter(shown["state"]))
        except FilterError as exc:
            errors.update(exc.errors)
    if shown["tag"]:
        kwargs["tag"] = shown["tag"]
    if shown["q"]:
        kwargs["search"] = shown["q"]
    if shown["range"]:
        if shown["range"] in RANGES:
            kwargs["since"] = now() - RANGES[shown["range"]][1]
        else:
            errors["range"] = f"Unknown range {shown['range']!r}; choose one from the list."
    for name in ("since", "until", *PASSED_AS_IS):
        if shown[name]:
            kwargs[name] = shown[name]
    for name in extra:
        if shown[name]:
            kwargs[name] = shown[name]
    return kwargs, shown, errors


def filter_choices(*fields: str) -> dict[str, Any]:
    """Options of the state and range selects, and the form's fields (``fields`` first)."""
    return {
        "filter_fields": (*fields, *FILTER_FIELDS),
        "state_types": STATE_TYPE_CHOICES,
        "state_names": STATE_NAME_CHOICES,
        "ranges": [(key, label) for key, (label, _) in RANGES.items()],
    }


def sorted_page(request: HttpRequest, queryset, sort: str):
    """The page of ``queryset`` the query's cursor names, sorted by ``sort`` (RUN_SORTS)."""
    queryset, ordering = selectors.run_sort(queryset, sort)
    return selectors.keyset_page(
        queryset, cursor=request.GET.get("cursor") or None, size=PAGE_SIZE, ordering=ordering
    )


def is_filtered(shown: dict) -> bool:
    """Whether any filter (not the sort) is set."""
    return any(value for key, value in shown.items() if key != "sort")


def is_live(request: HttpRequest, page: Any) -> bool:
    """Whether a list page refreshes itself: its first page shows a run that has not ended."""
    return bool(
        page and not request.GET.get("cursor") and any(not run.is_final for run in page.items)
    )
