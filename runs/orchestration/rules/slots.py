"""Rules about concurrency slots: take them to run, give them back on leaving RUNNING."""

from __future__ import annotations

from dataclasses import replace

from runs.orchestration.decisions import Decision
from runs.orchestration.policy import RUNNING, Rule, Transition
from runs.states import Aborted, AwaitingConcurrencySlot, StateType, now

_NOT_RUNNING = frozenset(StateType) - RUNNING


class SecureConcurrencySlots(Rule):
    """A task run with limited tags enters RUNNING only with a slot of each (all or none).

    The slot is taken in a transaction of its own (``runs_limits.slots.acquire``), so the run's
    state rows can still go through the write-behind buffer: the slot, not the run's state,
    is what other acquirers count.
    """

    to_types = RUNNING

    def applies(self, t: Transition) -> bool:
        return t.is_task and bool(t.record.tags) and t.record.limited is not False

    def decide(self, t: Transition) -> Decision:
        from runs.orchestration.writer import writer
        from runs_limits import slots

        record = t.record
        current = record.state
        waited = current is not None and current.name == "AwaitingConcurrencySlot"
        with writer.serialized():
            decision = slots.acquire(record.id, record.tags, queued=waited)
        if decision.status == "unlimited":
            return Decision.accept(updates=((record, "limited", False),))
        if decision.status == "acquired":
            # Stamped now, after the slot is taken: the proposal may have been made before the
            # slot's last holder ended, and the history must never show them running together.
            return Decision.accept(
                replace(t.proposed, timestamp=now()),
                updates=((record, "limited", True), (record, "holds_slots", True)),
            )
        limited = ((record, "limited", True),)
        if decision.status == "abort":
            return Decision.abort(Aborted(decision.message), updates=limited)
        if waited:
            # Still waiting: no new row each time it looks again.
            return Decision.reject(updates=limited)
        return Decision.wait(AwaitingConcurrencySlot(decision.message), updates=limited)


class ReleaseConcurrencySlots(Rule):
    """Leaving RUNNING (finished, waiting to retry, crashed) frees the run's slots; ending while
    waiting for one leaves the queue."""

    to_types = _NOT_RUNNING

    def needs_db(self, t: Transition) -> bool:
        # The run's leaving RUNNING is written in the transaction that frees its slots (a run
        # written behind too), so the history never shows more runs RUNNING than the limit.
        return True

    def applies(self, t: Transition) -> bool:
        if not t.is_task:
            return False
        record = t.record
        waiting = record.state is not None and record.state.name == "AwaitingConcurrencySlot"
        return record.holds_slots or (waiting and t.proposed.is_final())

    def decide(self, t: Transition) -> Decision:
        from runs.orchestration.writer import writer
        from runs_limits import slots

        # A final state may leave the freeing to the run's next slot statement (PostgreSQL, when
        # nobody waits); a run waiting to retry gives its slots back now.
        deferrable = t.record.tags if t.proposed.is_final() else None
        with writer.serialized():
            freed = slots.release(t.record.id, deferrable)
        after = (lambda: slots.notify_released(freed)) if freed else None
        return Decision.accept(updates=((t.record, "holds_slots", False),), after_commit=after)
