"""The one place that decides state transitions and writes them.

The engine *proposes* a state; :func:`propose_state` asks the policy's rules in order, each of
which answers with a decision (accept, reject, wait, abort: a cached result, a wait for a
concurrency slot, an abort), then records the outcome on the run. Transitions that need the
database to decide are decided and written inside one transaction; the others go through the
write-behind buffer. The rules' protocol is in :mod:`runs.orchestration.policy`.
"""

from __future__ import annotations

import uuid

from runs.orchestration.decisions import Decision, Verdict
from runs.orchestration.policy import Policy, Transition
from runs.orchestration.records import FlowRunRecord, RunRecord, TaskRunRecord
from runs.orchestration.rules import FLOW_RUN_POLICY, TASK_RUN_POLICY
from runs.orchestration.writer import apart_from_caller, run_apart, writer
from runs.reconnect import once_reopened
from runs.states import State, StateType

__all__ = [
    "propose_state",
    "decide_state",
    "Decision",
    "Verdict",
    "set_task_run_state",
    "set_flow_run_state",
    "writer",
    "FlowRunRecord",
    "TaskRunRecord",
    "RunRecord",
]


def propose_state(record: RunRecord, proposed: State) -> State:
    """Decide ``proposed`` for ``record`` and return the state accepted (which may differ)."""
    return decide_state(record, proposed).state


def decide_state(record: RunRecord, proposed: State) -> Decision:
    """Decide ``proposed`` for ``record`` through its policy, write the outcome and return it.

    The decision's ``state`` is the run's state afterwards: the one written (accept, wait,
    abort) or the one it keeps (reject, nothing written).
    """
    if apart_from_caller():  # the caller's transaction must not carry the run's history
        return run_apart(lambda: decide_state(record, proposed))
    policy = TASK_RUN_POLICY if isinstance(record, TaskRunRecord) else FLOW_RUN_POLICY
    with record.lock:
        transition = Transition(record, proposed)
        sync = record.sync or not record.persisted and isinstance(record, FlowRunRecord)
        if sync or policy.needs_db(transition):
            transition, decision = _decided_in_transaction(transition, policy, proposed)
        else:
            decision = _decide(transition, policy)
        for callback in transition.after_commit:
            callback()
        if decision.state.is_final():
            record.settle(decision.state)
        return decision


def _decided_in_transaction(
    transition: Transition, policy: Policy, proposed: State
) -> tuple[Transition, Decision]:
    """Decide in one transaction; if the connection turns out to have been dropped, nothing was
    written, so the record is put back as it was and the decision made again on a new one."""
    record = transition.record
    before = dict(vars(record))
    transitions = [transition]

    def decide() -> tuple[Transition, Decision]:
        current = transitions[-1]
        return current, writer.in_transaction(lambda: _decide(current, policy), record)

    def undo() -> None:
        vars(record).update(before)
        transitions.append(Transition(record, proposed))

    return once_reopened(decide, undo)


def _decide(transition: Transition, policy: Policy) -> Decision:
    decision = policy.decide(transition)
    if decision.verdict is not Verdict.REJECT:
        _bookkeeping(transition.record, decision.state)
        writer.add_transition(transition.record, decision.state)
    return decision


def _bookkeeping(record: RunRecord, state: State) -> None:
    """Counts, times and cache fields that follow from entering ``state``."""
    if state.type is StateType.RUNNING:
        record.run_count += 1
        if record.start_time is None:
            record.start_time = state.timestamp
        from runs.owners import current_owner

        record.owner = current_owner()
    if state.is_final():
        record.end_time = state.timestamp
        if state.result_key:
            record.result_key = state.result_key
        if isinstance(record, TaskRunRecord) and state.type is StateType.COMPLETED:
            if state.cache_key is not None:
                record.cache_key = state.cache_key
                record.cache_expiration = state.cache_expiration
    record.state = state


# ---- transitions asked for by id (services, the reaper, workers) -------------------------------
def _record_from_row(row, kind: str, holds_slots: bool | None = None) -> RunRecord:
    common = dict(
        id=row.id,
        name=row.name,
        parameters=row.parameters,
        tags=list(row.tags),
        created=row.created,
        run_count=row.run_count,
        start_time=row.start_time,
        end_time=row.end_time,
        owner=row.owner,
        result_key=row.result_key,
        sync=True,
        persisted=True,
        state=State(
            type=row.state_type,
            name=row.state_name,
            message=row.state_message,
            timestamp=row.state_timestamp or row.created,
        ),
    )
    if kind == "task":
        return TaskRunRecord(
            flow_run_id=row.flow_run_id,
            task_key=row.task_key,
            task_name=row.task_name,
            map_index=row.map_index,
            cache_key=row.cache_key,
            cache_expiration=row.cache_expiration,
            holds_slots=row.slots.exists() if holds_slots is None else holds_slots,
            limited=None,
            **common,
        )
    return FlowRunRecord(
        flow_id=row.flow_id,
        flow_name=row.flow.name,
        parent_task_run_id=row.parent_task_run_id,
        by_id=True,
        **common,
    )


def load_task_run_record(task_run_id: uuid.UUID | str) -> TaskRunRecord:
    """A record of a task run as the database has it, to propose transitions by id."""
    from runs.models import TaskRun

    records = load_task_run_records([task_run_id])
    if not records:
        raise TaskRun.DoesNotExist(f"No task run has id {task_run_id}.")
    return next(iter(records.values()))


def load_task_run_records(task_run_ids) -> dict[str, TaskRunRecord]:
    """Records of several task runs in one query, by id as text; missing ids are left out."""
    from django.db.models import Exists, OuterRef

    from runs.models import TaskRun
    from runs_limits.models import ConcurrencySlot

    rows = TaskRun.objects.annotate(
        holds=Exists(ConcurrencySlot.objects.filter(task_run=OuterRef("pk")))
    ).filter(id__in=list(task_run_ids))
    return {str(row.id): _record_from_row(row, "task", holds_slots=row.holds) for row in rows}


def load_flow_run_record(flow_run_id: uuid.UUID | str) -> FlowRunRecord:
    """A record of a flow run as the database has it, to propose transitions by id."""
    from runs.models import FlowRun

    return _record_from_row(FlowRun.objects.select_related("flow").get(id=flow_run_id), "flow")


def set_task_run_state(task_run_id: uuid.UUID | str, state: State) -> State:
    """Propose ``state`` for a task run known by id; returns the state accepted."""
    return propose_state(load_task_run_record(task_run_id), state)


def set_flow_run_state(flow_run_id: uuid.UUID | str, state: State) -> State:
    """Propose ``state`` for a flow run known by id; returns the state accepted."""
    return propose_state(load_flow_run_record(flow_run_id), state)
