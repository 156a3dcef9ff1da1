"""The retry rule: a run that fails with retries left waits to run again (AwaitingRetry)."""

from __future__ import annotations

import datetime as dt
import logging

from runs.orchestration.decisions import ACCEPT, Decision
from runs.orchestration.policy import RUNNING, Rule, Transition
from runs.orchestration.records import TaskRunRecord
from runs.retries import delay_for_attempt, delays_of, jittered, retries_of
from runs.states import AwaitingRetry, StateType, now

logger = logging.getLogger("runs.orchestration")

#: Failures that another attempt cannot change.
_NOT_RETRIED = frozenset({"Aborted", "UpstreamFailed"})


class RetryFailedRuns(Rule):
    """A RUNNING task run or flow run that fails (TimedOut included) and has retries left, by
    its ``retry_options`` and its ``retry_condition_fn``, becomes AwaitingRetry, scheduled after
    its retry delay: ``Retry 1 of 2 in 0.1 seconds`` (a flow run's message leaves out the "of").

    It answers the same whoever proposes the failure: the engine in the run's thread, or a
    watchdog for a thread stuck past its timeout. Runs without retry options (driven by no
    engine of this process) are never retried.
    """

    from_types = RUNNING
    to_types = frozenset({StateType.FAILED})

    def applies(self, t: Transition) -> bool:
        return t.record.retry_options is not None and t.proposed.name not in _NOT_RETRIED

    def decide(self, t: Transition) -> Decision:
        record = t.record
        options = record.retry_options
        is_task = isinstance(record, TaskRunRecord)
        retries = retries_of(options, is_task)
        attempt = record.run_count
        if attempt > retries:
            return ACCEPT
        if options.condition is not None:
            try:
                if not options.condition(record, t.proposed):
                    return ACCEPT
            except Exception as exc:
                logger.warning("retry_condition_fn raised %r; not retrying", exc)
                return ACCEPT
        delays = delays_of(options, is_task)
        delay = jittered(delay_for_attempt(delays, retries, attempt), options.jitter_factor)
        of_retries = f" of {retries}" if is_task else ""
        return Decision.wait(
            AwaitingRetry(
                f"Retry {attempt}{of_retries} in {delay:g} seconds",
                scheduled_time=now() + dt.timedelta(seconds=delay),
            )
        )
