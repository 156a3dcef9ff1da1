"""Flows whose timelines are large: a map with failures in the middle, and many plain calls."""

from __future__ import annotations

import time

from runs import flow, task

#: The elements of :func:`map_with_failures` that fail: a run of them in the middle.
FAILING = range(100, 120)


@task
def checked(i: int) -> int:
    """Fails for the elements in FAILING; each element takes a moment, so they spread in time."""
    time.sleep(0.002)
    if i in FAILING:
        raise ValueError(f"element {i} fails on purpose")
    return i


@task
def step(i: int) -> int:
    return i


@flow(name="timeline-map-with-failures")
def map_with_failures(count: int = 200) -> int:
    """``count`` mapped runs, 20 of which fail; the flow itself completes."""
    futures = checked.map(range(count))
    return sum(1 for future in futures if future.wait() and future.state.is_completed())


@flow(name="timeline-many-steps")
def many_steps(count: int = 130) -> int:
    """``count`` plain task calls, one row each on the timeline."""
    return sum(step(i) for i in range(count))
