"""Runs over time as a stacked bar chart: SVG drawn on the server, and the same figures as a table.

One bar per time bucket, stacked by state type in the badges' colours (runs/badges.py); each
segment links to the Flow runs list filtered to its state and bucket. The SVG has a <title>
and <desc> for screen readers, and its links are left out of the tab order: the table (a
``<details>`` under the chart) holds the same counts and links for the keyboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from runs.badges import badge_for
from runs.selectors import FilterError, stats
from runs.selectors.stats import STACK_ORDER, WINDOWS, RunsOverTime

# Heights are pixels; across, everything is a percentage of the width the page gives the chart,
# so its text keeps its size from a phone to a wide screen (no viewBox scaling).
HEIGHT = 200
TOP = 16  # room for the top tick's label
BOTTOM = 24  # the x axis' labels

_KIND_LABEL = {"flow": "Flow runs", "task": "Task runs"}
_STEP_LABEL = {"1h": "5-minute", "24h": "hourly", "7d": "6-hour"}


@dataclass(frozen=True)
class Legend:
    """One state type of the chart: its badge (type, default name), total and list link."""

    type: str
    name: str
    color: str  # the bars' fill
    count: int
    url: str


@dataclass(frozen=True)
class TableRow:
    """One non-empty bucket: its time label, a ``(count, url)`` per legend column, its total."""

    label: str
    cells: list[tuple[int, str]]
    total: int


@dataclass(frozen=True)
class Chart:
    """What the chart partial renders."""

    svg: SafeString
    title: str
    window: str
    windows: list[tuple[str, str]]  # (key, label) of every window, for the switch
    legend: list[Legend]
    rows: list[TableRow]
    total: int
    list_url: str  # the runs of the whole window, in the list
    start: dt.datetime
    end: dt.datetime
    error: str = ""  # an unknown window asked for (the default one is drawn instead)


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 4, 6, 8 × 10^k (at least 4) that is >= ``value``: its half is a
    whole number too."""
    scale = 1
    while True:
        for factor in (1, 2, 4, 6, 8):
            if factor * scale >= max(value, 4):
                return factor * scale
        scale *= 10


def _labelled(when: dt.datetime, window_key: str) -> bool:
    """Whether the x axis names the bucket starting at ``when``: round times, 6 to 8 of them."""
    if window_key == "7d":
        return when.hour == 0
    if window_key == "24h":
        return when.hour % 3 == 0
    return when.minute % 10 == 0


def _time_label(when: dt.datetime, window_key: str, *, long: bool = False) -> str:
    if window_key == "7d":
        return when.strftime("%a %d %b %H:%M" if long else "%a %d")
    return when.strftime("%Y-%m-%d %H:%M" if long else "%H:%M")


def _bucket_label(bucket: stats.Bucket, window_key: str) -> str:
    return f"{_time_label(bucket.start, window_key, long=True)}–{bucket.end:%H:%M} UTC"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runs_list_url(
    base: str,
    *,
    state_type: str | None,
    start: dt.datetime,
    end: dt.datetime,
    flow: str | None = None,
) -> str:
    """``base`` (the Flow runs list) filtered to a state type, a flow and ``[start, end)``."""
    query = [("since", _iso(start)), ("until", _iso(end))]
    if state_type:
        query.insert(0, ("state", state_type))
    if flow:
        query.insert(0, ("flow", flow))
    return f"{base}?{urlencode(query)}"


def _pct(value: float) -> str:
    return f"{value:.3f}%"


