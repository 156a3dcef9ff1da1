"""runs as a backend for Django's Tasks framework (django_tasks): an enqueued ``@task`` is a
flow run that a real worker runs; its result, errors, retries, queue, start time and logs read
back through ``get_result`` and through runs' own selectors.

The package ships no tests of its own; the framework checks ported here from its DummyBackend and
database backend tests are marked "(framework)"."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend, task_backends
from django_tasks.exceptions import InvalidTaskError, TaskResultDoesNotExist
from django_tasks.signals import task_enqueued

from runs.django_tasks import RunsBackend
from tests.runs import django_task_fns as fns
from tests.workers import start_worker

BACKEND = "runs.django_tasks.RunsBackend"
WORKER_SETTINGS = "tests.runs.django_task_settings"


def tasks_setting(queues=(), **options) -> dict:
    return {
        "default": {
            "BACKEND": BACKEND,
            "QUEUES": list(queues),
            "OPTIONS": {"retries": 1, "retry_delay_seconds": 0, **options},
        }
    }


@pytest.fixture(scope="module")
def queue() -> str:
    """A work queue of this module's own, served by its worker only."""
    from runs.services.work_queues import create_work_queue

    return create_work_queue(name=f"dt-{uuid.uuid4().hex[:8]}").name


@pytest.fixture(scope="module")
def worker(tmp_path_factory, queue):
    process = start_worker(
        tmp_path_factory.mktemp("django-tasks"),
        queue=queue,
        env={"DJANGO_SETTINGS_MODULE": WORKER_SETTINGS},
    )
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def runs_backend():
    with override_settings(TASKS=tasks_setting()):
        yield default_task_backend


def finished(result, timeout: float = 30.0):
    """``result`` refreshed until its task has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result.refresh()
        if result.is_finished:
            return result
        time.sleep(0.05)
    raise AssertionError(f"task {result.id} is still {result.status} after {timeout} s")


# ---- the backend as the framework sees it ---------------------------------------------------------
def test_settings_make_runs_the_backend_with_its_features(runs_backend):
    """(framework) The backend is built from TASKS and says what it supports."""
    assert isinstance(task_backends["default"], RunsBackend)
    assert runs_backend.supports_defer and runs_backend.supports_get_result
    assert runs_backend.supports_async_task and runs_backend.supports_priority


def test_enqueue_returns_a_ready_result_and_sends_task_enqueued(queue):
    """(framework) enqueue: a READY result with an id, the arguments as JSON, not finished."""
    seen = []

    def receiver(sender, task_result, **kwargs):
        seen.append(task_result)

    task_enqueued.connect(receiver)
    try:
        result = fns.add.using(queue_name=queue).enqueue(2, b=3)
    finally:
        task_enqueued.disconnect(receiver)

    assert result.status == TaskResultStatus.READY
    assert (result.args, result.kwargs) == ([2], {"b": 3})
    assert not result.is_finished and result.attempts == 0
    assert result.enqueued_at is not None and result.started_at is None
    assert result.task.func is fns.add.func and result.backend == "default"
    assert [r.id for r in seen] == [result.id]
    with pytest.raises(ValueError, match="not finished"):
        result.return_value  # noqa: B018


def test_get_result_of_a_waiting_task_equals_what_enqueue_returned(caplog):
    """(framework) get_result, sync and async, of a task no worker has taken yet; enqueue logs
    the result's id on the "django_tasks" logger."""
    from runs.services.work_queues import create_work_queue

    idle = create_work_queue(name=f"dt-idle-{uuid.uuid4().hex[:6]}").name  # no worker serves it
    with caplog.at_level("DEBUG", logger="django_tasks"):
        result = fns.add.using(queue_name=idle).enqueue(1, 2)
    again = default_task_backend.get_result(result.id)
    async_again = asyncio.run(default_task_backend.aget_result(result.id))

    assert again == result == async_again
    assert any("enqueued" in m and result.id in m for m in caplog.messages)


