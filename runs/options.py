"""Checks of the options of ``@task`` and ``@flow``: a bad value is refused at decoration, with
a message that says what was wrong and what to write instead.

As in Prefect 2, a value of the wrong type is a ``TypeError`` and a value of the right type that
cannot work (a negative number, too many retry delays) a ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

#: The most retry delays a task or flow may list (Prefect 2's limit).
MAX_RETRY_DELAYS = 50


def validate_options(opts: dict[str, Any]) -> None:
    """Raise TypeError or ValueError for an option of ``@task``/``@flow`` that cannot work."""
    _check_retries(opts.get("retries"))
    _check_retry_delays(opts.get("retry_delay_seconds"))
    jitter = opts.get("retry_jitter_factor")
    if jitter is not None:
        _check_number("retry_jitter_factor", jitter)
        if jitter < 0:
            raise ValueError(f"retry_jitter_factor must be 0 or more; got {jitter!r}.")
    timeout = opts.get("timeout_seconds")
    if timeout is not None:
        _check_number("timeout_seconds", timeout)
        if not timeout > 0:
            raise ValueError(f"timeout_seconds must be a positive number; got {timeout!r}.")
    expiration = opts.get("cache_expiration")
    if expiration is not None and not isinstance(expiration, dt.timedelta):
        raise TypeError(f"cache_expiration must be a datetime.timedelta; got {expiration!r}.")
    for name in ("cache_key_fn", "retry_condition_fn"):
        if opts.get(name) is not None and not callable(opts[name]):
            raise TypeError(f"{name} must be callable; got {opts[name]!r}.")
    run_name = opts.get("task_run_name")
    if run_name is not None and not (isinstance(run_name, str) or callable(run_name)):
        raise TypeError(f"task_run_name must be a string or a callable; got {run_name!r}.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_number(name: str, value: Any) -> None:
    if not _is_number(value):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}.")


def _check_retries(retries: Any) -> None:
    if retries is None:
        return
    if not isinstance(retries, int) or isinstance(retries, bool):
        raise TypeError(
            f"retries must be a whole number of 0 or more; got {type(retries).__name__} "
            f"{retries!r}."
        )
    if retries < 0:
        raise ValueError(f"retries must be a whole number of 0 or more; got {retries!r}.")


def _check_retry_delays(delays: Any) -> None:
    """A number, a list of at most MAX_RETRY_DELAYS numbers, or a callable (checked when a retry
    needs it); every number finite and 0 or more."""
    if delays is None or callable(delays):
        return
    if _is_number(delays):
        _check_delay(delays, delays)
        return
    if not isinstance(delays, list | tuple):
        raise TypeError(
            "retry_delay_seconds must be a number, a list of numbers, or a callable taking the "
            f"number of retries and returning such a list; got {type(delays).__name__} "
            f"{delays!r:.80}."
        )
    if len(delays) > MAX_RETRY_DELAYS:
        raise ValueError(
            f"Can not configure more than {MAX_RETRY_DELAYS} retry delays per task; "
            f"retry_delay_seconds lists {len(delays)}. The last delay listed repeats for any "
            "further retries."
        )
    for delay in delays:
        if not _is_number(delay):
            raise TypeError(
                "retry_delay_seconds must list numbers of seconds; got "
                f"{type(delay).__name__} {delay!r:.80} in {delays!r:.80}."
            )
        _check_delay(delay, delays)


def _check_delay(delay: float, delays: Any) -> None:
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(
            f"retry_delay_seconds must be finite numbers of seconds, 0 or more; got {delays!r:.80}."
        )
