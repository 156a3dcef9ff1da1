"""The attempt loop, step by step, without a database: the same steps for every run."""

from __future__ import annotations

import datetime as dt

from runs.engine.attempts import AlreadyDecided, Step, attempt_steps, stuck_reporter
from runs.orchestration.records import TaskRunRecord
from runs.states import (
    AwaitingConcurrencySlot,
    AwaitingRetry,
    Cached,
    Completed,
    Failed,
    Running,
    TimedOut,
    now,
)


def walk(record: TaskRunRecord, answers: list) -> tuple[list, object]:
    """Drive the steps with ``answers`` (one per step); returns the steps and the final state.
    A PROPOSE answered with a running state counts an attempt, as orchestration would."""
    steps = attempt_steps(record)
    seen, answer = [], None
    for next_answer in [*answers, None]:
        try:
            step, argument = steps.send(answer)
        except StopIteration as stop:
            return seen, stop.value
        seen.append((step, getattr(argument, "name", argument)))
        if step is Step.PROPOSE and next_answer.is_running():
            record.run_count += 1
        answer = next_answer
    raise AssertionError(f"the loop did not end after {seen}")


def test_a_run_that_completes_proposes_running_executes_and_concludes():
    done = Completed()
    seen, final = walk(TaskRunRecord(name="t"), [None, Running(), done, done, done])
    assert [s for s, _ in seen] == [
        Step.PREPARE,
        Step.PROPOSE,
        Step.EXECUTE,
        Step.CONCLUDE,
        Step.FINISH,
    ]
    assert seen[1] == (Step.PROPOSE, "Running") and final is done


def test_an_answer_of_awaiting_retry_sleeps_until_it_is_due_then_retries():
    retry = AwaitingRetry(scheduled_time=now() + dt.timedelta(seconds=5))
    done = Completed()
    seen, final = walk(
        TaskRunRecord(name="t"),
        [None, Running(), Failed(), retry, None, Running(), done, done, done],
    )
    names = [(s.value, a) for s, a in seen]
    assert names[3:7] == [
        ("conclude", "Failed"),
        ("sleep", names[4][1]),
        ("propose", "Retrying"),
        ("execute", None),
    ]
    assert 4 < names[4][1] <= 5 and final is done


def test_a_run_told_to_wait_for_a_slot_waits_then_proposes_again():
    seen, _ = walk(
        TaskRunRecord(name="t"),
        [None, AwaitingConcurrencySlot(), None, Running(), Completed(), Completed(), Completed()],
    )
    assert [s for s, _ in seen][:5] == [
        Step.PREPARE,
        Step.PROPOSE,
        Step.WAIT_FOR_SLOT,
        Step.PROPOSE,
        Step.EXECUTE,
    ]


def test_a_run_answered_without_running_finishes_with_that_answer():
    cached = Cached()
    seen, final = walk(TaskRunRecord(name="t"), [None, cached, cached])
    assert [s for s, _ in seen] == [Step.PREPARE, Step.PROPOSE, Step.FINISH] and final is cached


def test_an_outcome_decided_by_a_watchdog_is_not_proposed_again():
    timed_out = TimedOut()
    seen, final = walk(
        TaskRunRecord(name="t"), [None, Running(), AlreadyDecided(timed_out), timed_out]
    )
    assert Step.CONCLUDE not in [s for s, _ in seen] and final is timed_out


def test_a_watchdog_proposes_nothing_once_the_run_has_moved_on():
    proposed = []
    record = TaskRunRecord(name="t", state=Running(), run_count=1)
    report = stuck_reporter(record, lambda state: proposed.append(state) or state, TimedOut)
    record.state = AwaitingRetry()  # the run's own thread proposed first
    assert report() is None
    record.state, record.run_count = Running(), 2  # and is on its next attempt
    assert report() is None and proposed == []
    fresh = stuck_reporter(record, lambda state: proposed.append(state) or state, TimedOut)
    assert fresh().name == "TimedOut" and len(proposed) == 1
