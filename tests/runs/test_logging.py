"""Run logs as Prefect 2 stores them: tracebacks kept, ``send_to_api=False`` lines left out.

Tasks here are module-level so a ``runs worker`` can import them by name.
"""

from __future__ import annotations

import logging

import pytest

from runs import flow, get_run_logger, task
from runs.logging import MissingContextError
from runs.models import FlowRun, TaskRun
from runs.orchestration.writer import writer
from runs.runners.celery import CeleryTaskRunner
from runs.selectors.logs import logs_for
from tests.runs.api.seed import api_client, walk


@task
def logs_a_caught_error() -> str:
    """Logs one division error with exc_info=True, one with logger.exception()."""
    logger = get_run_logger()
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        logger.error("task caught a division", exc_info=True)
    try:
        {}["missing-key"]
    except KeyError:
        logger.exception("task caught a lookup")
    return "done"


@task
def logs_quietly() -> None:
    logger = get_run_logger()
    logger.info("task line kept")
    logger.info("task line for the console only", extra={"send_to_api": False})


@flow(name="logging-tracebacks")
def logs_tracebacks() -> str:
    logger = get_run_logger()
    try:
        int("not a number")
    except ValueError:
        logger.error("flow caught a bad int", exc_info=True)
    return logs_a_caught_error()


@flow(name="logging-quiet-lines")
def logs_quiet_lines() -> None:
    logger = get_run_logger()
    logger.warning("flow line for the console only", extra={"send_to_api": False})
    logger.warning("flow line kept")
    logs_quietly()


def _messages(run) -> list[str]:
    return [line.message for line in logs_for(run)]


def test_exc_info_and_exception_store_the_traceback_in_flows_and_tasks():
    """Prefect 2's APILogHandler formats the record, so the stored message of
    ``logger.error(..., exc_info=True)`` and ``logger.exception(...)`` carries the traceback."""
    state = logs_tracebacks(return_state=True)
    writer.flush()

    assert state.is_completed(), state
    flow_run = FlowRun.objects.get(id=state.flow_run_id)
    task_run = TaskRun.objects.get(flow_run=flow_run, task_name="logs_a_caught_error")
    flow_lines = [m for m in _messages(flow_run) if m.startswith("flow caught")]
    task_lines = _messages(task_run)

    assert len(flow_lines) == 1
    assert flow_lines[0].startswith("flow caught a bad int\nTraceback (most recent call last):")
    assert "ValueError: invalid literal for int()" in flow_lines[0]
    division, lookup = task_lines
    assert division.startswith("task caught a division\nTraceback (most recent call last):")
    assert division.rstrip().endswith("ZeroDivisionError: division by zero")
    assert lookup.startswith("task caught a lookup\nTraceback (most recent call last):")
    assert "KeyError: 'missing-key'" in lookup
    levels = {line.message.split("\n")[0]: line.level for line in logs_for(task_run)}
    assert levels == {
        "task caught a division": logging.ERROR,
        "task caught a lookup": logging.ERROR,
    }


def test_the_api_gives_the_traceback_too():
    """What the dashboard and ``read_logs`` show is the stored message, traceback included."""
    state = logs_tracebacks(return_state=True)
    writer.flush()

    lines = walk(api_client(), f"/api/logs/?flow_run={state.flow_run_id}")

    division = next(line for line in lines if line["message"].startswith("task caught a division"))
    assert "ZeroDivisionError: division by zero" in division["message"]
    assert division["level"] == logging.ERROR


def test_send_to_api_false_keeps_a_line_out_of_the_stored_logs_but_not_the_console():
    """Prefect 2: ``extra={"send_to_api": False}`` is skipped by the API handler only; the
    other handlers (the console) still get the line."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    collector = Collect()
    base = logging.getLogger("runs.run")
    state = None
    base.addHandler(collector)
    try:
        state = logs_quiet_lines(return_state=True)
    finally:
        base.removeHandler(collector)
    writer.flush()

    assert state.is_completed(), state
    flow_run = FlowRun.objects.get(id=state.flow_run_id)
    stored = _messages(flow_run)
    assert "flow line kept" in stored and "task line kept" in stored
    assert "flow line for the console only" not in stored
    assert "task line for the console only" not in stored
    assert {"flow line for the console only", "task line for the console only"} <= set(seen)


def test_a_worker_stores_the_traceback_of_a_task_it_runs(runs_worker):
    """On a Celery worker the task run's logger stores tracebacks the same way."""

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_a_worker():
        return {"state": logs_a_caught_error.submit().wait()}

    task_state = on_a_worker()["state"]
    writer.flush()

    assert task_state.is_completed(), task_state
    lines = _messages(TaskRun.objects.get(id=task_state.task_run_id))
    assert any(
        m.startswith("task caught a division\nTraceback") and "ZeroDivisionError" in m
        for m in lines
    ), lines


def test_get_run_logger_outside_a_run_is_the_missing_context_error():
    """Prefect 2 raises MissingContextError (a RuntimeError) outside a flow or task run."""
    with pytest.raises(MissingContextError):
        get_run_logger()
    with pytest.raises(RuntimeError):
        get_run_logger()


def test_console_lines_of_a_run_print_control_characters_escaped():
    """A run's messages come from its inputs: an ESC sequence in them is printed escaped on
    the console (the stored line keeps the text as it was), a traceback's newlines stay."""
    import io

    from runs.logging import RunLogHandler, configure_run_logging

    configure_run_logging()
    (console_handler,) = [
        h for h in logging.getLogger("runs.run").handlers if not isinstance(h, RunLogHandler)
    ]
    console = io.StringIO()
    previous = console_handler.setStream(console)

    @task
    def shouts(text):
        raise ValueError(text)

    @flow
    def prints():
        shouts(return_state=True, text="bad\x1b]0;title\x07")
        return "done"

    try:
        assert prints() == "done"
    finally:
        console_handler.setStream(previous)
    err = console.getvalue()
    assert "\x1b" not in err and "\x07" not in err
    assert "bad\\x1b]0;title\\x07" in err
    assert "Traceback (most recent call last):\n" in err
