"""The retry rule: a failed RUNNING run with retries left is answered AwaitingRetry."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from runs import conf
from runs.orchestration.decisions import ACCEPT, Verdict
from runs.orchestration.policy import Transition
from runs.orchestration.records import FlowRunRecord, TaskRunRecord
from runs.orchestration.rules import FLOW_RUN_POLICY, TASK_RUN_POLICY
from runs.orchestration.rules.retries import RetryFailedRuns
from runs.retries import RetryOptions
from runs.states import Aborted, Completed, Failed, Pending, Running, TimedOut, UpstreamFailed, now

rule = RetryFailedRuns()


def running_task(run_count: int = 1, **options) -> TaskRunRecord:
    return TaskRunRecord(
        name="t-0", state=Running(), run_count=run_count, retry_options=RetryOptions(**options)
    )


def asked(record, proposed) -> tuple[Transition, bool]:
    t = Transition(record, proposed)
    return t, rule.covers(t) and rule.applies(t)


def test_failed_task_run_with_retries_left_waits_for_its_retry():
    record = running_task(retries=2, delay_seconds=0.5)
    t, applies = asked(record, Failed("boom"))
    assert applies
    decision = rule.decide(t)
    assert decision.verdict is Verdict.WAIT
    state = decision.state
    assert (state.name, state.message) == ("AwaitingRetry", "Retry 1 of 2 in 0.5 seconds")
    assert state.is_scheduled()
    assert dt.timedelta(seconds=0.4) < state.scheduled_time - now() <= dt.timedelta(seconds=0.5)


def test_timed_out_run_is_retried_like_any_failure():
    t, applies = asked(running_task(retries=1, delay_seconds=0), TimedOut("too slow"))
    assert applies and rule.decide(t).state.message == "Retry 1 of 1 in 0 seconds"


def test_no_retry_once_the_retries_are_used_up():
    t, applies = asked(running_task(run_count=3, retries=2, delay_seconds=0), Failed("boom"))
    assert applies and rule.decide(t) is ACCEPT


def test_the_delay_follows_the_attempt_and_jitter_keeps_under_its_bound():
    t, _ = asked(running_task(run_count=2, retries=3, delay_seconds=[1, 10]), Failed())
    assert rule.decide(t).state.message == "Retry 2 of 3 in 10 seconds"
    t, _ = asked(running_task(retries=1, delay_seconds=10, jitter_factor=0.5), Failed())
    seconds = float(rule.decide(t).state.message.split(" in ")[1].split()[0])
    assert 5 <= seconds <= 15


@pytest.mark.parametrize(
    "record, proposed",
    [
        (running_task(retries=1), Completed()),
        (running_task(retries=1), Aborted("no slot")),
        (running_task(retries=1), UpstreamFailed("upstream")),
        (
            TaskRunRecord(name="t-0", state=Pending(), retry_options=RetryOptions(retries=1)),
            Failed("cache_key_fn raised"),
        ),
        (TaskRunRecord(name="t-0", state=Running(), run_count=1), Failed("no options: no engine")),
    ],
)
def test_the_rule_leaves_other_transitions_alone(record, proposed):
    assert asked(record, proposed)[1] is False


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_retry_condition_decides_and_an_error_in_it_means_no_retry():
    seen = []

    def only_value_errors(record, state):
        seen.append((record.name, state.message))
        return state.message.startswith("ValueError")

    t, _ = asked(running_task(retries=1, condition=only_value_errors), Failed("KeyError: x"))
    assert rule.decide(t) is ACCEPT and seen == [("t-0", "KeyError: x")]
    t, _ = asked(running_task(retries=1, condition=only_value_errors), Failed("ValueError: x"))
    assert rule.decide(t).verdict is Verdict.WAIT

    def broken(record, state):
        raise RuntimeError("bad condition")

    t, _ = asked(running_task(retries=1, condition=broken), Failed())
    collected = _Collect()
    logger = logging.getLogger("runs.orchestration")
    logger.addHandler(collected)
    try:
        assert rule.decide(t) is ACCEPT
    finally:
        logger.removeHandler(collected)
    assert collected.messages == [
        "retry_condition_fn raised RuntimeError('bad condition'); not retrying"
    ]


def test_unset_options_take_the_settings_defaults_for_tasks_and_flows():
    with conf.override(
        RUNS_TASK_DEFAULT_RETRIES=1,
        RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS=2,
        RUNS_FLOW_DEFAULT_RETRIES=0,
        RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS=3,
    ):
        t, _ = asked(running_task(), Failed())
        assert rule.decide(t).state.message == "Retry 1 of 1 in 2 seconds"
        flow_run = FlowRunRecord(
            name="f", state=Running(), run_count=1, retry_options=RetryOptions()
        )
        t, _ = asked(flow_run, Failed())
        assert rule.decide(t) is ACCEPT


def test_flow_run_message_leaves_out_the_number_of_retries():
    flow_run = FlowRunRecord(
        name="f",
        state=Running(),
        run_count=1,
        retry_options=RetryOptions(retries=2, delay_seconds=0.1),
    )
    t, _ = asked(flow_run, Failed())
    assert rule.decide(t).state.message == "Retry 1 in 0.1 seconds"


def test_both_policies_ask_the_rule():
    for policy, record in (
        (TASK_RUN_POLICY, running_task(retries=1)),
        (
            FLOW_RUN_POLICY,
            FlowRunRecord(
                name="f", state=Running(), run_count=1, retry_options=RetryOptions(retries=1)
            ),
        ),
    ):
        decision = policy.decide(Transition(record, Failed()))
        assert (decision.verdict, decision.state.name) == (Verdict.WAIT, "AwaitingRetry")
