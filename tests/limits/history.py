"""What the recorded state history says about concurrency: the spans task runs spent RUNNING."""

from __future__ import annotations

from runs.models import State, TaskRun
from runs.states import StateType


def running_spans(tag: str) -> list[tuple[float, float]]:
    """Per RUNNING state of every task run tagged ``tag``: (its timestamp, the next state's),
    as seconds; a run still RUNNING at the end has no span."""
    runs = TaskRun.objects.filter(tag_rows__tag=tag).values_list("id", flat=True)
    rows = State.objects.filter(task_run_id__in=list(runs)).order_by("task_run_id", "timestamp")
    spans: list[tuple[float, float]] = []
    started: dict = {}
    for run_id, state_type, timestamp in rows.values_list("task_run_id", "type", "timestamp"):
        if run_id in started:
            spans.append((started.pop(run_id), timestamp.timestamp()))
        if state_type == StateType.RUNNING:
            started[run_id] = timestamp.timestamp()
    return spans


def max_concurrency(spans) -> int:
    """The most ``(start, end)`` spans that overlap at one instant (touching ones do not)."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def hand_overs(spans, limit: int) -> list[float]:
    """Seconds each slot of a limit stood empty between one run's end and the next one's start,
    with the runs of ``spans`` given the ``limit`` slots in turn as they freed (the first
    ``limit`` starts take a slot each and are not counted)."""
    frees = sorted(end for _, end in spans)
    starts = sorted(start for start, _ in spans)[limit:]
    return [max(start - end, 0.0) for start, end in zip(starts, frees, strict=False)]
