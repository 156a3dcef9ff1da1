"""Options of ``@task``/``@flow`` refused at decoration with Prefect 2.20's error types
(``Task.__init__``): a value of the wrong type is a TypeError, a value that cannot work a
ValueError."""

from __future__ import annotations

import pytest

from runs import flow, task
from runs.retries import exponential_backoff


def plain() -> int:
    return 1


@pytest.mark.parametrize("delay", ["10", {"seconds": 1}, {1, 2}, object(), b"1"])
def test_retry_delay_seconds_of_a_wrong_type_is_a_type_error(delay):
    """Prefect 2.20: "Invalid `retry_delay_seconds` provided; must be an int, float, list or
    callable" is a TypeError."""
    with pytest.raises(TypeError, match="retry_delay_seconds"):
        task(retries=1, retry_delay_seconds=delay)(plain)
    with pytest.raises(TypeError, match="retry_delay_seconds"):
        task(plain).with_options(retries=1, retry_delay_seconds=delay)
    with pytest.raises(TypeError, match="retry_delay_seconds"):
        flow(retries=1, retry_delay_seconds=delay)(plain)


def test_a_listed_delay_that_is_not_a_number_is_a_type_error():
    with pytest.raises(TypeError, match="numbers of seconds; got str '5'"):
        task(retries=2, retry_delay_seconds=[1, "5"])(plain)


@pytest.mark.parametrize("delay", [-1, -0.5, [1, -2], float("nan"), [float("inf")]])
def test_a_negative_or_non_finite_delay_is_a_value_error(delay):
    with pytest.raises(ValueError, match="retry_delay_seconds"):
        task(retries=1, retry_delay_seconds=delay)(plain)
    with pytest.raises(ValueError, match="retry_delay_seconds"):
        task(plain).with_options(retries=1, retry_delay_seconds=delay)


def test_more_than_50_custom_delays_are_refused():
    """Prefect 2.20: "Can not configure more than 50 retry delays per task." (ValueError)."""
    fifty = [0.5] * 50
    assert task(retries=50, retry_delay_seconds=fifty)(plain).retry_delay_seconds == fifty
    with pytest.raises(ValueError, match="more than 50 retry delays per task; .* lists 51"):
        task(retries=51, retry_delay_seconds=[0.5] * 51)(plain)
    with pytest.raises(ValueError, match="more than 50 retry delays"):
        task(plain).with_options(retries=60, retry_delay_seconds=[1] * 60)
    with pytest.raises(ValueError, match="more than 50 retry delays"):
        flow(retries=60, retry_delay_seconds=[1] * 60)(plain)


def test_what_prefect_accepts_is_accepted():
    """A number, a list (tuples too), a callable; 0 and fractions included."""
    backoff = exponential_backoff(backoff_factor=10)
    for delay in (0, 2, 0.25, [], [1, 2.5], (1, 2), backoff, None):
        assert task(retries=3, retry_delay_seconds=delay)(plain).retry_delay_seconds == delay
        assert task(plain).with_options(retry_delay_seconds=delay).retry_delay_seconds == delay
    assert flow(retries=2, retry_delay_seconds=1.5)(plain).retry_delay_seconds == 1.5


def test_retries_jitter_and_timeout_wrong_types_and_values():
    """Wrong types are TypeErrors, out-of-range values ValueErrors (as Prefect 2's comparisons
    and ``float()`` raise them)."""
    with pytest.raises(TypeError, match="retries"):
        task(retries="3")(plain)
    with pytest.raises(ValueError, match="retries"):
        task(retries=-1)(plain)
    with pytest.raises(ValueError, match="retries"):
        flow(retries=-1)(plain)
    with pytest.raises(TypeError, match="retry_jitter_factor"):
        task(retry_jitter_factor="0.5")(plain)
    with pytest.raises(ValueError, match="retry_jitter_factor"):
        task(plain).with_options(retry_jitter_factor=-0.1)
    with pytest.raises(TypeError, match="timeout_seconds"):
        task(timeout_seconds="10")(plain)
    with pytest.raises(ValueError, match="timeout_seconds"):
        flow(timeout_seconds=-1)(plain)


def test_task_run_name_must_be_a_string_or_callable():
    """Prefect 2.20: a task_run_name that is neither is a TypeError at decoration."""
    with pytest.raises(TypeError, match="task_run_name"):
        task(task_run_name=42)(plain)
    with pytest.raises(TypeError, match="task_run_name"):
        task(plain).with_options(task_run_name=["name"])
    assert task(task_run_name="run-{x}")(plain).task_run_name == "run-{x}"
