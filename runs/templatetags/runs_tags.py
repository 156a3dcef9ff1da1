"""Template helpers of the dashboard: state badges, durations, log levels, query strings."""

from __future__ import annotations

import datetime as dt
import logging

from django import template
from django.utils.html import format_html

from runs import conf
from runs.badges import badge_for

register = template.Library()


@register.simple_tag
def poll(url: str, live: bool):
    """The HTMX attributes that refresh an element from ``url``: often while something on it
    runs (RUNS_DASHBOARD_POLL_SECONDS), seldom when idle (RUNS_DASHBOARD_IDLE_POLL_SECONDS),
    never in a hidden tab, and at once when the tab is shown again."""
    seconds = (
        conf.settings.RUNS_DASHBOARD_POLL_SECONDS
        if live
        else conf.settings.RUNS_DASHBOARD_IDLE_POLL_SECONDS
    )
    return format_html(
        'hx-get="{}" hx-trigger="every {}ms [!document.hidden], '
        'visibilitychange[!document.hidden] from:document" hx-swap="outerHTML" data-poll="{}"',
        url,
        round(seconds * 1000),
        "live" if live else "idle",
    )


@register.simple_tag
def state_badge(state_type: str | None, state_name: str | None = None, message: str = ""):
    """A badge with the state's symbol and name written out (title: type and message)."""
    badge = badge_for(state_type, state_name)
    title = f"{badge.type.title()}: {badge.name}" + (f" — {message}" if message else "")
    return format_html(
        '<span class="{}" title="{}"><span class="badge__symbol" aria-hidden="true">{}</span>{}'
        "</span>",
        badge.css,
        title,
        badge.symbol,
        badge.name,
    )


@register.simple_tag
def run_badge(run):
    """The badge of a flow run's or task run's current state."""
    return state_badge(run.state_type, run.state_name, getattr(run, "state_message", ""))


@register.filter
def duration(value) -> str:
    """A timedelta (or seconds) written short: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min."""
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


@register.filter
def clock(value) -> str:
    """A time of day to the millisecond (UTC), e.g. 09:30:05.123; "—" for none."""
    if not value:
        return "—"
    return value.astimezone(dt.UTC).strftime("%H:%M:%S.%f")[:12]


@register.filter
def level_name(level: int) -> str:
    return logging.getLevelName(level)


@register.filter
def pairs(mapping) -> list[tuple]:
    """A dict's ``(key, value)`` pairs, for ``{% for k, v in d|pairs %}``.

    ``d.items`` in a template looks the key ``"items"`` up before the method, so a run with a
    parameter named ``items`` (or ``keys``, ``values``) would break the page.
    """
    return list(mapping.items()) if isinstance(mapping, dict) else []


@register.filter
def item(mapping, key) -> str:
    """``mapping[key]``, or "" when it is missing: ``{{ errors|item:name }}``."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters changed (None or "" removes them)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, label: str, key: str, css: str = ""):
    """A column header that sorts the list by ``key`` (a RUN_SORTS name without its sign):
    newest/longest/most first on the first click, the other way on the next; the cursor is
    dropped, since a page of one order means nothing in another."""
    current = context["request"].GET.get("sort") or "-created"
    active = current.lstrip("-") == key
    descending = current.startswith("-")
    target = (key if descending else f"-{key}") if active else f"-{key}"
    arrow = (" ▼" if descending else " ▲") if active else ""
    aria = ("descending" if descending else "ascending") if active else "none"
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a class="sort-link" href="{}">{}{}</a></th>',
        css,
        aria,
        query_with(context, sort=target, cursor=None),
        label,
        arrow,
    )


@register.filter
def ago(moment) -> str:
    """How long ago ``moment`` was, to the second when recent: "4 s ago", "3 min ago"."""
    if not moment:
        return "—"
    seconds = max((dt.datetime.now(dt.UTC) - moment).total_seconds(), 0)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
