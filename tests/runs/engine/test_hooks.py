"""State hooks in this process: ``on_completion`` and ``on_failure`` on tasks and flows,
``on_cancellation`` and ``on_crashed`` on flows (Prefect 2.20's ``_run_task_hooks`` and
``_run_flow_hooks``)."""

from __future__ import annotations

import asyncio
import functools
import threading
import time

import pytest

from runs import flow, task
from runs.models import FlowRun, TaskRun
from runs.runners import SequentialTaskRunner, ThreadPoolTaskRunner
from runs.runtime import flow_run as current_flow_run
from runs.selectors.logs import logs_for
from runs.tasks import task_input_hash


class Recorder:
    """A hook that records each call's keywords, thread-safe (hooks of submitted runs run in
    the runner's threads)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self._lock = threading.Lock()
        self.__name__ = "record"

    def __call__(self, **arguments) -> None:
        with self._lock:
            self.calls.append(arguments)

    def states(self) -> list[str]:
        with self._lock:
            return sorted(call["state"].name for call in self.calls)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The calls, once there are ``count`` (hooks of submitted runs may end after the flow)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            assert time.monotonic() < deadline, f"{len(self.calls)} of {count} hook calls"
            time.sleep(0.005)


def _messages(run) -> list[str]:
    from runs.orchestration import writer

    writer.flush()
    return [line.message for line in logs_for(run)]


# ---- what may be passed ---------------------------------------------------------------------
def _hook(**_):
    """A hook that does nothing."""


def test_a_single_callable_is_refused_with_what_to_pass():
    """Prefect 2 refuses a hook that is not in a list: "Expected iterable for 'on_completion';
    got function instead. Please provide a list of hooks to 'on_completion'"."""
    with pytest.raises(TypeError) as error:

        @task(on_completion=_hook)
        def t():
            return 1

    message = str(error.value)
    assert "Expected iterable for 'on_completion'; got function instead" in message
    assert "Please provide a list of hooks to 'on_completion'" in message
    with pytest.raises(TypeError, match="Expected iterable for 'on_crashed'"):
        flow(on_crashed=_hook)(lambda: None)


def test_a_hook_that_is_not_callable_is_refused():
    """Prefect 2: "Expected callables in 'on_failure'; got str instead"."""
    with pytest.raises(TypeError, match="Expected callables in 'on_failure'; got str instead"):
        task(on_failure=[_hook, "not a hook"])(lambda: None)
    with pytest.raises(TypeError, match="Expected callables in 'on_cancellation'; got int"):
        flow(on_cancellation=[1])(lambda: None)


def test_an_empty_list_of_hooks_is_refused():
    """Prefect 2 refuses an empty list: "Empty list passed for 'on_completion'"."""
    with pytest.raises(ValueError, match="Empty list passed for 'on_completion'"):
        task(on_completion=[])(lambda: None)


def test_with_options_checks_hooks_too():
    """Prefect 2's ``with_options`` builds a new Task, so its hooks are checked the same way."""

    @task
    def t():
        return 1

    with pytest.raises(TypeError, match="Expected iterable for 'on_failure'"):
        t.with_options(on_failure=_hook)


def test_hooks_may_be_any_iterable_of_callables():
    """Prefect 2 takes any iterable (``list(hooks)``), a tuple or a generator included."""
    hook = Recorder()

    @task(on_completion=(hook,))
    def t():
        return 1

    @flow(on_completion=(h for h in [hook]))
    def f():
        return t()

    assert f() == 1
    assert hook.states() == ["Completed", "Completed"]


# ---- task hooks -----------------------------------------------------------------------------
def test_on_completion_of_a_called_task_gets_the_task_its_run_and_the_state():
    """Prefect 2 calls on_completion with ``task=, task_run=, state=`` once the Completed state
    is recorded, and logs "Running hook 'name' in response to entering state 'Completed'"."""
    completed, failed = Recorder(), Recorder()

    @task(on_completion=[completed], on_failure=[failed])
    def add(x, y):
        return x + y

    @flow
    def f():
        return {"state": add(1, 2, return_state=True)}

    state = f()["state"]
    assert state.result() == 3
    [call] = completed.calls
    assert failed.calls == []
    assert call["task"] is add
    assert call["state"] is state and call["state"].result() == 3
    task_run = call["task_run"]
    assert task_run.id == state.task_run_id and task_run.name == "add-0"
    assert task_run.state.is_completed() and task_run.run_count == 1
    row = TaskRun.objects.get(id=state.task_run_id)
    assert row.state_type == "COMPLETED"  # recorded before the hook ran
    assert task_run.flow_run_id == row.flow_run_id
    messages = _messages(row)
    assert "Running hook 'record' in response to entering state 'Completed'" in messages
    assert "Hook 'record' finished running successfully" in messages


