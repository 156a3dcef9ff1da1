"""A flow whose lines come from the flow, from a task's run logger and from a task's prints."""

from __future__ import annotations

from runs import flow, get_run_logger, task


@task
def warns(x: int) -> int:
    get_run_logger().warning("task warns about %s", x)
    return x


@task(log_prints=True)
def prints(x: int) -> int:
    print(f"task prints {x}")
    return x


@flow(name="selectors-logged")
def logged(x: int = 1) -> int:
    """Logs from the flow, from a task's logger and from a task's print."""
    get_run_logger().info("flow starts")
    total = warns(x) + prints(x)
    get_run_logger().error("flow ends badly")
    return total


def run_logged_flow(x: int = 1):
    """Run :func:`logged` to the end and write its rows; the FlowRun and its two TaskRuns."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer

    state = logged(x, return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    warned = run.task_runs.get(task_name="warns")
    printed = run.task_runs.get(task_name="prints")
    return run, warned, printed
