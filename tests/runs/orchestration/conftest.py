"""Runs in the database for the orchestration tests, made through orchestration itself."""

from __future__ import annotations

import uuid

import pytest

from runs import flow, runtime
from runs.orchestration import propose_state
from runs.orchestration.records import TaskRunRecord
from runs.states import Cancelled, Pending


@pytest.fixture(scope="module")
def flow_run_id() -> str:
    """A flow run of this session that task runs of these tests can belong to."""

    @flow
    def holder():
        return runtime.flow_run.id

    return holder()


@pytest.fixture
def task_runs(flow_run_id):
    """Make task runs in the database (proposed Pending through orchestration); each one not
    final at the end of the test is cancelled, which frees what it holds."""
    made: list[TaskRunRecord] = []

    def make(**fields_) -> TaskRunRecord:
        record = TaskRunRecord(
            name=f"t-{uuid.uuid4().hex[:6]}",
            flow_run_id=flow_run_id,
            task_key="test-orchestration",
            task_name="t",
            sync=True,
            **fields_,
        )
        propose_state(record, Pending())
        made.append(record)
        return record

    yield make
    for record in made:
        if not record.is_final():
            propose_state(record, Cancelled("End of the test."))