def test_on_failure_of_a_called_task_gets_the_failed_state():
    """Prefect 2 calls on_failure (not on_completion) for a Failed task run."""
    completed, failed = Recorder(), Recorder()

    @task(on_completion=[completed], on_failure=[failed])
    def explode():
        raise ValueError("no")

    @flow
    def f():
        return {"state": explode(return_state=True)}

    state = f()["state"]
    assert state.is_failed()
    assert completed.calls == []
    [call] = failed.calls
    assert call["state"] is state and "ValueError: no" in call["state"].message
    assert call["task_run"].state.is_failed()
    with pytest.raises(ValueError, match="no"):
        call["state"].result()


def test_hooks_of_submitted_and_mapped_task_runs_are_called_for_each_run():
    """Prefect 2 runs the hooks of every task run, whatever the task runner."""
    completed, failed = Recorder(), Recorder()

    @task(on_completion=[completed], on_failure=[failed])
    def invert(x):
        return 1 / x

    @flow(task_runner=ThreadPoolTaskRunner())
    def f():
        one = invert.submit(4)
        many = invert.map([1, 0, 2])
        return {"states": [one.wait(), *[future.wait() for future in many]]}

    states = f()["states"]
    assert [s.type for s in states] == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
    done = completed.wait_for(3)
    [failure] = failed.wait_for(1)
    assert sorted(call["task_run"].name for call in done) == ["invert-0", "invert-1", "invert-3"]
    assert (
        failure["task_run"].name == "invert-2" and failure["task_run"].id == states[2].task_run_id
    )
    assert failure["state"].is_failed()


def test_hooks_of_sequentially_submitted_runs_have_run_when_submit_returns():
    """With the SequentialTaskRunner (Prefect 2's too) a run and its hooks are over once
    ``submit`` returns."""
    completed = Recorder()

    @task(on_completion=[completed])
    def t(x):
        return x

    @flow(task_runner=SequentialTaskRunner())
    def f():
        t.submit(1)
        seen = len(completed.calls)
        t.map([2, 3])
        return seen, len(completed.calls)

    assert f() == (1, 3)


def test_async_hooks_are_awaited_for_an_async_task_and_flow():
    """Prefect 2 awaits async hooks and calls sync ones too, for async tasks and flows as for
    sync ones."""
    calls: list = []

    async def async_hook(task, task_run, state):
        await asyncio.sleep(0)
        calls.append(("async", task_run.name, state.name))

    def sync_hook(task, task_run, state):
        # Not on the event loop's thread: the ORM may be used here.
        calls.append(("sync", TaskRun.objects.filter(id=task_run.id).count() >= 0, state.name))

    @task(on_completion=[async_hook, sync_hook])
    async def double(x):
        return 2 * x

    async def flow_hook(flow, flow_run, state):
        calls.append(("flow", flow.name, state.name))

    @flow(name="async-hooks", on_completion=[flow_hook])
    async def f():
        return await double(21)

    assert asyncio.run(f()) == 42
    assert calls == [
        ("async", "double-0", "Completed"),
        ("sync", True, "Completed"),
        ("flow", "async-hooks", "Completed"),
    ]


def test_async_hooks_of_a_sync_flow_and_task():
    """Prefect 2 awaits an async hook of a sync task or flow."""
    calls: list = []

    async def task_hook(task, task_run, state):
        calls.append(("task", state.name))

    async def flow_hook(flow, flow_run, state):
        calls.append(("flow", state.name))

    @task(on_failure=[task_hook])
    def explode():
        raise RuntimeError("boom")

    @flow(on_completion=[flow_hook])
    def f():
        explode(return_state=True)
        return "done"

    assert f() == "done"
    assert calls == [("task", "Failed"), ("flow", "Completed")]


def test_on_failure_is_called_once_for_the_final_failure_not_for_retried_attempts():
    """Prefect 2: a failed attempt that is retried enters AwaitingRetry, which calls no hook;
    only the final state does."""
    completed, failed = Recorder(), Recorder()
    attempts: list = []

    @task(retries=2, retry_delay_seconds=0, on_completion=[completed], on_failure=[failed])
    def always_fails():
        attempts.append(1)
        raise RuntimeError(f"attempt {len(attempts)}")

    @task(retries=2, retry_delay_seconds=0, on_completion=[completed], on_failure=[failed])
    def third_time_lucky():
        attempts.append(1)
        if len(attempts) < 6:
            raise RuntimeError("not yet")
        return "lucky"

    @flow
    def f():
        return {"states": (always_fails(return_state=True), third_time_lucky(return_state=True))}

    failed_state, lucky = f()["states"]
    assert failed_state.is_failed() and lucky.result() == "lucky"
    [failure] = failed.calls
    assert failure["state"] is failed_state and failure["task_run"].run_count == 3
    assert "attempt 3" in failure["state"].message
    [completion] = completed.calls
    assert completion["state"] is lucky and completion["task_run"].run_count == 3


