"""The timeline of a flow run: a Gantt chart of its task runs, drawn on the server.

Each task run is a row; its bar is split into the attempts and waits of its state history, each
attempt coloured by how it ended (so retries show as segments) and the bar outlined in the colour
of the final state. The runs of one ``.map()`` (same ``task_key``, ``map_index`` set) share one
folded row until it is expanded: its label says how many runs ended how ("180 ok, 20 failed")
and its chart is a histogram along the time axis of when its runs reached their state, so
failures show where they happened.

Labels and the time axis are HTML (readable at any width, the axis sticky while the rows
scroll by); the bars are one SVG stretched to the chart's width. Rows drawn one per run come a
page at a time; counts, the axis and the folded rows' histograms are aggregated in the database
(see runs/selectors/timeline.py), so a flow run with 100,000 task runs draws as fast as one
with a hundred.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

from runs.badges import state_color
from runs.selectors.timeline import (
    state_rows,
    task_names,
    timeline_buckets,
    timeline_page,
    timeline_summary,
    unended_buckets,
)
from runs.states import FINAL_TYPES, now

ROWS_PER_PAGE = 100
ROW_HEIGHT = 24
GROUP_HEIGHT = 40
UNITS = 1000  # the SVG's width in its own units: x = UNITS * (time - start) / span
BUCKETS = 160  # slices of the time axis in a folded row's histogram
TICKS = 4  # intervals of the time axis

# How a folded row words its counts, by state type, in this order.
_COUNT_WORDS = {
    "COMPLETED": "ok",
    "FAILED": "failed",
    "CRASHED": "crashed",
    "CANCELLED": "cancelled",
    "RUNNING": "running",
    "PENDING": "pending",
    "SCHEDULED": "scheduled",
}
# Stacked from the bottom of a histogram bar: what went wrong first, so it is never hidden.
_STACK_ORDER = ["FAILED", "CRASHED", "CANCELLED", "RUNNING", "PENDING", "SCHEDULED", "COMPLETED"]


@dataclass
class _Row:
    label: str
    start: dt.datetime
    end: dt.datetime
    created: dt.datetime
    state_type: str = ""
    state_name: str = ""
    task_run_id: object = None
    group: _Group | None = None
    segments: list = field(default_factory=list)  # (start, end, colour, thin, title)


@dataclass
class _Group:
    key: str
    name: str
    start: dt.datetime  # the start of the first time slice with runs, and the end of the last
    end: dt.datetime
    counts: Counter = field(default_factory=Counter)  # (state type, state name) -> runs
    buckets: dict = field(default_factory=lambda: defaultdict(Counter))  # bucket -> counts


@dataclass(frozen=True)
class Group:
    """One ``.map()`` of the flow run; ``others`` are the expanded keys once this one folds."""

    key: str
    name: str
    size: int
    expanded: bool
    others: tuple[str, ...]

    @property
    def with_this(self) -> tuple[str, ...]:
        """The expanded keys once this one is expanded too."""
        return tuple(sorted({*self.others, self.key}))


@dataclass
class Timeline:
    """The markup of one page of the timeline, and what it left out."""

    svg: SafeString  # the whole chart: HTML axis and labels around the SVG bars
    rows: int  # rows drawn on this page
    hidden_rows: int  # rows on the other pages
    task_runs: int
    groups: list[Group]
    page: int = 1
    pages: int = 1
    first_row: int = 0  # 1-based number of this page's first row drawn one per run
    last_row: int = 0
    paged_rows: int = 0  # rows drawn one per run, over all pages

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def _fmt_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _fmt_slice(start: float, stop: float) -> str:
    first, last = _fmt_seconds(start), _fmt_seconds(stop)
    return f"at {first}" if first == last else f"{first}–{last}"


def _as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _page_number(value) -> int:
    try:
        return max(int(str(value).strip()), 1)
    except (TypeError, ValueError):
        return 1


def _attempt_segments(states: list[tuple], end: dt.datetime) -> list[tuple]:
    """Segments of one run's history: attempts (RUNNING) full height, waits thin."""
    segments = []
    attempt = 0
    for index, (type_, name, timestamp) in enumerate(states):
        if type_ in FINAL_TYPES:
            break
        following = states[index + 1] if index + 1 < len(states) else None
        stop = following[2] if following else end
        if type_ == "RUNNING":
            attempt += 1
            if following is None:
                colour, outcome = state_color(name, type_), "still running"
            elif following[0] == "SCHEDULED":  # the attempt failed and a retry was scheduled
                colour, outcome = state_color("Failed"), f"failed, then {following[1]}"
            else:
                colour, outcome = state_color(following[1], following[0]), following[1]
            title = f"Attempt {attempt} ({name}): {outcome}, {_fmt_seconds((stop - timestamp).total_seconds())}"
            segments.append((timestamp, stop, colour, False, title))
        else:
            title = f"{name}: {_fmt_seconds((stop - timestamp).total_seconds())}"
            segments.append((timestamp, stop, state_color(name, type_), True, title))
    return segments


