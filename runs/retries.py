"""Retry delays: fixed, per attempt, exponential backoff, and jitter that keeps the mean."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Delays = float | int | Sequence[float] | Callable[[int], Sequence[float]] | None


@dataclass(frozen=True, slots=True)
class RetryOptions:
    """How a run is retried, as its task or flow says; ``None`` takes the setting's default.

    The engine puts one on each run record it drives; the retry rule of orchestration reads it
    when the run fails. ``condition`` is called with the run's record and the failed state; a
    false answer means no retry.
    """

    retries: int | None = None
    delay_seconds: Delays = None
    jitter_factor: float | None = None
    condition: Callable[[Any, Any], bool] | None = None


def retries_of(options: RetryOptions, is_task: bool) -> int:
    """The retries ``options`` allow: their own, else RUNS_TASK_DEFAULT_RETRIES (a task run) or
    RUNS_FLOW_DEFAULT_RETRIES (a flow run)."""
    from runs import conf

    if options.retries is not None:
        return options.retries
    settings = conf.settings
    return settings.RUNS_TASK_DEFAULT_RETRIES if is_task else settings.RUNS_FLOW_DEFAULT_RETRIES


def delays_of(options: RetryOptions, is_task: bool) -> Delays:
    """The retry delays of ``options``: their own, else RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS
    (a task run) or RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS (a flow run)."""
    from runs import conf

    if options.delay_seconds is not None:
        return options.delay_seconds
    settings = conf.settings
    if is_task:
        return settings.RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS
    return settings.RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """A ``retry_delay_seconds`` callable: ``backoff_factor * 2**n`` for each retry (10 -> 10, 20,
    40), for at most 50 retries as in Prefect 2 (later retries repeat the last delay)."""

    def retry_backoff(retries: int) -> list[float]:
        return [backoff_factor * 2**attempt for attempt in range(min(retries, 50))]

    return retry_backoff


def delay_for_attempt(delays: Delays, retries: int, attempt: int) -> float:
    """The base delay before retry number ``attempt`` (1-based); the last listed delay repeats."""
    if callable(delays):
        delays = delays(retries)
    if delays is None:
        return 0.0
    if isinstance(delays, int | float):
        return float(delays)
    listed = list(delays)
    if not listed:
        return 0.0
    return float(listed[min(attempt, len(listed)) - 1])


def jittered(delay: float, jitter_factor: float | None, rng: random.Random | None = None) -> float:
    """A random delay at most ``delay * (1 + jitter_factor)`` whose mean stays ``delay``.

    Up to a factor of 1 the delay is uniform around ``delay``; above it, an exponential
    distribution truncated at the bound, with its rate chosen so that the mean is ``delay``.
    """
    if not jitter_factor or delay <= 0:
        return delay
    rng = rng or random
    upper = delay * (1 + jitter_factor)
    if jitter_factor <= 1:
        return rng.uniform(delay * (1 - jitter_factor), upper)
    rate = _rate_for_truncated_mean(delay, upper)
    # Inverse CDF of an exponential truncated to [0, upper].
    u = rng.random()
    return -math.log(1 - u * (1 - math.exp(-rate * upper))) / rate


def _rate_for_truncated_mean(mean: float, upper: float) -> float:
    def truncated_mean(rate: float) -> float:
        return 1 / rate - upper / math.expm1(rate * upper)

    low, high = 1e-12 / upper, 1.0 / mean * 50
    for _ in range(200):
        mid = (low + high) / 2
        if truncated_mean(mid) > mean:
            low = mid
        else:
            high = mid
    return (low + high) / 2