def test_a_timed_out_task_calls_on_failure():
    """Prefect 2: TimedOut is a Failed state, so it calls on_failure."""
    failed = Recorder()

    @task(timeout_seconds=0.05, on_failure=[failed])
    def slow():
        time.sleep(0.5)

    @flow
    def f():
        return {"state": slow(return_state=True)}

    state = f()["state"]
    assert state.name == "TimedOut"
    assert [call["state"] for call in failed.calls] == [state]


def test_a_cached_state_calls_no_completion_hook():
    """Prefect 2 skips on_completion for a Cached state by default
    (PREFECT_RUN_ON_COMPLETION_HOOKS_ON_CACHED is False)."""
    completed = Recorder()

    @task(cache_key_fn=task_input_hash, on_completion=[completed])
    def square(x):
        return x * x

    @flow
    def f():
        return {"states": (square(7, return_state=True), square(7, return_state=True))}

    first, second = f()["states"]
    assert first.name == "Completed" and second.name == "Cached"
    assert [call["state"] for call in completed.calls] == [first]


def test_a_raising_hook_is_logged_and_changes_nothing():
    """Prefect 2 logs "An error was encountered while running hook 'name'" with the traceback,
    keeps the state, runs the next hooks, and raises nothing to the caller."""
    after = Recorder()

    def broken(task, task_run, state):
        raise ZeroDivisionError("the hook divided by zero")

    @task(on_completion=[broken, after], on_failure=[broken])
    def t(x):
        if x < 0:
            raise ValueError("negative")
        return x

    @flow
    def f():
        return {"states": (t(5, return_state=True), t(-1, return_state=True))}

    good, bad = f()["states"]
    assert good.is_completed() and good.result() == 5
    assert bad.is_failed() and "ValueError: negative" in bad.message
    assert after.calls[0]["state"] is good
    for state, kind in ((good, "COMPLETED"), (bad, "FAILED")):
        row = TaskRun.objects.get(id=state.task_run_id)
        assert row.state_type == kind
        messages = _messages(row)
        [error] = [m for m in messages if "error was encountered" in m]
        assert error.startswith("An error was encountered while running hook 'broken'")
        assert "Traceback" in error and "ZeroDivisionError: the hook divided by zero" in error
        assert "Hook 'broken' finished running successfully" not in messages
    assert logs_for(TaskRun.objects.get(id=good.task_run_id), level="ERROR").count() == 1


def test_hook_names_of_partials_and_callable_objects():
    """Prefect 2's ``_get_hook_name``: ``__name__``, else a partial's function's, else the
    class's name."""

    def named(task, task_run, state, extra):
        pass

    class Notifier:
        def __call__(self, task, task_run, state):
            pass

    @task(on_completion=[functools.partial(named, extra=1), Notifier()])
    def t():
        return 1

    @flow
    def f():
        return {"state": t(return_state=True)}

    messages = _messages(TaskRun.objects.get(id=f()["state"].task_run_id))
    assert "Hook 'named' finished running successfully" in messages
    assert "Hook 'Notifier' finished running successfully" in messages


def test_with_options_sets_the_hooks_of_a_copy():
    """Prefect 2's ``Task.with_options(on_completion=...)`` and ``Flow.with_options``."""
    task_hook, flow_hook = Recorder(), Recorder()

    @task
    def t():
        return 1

    @flow
    def f(use_hooks: bool):
        return (t.with_options(on_completion=[task_hook]) if use_hooks else t)()

    f(False)
    assert task_hook.calls == [] and flow_hook.calls == []
    f.with_options(on_completion=[flow_hook])(True)
    assert task_hook.states() == ["Completed"]
    [call] = flow_hook.calls
    assert call["flow"].name == f.name and call["flow"] is not f


# ---- flow hooks -----------------------------------------------------------------------------
def test_on_completion_of_a_flow_gets_the_flow_its_run_and_the_state():
    """Prefect 2 calls a flow's on_completion with ``flow=, flow_run=, state=`` once the
    Completed state is recorded, and logs it on the flow run's logger."""
    completed, failed = Recorder(), Recorder()

    @flow(on_completion=[completed], on_failure=[failed])
    def f(x: int):
        return x + 1

    state = f(1, return_state=True)
    assert state.result() == 2
    assert failed.calls == []
    [call] = completed.calls
    assert call["flow"] is f and call["state"] is state
    flow_run = call["flow_run"]
    row = FlowRun.objects.get(id=flow_run.id)
    assert row.state_type == "COMPLETED" and flow_run.name == row.name
    assert flow_run.parameters == {"x": 1} and flow_run.state.is_completed()
    messages = _messages(row)
    assert "Running hook 'record' in response to entering state 'Completed'" in messages
    assert "Hook 'record' finished running successfully" in messages