def count_words(counts: Counter) -> list[tuple[str, str, int]]:
    """``(word, colour, runs)`` by state type, e.g. ``("ok", green, 180)``, in a fixed order."""
    by_type: Counter = Counter()
    for (type_, _), runs in counts.items():
        by_type[type_] += runs
    return [
        (word, state_color(None, type_), by_type[type_])
        for type_, word in _COUNT_WORDS.items()
        if by_type[type_]
    ]


def build_timeline(
    flow_run,
    *,
    expand: Iterable[str] = frozenset(),
    page=1,
    rows_per_page: int = ROWS_PER_PAGE,
    run_url: Callable[[object], str],
    expand_url: Callable[[str], str],
) -> Timeline:
    """Page ``page`` (1-based; out of range is clamped) of the timeline of ``flow_run``.

    Map groups whose task key is in ``expand`` are drawn one row per run, at most
    ``rows_per_page`` such rows per page; the others fold into one row each, shown on every
    page. The time axis spans the flow run (up to now while anything is unfinished).
    """
    moment = now()
    expand = frozenset(expand)
    summary = timeline_summary(flow_run.id)
    total = sum(row[3] for row in summary)
    sizes: Counter = Counter()
    for key, _, _, _, mapped in summary:
        sizes[key] += mapped
    mapped_keys = sorted(key for key, size in sizes.items() if size)
    names = task_names(flow_run.id, [(k, t, n) for k, t, n, _, mapped in summary if mapped])
    group_list = [
        Group(key, names[key], sizes[key], key in expand, tuple(sorted(expand - {key})))
        for key in sorted(mapped_keys, key=lambda k: (names[k], k))
    ]
    if not total:
        return Timeline(svg=mark_safe(""), rows=0, hidden_rows=0, task_runs=0, groups=group_list)

    folded = {key for key in mapped_keys if key not in expand}
    one_per_row = sum(
        runs - (mapped if key in folded else 0) for key, _, _, runs, mapped in summary
    )
    t0 = flow_run.start_time or flow_run.created
    unfinished = any(row[1] not in FINAL_TYPES for row in summary) or not flow_run.end_time
    t1 = max(moment if unfinished else flow_run.end_time, t0)
    span = max((t1 - t0).total_seconds(), 0.001)

    pages = max(math.ceil(one_per_row / rows_per_page), 1)
    page = min(_page_number(page), pages)
    offset = (page - 1) * rows_per_page
    fetched = timeline_page(
        flow_run.id, [k for k in mapped_keys if k in expand], offset=offset, limit=rows_per_page
    )
    rows = [
        _Row(
            label=name,
            start=start or created,
            end=end or (moment if type_ not in FINAL_TYPES else start or created),
            created=created,
            state_type=type_,
            state_name=state,
            task_run_id=run_id,
        )
        for run_id, name, type_, state, created, start, end in fetched
    ]
    history = state_rows([_as_uuid(row.task_run_id) for row in rows])
    for row in rows:
        row.segments = _attempt_segments(history.get(row.task_run_id, []), row.end)
    rows += _folded_rows(flow_run.id, summary, folded, names, t0, span)
    rows.sort(key=lambda row: (row.created, row.group is None))

    return Timeline(
        svg=_draw(rows, t0, span, run_url, expand_url),
        rows=len(rows),
        hidden_rows=one_per_row - len(fetched),
        task_runs=total,
        groups=group_list,
        page=page,
        pages=pages,
        first_row=offset + 1 if fetched else 0,
        last_row=offset + len(fetched),
        paged_rows=one_per_row,
    )


