"""Run logs: ``get_run_logger()``, the handler that stores log lines as Log rows, and ``log_prints``.

Log lines of a run go to the console (as any logging does) and to the database through the
write-behind buffer, so they show in the dashboard and through the API. As in Prefect 2, a
line logged with ``exc_info`` (or ``logger.exception``) is stored with its traceback, and
``extra={"send_to_api": False}`` keeps a line on the console only.
"""

from __future__ import annotations

import builtins
import io
import logging
import threading
from collections.abc import Callable
from typing import Any

# MissingContextError lives in runs.context (which must not import this module); it is
# importable from here too, as Prefect's users expect.
from runs.context import MissingContextError, flow_run_context, task_run_context
from runs.states import now
from runs.values import printable

#: Where log rows go: the write-behind writer's ``add_log``, set by the writer when it loads
#: (it sits beside this module in the store; an import here would close a cycle through
#: orchestration, whose rules log).
_sink: list[Callable[[dict[str, Any]], None]] = []


def set_log_sink(sink: Callable[[dict[str, Any]], None]) -> None:
    """Send the log rows of runs to ``sink`` (called once, by the write-behind writer)."""
    _sink[:] = [sink]


class RunLogHandler(logging.Handler):
    """Stores records that carry run ids (``extra`` of a run logger) as Log rows.

    The stored message is the line as written, followed by its traceback (``exc_info``) and
    stack (``stack_info``) when the call asked for them. A record whose ``send_to_api`` is
    false is not stored (Prefect 2's opt-out; ``send_to_orion``, its older name, too).
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        flow_run_id = getattr(record, "flow_run_id", None)
        task_run_id = getattr(record, "task_run_id", None)
        if flow_run_id is None and task_run_id is None:
            return
        if not getattr(record, "send_to_api", True) or not getattr(record, "send_to_orion", True):
            return
        try:
            message = self.format(record)
            _sink[0](
                {
                    "flow_run_id": flow_run_id,
                    "task_run_id": task_run_id,
                    "level": record.levelno,
                    "name": record.name[:200],
                    "message": message,
                    "timestamp": now(),
                }
            )
        except Exception:
            self.handleError(record)


class _RunFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        label = getattr(record, "run_label", "")
        record.run_prefix = f"{label} - " if label else ""
        # A run's messages come from its inputs: no ESC sequence reaches the console.
        return printable(super().format(record), keep="\n\t")


_handler: logging.Handler | None = None
_config_lock = threading.Lock()


def configure_run_logging() -> None:
    """Attach the database handler and a console handler to the ``runs.run`` loggers.

    Done again whenever the handler has gone: a later ``logging.config.dictConfig`` (Django's
    set-up run a second time) strips the handlers of child loggers such as ``runs.run``.
    """
    global _handler
    base = logging.getLogger("runs.run")
    if _handler is not None and _handler in base.handlers:
        return
    with _config_lock:
        if _handler is not None and _handler in base.handlers:
            return
        for old in list(base.handlers):
            base.removeHandler(old)
        base.setLevel(logging.INFO)
        base.propagate = False
        handler = RunLogHandler()
        base.addHandler(handler)
        console = logging.StreamHandler()
        console.setFormatter(
            _RunFormatter(
                "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(run_prefix)s%(message)s",
                datefmt="%H:%M:%S",
            )
        )
        base.addHandler(console)
        _handler = handler


class RunLogger(logging.LoggerAdapter):
    """A logger whose lines belong to one flow run or task run."""

    def process(self, msg: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        return msg, kwargs


def task_run_logger(task_run) -> RunLogger:
    """The logger of ``task_run``: its lines are stored with the task run and its flow run,
    so reading a flow run's lines is one indexed range (see ``runs.selectors.logs``)."""
    configure_run_logging()
    return RunLogger(
        logging.getLogger("runs.run.task"),
        {
            "task_run_id": task_run.id,
            "flow_run_id": task_run.flow_run_id,
            "run_label": f"Task run {task_run.name!r}",
        },
    )


def flow_run_logger(flow_run) -> RunLogger:
    """The logger of ``flow_run``'s own lines."""
    configure_run_logging()
    return RunLogger(
        logging.getLogger("runs.run.flow"),
        {
            "task_run_id": None,
            "flow_run_id": flow_run.id,
            "run_label": f"Flow run {flow_run.name!r}",
        },
    )


def get_run_logger() -> RunLogger:
    """The logger of the current task run, else of the current flow run.

    Raises MissingContextError outside a run, as Prefect does.
    """
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return task_run_logger(task_ctx.task_run)
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        return flow_run_logger(flow_ctx.flow_run)
    raise MissingContextError(
        "get_run_logger() was called outside a flow run or task run. Call it inside a function "
        "decorated with @flow or @task, or use logging.getLogger(...) elsewhere."
    )


# ---- log_prints ------------------------------------------------------------------------------
_original_print = builtins.print
_print_installed = False


def _current_print_logger() -> RunLogger | None:
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return task_run_logger(task_ctx.task_run) if task_ctx.log_prints else None
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None and flow_ctx.log_prints:
        return flow_run_logger(flow_ctx.flow_run)
    return None


def _print(*args: Any, **kwargs: Any) -> None:
    _original_print(*args, **kwargs)
    if kwargs.get("file") not in (None,):
        return
    logger = _current_print_logger()
    if logger is None:
        return
    buffer = io.StringIO()
    _original_print(*args, **{**kwargs, "file": buffer, "flush": False})
    text = buffer.getvalue().rstrip("\n")
    if text:
        record = logging.LogRecord("runs.run.print", logging.INFO, "", 0, text, None, None)
        for key, value in logger.extra.items():
            setattr(record, key, value)
        for handler in logging.getLogger("runs.run").handlers:
            if isinstance(handler, RunLogHandler):
                handler.handle(record)


def install_print_capture() -> None:
    """Route ``print`` through runs (once per process); it only logs inside runs with log_prints."""
    global _print_installed
    if not _print_installed:
        builtins.print = _print
        _print_installed = True
