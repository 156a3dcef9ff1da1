"""Django tasks (``@task`` of django_tasks) that the RunsBackend tests enqueue onto real workers."""

from __future__ import annotations

from django_tasks import task

from runs import get_run_logger


class ParcelLost(Exception):
    """An error of this module, so its dotted path is not a builtin's."""


@task
def add(a: int, b: int) -> int:
    """Adds two numbers and logs the sum."""
    get_run_logger().info("adding %s and %s", a, b)
    return a + b


@task
def echo(*args, **kwargs) -> dict:
    """Returns what it was given, as JSON."""
    return {"args": list(args), "kwargs": kwargs}


@task
def lose_parcel(parcel: str) -> None:
    raise ParcelLost(f"parcel {parcel} is lost")


@task
def divide(a: int, b: int) -> float:
    return a / b


@task(takes_context=True)
def attempt_info(context, fail_first: bool = False) -> dict:
    """Fails its first attempt when asked; returns its attempt number and result id."""
    if fail_first and context.attempt < 2:
        raise RuntimeError(f"attempt {context.attempt} fails")
    return {"attempt": context.attempt, "id": context.task_result.id}


@task
async def async_double(x: int) -> int:
    return 2 * x