def test_an_enqueued_task_completes_on_a_worker_with_its_return_value(worker, queue):
    result = finished(fns.add.using(queue_name=queue).enqueue(2, 3))

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.errors == [] and result.attempts == 1
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert fns.add.get_result(result.id).return_value == 5


def test_the_run_is_in_runs_flow_run_list_with_its_state_parameters_and_logs(worker, queue):
    from runs.selectors.logs import logs_for
    from runs.selectors.runs import flow_runs

    result = finished(fns.add.using(queue_name=queue).enqueue(20, 22))
    run = flow_runs(flow="django-task:tests.runs.django_task_fns.add").get(id=result.id)

    assert (run.state_type, run.state_name) == ("COMPLETED", "Completed")
    assert run.parameters == {"args": [20, 22], "kwargs": {}}
    assert run.work_queue.name == queue
    assert run.flow.description == "Adds two numbers and logs the sum."
    assert "adding 20 and 22" in [line.message for line in logs_for(run)]


def test_any_arguments_round_trip_as_args_and_kwargs(worker, queue):
    result = finished(fns.echo.using(queue_name=queue).enqueue(1, "two", [3], four={"f": 4}))

    assert (result.args, result.kwargs) == ([1, "two", [3]], {"four": {"f": 4}})
    assert result.return_value == {"args": [1, "two", [3]], "kwargs": {"four": {"f": 4}}}


def test_an_async_task_runs(worker, queue):
    assert finished(fns.async_double.using(queue_name=queue).enqueue(21)).return_value == 42


def test_a_failing_task_is_failed_with_its_exception_class_and_traceback(worker, queue):
    result = finished(fns.lose_parcel.using(queue_name=queue).enqueue("p-1"))

    assert result.status == TaskResultStatus.FAILED
    # OPTIONS retries=1: two attempts, an error for each
    assert result.attempts == 2 and len(result.errors) == 2
    error = result.errors[-1]
    assert error.exception_class_path == "tests.runs.django_task_fns.ParcelLost"
    assert error.exception_class is fns.ParcelLost
    assert error.traceback.startswith("Traceback (most recent call last)")
    assert "parcel p-1 is lost" in error.traceback
    assert result.finished_at is not None
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018


def test_a_builtin_exception_has_its_builtins_path(worker, queue):
    result = finished(fns.divide.using(queue_name=queue).enqueue(1, 0))

    assert result.errors[0].exception_class_path == "builtins.ZeroDivisionError"
    assert result.errors[0].exception_class is ZeroDivisionError


def test_retries_from_options_and_the_context_attempt_number(worker, queue):
    result = finished(fns.attempt_info.using(queue_name=queue).enqueue(fail_first=True))

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"attempt": 2, "id": result.id}
    assert result.attempts == 2 and result.errors == []


def test_run_after_waits_scheduled_until_its_time(worker, queue):
    """The run waits SCHEDULED; once its time has come, the scheduler's pass (``runs up`` or
    ``runs scheduler``; its dispatch step here) sends it."""
    from runs.selectors.runs import get_flow_run
    from runs.services.dispatch import dispatch
    from runs.services.work_queues import get_work_queue

    run_after = timezone.now() + dt.timedelta(seconds=1)
    result = fns.add.using(queue_name=queue, run_after=run_after).enqueue(1, 1)
    early = dispatch(get_work_queue(queue).id)
    time.sleep(0.3)
    result.refresh()
    waiting = get_flow_run(result.id)

    assert early == 0 and result.status == TaskResultStatus.READY
    assert waiting.state_type == "SCHEDULED" and waiting.expected_start_time == run_after
    time.sleep(max(0.0, (run_after - timezone.now()).total_seconds()) + 0.05)
    dispatch(get_work_queue(queue).id)
    assert finished(result).return_value == 2
    assert result.started_at >= run_after


