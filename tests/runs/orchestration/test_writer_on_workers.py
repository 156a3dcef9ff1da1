"""Values a database cannot hold, recorded by a real ``runs worker``: the worker records them made
safe, and its callers and later runs are not held up (on PostgreSQL a NUL byte once hung them)."""

from __future__ import annotations

import math

import pytest

from runs import flow
from runs.models import FlowRun, Log, TaskRun
from runs.orchestration.writer import writer
from runs.runners.celery import CeleryTaskRunner
from tests.runs.orchestration import bad_value_tasks as bad
from tests.workers import start_worker


@pytest.fixture(scope="module")
def worker_queue(tmp_path_factory):
    worker = start_worker(tmp_path_factory.mktemp("bad-values"), concurrency=1)
    yield worker.queue
    worker.stop()


def test_a_worker_records_bad_values_made_safe_and_goes_on_recording(worker_queue):
    @flow(task_runner=CeleryTaskRunner(queue=worker_queue))
    def on_a_worker(text: str):
        futures = [
            bad.echo.submit([math.nan, math.inf]),
            bad.log_with_nul.submit(text),
            bad.raise_with_nul.submit(),
            bad.named.submit("n" * 1000),
        ]
        return [(s.type.value, s.task_run_id) for s in (f.wait() for f in futures)]

    ends = on_a_worker("a\x00b", return_state=True).result()

    assert [type_ for type_, _ in ends] == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
    echoed, logged, raised, named = (run_id for _, run_id in ends)
    writer.flush()
    assert TaskRun.objects.get(id=echoed).parameters == {"value": ["NaN", "Infinity"]}
    assert (
        TaskRun.objects.get(id=raised).state_message
        == "Task run encountered an exception ValueError: bad\ufffdvalue"
    )
    assert TaskRun.objects.get(id=named).name == "n" * 299 + "\u2026"
    log = Log.objects.get(task_run_id=logged, message__startswith="before")
    assert log.message == "before\ufffdafter a\ufffdb"

    @flow(task_runner=CeleryTaskRunner(queue=worker_queue))
    def unrelated():
        return bad.echo.submit(5).result()

    state = unrelated(return_state=True)
    assert state.result() == "5"
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.state_type == "COMPLETED"
    assert TaskRun.objects.get(flow_run=run).state_type == "COMPLETED"
