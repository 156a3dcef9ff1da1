"""The words of the final states the engine proposes."""

from __future__ import annotations

from runs.engine.outcomes import timed_out_state


def test_a_timeout_of_one_second_is_singular_and_others_plural():
    one = timed_out_state("Task", "slow-0", 1)
    half = timed_out_state("Task", "slow-0", 0.5)

    assert one.message == "Task run exceeded its timeout of 1 second; it was stopped."
    assert half.message == "Task run exceeded its timeout of 0.5 seconds; it was stopped."
    assert str(one.data) == "Task run 'slow-0' timed out after 1 second"
