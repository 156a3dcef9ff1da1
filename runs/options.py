"""Checks of the options of ``@task`` and ``@flow``: a bad value is refused at decoration, with
a message that says what was wrong and what to write instead."""

from __future__ import annotations

import datetime as dt
from typing import Any


def validate_options(opts: dict[str, Any]) -> None:
    """Raise TypeError or ValueError for an option of ``@task``/``@flow`` that cannot work."""
    retries = opts.get("retries")
    if retries is not None and (not isinstance(retries, int) or retries < 0):
        raise ValueError(f"retries must be a whole number of 0 or more; got {retries!r}.")
    delays = opts.get("retry_delay_seconds")
    if delays is not None and not callable(delays):
        values = [delays] if isinstance(delays, int | float) else delays
        try:
            bad = [d for d in values if not isinstance(d, int | float) or d < 0]
        except TypeError:
            bad = [delays]
        if bad:
            raise ValueError(
                "retry_delay_seconds must be a number, a list of numbers of 0 or more, or a "
                f"callable returning such a list; got {delays!r}."
            )
    jitter = opts.get("retry_jitter_factor")
    if jitter is not None and (not isinstance(jitter, int | float) or jitter < 0):
        raise ValueError(f"retry_jitter_factor must be a number of 0 or more; got {jitter!r}.")
    timeout = opts.get("timeout_seconds")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
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
