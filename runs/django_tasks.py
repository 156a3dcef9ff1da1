"""A backend for Django's Tasks framework: ``@task`` functions run as flow runs on runs' workers.

Configure it in the host's settings::

    TASKS = {
        "default": {
            "BACKEND": "runs.django_tasks.RunsBackend",
            "QUEUES": ["default", "emails"],  # work queues tasks may name; [] allows any
            "OPTIONS": {"retries": 2, "retry_delay_seconds": 10},
        }
    }

Each enqueued task is one flow run of the flow ``django-task:MODULE.FUNCTION`` (registered on
first use), with the parameters ``args`` and ``kwargs`` as the task was given them; its result
id is the flow run's id. ``queue_name`` is the work queue, ``run_after`` the run's scheduled
time, ``priority`` a tag ``priority:N`` (runs' queues are first come, first served: it does
not reorder). Workers run the task with the same TASKS setting.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.module_loading import import_string
from django_tasks import TaskContext, TaskResult, TaskResultStatus
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import DEFAULT_TASK_PRIORITY, Task, TaskError
from django_tasks.exceptions import (
    InvalidTaskBackendError,
    InvalidTaskError,
    TaskResultDoesNotExist,
)
from django_tasks.signals import task_enqueued, task_finished, task_started
from django_tasks.utils import get_exception_traceback, get_module_path, normalize_json

from runs.exceptions import ObjectNotFound
from runs.options import validate_options
from runs.registry import DJANGO_TASK_PREFIX, UnknownFlow, register_flow
from runs.selectors.logs import logs_for
from runs.selectors.runs import get_flow_run, state_history
from runs.services.flow_runs import start_flow_run
from runs.services.work_queues import WorkQueueError

__all__ = ["RunsBackend"]

#: A flow run's state type -> the Task's status.
STATUS_OF_STATE = {
    "SCHEDULED": TaskResultStatus.READY,
    "PENDING": TaskResultStatus.READY,
    "RUNNING": TaskResultStatus.RUNNING,
    "COMPLETED": TaskResultStatus.SUCCESSFUL,
    "FAILED": TaskResultStatus.FAILED,
    "CRASHED": TaskResultStatus.FAILED,
    "CANCELLED": TaskResultStatus.FAILED,
}
#: The flow run's exception class, for a run that ended without one raised by the task.
EXCEPTION_OF_STATE = {
    "CRASHED": "runs.exceptions.CrashedRun",
    "CANCELLED": "runs.exceptions.CancelledRun",
    "FAILED": "runs.exceptions.FailedRun",
}
#: The line the engine logs for each failed attempt of a flow run (runs.engine.outcomes).
_FAILED_LINE = "Flow run failed with "


class RunsBackend(BaseTaskBackend):
    """Django tasks as runs' flow runs: states, results, retries and logs in runs' dashboard."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    # Accepted and shown as a tag; runs' work queues start runs first come, first served.
    supports_priority = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        unknown = set(self.options) - {"retries", "retry_delay_seconds"}
        if unknown:
            raise InvalidTaskBackendError(
                f"TASKS[{alias!r}]['OPTIONS'] has unknown key(s) {', '.join(sorted(unknown))}; "
                "RunsBackend takes 'retries' and 'retry_delay_seconds'."
            )
        validate_options(dict(self.options))
        self._registered: set[str] = set()

    # ---- enqueue --------------------------------------------------------------------------------
    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Start a flow run of the task in the work queue ``task.queue_name``: SCHEDULED until
        ``task.run_after`` (if any) and until the queue has room, then run on a worker.

        Raises InvalidTaskError for a task this backend cannot run, or a queue that is allowed
        by QUEUES but is not a work queue yet (create it with ``runs work-queue create``)."""
        self.validate_task(task)
        parameters = {"args": normalize_json(list(args)), "kwargs": normalize_json(dict(kwargs))}
        try:
            run = self._start(task, parameters)
        except WorkQueueError as exc:
            raise InvalidTaskError(
                f"Task queue {task.queue_name!r} is not a runs work queue: {exc}"
            ) from None
        result = self._result(task, run)
        task_enqueued.send(type(self), task_result=result)
        return result

    def _start(self, task: Task, parameters: dict) -> Any:
        flow_name = self._register(task)
        options = dict(
            flow_name=flow_name,
            parameters=parameters,
            work_queue=task.queue_name,
            scheduled_time=task.run_after,
        )
        if task.priority != DEFAULT_TASK_PRIORITY:
            options["tags"] = [priority_tag(task.priority)]
        try:
            return start_flow_run(**options)
        except UnknownFlow:  # its row was deleted since this process registered it
            self._registered.discard(flow_name)
            self._register(task)
            return start_flow_run(**options)

    def _register(self, task: Task) -> str:
        flow_name = f"{DJANGO_TASK_PREFIX}{task.module_path}"
        if flow_name not in self._registered:
            register_flow(flow_name)
            self._registered.add(flow_name)
        return flow_name

    # ---- results -------------------------------------------------------------------------------
    def get_result(self, result_id: str) -> TaskResult:
        """The task's result from its flow run (``result_id`` is the flow run's id);
        TaskResultDoesNotExist when there is no such run of a Django task."""
        try:
            run = get_flow_run(result_id)
        except ObjectNotFound:
            raise TaskResultDoesNotExist(result_id) from None
        if not run.flow.entrypoint.startswith(DJANGO_TASK_PREFIX):
            raise TaskResultDoesNotExist(result_id)
        try:
            task = import_string(run.flow.entrypoint.removeprefix(DJANGO_TASK_PREFIX))
        except ImportError:
            raise TaskResultDoesNotExist(result_id) from None
        return self._result(_as_enqueued(task, run), run)

    def _result(self, task: Task, run: Any) -> TaskResult:
        status = STATUS_OF_STATE.get(run.state_type, TaskResultStatus.RUNNING)
        result = TaskResult(
            task=task,
            id=str(run.id),
            status=status,
            enqueued_at=run.created,
            started_at=run.start_time,
            finished_at=run.end_time if run.is_final else None,
            last_attempted_at=_last_attempt(run),
            args=run.parameters.get("args", []),
            kwargs=run.parameters.get("kwargs", {}),
            backend=self.alias,
            errors=_errors(run) if run.state_type in ("FAILED", "CRASHED", "CANCELLED") else [],
            worker_ids=[run.owner or "runs"] * run.run_count,
        )
        if status == TaskResultStatus.SUCCESSFUL and run.result_key:
            from runs.results import load_result

            object.__setattr__(result, "_return_value", load_result(run.result_key))
        return result

    # ---- on the worker -------------------------------------------------------------------------
    def run_task(self, task: Task, args: list, kwargs: dict) -> Any:
        """Call ``task`` in the flow run that stands for it (the flow ``django-task:...`` calls
        this on a worker); its return value, normalized to JSON, is the run's result. Sends
        task_started, then task_finished, for every attempt."""
        from runs.runtime import flow_run

        result = TaskResult(
            task=task,
            id=str(flow_run.id),
            status=TaskResultStatus.RUNNING,
            enqueued_at=None,
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=["runs"] * max(flow_run.run_count, 1),
        )
        task_started.send(type(self), task_result=result)
        try:
            if task.takes_context:
                value = task.call(TaskContext(task_result=result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
            value = normalize_json(value)
        except Exception as exc:
            result.errors.append(
                TaskError(
                    exception_class_path=get_module_path(type(exc)),
                    traceback=get_exception_traceback(exc),
                )
            )
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
            task_finished.send(type(self), task_result=result)
            raise
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", value)
        task_finished.send(type(self), task_result=result)
        return value


def priority_tag(priority: int) -> str:
    """The tag a task's priority is recorded as."""
    return f"priority:{priority}"


