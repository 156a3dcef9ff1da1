"""One task run: create its record, propose Pending then Running, call the function, retry.

The engine only proposes states (``runs.orchestration.propose_state`` decides them). The same
:class:`TaskRunEngine` runs a direct call in the caller's thread, a submitted run in a thread of
the task runner, and a run in a Celery worker; ``run_sync`` and ``run_async`` are its two drivers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from runs import conf
from runs.context import (
    FlowRunContext,
    TaskRunContext,
    current_tags,
    flow_run_context,
    task_run_context,
)
from runs.engine.inputs import UpstreamNotCompleted, collect_upstream, needs_resolution, resolve
from runs.engine.timeouts import RunTimeout, deadline_scope
from runs.orchestration import propose_state
from runs.orchestration.records import TaskRunRecord
from runs.parameters import jsonable_parameters
from runs.retries import delay_for_attempt, jittered
from runs.states import (
    AwaitingRetry,
    Completed,
    Crashed,
    Failed,
    Pending,
    Retrying,
    Running,
    State,
    StateType,
    TimedOut,
    UpstreamFailed,
    now,
)

if TYPE_CHECKING:
    from runs.futures import RunFuture
    from runs.tasks import Task

logger = logging.getLogger("runs.engine")


def require_flow_context(task: Task) -> FlowRunContext:
    """The current flow run; a task called outside one, or inside a task, is a RuntimeError."""
    if task_run_context.get() is not None:
        raise RuntimeError(
            f"Task {task.name!r} was called from inside another task. Tasks cannot be run from "
            f"within tasks: call it from a flow, or call its plain function with "
            f"`{task.name}.fn(...)` (no task run is recorded then)."
        )
    flow_ctx = flow_run_context.get()
    if flow_ctx is None:
        raise RuntimeError(
            f"Task {task.name!r} was called outside a flow. Tasks cannot be run outside of a "
            f"flow: call it from a function decorated with @flow, or call its plain function "
            f"with `{task.name}.fn(...)` (no task run is recorded then)."
        )
    return flow_ctx


def _format_run_name(task: Task, parameters: dict[str, Any]) -> str:
    template = task.task_run_name
    try:
        return template.format(**parameters)
    except KeyError as exc:
        missing = exc.args[0]
        raise ValueError(
            f"task_run_name {template!r} of task {task.name!r} names {{{missing}}}, which is not "
            f"an argument of the task; its arguments are: {', '.join(parameters) or 'none'}."
        ) from None
    except (IndexError, ValueError) as exc:
        raise ValueError(
            f"task_run_name {template!r} of task {task.name!r} cannot be formatted: {exc}. "
            "Use {argument_name} placeholders."
        ) from None


class Deferred(Exception):
    """Raised by a hook (``wait_for_slot``) to stop driving a run that will be driven again later,
    such as a Celery worker re-queueing a run that waits for a concurrency slot."""


class TaskRunEngine:
    """Everything about one task run; drive it with :meth:`run_sync` or :meth:`run_async`."""

    def __init__(self, task: Task, flow_ctx: FlowRunContext, args: tuple, kwargs: dict,
                 wait_for: Any = None, map_index: int = -1) -> None:
        bound = task.signature.bind(*args, **kwargs)  # TypeError before any run is recorded
        bound.apply_defaults()
        self.task = task
        self.flow_ctx = flow_ctx
        self.raw_parameters: dict[str, Any] = dict(bound.arguments)
        self.wait_for = list(wait_for or ())
        self.parameters: dict[str, Any] | None = None
        self.force_persist = False
        flow_run = flow_ctx.flow_run
        upstream: list = []
        results_by_id = flow_ctx.results_by_id
        for name, value in self.raw_parameters.items():
            collect_upstream(value, results_by_id, name, upstream)
        for value in self.wait_for:
            collect_upstream(value, results_by_id, "", upstream)
        self.record = TaskRunRecord(
            name="", flow_run_id=flow_run.id, flow_run=flow_run, task_key=task.task_key,
            task_name=task.name, map_index=map_index,
            tags=sorted(task.tags | current_tags()),
            parameters=jsonable_parameters(self.raw_parameters), upstream=upstream,
        )
        self.record.name = self._run_name(flow_ctx, map_index)
        if flow_ctx.note_final is not None:
            self.record.on_final.append(flow_ctx.note_final)
        self.context = TaskRunContext(task, self.record, self.raw_parameters,
                                      log_prints=self._log_prints())

    @classmethod
    def resume(cls, task: Task, record: TaskRunRecord, parameters: dict[str, Any],
               flow_ctx: FlowRunContext | None = None) -> TaskRunEngine:
        """An engine for a run recorded elsewhere (a Celery worker), its inputs already resolved.

        ``record`` usually comes from ``runs.orchestration.load_task_run_record`` (sync=True).
        The result is persisted so that the process waiting on the run can read it.
        """
        engine = cls.__new__(cls)
        engine.task = task
        engine.flow_ctx = flow_ctx
        engine.raw_parameters = dict(parameters)
        engine.wait_for = []
        engine.parameters = None
        engine.force_persist = True
        engine.record = record
        engine.context = TaskRunContext(task, record, engine.raw_parameters,
                                        log_prints=bool(task.log_prints))
        return engine

    # ---- set-up -------------------------------------------------------------------------------
    def _log_prints(self) -> bool:
        if self.task.log_prints is not None:
            return self.task.log_prints
        return self.flow_ctx.log_prints

    def _run_name(self, flow_ctx: FlowRunContext, map_index: int) -> str:
        template = self.task.task_run_name
        if template is None:
            index = map_index if map_index >= 0 else flow_ctx.next_index(self.task.task_key)
            return f"{self.task.name}-{index}"
        if callable(template):
            ctx = TaskRunContext(self.task, self.record, self.raw_parameters)
            token = task_run_context.set(ctx)
            try:
                return str(template())
            finally:
                task_run_context.reset(token)
        return _format_run_name(self.task, self.raw_parameters)

    def propose(self, state: State) -> State:
        accepted = propose_state(self.record, state)
        accepted.task_run_id = self.record.id  # lets a returned state link runs downstream
        accepted.run_name = self.record.name
        return accepted

    def start(self) -> State:
        """Record the run as Pending (called where it was created, before it is queued)."""
        if self.task.log_prints or self.flow_ctx.log_prints:
            from runs.logging import install_print_capture

            install_print_capture()
        return self.propose(Pending())

    def resolve_inputs(self) -> State | None:
        """Wait for upstreams and resolve inputs; returns a final state if the run must not start."""
        try:
            for value in self.wait_for:
                resolve(value)
            if needs_resolution(self.raw_parameters):
                self.parameters = resolve(self.raw_parameters)
            else:
                self.parameters = self.raw_parameters
        except UpstreamNotCompleted as exc:
            return self.propose(UpstreamFailed(str(exc)))
        self.context.parameters = self.parameters
        return None

    def compute_cache_key(self) -> State | None:
        task = self.task
        if task.cache_key_fn is None:
            return None
        try:
            key = task.cache_key_fn(self.context, self.parameters)
        except Exception as exc:
            return self.propose(Failed(
                f"cache_key_fn {getattr(task.cache_key_fn, '__name__', task.cache_key_fn)!r} "
                f"raised {type(exc).__name__}: {exc}"))
        record = self.record
        record.cache_key = None if key is None else str(key)
        refresh = task.refresh_cache
        record.refresh_cache = (conf.settings.RUNS_TASKS_REFRESH_CACHE if refresh is None
                                else bool(refresh))
        return None

    # ---- outcomes -----------------------------------------------------------------------------
    def _persist(self) -> bool:
        if self.force_persist:
            return True
        if self.task.persist_result is not None:
            return self.task.persist_result
        return self.task.cache_key_fn is not None

    def _persist_durably(self) -> bool:
        """Whether the result must outlive the run: cached, or asked for on the task."""
        return self.record.cache_key is not None or bool(self.task.persist_result)

    def completed(self, result: Any) -> State:
        if isinstance(result, State):
            return result
        result_key = ""
        if self._persist():
            from runs.results import ResultNotPersistable, persist_result

            try:
                result_key = persist_result(result, durable=self._persist_durably())
            except ResultNotPersistable as exc:
                return Failed(str(exc))
        expiration = None
        if self.record.cache_key is not None and self.task.cache_expiration is not None:
            expiration = now() + self.task.cache_expiration
        return Completed(data=result, result_key=result_key, cache_key=self.record.cache_key,
                         cache_expiration=expiration)

    def failed(self, exc: Exception) -> State:
        from runs.logging import task_run_logger

        task_run_logger(self.record).error(
            "Task run failed with %s: %s\n%s", type(exc).__name__, exc,
            "".join(traceback.format_exception(exc)).rstrip(),
        )
        result_key = ""
        if self.force_persist:  # the caller is another process: keep the exception for it
            from runs.results import ResultNotPersistable, persist_result

            try:
                result_key = persist_result(exc)
            except ResultNotPersistable:
                pass
        return Failed(f"{type(exc).__name__}: {exc}", data=exc, result_key=result_key)

    def timed_out(self) -> State:
        return TimedOut(
            f"Task run exceeded its timeout of {self.task.timeout_seconds:g} seconds; "
            "it was stopped.", data=TimeoutError(
                f"Task run {self.record.name!r} timed out after "
                f"{self.task.timeout_seconds:g} seconds"))

    def crashed(self, exc: BaseException) -> State:
        return self.propose(Crashed(f"{type(exc).__name__}: {exc}".rstrip(": "), data=exc))

    @property
    def retries(self) -> int:
        """The task's retries, or RUNS_TASK_DEFAULT_RETRIES when it sets none."""
        if self.task.retries is not None:
            return self.task.retries
        return conf.settings.RUNS_TASK_DEFAULT_RETRIES

    def retry_delay(self, failed: State) -> float | None:
        """Seconds to wait before retrying, or None when the run must not be retried."""
        if failed.type is not StateType.FAILED or failed.name in ("Aborted", "UpstreamFailed"):
            return None
        task = self.task
        retries = self.retries
        if self.record.run_count > retries:
            return None
        if task.retry_condition_fn is not None:
            try:
                if not task.retry_condition_fn(task, self.record, failed):
                    return None
            except Exception as exc:
                logger.warning("retry_condition_fn raised %r; not retrying", exc)
                return None
        delays = task.retry_delay_seconds
        if delays is None:
            delays = conf.settings.RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS
        base = delay_for_attempt(delays, retries, self.record.run_count)
        return jittered(base, task.retry_jitter_factor)

    def awaiting_retry(self, delay: float) -> State:
        return self.propose(AwaitingRetry(
            f"Retry {self.record.run_count} of {self.retries} in {delay:g} seconds",
            scheduled_time=now() + dt.timedelta(seconds=delay)))

    def _running_state(self) -> State:
        return Retrying() if self.record.run_count > 0 else Running()

    def _slot_wait(self) -> float:
        return conf.settings.RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS

    def wait_for_slot(self) -> None:
        """Sleep until a concurrency slot may be free (a Celery worker re-queues instead)."""
        from limits.slots import wait_for_slot

        wait_for_slot(self.record.id, self.record.tags, self._slot_wait())

    def _call_args(self) -> tuple[list, dict]:
        import inspect

        bound = inspect.BoundArguments(self.task.signature, dict(self.parameters))
        return bound.args, bound.kwargs

    # ---- sync driver --------------------------------------------------------------------------
    def run_sync(self) -> State:
        """Run to a final state in this thread (Pending must have been proposed)."""
        stopped = self.resolve_inputs()
        if stopped is not None:
            return stopped
        token = task_run_context.set(self.context)
        try:
            stopped = self.compute_cache_key()
            if stopped is not None:
                return stopped
            while True:
                state = self.propose(self._running_state())
                if state.type is StateType.PENDING:
                    self.wait_for_slot()
                    continue
                if not state.is_running():
                    return state
                proposed = self._execute_sync()
                delay = self.retry_delay(proposed)
                if delay is None:
                    return self.propose(proposed)
                state = self.awaiting_retry(delay)
                if not state.is_scheduled():
                    return state
                time.sleep(delay)
        except Deferred:
            raise  # the run stays as recorded; whoever deferred it runs it again later
        except BaseException as exc:
            if not self.record.is_final():
                self.crashed(exc)
            raise
        finally:
            task_run_context.reset(token)

    def _execute_sync(self) -> State:
        args, kwargs = self._call_args()
        timeout = self.task.timeout_seconds

        def record_timeout() -> None:  # called by the watchdog at the deadline (threads)
            self.propose(self.timed_out())

        deadline = None
        try:
            with deadline_scope(timeout, on_expire=record_timeout) as deadline:
                result = self.task.fn(*args, **kwargs)
        except RunTimeout as exc:
            if deadline is not None and deadline.expired and exc.token in (deadline, None):
                return self.timed_out()
            raise
        except Exception as exc:
            return self.failed(exc)
        return self.completed(result)

    # ---- async driver -------------------------------------------------------------------------
    async def run_async(self) -> State:
        """Run an async task to a final state on the running event loop."""
        stopped = await asyncio.to_thread(self.resolve_inputs)
        if stopped is not None:
            return stopped
        token = task_run_context.set(self.context)
        try:
            stopped = self.compute_cache_key()
            if stopped is not None:
                return stopped
            while True:
                state = await asyncio.to_thread(self.propose, self._running_state())
                if state.type is StateType.PENDING:
                    await asyncio.to_thread(self.wait_for_slot)
                    continue
                if not state.is_running():
                    return state
                proposed = await self._execute_async()
                delay = self.retry_delay(proposed)
                if delay is None:
                    return await asyncio.to_thread(self.propose, proposed)
                state = await asyncio.to_thread(self.awaiting_retry, delay)
                if not state.is_scheduled():
                    return state
                await asyncio.sleep(delay)
        except Deferred:
            raise
        except BaseException as exc:
            if not self.record.is_final():
                await asyncio.to_thread(self.crashed, exc)
            raise
        finally:
            task_run_context.reset(token)

    async def _execute_async(self) -> State:
        args, kwargs = self._call_args()
        timeout = self.task.timeout_seconds
        try:
            async with asyncio.timeout(timeout) as scope:
                result = await self.task.fn(*args, **kwargs)
        except TimeoutError as exc:
            if timeout is not None and scope.expired():
                return self.timed_out()
            return await asyncio.to_thread(self.failed, exc)
        except Exception as exc:
            return await asyncio.to_thread(self.failed, exc)
        return await asyncio.to_thread(self.completed, result)

    # ---- the caller's view --------------------------------------------------------------------
    def outcome(self, state: State, return_state: bool) -> Any:
        """What a direct call returns: the state, or the result (raising on failure)."""
        if return_state:
            return state
        result = state.result()
        if not isinstance(result, type(None) | bool | int | float | str | bytes):
            self.flow_ctx.results_by_id[id(result)] = (self.record.id, result)
        return result


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def call_task(task: Task, args: tuple, kwargs: dict, wait_for: Any, return_state: bool) -> Any:
    """A direct call of a task inside a flow."""
    flow_ctx = require_flow_context(task)
    engine = TaskRunEngine(task, flow_ctx, args, kwargs, wait_for=wait_for)
    if task.isasync:
        async def run() -> Any:
            await asyncio.to_thread(engine.start)
            return engine.outcome(await engine.run_async(), return_state)

        if _in_event_loop():
            return run()
        return asyncio.run(run())
    if _in_event_loop():
        # A sync task called from an async flow: the ORM may not run on the event loop thread.
        return _run_in_thread(lambda: engine.outcome(_start_and_run(engine), return_state))
    return engine.outcome(_start_and_run(engine), return_state)


def _start_and_run(engine: TaskRunEngine) -> State:
    engine.start()
    return engine.run_sync()


def _run_in_thread(fn) -> Any:
    import contextvars

    context = contextvars.copy_context()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = context.run(fn)
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="runs-sync-task")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def submit_task(task: Task, args: tuple, kwargs: dict, wait_for: Any,
                map_index: int = -1) -> RunFuture:
    """Create a task run and hand it to the flow's task runner; returns its future."""
    flow_ctx = require_flow_context(task)
    engine = TaskRunEngine(task, flow_ctx, args, kwargs, wait_for=wait_for, map_index=map_index)
    future = flow_ctx.task_runner.submit(engine)
    flow_ctx.futures.append(future)
    return future
