"""The outcome states an attempt proposes, the same for task runs and flow runs."""

from __future__ import annotations

import logging
import traceback

from runs.states import Crashed, Failed, State, TimedOut


def failed_state(
    exc: Exception, logger: logging.LoggerAdapter | logging.Logger, kind: str, result_key: str = ""
) -> State:
    """Failed with the exception (``kind`` is "Task" or "Flow"), its traceback logged on the
    run's logger."""
    logger.error(
        "%s run failed with %s: %s\n%s",
        kind,
        type(exc).__name__,
        exc,
        "".join(traceback.format_exception(exc)).rstrip(),
    )
    # Prefect 2's wording: "Task run encountered an exception ValueError: ..."
    lead = (
        "Task run encountered an exception"
        if kind == "Task"
        else f"{kind} run encountered an exception."
    )
    return Failed(f"{lead} {type(exc).__name__}: {exc}", data=exc, result_key=result_key)


def timed_out_state(kind: str, run_name: str, seconds: float) -> State:
    """TimedOut after ``seconds``; its result raises TimeoutError."""
    span = f"{seconds:g} second" + ("" if seconds == 1 else "s")
    return TimedOut(
        f"{kind} run exceeded its timeout of {span}; it was stopped.",
        data=TimeoutError(f"{kind} run {run_name!r} timed out after {span}"),
    )


def crashed_state(exc: BaseException) -> State:
    """Crashed by an exception that is not the run's own failure (an interrupt, an exit, a
    BaseException, an error of the engine itself), with Prefect 2's messages; its result
    raises ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        message = "Execution was aborted by an interrupt signal."
    elif isinstance(exc, SystemExit):
        message = "Execution was aborted by Python system exit call."
    else:
        detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
        message = f"Execution was interrupted by an unexpected exception: {detail}"
    return Crashed(message, data=exc)


def is_interrupt(exc: BaseException | None) -> bool:
    """An interrupt or exit: recorded CRASHED where it happened, then raised on to the caller
    of the flow (Prefect 2 re-raises it once the flow's task runs have finished)."""
    return isinstance(exc, KeyboardInterrupt | SystemExit)