def _folded_rows(flow_run_id, summary, folded, names, t0, span) -> list[_Row]:
    """One row per folded map, with its counts by state and by time slice."""
    groups: dict[str, _Group] = {}
    ended, unended = [], set()
    for key, type_, name, _, mapped in summary:
        if key in folded and mapped:
            group = groups.setdefault(key, _Group(key, names[key], t0, t0))
            group.counts[(type_, name)] += mapped
            ended.append((key, type_, name))
    width = span / BUCKETS
    bounds = [t0 + dt.timedelta(seconds=width * i) for i in range(BUCKETS + 1)]
    for (key, type_, name), counts in timeline_buckets(flow_run_id, ended, bounds=bounds).items():
        for bucket, runs in enumerate(counts):
            if runs:
                groups[key].buckets[bucket][(type_, name)] += runs
        if sum(counts) < groups[key].counts[(type_, name)]:
            unended.add(key)
    for key, type_, name, bucket, runs in unended_buckets(
        flow_run_id, unended, origin=t0, width=width
    ):
        groups[key].buckets[min(max(bucket, 0), BUCKETS - 1)][(type_, name)] += runs
    rows = []
    for group in groups.values():
        used = sorted(group.buckets) or [0]
        group.start = t0 + dt.timedelta(seconds=width * used[0])
        group.end = t0 + dt.timedelta(seconds=width * (used[-1] + 1))
        rows.append(
            _Row(
                label=group.name, start=group.start, end=group.end, created=group.start, group=group
            )
        )
    return rows


def _draw(rows: list[_Row], t0: dt.datetime, span: float, run_url, expand_url) -> SafeString:
    """The axis and labels (HTML) beside the bars (SVG), one row per entry of ``rows``."""

    def x(when: dt.datetime) -> float:
        return min(max(UNITS * (when - t0).total_seconds() / span, 0.0), UNITS)

    ticks = []
    for i in range(TICKS + 1):
        minor = " tl__tick--minor" if i % 2 else ""
        ticks.append(
            f'<span class="tl__tick{minor}" style="left: {100 * i / TICKS:g}%">'
            f"{_fmt_seconds(span * i / TICKS)}</span>"
        )
    height = sum(GROUP_HEIGHT if row.group else ROW_HEIGHT for row in rows)
    labels, bars = [], []
    for i in range(TICKS + 1):
        bars.append(
            f'<line x1="{UNITS * i / TICKS:g}" y1="0" x2="{UNITS * i / TICKS:g}" y2="{height}" '
            'class="tl__grid" vector-effect="non-scaling-stroke"/>'
        )
    y = 0
    for row in rows:
        if row.group:
            labels.append(_group_label(row.group, expand_url))
            bars.append(_group_bars(row.group, y, x, span, expand_url))
            y += GROUP_HEIGHT
        else:
            labels.append(_run_label(row, run_url))
            bars.append(_run_bars(row, y, x, run_url))
            y += ROW_HEIGHT
    return mark_safe(
        f'<div class="tl" role="group" aria-label="Timeline of {len(rows)} task run rows">'
        '<div class="tl__axis"><span class="tl__corner">Task run</span>'
        f'<div class="tl__ticks" aria-hidden="true">{"".join(ticks)}</div></div>'
        f'<div class="tl__body"><ol class="tl__labels">{"".join(labels)}</ol>'
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {UNITS} {height}" preserveAspectRatio="none" width="100%" '
        f'height="{height}" aria-hidden="true">{"".join(bars)}</svg></div></div>'
    )


def _short(label: str) -> str:
    return escape(label if len(label) <= 60 else label[:59] + "…")


def _run_label(row: _Row, run_url) -> str:
    href = escape(run_url(_as_uuid(row.task_run_id)))
    colour = state_color(row.state_name, row.state_type)
    return (
        f'<li class="tl__row" style="height: {ROW_HEIGHT}px">'
        f'<i class="tl__swatch" style="background: {colour}"></i>'
        f'<a class="tl__label" href="{href}" title="{escape(row.label)}: '
        f'{escape(row.state_name)}">{_short(row.label)}</a></li>'
    )