def test_aenqueue_and_aget_result(worker, queue):
    """(framework) The async API."""

    async def enqueue_and_wait():
        result = await fns.add.using(queue_name=queue).aenqueue(4, 5)
        for _ in range(600):
            await result.arefresh()
            if result.is_finished:
                break
            await asyncio.sleep(0.05)
        return result, await fns.add.aget_result(result.id)

    result, again = asyncio.run(enqueue_and_wait())

    assert result.return_value == 9 == again.return_value


# ---- queues, priorities and bad input ---------------------------------------------------------------
def test_a_queue_not_in_queues_is_refused_by_the_framework(queue):
    with override_settings(TASKS=tasks_setting(queues=["default"])):
        with pytest.raises(InvalidTaskError, match="Queue 'elsewhere' is not valid"):
            fns.add.using(queue_name="elsewhere")


def test_a_listed_queue_that_is_not_a_work_queue_names_the_command_to_create_it():
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    with override_settings(TASKS=tasks_setting(queues=["default", missing])):
        with pytest.raises(InvalidTaskError, match=f"runs work-queue create {missing}"):
            fns.add.using(queue_name=missing).enqueue(1, 2)


def test_priority_is_accepted_within_the_frameworks_range(queue):
    """(framework) A priority outside -100..100 is refused; one inside is accepted."""
    with pytest.raises(InvalidTaskError, match="priority"):
        fns.add.using(priority=101)
    result = fns.add.using(queue_name=queue, priority=10).enqueue(1, 2)

    assert result.status == TaskResultStatus.READY
    # recorded as a tag, and read back with the result
    assert default_task_backend.get_result(result.id).task.priority == 10


def test_get_result_of_an_unknown_id_does_not_exist():
    """(framework) An id that names no task's result."""
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(str(uuid.uuid4()))
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("not-an-id")
    with pytest.raises(TaskResultDoesNotExist):
        asyncio.run(default_task_backend.aget_result("123"))


def test_get_result_of_a_flow_run_that_is_no_django_task_does_not_exist():
    from runs.registry import register_flow
    from runs.services.flow_runs import start_flow_run
    from runs.services.work_queues import create_work_queue

    register_flow("tests.runs.queue_flows:nap")
    idle = create_work_queue(name=f"dt-idle-{uuid.uuid4().hex[:6]}").name
    run = start_flow_run(flow_name="queue-nap", work_queue=idle)

    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(str(run.id))


def test_get_result_of_another_task_is_a_mismatch(queue):
    """(framework) Task.get_result checks the result is this task's."""
    from django_tasks.exceptions import TaskResultMismatch

    result = fns.add.using(queue_name=queue).enqueue(1, 2)
    with pytest.raises(TaskResultMismatch):
        fns.echo.get_result(result.id)


def test_arguments_that_are_not_json_are_refused_before_a_run_is_made(queue):
    """(framework) Arguments must be JSON."""
    from runs.selectors.runs import flow_runs

    before = flow_runs(flow="django-task:tests.runs.django_task_fns.echo").count()
    with pytest.raises(TypeError, match="Unsupported type"):
        fns.echo.using(queue_name=queue).enqueue(object())

    assert flow_runs(flow="django-task:tests.runs.django_task_fns.echo").count() == before


def test_unknown_options_are_a_clear_error():
    from django_tasks.exceptions import InvalidTaskBackendError

    with pytest.raises(InvalidTaskBackendError, match="retry_count"):
        RunsBackend("x", {"BACKEND": BACKEND, "OPTIONS": {"retry_count": 2}})


def test_a_django_task_entrypoint_must_name_a_task_of_this_backend():
    from runs.registry import RegistrationError, register_flow

    with pytest.raises(RegistrationError, match="is not a Django task"):
        register_flow("django-task:tests.runs.django_task_fns.ParcelLost")
    immediate = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=immediate):
        with pytest.raises(RegistrationError, match="runs.django_tasks.RunsBackend"):
            register_flow("django-task:tests.runs.django_task_fns.add")
