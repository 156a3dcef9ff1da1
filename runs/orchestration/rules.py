"""The rules of orchestration, in the order they apply to a proposed transition.

Each rule looks at one thing. ``applies`` says whether the rule has anything to say about
this proposal; ``needs_db`` whether deciding it must read or lock rows (then the transition
is decided inside a database transaction); ``decide`` returns the state to accept instead of
the proposal, or None to let it through. ``after_commit`` runs once the decision is durable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from runs import conf
from runs.orchestration.records import FlowRunRecord, RunRecord, TaskRunRecord
from runs.states import (
    FINAL_TYPES,
    Aborted,
    AwaitingConcurrencySlot,
    Cached,
    Cancelled,
    Failed,
    State,
    StateType,
    now,
)

logger = logging.getLogger("runs.orchestration")


@dataclass
class Transition:
    """A proposal under consideration."""

    record: RunRecord
    proposed: State
    after_commit: list = field(default_factory=list)

    @property
    def is_task(self) -> bool:
        return isinstance(self.record, TaskRunRecord)

    @property
    def entering_running(self) -> bool:
        return self.proposed.type is StateType.RUNNING


class Rule:
    """A rule; subclasses override what they need."""

    def applies(self, t: Transition) -> bool:
        return True

    def needs_db(self, t: Transition) -> bool:
        return False

    def decide(self, t: Transition) -> State | None:
        return None


class RefuseAfterFinal(Rule):
    """A run in a final state stays there (a late Completed cannot undo a TimedOut or Crashed)."""

    def applies(self, t: Transition) -> bool:
        return t.record.is_final()

    def decide(self, t: Transition) -> State | None:
        return t.record.state


def _ended_elsewhere(flow_run: FlowRunRecord, *, lock: bool = False) -> State | None:
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
    return State(type=row["state_type"], name=row["state_name"], message=row["state_message"],
                 timestamp=row["state_timestamp"] or now())


class AdoptFinalFromElsewhere(Rule):
    """A flow run that other processes can end takes the final state the database already
    has, such as a cancellation through the API while its last step ran, instead of writing
    its own over it."""

    def applies(self, t: Transition) -> bool:
        return isinstance(t.record, FlowRunRecord) and t.record.by_id

    def needs_db(self, t: Transition) -> bool:
        return True

    def decide(self, t: Transition) -> State | None:
        ended = _ended_elsewhere(t.record, lock=True)
        if ended is None:
            return None
        with t.record.lock:
            t.record.state = ended
            t.record.cancel_requested = ended.type is StateType.CANCELLED
        return t.record.state  # kept as it is: nothing is written


class StopCancelledFlowRun(Rule):
    """No task run of a cancelled flow run starts.

    A flow run that others can cancel (started by id, run by a worker) is looked up before each
    of its task runs starts, so that a cancel between two steps stops the second even before
    the heartbeat notices it.
    """

    def applies(self, t: Transition) -> bool:
        if not (t.is_task and t.entering_running):
            return False
        flow_run = t.record.flow_run
        if flow_run is None:
            return False
        if not flow_run.cancel_requested:
            ended = _ended_elsewhere(flow_run)
            if ended is not None and ended.type is StateType.CANCELLED:
                with flow_run.lock:
                    flow_run.cancel_requested = True
        return flow_run.cancel_requested

    def decide(self, t: Transition) -> State | None:
        return Cancelled("The flow run was cancelled before this task run started.")


class CacheKeyLength(Rule):
    """A cache key over RUNS_TASK_CACHE_KEY_MAX_LENGTH ends the run before it starts."""

    def applies(self, t: Transition) -> bool:
        return t.is_task and t.entering_running and t.record.cache_key is not None

    def decide(self, t: Transition) -> State | None:
        limit = conf.settings.RUNS_TASK_CACHE_KEY_MAX_LENGTH
        length = len(t.record.cache_key)
        if length <= limit:
            return None
        t.record.cache_key = None
        return Failed(
            f"The cache key is {length} characters long; the limit is {limit} "
            "(RUNS_TASK_CACHE_KEY_MAX_LENGTH). Return a shorter cache key from cache_key_fn, "
            "for example a hash of it."
        )


class RestoreCachedResult(Rule):
    """A COMPLETED state with the same unexpired cache key, whose result is still stored, answers the run."""

    def applies(self, t: Transition) -> bool:
        record = t.record
        return (t.is_task and t.entering_running and record.cache_key is not None
                and not record.refresh_cache)

    def needs_db(self, t: Transition) -> bool:
        return True

    def decide(self, t: Transition) -> State | None:
        from runs.results import result_exists

        for result_key, expiration, source in _cache_candidates(t.record.cache_key, t.record.id):
            if result_key and result_exists(result_key):
                return Cached(
                    f"Cached result of task run {source}.",
                    result_key=result_key, cache_key=t.record.cache_key,
                    cache_expiration=expiration,
                )
            from runs.logging import task_run_logger

            task_run_logger(t.record).warning(
                "Cache entry %r of task run %s has no stored result any more; running the task.",
                t.record.cache_key, source,
            )
        return None


def _cache_candidates(cache_key: str, task_run_id) -> list[tuple[str, object, object]]:
    """Newest unexpired COMPLETED states with this key: (result_key, expiration, task run id).

    Raw SQL on the (cache_key, -timestamp) index: this runs on every cached call and the ORM's
    query building would cost more than the query.
    """
    import datetime as dt

    from django.db import connection
    from django.utils.dateparse import parse_datetime

    from runs.models import State as StateRow

    ops = connection.ops
    table = ops.quote_name(StateRow._meta.db_table)
    task_run_field = StateRow._meta.get_field("task_run")
    sql = (
        f"SELECT result_key, cache_expiration, task_run_id FROM {table} "
        "WHERE cache_key = %s AND type = 'COMPLETED' "
        "AND (cache_expiration IS NULL OR cache_expiration > %s) "
        "AND (task_run_id IS NULL OR task_run_id <> %s) "
        "ORDER BY timestamp DESC LIMIT 5"
    )
    params = [cache_key, ops.adapt_datetimefield_value(now()),
              task_run_field.get_db_prep_value(task_run_id, connection)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for result_key, expiration, source in rows:
        if isinstance(expiration, str):
            expiration = parse_datetime(expiration)
        if expiration is not None and expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=dt.UTC)
        found.append((result_key, expiration, source))
    return found


class SecureConcurrencySlots(Rule):
    """A task run with limited tags enters RUNNING only with a slot of each (all or none).

    The slot is taken in a transaction of its own (``limits.slots.acquire``), so the run's
    state rows can still go through the write-behind buffer: the slot, not the run's state,
    is what other acquirers count.
    """

    def applies(self, t: Transition) -> bool:
        return (t.is_task and t.entering_running and bool(t.record.tags)
                and t.record.limited is not False)

    def decide(self, t: Transition) -> State | None:
        from limits import slots
        from runs.orchestration.writer import writer

        with writer.serialized():
            decision = slots.acquire(t.record.id, t.record.tags)
        if decision.status == "unlimited":
            t.record.limited = False
            return None
        t.record.limited = True
        if decision.status == "acquired":
            t.record.holds_slots = True
            return None
        if decision.status == "abort":
            return Aborted(decision.message)
        current = t.record.state
        if current is not None and current.name == "AwaitingConcurrencySlot":
            return current  # still waiting: no new row each time it looks again
        return AwaitingConcurrencySlot(decision.message)


class ReleaseConcurrencySlots(Rule):
    """Leaving RUNNING (finished, waiting to retry, crashed) frees the run's slots; ending while
    waiting for one leaves the queue."""

    def applies(self, t: Transition) -> bool:
        if not t.is_task or t.proposed.type is StateType.RUNNING:
            return False
        record = t.record
        waiting = record.state is not None and record.state.name == "AwaitingConcurrencySlot"
        return record.holds_slots or (waiting and t.proposed.is_final())

    def decide(self, t: Transition) -> State | None:
        from limits import slots
        from runs.orchestration.writer import writer

        # A final state may leave the freeing to the run's next slot statement (PostgreSQL, when
        # nobody waits); a run waiting to retry gives its slots back now.
        deferrable = t.record.tags if t.proposed.is_final() else None
        with writer.serialized():
            freed = slots.release(t.record.id, deferrable)
        t.record.holds_slots = False
        if freed:
            t.after_commit.append(lambda: slots.notify_released(freed))
        return None


TASK_RUN_POLICY: tuple[Rule, ...] = (
    RefuseAfterFinal(),
    StopCancelledFlowRun(),
    CacheKeyLength(),
    RestoreCachedResult(),
    SecureConcurrencySlots(),
    ReleaseConcurrencySlots(),
)

FLOW_RUN_POLICY: tuple[Rule, ...] = (RefuseAfterFinal(), AdoptFinalFromElsewhere())
