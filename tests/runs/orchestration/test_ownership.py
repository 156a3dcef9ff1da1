"""Decisions that follow from owners and from other processes, made by orchestration: a
worker's claim, a redelivered message, and a cancellation noticed by the heartbeat."""

from __future__ import annotations

import uuid

import pytest

from runs import flow, runtime
from runs.models import TaskRun
from runs.orchestration import Verdict, load_flow_run_record, propose_state
from runs.orchestration.notices import notice_cancellations
from runs.orchestration.ownership import claim_task_runs, judge_delivery
from runs.orchestration.records import TaskRunRecord
from runs.owners import current_owner
from runs.states import Cancelled, Completed, Pending, Running


@pytest.fixture(scope="module")
def flow_run_id() -> str:
    @flow
    def holder():
        return runtime.flow_run.id

    return holder()


@pytest.fixture
def task_run(flow_run_id):
    """A task run in the database, Pending and owned by nobody, as a sender leaves it."""
    made = []

    def make() -> TaskRunRecord:
        record = TaskRunRecord(
            name=f"o-{uuid.uuid4().hex[:6]}",
            flow_run_id=flow_run_id,
            task_key="test-ownership",
            task_name="o",
            sync=True,
        )
        propose_state(record, Pending())
        made.append(record)
        return record

    yield make
    for record in made:
        if not record.is_final():
            propose_state(record, Cancelled("End of the test."))


def test_a_worker_claims_the_pending_runs_nobody_owns(task_run):
    first, second = task_run(), task_run()
    assert claim_task_runs([str(first.id), str(second.id)]) == 2
    owners = set(
        TaskRun.objects.filter(id__in=[first.id, second.id]).values_list("owner", flat=True)
    )
    assert owners == {current_owner()}
    assert claim_task_runs([str(first.id)]) == 0  # owned by a live process: left alone


def test_a_message_for_a_run_this_worker_may_run_is_accepted(task_run):
    assert judge_delivery(task_run()).verdict is Verdict.ACCEPT


def test_a_duplicate_message_for_a_finished_run_is_rejected_with_its_state(task_run):
    record = task_run()
    propose_state(record, Running())
    propose_state(record, Completed())
    decision = judge_delivery(record)
    assert decision.verdict is Verdict.REJECT and decision.state.is_completed()


def test_a_redelivered_run_whose_worker_died_is_crashed_through_the_policy(task_run):
    record = task_run()
    propose_state(record, Running())
    record.owner = "gone-host:1:deadbeef"  # no lease: a worker killed mid-run
    decision = judge_delivery(record)
    assert decision.verdict is Verdict.ABORT and decision.state.is_crashed()
    assert "delivered again" in decision.state.message
    assert TaskRun.objects.get(id=record.id).state_type == "CRASHED"


def test_a_cancellation_in_the_database_reaches_the_flow_run_record_once(monkeypatch):
    from runs.registry import register_flow
    from runs.services.flow_runs import cancel_flow_run, start_flow_run

    register_flow("tests.runs.celery_flows:add_flow")
    # Not sent: a session worker would otherwise finish the run before the cancel below.
    monkeypatch.setattr("runs.runners.messages.send", lambda *args, **kwargs: None)
    run = start_flow_run(flow_name="celery-add", parameters={"x": 3})
    record = load_flow_run_record(run.id)
    cancel_flow_run(flow_run_id=run.id)
    assert notice_cancellations({run.id: record}) == 1
    assert record.cancel_requested and record.state.is_cancelled()
    assert record.state.message == "Cancelled by request."
    assert notice_cancellations({run.id: record}) == 0