def test_on_failure_of_a_flow():
    """Prefect 2 calls on_failure for a flow that raised; the caller still gets the error."""
    completed, failed = Recorder(), Recorder()

    @flow(on_completion=[completed], on_failure=[failed])
    def f():
        raise ValueError("flow failed")

    with pytest.raises(ValueError, match="flow failed"):
        f()
    assert completed.calls == []
    [call] = failed.calls
    assert call["state"].is_failed() and "flow failed" in call["state"].message
    assert FlowRun.objects.get(id=call["flow_run"].id).state_type == "FAILED"


def test_on_failure_of_a_flow_whose_task_failed():
    """Prefect 2: a flow returning None after a failed task run is Failed, so on_failure runs."""
    failed = Recorder()

    @task
    def explode():
        raise RuntimeError("task failed")

    @flow(on_failure=[failed])
    def f():
        explode.submit()

    state = f(return_state=True)
    assert state.is_failed()
    assert [call["state"] for call in failed.calls] == [state]


def test_on_crashed_of_a_flow_interrupted_by_a_base_exception():
    """Prefect 2 calls on_crashed (not on_failure) when a BaseException that is not an Exception
    ends the flow run; the exception still reaches the caller."""

    class Boom(BaseException):
        pass

    crashed, failed = Recorder(), Recorder()

    @flow(on_crashed=[crashed], on_failure=[failed])
    def f():
        raise Boom("out of nowhere")

    with pytest.raises(Boom):
        f()
    assert failed.calls == []
    [call] = crashed.calls
    assert call["state"].is_crashed() and "Boom" in call["state"].message
    row = FlowRun.objects.get(id=call["flow_run"].id)
    assert row.state_type == "CRASHED"
    assert "Hook 'record' finished running successfully" in _messages(row)


def test_on_cancellation_of_a_flow_cancelled_while_it_runs():
    """Prefect 2 calls on_cancellation when a running flow run is cancelled."""
    from runs.leases import notice_cancellations
    from runs.services.flow_runs import cancel_flow_run

    cancelled, completed = Recorder(), Recorder()

    @task
    def after_the_cancel():
        return "never runs"

    @flow(on_cancellation=[cancelled], on_completion=[completed])
    def f():
        cancel_flow_run(flow_run_id=current_flow_run.id)
        notice_cancellations()  # the heartbeat's step, now rather than within a second
        after_the_cancel(return_state=True)
        return "done"

    state = f(return_state=True)
    assert state.is_cancelled()
    assert completed.calls == []
    [call] = cancelled.calls
    assert call["state"].is_cancelled() and call["flow_run"].id == state.flow_run_id
    assert FlowRun.objects.get(id=state.flow_run_id).state_type == "CANCELLED"


def test_a_raising_flow_hook_is_logged_and_the_state_stands():
    """Prefect 2: a flow hook that raises is logged with its traceback; the state stands."""

    def broken(flow, flow_run, state):
        raise KeyError("missing")

    @flow(on_failure=[broken])
    def f():
        raise ValueError("the flow's own error")

    state = f(return_state=True)
    assert state.is_failed() and "the flow's own error" in state.message
    row = FlowRun.objects.get(id=state.flow_run_id)
    assert row.state_type == "FAILED"
    [error] = [m for m in _messages(row) if "error was encountered" in m]
    assert "while running hook 'broken'" in error and "KeyError: 'missing'" in error


def test_hooks_of_a_subflow_run():
    """Prefect 2 runs a subflow's hooks as any flow's, in the parent's process."""
    completed = Recorder()

    @flow(on_completion=[completed])
    def child():
        return "child"

    @flow
    def parent():
        return child()

    assert parent() == "child"
    [call] = completed.calls
    assert call["flow_run"].parent_task_run_id is not None


def test_a_hook_may_log_with_the_run_logger():
    """Prefect 2 runs hooks inside the run's context: ``get_run_logger()`` works there."""
    from runs import get_run_logger

    def log_it(task, task_run, state):
        get_run_logger().info("the hook says %s", state.name)

    @task(on_completion=[log_it])
    def t():
        return 1

    @flow
    def f():
        return {"state": t(return_state=True)}

    row = TaskRun.objects.get(id=f()["state"].task_run_id)
    assert "the hook says Completed" in _messages(row)


def test_a_submitted_runs_hooks_have_run_when_its_future_is_waited_for():
    """Prefect 2: ``future.wait()`` returns once the task run's engine call, hooks included,
    is over."""
    done = threading.Event()

    def slow_hook(task, task_run, state):
        time.sleep(0.05)
        done.set()

    @task(on_completion=[slow_hook])
    def t():
        return 1

    @flow(task_runner=ThreadPoolTaskRunner())
    def f():
        t.submit().wait()
        return done.is_set()

    assert f() is True
