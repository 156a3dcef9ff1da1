"""Decisions that follow from owners and from other processes, made by orchestration: a
worker's claim, a redelivered message, and a cancellation noticed by the heartbeat."""

from __future__ import annotations

from runs.models import TaskRun
from runs.orchestration import Verdict, load_flow_run_record, propose_state
from runs.orchestration.notices import notice_cancellations
from runs.orchestration.ownership import claim_task_runs, judge_delivery
from runs.owners import current_owner
from runs.states import Completed, Running


def test_a_worker_claims_the_pending_runs_nobody_owns(task_runs):
    first, second = task_runs(), task_runs()
    assert claim_task_runs([str(first.id), str(second.id)]) == 2
    owners = set(
        TaskRun.objects.filter(id__in=[first.id, second.id]).values_list("owner", flat=True)
    )
    assert owners == {current_owner()}
    assert claim_task_runs([str(first.id)]) == 0  # owned by a live process: left alone


def test_a_message_for_a_run_this_worker_may_run_is_accepted(task_runs):
    assert judge_delivery(task_runs()).verdict is Verdict.ACCEPT


def test_a_duplicate_message_for_a_finished_run_is_rejected_with_its_state(task_runs):
    record = task_runs()
    propose_state(record, Running())
    propose_state(record, Completed())
    decision = judge_delivery(record)
    assert decision.verdict is Verdict.REJECT and decision.state.is_completed()


def test_a_redelivered_run_whose_worker_died_is_crashed_through_the_policy(task_runs):
    record = task_runs()
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
