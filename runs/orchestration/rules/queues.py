"""Rules about work queues: a flow run made in a queue with room takes its place at once."""

from __future__ import annotations

from runs.orchestration.decisions import ACCEPT, Decision
from runs.orchestration.policy import Rule, Transition
from runs.orchestration.records import FlowRunRecord
from runs.states import StateType


class TakeQueuePlaceAtOnce(Rule):
    """A new queued flow run that is due takes a place in the same transaction that makes it
    when its queue has room and nobody waits ahead (one transaction instead of two); otherwise
    it waits in line and the queue's dispatch gives it a place later (runs.orchestration.queues).
    """

    from_types = frozenset({None})
    to_types = frozenset({StateType.SCHEDULED})

    def applies(self, t: Transition) -> bool:
        record = t.record
        return (
            isinstance(record, FlowRunRecord)
            and record.work_queue_id is not None
            and record.expected_start_time is not None
            and record.expected_start_time <= t.proposed.timestamp
        )

    def needs_db(self, t: Transition) -> bool:
        return True

    def decide(self, t: Transition) -> Decision:
        from runs.orchestration.queues import place_at_once

        record = t.record
        if place_at_once(record.work_queue_id, t.proposed.timestamp):
            return Decision.accept(updates=((record, "dispatched_at", t.proposed.timestamp),))
        return ACCEPT
