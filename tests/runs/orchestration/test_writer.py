"""The write-behind writer: values a database cannot hold are made safe where they enter, and a
row the database still refuses is set aside, logged once, without stopping the history of the
process. Each test ends with an unrelated flow recorded normally."""

from __future__ import annotations

import logging
import math
import time

import pytest

from runs import conf, flow, get_run_logger
from runs.models import FlowRun, Log, TaskRun
from runs.models import State as StateRow
from runs.orchestration import rows
from runs.orchestration.writer import writer
from tests.runs.orchestration import bad_value_tasks as bad


def assert_an_unrelated_flow_is_recorded() -> None:
    @flow
    def unrelated(x: int):
        return bad.echo(x)

    state = unrelated(3, return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.state_type == "COMPLETED"
    history = StateRow.objects.filter(flow_run=run).order_by("timestamp")
    assert list(history.values_list("name", flat=True)) == ["Pending", "Running", "Completed"]
    assert TaskRun.objects.get(flow_run=run).state_name == "Completed"


def test_non_finite_floats_in_parameters_are_stored_as_json_strings():
    seen = []

    @flow
    def measure(x: float, values: list):
        seen.append(x)
        return bad.echo(values)

    state = measure(math.nan, [1.5, math.inf, {"low": -math.inf}], return_state=True)

    writer.flush()
    assert state.is_completed() and math.isnan(seen[0])  # the function got the real float
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.parameters == {"x": "NaN", "values": [1.5, "Infinity", {"low": "-Infinity"}]}
    task_run = TaskRun.objects.get(flow_run=run)
    assert task_run.parameters == {"value": [1.5, "Infinity", {"low": "-Infinity"}]}
    assert task_run.state_type == "COMPLETED"
    assert_an_unrelated_flow_is_recorded()


def test_nul_characters_in_parameters_logs_and_exception_messages_become_replacement_marks():
    @flow
    def with_nuls(text: str):
        bad.log_with_nul(text)
        bad.raise_with_nul(return_state=True)
        return bad.echo({"key\x00": text})

    state = with_nuls("a\x00b", return_state=True)

    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.parameters == {"text": "a\ufffdb"}
    failed = TaskRun.objects.get(flow_run=run, task_name="raise_with_nul")
    assert failed.state_type == "FAILED"
    assert failed.state_message == "Task run encountered an exception ValueError: bad\ufffdvalue"
    echoed = TaskRun.objects.get(flow_run=run, task_name="echo")
    assert echoed.parameters == {"value": {"key\ufffd": "a\ufffdb"}}
    logged = Log.objects.get(task_run__flow_run=run, message__startswith="before")
    assert logged.message == "before\ufffdafter a\ufffdb"
    assert_an_unrelated_flow_is_recorded()


def test_a_task_run_name_longer_than_its_column_is_cut_with_an_ellipsis():
    @flow
    def long_name():
        return bad.named("x" * 1000)

    state = long_name(return_state=True)

    writer.flush()
    task_run = TaskRun.objects.get(flow_run_id=state.flow_run_id)
    assert task_run.name == "x" * 299 + "\u2026"
    assert task_run.state_type == "COMPLETED"
    assert_an_unrelated_flow_is_recorded()


def test_log_and_state_messages_are_capped_by_the_setting_and_say_how_much_was_cut():
    @flow
    def chatty():
        get_run_logger().info("y" * 500)
        raise ValueError("z" * 500)

    with conf.override(RUNS_LOG_MESSAGE_MAX_LENGTH=100):
        state = chatty(return_state=True)
        writer.flush()

    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.state_type == "FAILED"
    prefix = "Flow run encountered an exception. ValueError: "
    assert run.state_message == prefix + "z" * 53 + "\u2026 [447 more characters cut]"
    logged = Log.objects.get(flow_run=run, message__startswith="yyy")
    assert logged.message == "y" * 100 + "\u2026 [400 more characters cut]"
    assert_an_unrelated_flow_is_recorded()


def test_a_flow_run_name_that_is_not_text_or_callable_is_refused_at_definition():
    with pytest.raises(TypeError, match="flow_run_name must be a string or a callable"):
        flow(flow_run_name=5)(lambda: None)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def writer_log():
    """What the writer logs (its logger does not propagate to pytest's capture)."""
    handler = Collect()
    logging.getLogger("runs.writer").addHandler(handler)
    yield handler.records
    logging.getLogger("runs.writer").removeHandler(handler)


def test_a_row_the_database_refuses_is_set_aside_and_logged_once(monkeypatch, writer_log):
    made = rows.new_flow_run

    def slipped_past_the_checks(record, columns):
        row = made(record, columns)
        if record.flow_name == "refused":
            row["parameters"] = {"x": math.nan}  # neither database's JSON takes NaN
        return row

    monkeypatch.setattr(rows, "new_flow_run", slipped_past_the_checks)

    @flow(name="refused")
    def refused():
        return bad.echo(1)

    state = refused(return_state=True)
    assert state.result() == "1"  # the run itself went on
    assert_an_unrelated_flow_is_recorded()
    time.sleep(3 * 0.2)  # several background flushes: none may log it again

    errors = [r for r in writer_log if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    message = errors[0].getMessage()
    assert str(state.flow_run_id) in message and "runs_flowrun" in message
    assert errors[0].exc_info is None  # a line, not a traceback
    assert not FlowRun.objects.filter(id=state.flow_run_id).exists()
    assert writer.pending() == 0


def test_tags_with_nul_characters_or_over_200_characters_are_stored_made_safe():
    from runs import tags, task

    @task(tags=["a\x00b"])
    def tagged():
        return 1

    @flow
    def with_tags():
        with tags("t" * 300):
            return tagged()

    state = with_tags(return_state=True)

    writer.flush()
    task_run = TaskRun.objects.get(flow_run_id=state.flow_run_id)
    assert sorted(task_run.tags) == ["a\ufffdb", "t" * 199 + "\u2026"]
    assert task_run.state_type == "COMPLETED"
    assert_an_unrelated_flow_is_recorded()


def test_a_flow_name_its_table_cannot_hold_is_refused_at_definition():
    with pytest.raises(ValueError, match="at most 200 characters"):
        flow(name="f" * 201)(lambda: None)


def test_refused_rows_waiting_in_the_buffer_do_not_stop_a_decision_made_in_the_database(
    monkeypatch, writer_log
):
    from runs import task
    from runs.tasks import task_input_hash

    made = rows.new_task_run

    def slipped_past_the_checks(record, columns):
        row = made(record, columns)
        if record.task_name == "poisoned":
            row["parameters"] = {"x": math.inf}
        return row

    monkeypatch.setattr(rows, "new_task_run", slipped_past_the_checks)

    @task
    def poisoned(x):
        return x

    @task(cache_key_fn=task_input_hash)
    def cached(x):  # its Running is decided in a transaction that first writes the buffer
        return x + 1

    @flow
    def mixed():
        poisoned(1)
        return cached(1)

    state = mixed(return_state=True)

    writer.flush()
    assert state.result() == 2
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.state_type == "COMPLETED"
    assert list(TaskRun.objects.filter(flow_run=run).values_list("task_name", flat=True)) == [
        "cached"
    ]
    errors = [r for r in writer_log if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and "runs_taskrun" in errors[0].getMessage()
    assert_an_unrelated_flow_is_recorded()