def _group_label(group: _Group, expand_url) -> str:
    total = sum(group.counts.values())
    href = escape(expand_url(group.key))
    counts = ", ".join(
        f'<span class="tl__count"><i class="tl__swatch" style="background: {colour}"></i>'
        f"{runs:,} {word}</span>"
        for word, colour, runs in count_words(group.counts)
    )
    return (
        f'<li class="tl__row tl__row--group" style="height: {GROUP_HEIGHT}px">'
        f'<a class="tl__label" href="{href}" title="{_group_title(group)}">'
        f"▸ {_short(group.name)} ×{total:,}</a>"
        f'<span class="tl__counts">{counts}</span></li>'
    )


def _group_title(group: _Group) -> str:
    total = sum(group.counts.values())
    summary = ", ".join(f"{runs:,} {name}" for (_, name), runs in group.counts.most_common())
    return escape(f"{group.name}: {total:,} mapped runs ({summary}); select to show each run")


def _group_bars(group: _Group, y: int, x, span: float, expand_url) -> str:
    """A histogram along the time axis: per bucket, its runs stacked by state."""
    inner = GROUP_HEIGHT - 8
    base = y + GROUP_HEIGHT - 4
    step = UNITS / BUCKETS
    tallest = max((sum(c.values()) for c in group.buckets.values()), default=1)
    out = [
        f'<line x1="{x(group.start):.1f}" y1="{base}" x2="{max(x(group.end), x(group.start) + 2):.1f}" '
        f'y2="{base}" class="tl__span" vector-effect="non-scaling-stroke"/>'
    ]
    tips = []
    for bucket, counts in sorted(group.buckets.items()):
        parts = sorted(
            counts.items(),
            key=lambda kv: (
                _STACK_ORDER.index(kv[0][0]) if kv[0][0] in _STACK_ORDER else 0,
                kv[0][1],
            ),
        )
        heights = [max(runs * inner / tallest, 2.0) for _, runs in parts]
        excess = sum(heights) - inner
        if excess > 0:
            biggest = heights.index(max(heights))
            heights[biggest] = max(heights[biggest] - excess, 1.0)
        left = bucket * step
        top = base
        for ((type_, name), _), h in zip(parts, heights, strict=True):
            top -= h
            out.append(
                f'<rect x="{left:.2f}" y="{top:.1f}" width="{step:.2f}" height="{h:.1f}" '
                f'fill="{state_color(name, type_)}"/>'
            )
        words = ", ".join(f"{runs:,} {name}" for (_, name), runs in parts[::-1])
        when = _fmt_slice(span * bucket / BUCKETS, span * (bucket + 1) / BUCKETS)
        tips.append(
            f'<rect x="{left:.2f}" y="{y}" width="{step:.2f}" height="{GROUP_HEIGHT}" '
            f'fill="transparent"><title>{when}: {escape(words)}</title></rect>'
        )
    href = escape(expand_url(group.key))
    return f'<a href="{href}" tabindex="-1">{"".join(out)}{"".join(tips)}</a>'


def _run_bars(row: _Row, y: int, x, run_url) -> str:
    """The run's span outlined in its final state's colour, with its attempts and waits."""
    href = escape(run_url(_as_uuid(row.task_run_id)))
    colour = state_color(row.state_name, row.state_type)
    left = x(row.start)
    out = [
        f'<a href="{href}" tabindex="-1"><rect x="{left:.2f}" y="{y + 3}" '
        f'width="{max(x(row.end) - left, 3):.2f}" height="{ROW_HEIGHT - 6}" fill="{colour}" '
        f'fill-opacity="0.18" stroke="{colour}" stroke-width="1.5" '
        f'vector-effect="non-scaling-stroke"><title>{escape(row.label)}: '
        f"{escape(row.state_name)}</title></rect></a>"
    ]
    for start, stop, colour, thin, title in row.segments:
        seg_x = x(start)
        seg_y, seg_h = (y + 10, ROW_HEIGHT - 20) if thin else (y + 5, ROW_HEIGHT - 10)
        out.append(
            f'<rect x="{seg_x:.2f}" y="{seg_y}" width="{max(x(stop) - seg_x, 2):.2f}" '
            f'height="{seg_h}" fill="{colour}"><title>{escape(title)}</title></rect>'
        )
    return "".join(out)
