"""Who runs a run: claims by workers, runs left by dead processes, messages delivered again.

A run's ``owner`` names the process executing it (:mod:`runs.owners`). The decisions that
follow from owners are orchestration's like any other: a worker claims the runs of a chunk
here, the reaper ends the runs of dead owners here, and a redelivered message is judged here;
every state they lead to is proposed through the policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from runs.orchestration.crash_messages import flow_run_ended, leases_of, owner_lost
from runs.orchestration.decisions import ACCEPT, Decision, Verdict
from runs.orchestration.records import TaskRunRecord
from runs.owners import current_owner, dead_owners, dead_owners_filter, owner_is_alive
from runs.retries import RetryOptions, retries_of
from runs.states import FINAL_TYPES, Cancelled, Crashed, Failed, State, now

logger = logging.getLogger("runs.orchestration")

#: How many runs of each kind one reaping ends, so that one heartbeat stays short.
REAP_TASK_RUNS = 500
REAP_FLOW_RUNS = 100
#: The states of a task run waiting for a process to take it (RUNNING ones are the owner's).
WAITING = ("SCHEDULED", "PENDING")
ENDED = sorted(t.value for t in FINAL_TYPES)


def claim_task_runs(task_run_ids: Iterable[str]) -> int:
    """Make this process the owner of those of ``task_run_ids`` still Pending and unowned (or
    owned by a dead process: a redelivery), so that if it dies before starting them the reaper
    ends them CRASHED instead of leaving them Pending; the number claimed."""
    from django.db.models import Q

    from runs.models import TaskRun

    pending = TaskRun.objects.filter(id__in=list(task_run_ids), state_type="PENDING")
    unowned = Q(owner="") | dead_owners_filter(pending)
    return pending.filter(unowned).update(owner=current_owner())


def judge_delivery(
    record: TaskRunRecord, retry_options: RetryOptions | None = None, lost: str | None = None
) -> Decision:
    """Whether this process may run the task run a message (perhaps delivered again) names.

    Accept: run it. Reject: leave it, with the state it keeps (final: a duplicate delivery of
    a finished run; RUNNING: its worker is still alive elsewhere). Abort: its worker died, and
    the state is the CRASHED it now has (proposed through the policy). A run whose worker died
    and that has retries left by ``retry_options`` (the task's, from the message) is retried
    instead: the lost attempt is proposed as failed, the retry rule answers AwaitingRetry, and
    the answer is Accept with that state. ``lost`` says how the worker was lost (by default:
    which process it was, how it is known to be gone, and that its message came back).
    """
    if record.is_final():
        return Decision(Verdict.REJECT, record.state)
    if record.state.is_running() and record.owner and record.owner != current_owner():
        if owner_is_alive(record.owner):
            return Decision(Verdict.REJECT, record.state)
        from runs.orchestration import propose_state

        if lost is None:
            lease = leases_of([record.owner]).get(record.owner)
            lost = f"{owner_lost(record, lease)} Its message was delivered again."
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
    """End CRASHED, through the policy, the runs a dead process left; the number ended.

    - Task runs left RUNNING by a dead process, and those a dead worker claimed (Pending with
      an owner) but never started.
    - Flow runs left RUNNING by a dead process, and then at once the task runs of theirs that
      no live process holds: a caller killed while it was still sending leaves them Pending,
      owned by nobody, perhaps never sent (see :func:`end_task_runs_of_ended_flow_runs`, which
      also finds those of flow runs that ended otherwise).

    At most REAP_TASK_RUNS task runs of each kind and REAP_FLOW_RUNS flow runs per call, so
    that one heartbeat stays short; the messages say which process was lost, where, and what
    the run was doing (:mod:`runs.orchestration.crash_messages`).
    """
    count = _crash_task_runs_of_dead_owners()
    crashed = _crash_flow_runs_of_dead_owners()
    if crashed:
        count += len(crashed) + end_task_runs_of_ended_flow_runs(crashed)
    return count


def _crash_task_runs_of_dead_owners() -> int:
    from django.db.models import Q

    from runs.models import TaskRun

    # Pending with an owner: claimed by a worker for a chunk of runs it had not started yet.
    left = TaskRun.objects.filter(
        Q(state_type="RUNNING") | Q(state_type="PENDING", state_name="Pending")
    )
    rows = list(
        left.filter(dead_owners_filter(left)).values_list("id", "owner", "flow_run__owner")[
            :REAP_TASK_RUNS
        ]
    )
    # A run sent to a worker by a caller that still lives is the caller's to judge: it holds
    # the message and sends it again (runs.runners.watch); the reaper could only end it.
    callers = {caller for _, owner, caller in rows if caller and caller != owner}
    live_callers = callers - dead_owners(callers)
    ids = [
        task_run_id
        for task_run_id, owner, caller in rows
        if caller == owner or caller not in live_callers
    ]
    if not ids:
        return 0
    return _end_task_runs(
        ids, lambda record, leases: Crashed(owner_lost(record, leases.get(record.owner)))
    )


def _crash_flow_runs_of_dead_owners() -> list:
    """Crash the flow runs left RUNNING by a dead process; their ids."""
    from runs.models import FlowRun
    from runs.orchestration import load_flow_run_record, propose_state

    running = FlowRun.objects.filter(state_type="RUNNING")
    ids = list(
        running.filter(dead_owners_filter(running)).values_list("id", flat=True)[:REAP_FLOW_RUNS]
    )
    records = [load_flow_run_record(flow_run_id) for flow_run_id in ids]
    leases = leases_of(record.owner for record in records)
    for record in records:
        propose_state(record, Crashed(owner_lost(record, leases.get(record.owner))))
    return ids


def end_task_runs_of_ended_flow_runs(
    flow_run_ids: list | None = None, limit: int = REAP_TASK_RUNS
) -> int:
    """End the task runs still waiting (Pending, Scheduled) although their flow run is final
    and its process (the caller) is dead, and that no live process holds (no owner, or a dead
    one): nothing will ever run them. CRASHED, or CANCELLED when their flow run was cancelled
    (as a worker would have ended them); at most ``limit`` per call; the number ended.

    A live caller still holds what it sent (its thread pool's queue, its messages) and judges
    it itself (runs.runners.watch), so its runs are left to it.

    ``flow_run_ids`` (flow runs this process just found final) narrows the search to theirs
    (index taskrun_timeline). Without it, a sweep reads every waiting task run (an index on
    state_type) and its flow run by key: one query when there is nothing to do, its
    cost growing with the runs in flight (the heartbeat paces it: runs.leases.SWEEP_PACE).
    """
    from runs.models import ProcessLease, TaskRun
    from runs.orchestration import load_flow_run_record

    fresh = ProcessLease.objects.filter(expires__gt=now()).values("owner")
    if flow_run_ids is None:
        candidates = TaskRun.objects.filter(state_type__in=WAITING, flow_run__state_type__in=ENDED)
    else:
        candidates = TaskRun.objects.filter(flow_run_id__in=flow_run_ids, state_type__in=WAITING)
    candidates = candidates.exclude(owner__in=fresh).exclude(flow_run__owner__in=fresh).order_by()
    columns = ("id", "owner", "flow_run__owner")
    rows = list(candidates.values_list(*columns)[:limit])
    owners = {owner for row in rows for owner in row[1:] if owner}
    alive = owners - dead_owners(owners)  # a lapsed lease, but still running on this machine
    if alive:
        candidates = candidates.exclude(owner__in=alive).exclude(flow_run__owner__in=alive)
        rows = list(candidates.values_list(*columns)[:limit])
    if not rows:
        return 0
    flow_runs: dict = {}

    def ending(record: TaskRunRecord, leases: dict) -> State:
        if record.flow_run_id not in flow_runs:
            flow_runs[record.flow_run_id] = load_flow_run_record(record.flow_run_id)
        flow_run = flow_runs[record.flow_run_id]
        if flow_run.owner not in leases:
            leases.update(leases_of([flow_run.owner]))
        message = flow_run_ended(record, flow_run, leases.get(flow_run.owner))
        if flow_run.state.is_cancelled():
            return Cancelled(message)
        return Crashed(message)

    return _end_task_runs([row[0] for row in rows], ending)


def _end_task_runs(ids: list, ending: Callable[[TaskRunRecord, dict], State]) -> int:
    """Propose for each of the task runs ``ids`` the state ``ending(record, leases)`` gives
    (``leases``: the lease rows of their owners), written behind and flushed together."""
    from runs.orchestration import load_task_run_records, propose_state
    from runs.orchestration.writer import writer

    records = list(load_task_run_records(ids).values())
    leases = leases_of(record.owner for record in records)
    for record in records:
        record.sync = False  # one flush for the batch, unless the policy needs the database
        propose_state(record, ending(record, leases))
    writer.flush()
    return len(records)
