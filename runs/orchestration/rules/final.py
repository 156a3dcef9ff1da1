"""Rules about the end of a run: final states stay final, and a cancel from elsewhere wins."""

from __future__ import annotations

from runs.orchestration.decisions import ACCEPT, REJECT, Decision, Update
from runs.orchestration.policy import FINAL, RUNNING, Rule, Transition
from runs.orchestration.records import FlowRunRecord
from runs.states import FINAL_TYPES, Cancelled, State, StateType, now


class RefuseAfterFinal(Rule):
    """A run in a final state stays there (a late Completed cannot undo a TimedOut or Crashed)."""

    from_types = FINAL

    def decide(self, t: Transition) -> Decision:
        return REJECT


def ended_elsewhere(flow_run: FlowRunRecord, *, lock: bool = False) -> State | None:
    """The final state the database has for a flow run other processes can end (driven by
    id, as on a worker: a cancel through the API), or None without a query for the others.

    With ``lock`` (inside the transaction that will write the flow run's next state) the row
    is locked first, so that two processes proposing states for one flow run decide in turn:
    without it, on PostgreSQL, a worker's RUNNING decided while the API's CANCELLED was not yet
    committed would be written over it. The row is locked by id alone, whatever its state:
    PostgreSQL locks only the rows a ``FOR UPDATE`` query returns.
    """
    if not flow_run.by_id:
        return None
    from runs.models import FlowRun

    rows = FlowRun.objects.filter(id=flow_run.id)
    if lock:
        rows = rows.select_for_update()
    row = rows.values("state_type", "state_name", "state_message", "state_timestamp").first()
    if row is None or row["state_type"] not in FINAL_TYPES:
        return None
    return State(
        type=row["state_type"],
        name=row["state_name"],
        message=row["state_message"],
        timestamp=row["state_timestamp"] or now(),
    )


class AdoptFinalFromElsewhere(Rule):
    """A flow run that other processes can end takes the final state the database already
    has, such as a cancellation through the API while its last step ran, instead of writing
    its own over it."""

    def applies(self, t: Transition) -> bool:
        return isinstance(t.record, FlowRunRecord) and t.record.by_id

    def needs_db(self, t: Transition) -> bool:
        return True

    def decide(self, t: Transition) -> Decision:
        ended = ended_elsewhere(t.record, lock=True)
        if ended is None:
            return ACCEPT
        # Kept as the database has it: nothing is written.
        return Decision.reject(updates=adoption(t.record, ended))


def adoption(record: FlowRunRecord, state: State) -> tuple[Update, ...]:
    """The updates by which ``record`` takes the final ``state`` another process wrote."""
    return (
        (record, "state", state),
        (record, "cancel_requested", state.type is StateType.CANCELLED),
        (record, "persisted", True),
    )


class StopCancelledFlowRun(Rule):
    """No task run of a cancelled flow run starts, nor one of a flow run that has ended.

    A flow run that others can cancel (started by id, run by a worker) is looked up before each
    of its task runs starts, so that a cancel between two steps stops the second even before
    the heartbeat notices it.
    """

    to_types = RUNNING

    def applies(self, t: Transition) -> bool:
        return t.is_task and t.record.flow_run is not None

    def decide(self, t: Transition) -> Decision:
        flow_run = t.record.flow_run
        if flow_run.cancel_requested:
            return Decision.abort(_cancelled())
        if flow_run.is_final():
            # Its flow run ended (a timeout, say) while it still waited for a thread.
            return Decision.abort(
                Cancelled(
                    f"Its flow run had ended ({flow_run.state.name}) before this task run "
                    "started, so it was not started."
                )
            )
        ended = ended_elsewhere(flow_run)
        if ended is not None and ended.type is StateType.CANCELLED:
            return Decision.abort(_cancelled(), updates=((flow_run, "cancel_requested", True),))
        return ACCEPT


def _cancelled() -> State:
    return Cancelled("The flow run was cancelled before this task run started.")
