"""Tasks that hand the run history values a database cannot hold as they are (importable by
``runs worker`` processes)."""

from __future__ import annotations

from runs import flow, get_run_logger, task


@task
def echo(value):
    return repr(value)


@task
def log_with_nul(text: str) -> int:
    get_run_logger().info("before\x00after %s", text)
    return len(text)


@task
def raise_with_nul() -> None:
    raise ValueError("bad\x00value")


@task(task_run_name="{label}")
def named(label: str) -> int:
    return len(label)


@flow(name="bad-values-scaled")
def scaled(factor: float, label: str = "") -> float:
    return factor * 2
