"""The timeline of a flow run: a Gantt chart of its task runs, drawn as SVG on the server.

Each task run is a row; its bar is split into the attempts and waits of its state history, each
attempt coloured by how it ended (so retries show as segments) and the bar outlined in the colour
of the final state. The runs of one ``.map()`` (same ``task_key``, ``map_index`` set) share a
row with counts by state until the row is expanded. One query reads the task runs and one reads
the states of the rows drawn, so a flow run with 10,000 task runs still opens quickly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

from runs.badges import state_color
from runs.selectors.timeline import state_rows, timeline_task_runs
from runs.states import FINAL_TYPES, now

LABEL_WIDTH = 230
CHART_WIDTH = 770
ROW_HEIGHT = 24
AXIS_HEIGHT = 22


@dataclass
class _Row:
    label: str
    start: dt.datetime
    end: dt.datetime
    state_type: str
    state_name: str
    task_run_id: object = None
    group_key: str = ""
    counts: Counter | None = None
    segments: list = field(default_factory=list)  # (start, end, colour, thin, title)


@dataclass
class Timeline:
    """The SVG markup and what it left out."""

    svg: SafeString
    rows: int
    hidden_rows: int
    task_runs: int
    groups: list[tuple[str, str, int, bool]]  # (task_key, task name, runs, expanded)


def _fmt_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


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


def build_timeline(
    flow_run,
    *,
    expand: frozenset[str] | set[str] = frozenset(),
    max_rows: int = 300,
    run_url: Callable[[object], str],
    expand_url: Callable[[str], str],
) -> Timeline:
    """The timeline of ``flow_run``: map groups in ``expand`` are drawn one row per run.

    At most ``max_rows`` rows are drawn (first started first); the rest are counted.
    """
    moment = now()
    runs = timeline_task_runs(flow_run.id)
    rows: list[_Row] = []
    groups: dict[str, _Row] = {}
    group_sizes: Counter = Counter()
    group_names: dict[str, str] = {}
    for (
        run_id,
        name,
        task_key,
        task_name,
        map_index,
        state_type,
        state_name,
        created,
        start,
        end,
    ) in runs:
        begin = start or created
        finish = end or (moment if state_type not in FINAL_TYPES else begin)
        if map_index >= 0:
            group_sizes[task_key] += 1
            group_names.setdefault(task_key, task_name)
            if task_key not in expand:
                group = groups.get(task_key)
                if group is None:
                    group = groups[task_key] = _Row(
                        label=task_name,
                        start=begin,
                        end=finish,
                        state_type="",
                        state_name="",
                        group_key=task_key,
                        counts=Counter(),
                    )
                    rows.append(group)
                group.start = min(group.start, begin)
                group.end = max(group.end, finish)
                group.counts[(state_type, state_name)] += 1
                continue
        rows.append(
            _Row(
                label=name,
                start=begin,
                end=finish,
                state_type=state_type,
                state_name=state_name,
                task_run_id=run_id,
            )
        )
    hidden = max(len(rows) - max_rows, 0)
    rows = rows[:max_rows]

    single_ids = [_as_uuid(row.task_run_id) for row in rows if row.task_run_id is not None]
    history = state_rows(single_ids)
    for row in rows:
        if row.task_run_id is not None:
            row.segments = _attempt_segments(history.get(row.task_run_id, []), row.end)

    svg = _draw(flow_run, rows, moment, run_url, expand_url)
    group_list = [(key, group_names[key], group_sizes[key], key in expand) for key in group_names]
    return Timeline(
        svg=svg, rows=len(rows), hidden_rows=hidden, task_runs=len(runs), groups=group_list
    )


def _draw(flow_run, rows: list[_Row], moment: dt.datetime, run_url, expand_url) -> SafeString:
    if not rows:
        return mark_safe("")
    t0 = min([row.start for row in rows] + ([flow_run.start_time] if flow_run.start_time else []))
    t1 = max(row.end for row in rows)
    if flow_run.end_time:
        t1 = max(t1, flow_run.end_time)
    span = max((t1 - t0).total_seconds(), 0.001)
    scale = CHART_WIDTH / span

    def x(when: dt.datetime) -> float:
        return LABEL_WIDTH + (when - t0).total_seconds() * scale

    height = AXIS_HEIGHT + ROW_HEIGHT * len(rows) + 4
    width = LABEL_WIDTH + CHART_WIDTH + 10
    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="min-width: {width * 0.7:.0f}px" '
        f'aria-label="Timeline of {len(rows)} task run rows" '
        'font-family="system-ui, sans-serif" font-size="12">'
    ]
    for i in range(6):
        tick_x = LABEL_WIDTH + CHART_WIDTH * i / 5
        anchor = "end" if i == 5 else "start" if i == 0 else "middle"
        out.append(
            f'<line x1="{tick_x:.1f}" y1="{AXIS_HEIGHT - 4}" x2="{tick_x:.1f}" '
            f'y2="{height}" class="timeline__grid"/>'
        )
        out.append(
            f'<text x="{tick_x:.1f}" y="{AXIS_HEIGHT - 8}" text-anchor="{anchor}" '
            f'class="timeline__tick">{_fmt_seconds(span * i / 5)}</text>'
        )
    for index, row in enumerate(rows):
        y = AXIS_HEIGHT + index * ROW_HEIGHT
        bar_x = x(row.start)
        bar_w = max(x(row.end) - bar_x, 3)
        label = escape(row.label if len(row.label) <= 32 else row.label[:31] + "…")
        if row.group_key:
            total = sum(row.counts.values())
            summary = ", ".join(f"{count} {name}" for (_, name), count in row.counts.most_common())
            href = escape(expand_url(row.group_key))
            out.append(
                f'<a href="{href}"><title>{escape(row.label)}: {total} mapped runs '
                f"({escape(summary)}); select to show each run</title>"
            )
            out.append(
                f'<text x="4" y="{y + 16}" class="timeline__label">▸ {label} ×{total}</text>'
            )
            offset = bar_x
            for (type_, name), count in sorted(row.counts.items(), key=lambda kv: -kv[1]):
                part = bar_w * count / total
                out.append(
                    f'<rect x="{offset:.1f}" y="{y + 4}" width="{max(part, 1):.1f}" '
                    f'height="{ROW_HEIGHT - 8}" fill="{state_color(name, type_)}"/>'
                )
                offset += part
            out.append("</a>")
            continue
        href = escape(run_url(_as_uuid(row.task_run_id)))
        final_colour = state_color(row.state_name, row.state_type)
        out.append(
            f'<a href="{href}"><title>{escape(row.label)}: {escape(row.state_name)}'
            f'</title><text x="4" y="{y + 16}" class="timeline__label">{label}</text>'
        )
        out.append(
            f'<rect x="{bar_x:.1f}" y="{y + 3}" width="{bar_w:.1f}" '
            f'height="{ROW_HEIGHT - 6}" fill="{final_colour}" fill-opacity="0.18" '
            f'stroke="{final_colour}" stroke-width="1.5" rx="2"/>'
        )
        out.append("</a>")
        for start, stop, colour, thin, title in row.segments:
            seg_x = x(start)
            seg_w = max(x(stop) - seg_x, 2)
            seg_y, seg_h = (y + 10, ROW_HEIGHT - 20) if thin else (y + 5, ROW_HEIGHT - 10)
            out.append(
                f'<rect x="{seg_x:.1f}" y="{seg_y}" width="{seg_w:.1f}" height="{seg_h}" '
                f'fill="{colour}"><title>{escape(title)}</title></rect>'
            )
    out.append("</svg>")
    return mark_safe("".join(out))
