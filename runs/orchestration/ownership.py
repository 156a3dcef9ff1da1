"""Who runs a run: claims by workers, runs left by dead processes, messages delivered again.

A run's ``owner`` names the process executing it (:mod:`runs.owners`). The decisions that
follow from owners are orchestration's like any other: a worker claims the runs of a chunk
here, the reaper ends the runs of dead owners here, and a redelivered message is judged here;
every state they lead to is proposed through the policy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from runs.orchestration.decisions import ACCEPT, Decision, Verdict
from runs.orchestration.records import TaskRunRecord
from runs.owners import current_owner, dead_owners_filter, owner_is_alive
from runs.retries import RetryOptions, retries_of
from runs.states import Crashed, Failed

logger = logging.getLogger("runs.orchestration")

#: How many runs of each kind one reaping ends, so that one heartbeat stays short.
REAP_TASK_RUNS = 500
REAP_FLOW_RUNS = 100


def claim_task_runs(task_run_ids: Iterable[str]) -> int:
    """Make this process the owner of those of ``task_run_ids`` still Pending and unowned (or
    owned by a dead process: a redelivery), so that if it dies before starting them the reaper
    ends them CRASHED instead of leaving them Pending; the number claimed."""
    from django.db.models import Q

    from runs.models import TaskRun

    pending = TaskRun.objects.filter(id__in=list(task_run_ids), state_type="PENDING")
    unowned = Q(owner="") | dead_owners_filter(pending)
    return pending.filter(unowned).update(owner=current_owner())


def judge_delivery(record: TaskRunRecord, retry_options: RetryOptions | None = None) -> Decision:
    """Whether this process may run the task run a message (perhaps delivered again) names.

    Accept: run it. Reject: leave it, with the state it keeps (final: a duplicate delivery of
    a finished run; RUNNING: its worker is still alive elsewhere). Abort: its worker died, and
    the state is the CRASHED it now has (proposed through the policy). A run whose worker died
    and that has retries left by ``retry_options`` (the task's, from the message) is retried
    instead: the lost attempt is proposed as failed, the retry rule answers AwaitingRetry, and
    the answer is Accept with that state.
    """
    if record.is_final():
        return Decision(Verdict.REJECT, record.state)
    if record.state.is_running() and record.owner and record.owner != current_owner():
        if owner_is_alive(record.owner):
            return Decision(Verdict.REJECT, record.state)
        from runs.orchestration import propose_state

        lost = f"The worker running it ({record.owner}) died; the message was delivered again."
        if retry_options is not None and record.run_count <= retries_of(retry_options, True):
            record.retry_options = retry_options
            state = propose_state(record, Failed(lost))
            if state.is_scheduled():
                logger.warning("Task run %s (%s): %s Retrying it.", record.id, record.name, lost)
                return Decision(Verdict.ACCEPT, state)
            return Decision(Verdict.ABORT, state)  # its retry_condition_fn said no
        return Decision(Verdict.ABORT, propose_state(record, Crashed(lost)))
    return ACCEPT


def crash_runs_of_dead_owners() -> int:
    """End CRASHED (through the policy) the runs left RUNNING by a dead process, and the task
    runs a dead worker claimed but never started; the number of runs ended."""
    from django.db.models import Q

    from runs.models import FlowRun, TaskRun
    from runs.orchestration import set_flow_run_state, set_task_run_state

    count = 0
    # Pending with an owner: claimed by a worker for a chunk of runs it had not started yet.
    left = TaskRun.objects.filter(
        Q(state_type="RUNNING") | Q(state_type="PENDING", state_name="Pending")
    )
    left = left.filter(dead_owners_filter(left))
    for task_run_id, owner in left.values_list("id", "owner")[:REAP_TASK_RUNS]:
        set_task_run_state(
            task_run_id,
            Crashed(
                f"The process that ran this task run ({owner}) stopped renewing its lease; "
                "it probably died."
            ),
        )
        count += 1
    running_flows = FlowRun.objects.filter(state_type="RUNNING")
    for flow_run_id, owner in running_flows.filter(dead_owners_filter(running_flows)).values_list(
        "id", "owner"
    )[:REAP_FLOW_RUNS]:
        set_flow_run_state(
            flow_run_id,
            Crashed(
                f"The process that ran this flow run ({owner}) stopped renewing its lease; "
                "it probably died."
            ),
        )
        count += 1
    return count