def _as_enqueued(task: Task, run: Any) -> Task:
    """``task`` with the queue, start time and priority its run was enqueued with."""
    changes: dict[str, Any] = {}
    if run.work_queue_id is not None:
        changes["queue_name"] = run.work_queue.name
    if run.expected_start_time and run.expected_start_time > run.created:
        changes["run_after"] = run.expected_start_time
    for tag in run.tags:
        if tag.startswith("priority:") and tag[9:].lstrip("-").isdigit():
            changes["priority"] = int(tag[9:])
    try:
        return task.using(**changes)
    except InvalidTaskError:  # the settings changed since: the task as it is defined now
        return task


def _last_attempt(run: Any) -> Any:
    if run.run_count <= 1:
        return run.start_time
    running = state_history(run).filter(type="RUNNING").last()
    return running.timestamp if running else run.start_time


def _errors(run: Any) -> list[TaskError]:
    """One error per failed attempt, from the traceback the engine logged for it; else one
    from the state's message (a run cancelled, crashed, or failed before the task ran)."""
    errors = []
    lines = logs_for(run, level="ERROR", search=_FAILED_LINE)
    for line in lines:
        head, _, traceback = line.message.partition("\n")
        qualname = head.removeprefix(_FAILED_LINE).partition(":")[0].strip()
        errors.append(
            TaskError(
                exception_class_path=_class_path(qualname, traceback),
                traceback=traceback or head,
            )
        )
    if not errors:
        errors.append(
            TaskError(
                exception_class_path=EXCEPTION_OF_STATE.get(
                    run.state_type, EXCEPTION_OF_STATE["FAILED"]
                ),
                traceback=run.state_message,
            )
        )
    return errors


def _class_path(qualname: str, traceback: str) -> str:
    """The dotted path of the exception class ``qualname`` from its traceback's last line
    (Python writes ``module.Class: message``, or ``Class: message`` for builtins)."""
    pattern = re.compile(rf"^((?:[\w.]+\.)?{re.escape(qualname)})(?::|$)")
    for line in reversed(traceback.splitlines()):
        found = pattern.match(line)
        if found:
            path = found.group(1)
            return path if "." in path.removesuffix(qualname) else f"builtins.{qualname}"
    return f"builtins.{qualname}"