def draw(data: RunsOverTime, *, title: str, link: Callable[[str, stats.Bucket], str]) -> str:
    """The SVG of ``data``: one stacked bar per bucket, three y ticks written inside the plot,
    round times on the x axis (every other one is ``--minor``: a phone hides it);
    ``link(state_type, bucket)`` is each segment's address."""
    plot_h = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h
    peak = max((bucket.total for bucket in data.buckets), default=0)
    top = _nice_max(peak)
    count = len(data.buckets)
    slot = 100 / count
    bar_w = slot * 0.8
    totals = data.totals
    summary = (
        ", ".join(f"{n} {badge_for(t, None).name}" for t, n in totals.items()) if totals else "none"
    )
    out = [
        f'<svg class="runs-chart__svg" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}: {data.total} in all ({escape(summary)})" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f"<desc>{data.total} in all: {escape(summary)}. Times in UTC.</desc>",
    ]
    ticks = (0, top // 2, top)
    for tick in ticks:
        y = baseline - plot_h * tick / top
        out.append(f'<line x1="0" y1="{y:.1f}" x2="100%" y2="{y:.1f}" class="runs-chart__grid"/>')
    labelled = 0
    for index, bucket in enumerate(data.buckets):
        if _labelled(bucket.start, data.window.key):
            at = slot * index
            anchor = "start" if at < 4 else "end" if at > 96 else "middle"
            minor = " runs-chart__tick--minor" if labelled % 2 else ""
            labelled += 1
            out.append(
                f'<line x1="{_pct(at)}" y1="{baseline}" x2="{_pct(at)}" y2="{baseline + 4}" '
                'class="runs-chart__axis"/>'
                f'<text x="{_pct(at)}" y="{HEIGHT - 6}" text-anchor="{anchor}" '
                f'class="runs-chart__tick{minor}">{_time_label(bucket.start, data.window.key)}'
                "</text>"
            )
        x = _pct(slot * index + (slot - bar_w) / 2)
        y = float(baseline)
        label = _bucket_label(bucket, data.window.key)
        for type_ in STACK_ORDER:
            value = bucket.counts.get(type_, 0)
            if not value:
                continue
            height = plot_h * value / top
            y -= height
            badge = badge_for(type_, None)
            out.append(
                f'<a href="{escape(link(type_, bucket))}" tabindex="-1">'
                f'<rect x="{x}" y="{y:.1f}" width="{_pct(bar_w)}" height="{max(height, 1):.1f}" '
                f'fill="{badge.color}" data-state="{type_}">'
                f"<title>{escape(label)}: {value} {badge.name}</title></rect></a>"
            )
    out.append(f'<line x1="0" y1="{baseline}" x2="100%" y2="{baseline}" class="runs-chart__axis"/>')
    for tick in ticks[1:]:  # over the bars, with a halo, so a tall first bar leaves them legible
        y = baseline - plot_h * tick / top
        out.append(
            f'<text x="2" y="{y - 3:.1f}" class="runs-chart__tick runs-chart__tick--y">{tick}</text>'
        )
    if not data.total:
        out.append(
            f'<text x="50%" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            'class="runs-chart__empty">No runs in this window</text>'
        )
    out.append("</svg>")
    return "".join(out)


def runs_chart(
    window_key: str | None,
    *,
    list_base: str,
    flow: str | None = None,
    kind: str = "flow",
    default: str = "24h",
) -> Chart:
    """The chart of runs created in the window ``window_key`` (``1h``, ``24h``, ``7d``; empty:
    ``default``), of the flow ``flow`` when given; segments and table cells link to
    ``list_base`` (the Flow runs list) filtered. An unknown window draws ``default`` and
    says so in ``error``."""
    try:
        chosen = stats.window(window_key, default=default)
        error = ""
    except FilterError as exc:
        chosen = stats.window(default)
        error = exc.errors["window"]
    data = stats.runs_over_time(chosen.key, kind=kind, flow=flow)
    subject = _KIND_LABEL[kind] + (f" of {flow}" if flow else "")
    title = f"{subject} by state, {chosen.label.lower()}, {_STEP_LABEL[chosen.key]} (UTC)"

    def link(state_type: str | None, bucket) -> str:
        return runs_list_url(
            list_base, state_type=state_type, start=bucket.start, end=bucket.end, flow=flow
        )

    totals = data.totals
    legend = [
        Legend(
            type=type_,
            name=badge_for(type_, None).name,
            color=badge_for(type_, None).color,
            count=count,
            url=runs_list_url(
                list_base, state_type=type_, start=data.start, end=data.end, flow=flow
            ),
        )
        for type_, count in totals.items()
    ]
    rows = [
        TableRow(
            label=_bucket_label(bucket, chosen.key),
            cells=[(bucket.counts.get(item.type, 0), link(item.type, bucket)) for item in legend],
            total=bucket.total,
        )
        for bucket in data.buckets
        if bucket.total
    ]
    return Chart(
        svg=mark_safe(draw(data, title=title, link=link)),
        title=title,
        window=chosen.key,
        windows=[(key, item.label) for key, item in WINDOWS.items()],
        legend=legend,
        rows=rows,
        total=data.total,
        list_url=runs_list_url(
            list_base, state_type=None, start=data.start, end=data.end, flow=flow
        ),
        start=data.start,
        end=data.end,
        error=error,
    )
