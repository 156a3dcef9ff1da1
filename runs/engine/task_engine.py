"""One task run: create its record, propose Pending, resolve its inputs, run its attempts.

The engine only proposes states (``runs.orchestration.propose_state`` decides them, retries
included). The same :class:`TaskRunEngine` runs a direct call in the caller's thread, a
submitted run in a thread of the task runner, and a run in a Celery worker; the attempt loop is
``runs.engine.attempts``, driven by ``run_sync`` or ``run_async``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from types import GeneratorType
from typing import TYPE_CHECKING, Any

from runs import conf
from runs.context import (
    FlowRunContext,
    TaskRunContext,
    current_tags,
    flow_run_context,
    task_run_context,
)
from runs.engine.attempts import (
    AlreadyDecided,
    Deferred,
    SlotWaiter,
    decided_by_watchdog,
    drive_async,
    drive_sync,
    stuck_reporter,
)
from runs.engine.hooks import run_hooks
from runs.engine.inputs import UpstreamNotCompleted, collect_upstream, needs_resolution, resolve
from runs.engine.naming import format_run_name
from runs.engine.outcomes import crashed_state, failed_state, timed_out_state
from runs.engine.threads import in_event_loop, run_in_thread
from runs.engine.timeouts import RunTimeout, deadline_scope
from runs.futures import RunFuture
from runs.links import link_result
from runs.orchestration import propose_state, writer
from runs.orchestration.records import TaskRunRecord
from runs.parameters import jsonable_parameters
from runs.retries import RetryOptions
from runs.states import (
    Completed,
    Crashed,
    Failed,
    Pending,
    State,
    UpstreamFailed,
    now,
)

if TYPE_CHECKING:
    from runs.tasks import Task

__all__ = ["TaskRunEngine", "Deferred", "call_task", "submit_task", "wait_for_slot_here"]


#: id(signature) -> (signature, its parameter names when every one is positional-or-keyword,
#: else None).
_PLAIN_NAMES: dict[int, tuple[Any, tuple[str, ...] | None]] = {}


def _plain_names(signature: inspect.Signature) -> tuple[str, ...] | None:
    """The names of ``signature``'s parameters if they are all positional-or-keyword: a call
    with one positional argument each then binds them in order (no ``Signature.bind``)."""
    known = _PLAIN_NAMES.get(id(signature))
    if known is not None and known[0] is signature:
        return known[1]
    params = signature.parameters.values()
    plain = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    names = tuple(signature.parameters) if plain else None
    if len(_PLAIN_NAMES) > 10_000:
        _PLAIN_NAMES.clear()
    _PLAIN_NAMES[id(signature)] = (signature, names)
    return names


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


def wait_for_slot_here(record: TaskRunRecord) -> None:
    """The usual slot waiter: sleep until a concurrency slot may be free, at most
    RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS."""
    from runs.orchestration.slots import wait_for_slot

    wait_for_slot(record)


def retry_options(task: Task) -> RetryOptions:
    """How runs of ``task`` are retried, for the retry rule of orchestration."""
    condition = task.retry_condition_fn
    return RetryOptions(
        retries=task.retries,
        delay_seconds=task.retry_delay_seconds,
        jitter_factor=task.retry_jitter_factor,
        condition=None if condition is None else functools.partial(condition, task),
    )


class TaskRunEngine:
    """Everything about one task run; drive it with :meth:`run_sync` or :meth:`run_async`.

    ``slot_waiter`` is called when the run must wait for a concurrency slot (by default it
    sleeps until one may be free; a Celery worker re-queues the run instead).
    """

    prepare_blocks = False
    finish_blocks = False

    def __init__(
        self,
        task: Task,
        flow_ctx: FlowRunContext,
        args: tuple,
        kwargs: dict,
        wait_for: Any = None,
        map_index: int = -1,
        slot_waiter: SlotWaiter = wait_for_slot_here,
    ) -> None:
        names = _plain_names(task.signature)
        if names is not None and not kwargs and len(args) == len(names):
            raw = dict(zip(names, args, strict=True))  # what bind() gives: each by position
        else:
            bound = task.signature.bind(*args, **kwargs)  # TypeError before any run is recorded
            bound.apply_defaults()
            raw = dict(bound.arguments)
        self.task = task
        self.flow_ctx = flow_ctx
        self.raw_parameters: dict[str, Any] = raw
        self.wait_for = list(wait_for or ())
        self.parameters: dict[str, Any] | None = None
        self.force_persist = False
        self.slot_waiter = slot_waiter
        flow_run = flow_ctx.flow_run
        upstream: list = []
        for name, value in self.raw_parameters.items():
            collect_upstream(value, flow_ctx, name, upstream)
        for value in self.wait_for:
            collect_upstream(value, flow_ctx, "", upstream)
        self.record = TaskRunRecord(
            name="",
            flow_run_id=flow_run.id,
            flow_run=flow_run,
            task_key=task.task_key,
            task_name=task.name,
            map_index=map_index,
            tags=sorted(task.tags | current_tags()),
            parameters=jsonable_parameters(self.raw_parameters),
            upstream=upstream,
            retry_options=retry_options(task),
            version=task.version,
        )
        self.naming_error: Exception | None = None
        self.record.name = self._run_name(flow_ctx)
        self.record.reuse_key = flow_ctx.next_call_key(task.code_key)
        #: The completed run of an earlier attempt of the flow run that this call stands for.
        self.reused: TaskRunRecord | None = flow_ctx.reusable.get(self.record.reuse_key)
        #: Where the run stands in its flow run's attempt (runs.engine.finished).
        self.index: int | None = flow_ctx.add_task_run(self.reused or self.record)
        self.context = TaskRunContext(
            task, self.record, self.raw_parameters, log_prints=self._log_prints()
        )

    @classmethod
    def resume(
        cls,
        task: Task,
        record: TaskRunRecord,
        parameters: dict[str, Any],
        flow_ctx: FlowRunContext | None = None,
        slot_waiter: SlotWaiter = wait_for_slot_here,
    ) -> TaskRunEngine:
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
        engine.slot_waiter = slot_waiter
        engine.naming_error = None
        engine.reused = None
        engine.index = None
        record.retry_options = retry_options(task)
        engine.record = record
        engine.context = TaskRunContext(
            task, record, engine.raw_parameters, log_prints=bool(task.log_prints)
        )
        if task.task_run_name is not None:  # named again here: a failing name fails each attempt
            engine.parameters = engine.raw_parameters
            engine._rename()
        return engine

    # ---- set-up -------------------------------------------------------------------------------
    def _log_prints(self) -> bool:
        if self.task.log_prints is not None:
            return self.task.log_prints
        return self.flow_ctx.log_prints

    def _run_name(self, flow_ctx: FlowRunContext) -> str:
        """The run's name; a ``task_run_name`` that fails leaves the default name and the error
        in ``naming_error`` (each attempt then fails before calling the function, as in
        Prefect 2)."""
        # Counted per code, as Prefect 2 does: copies from with_options() go on counting.
        default = f"{self.task.name}-{flow_ctx.next_index(self.task.code_key)}"
        template = self.task.task_run_name
        if template is None:
            return default
        token = task_run_context.set(TaskRunContext(self.task, self.record, self.raw_parameters))
        try:
            return format_run_name(template, self.raw_parameters, kind="task", owner=self.task.name)
        except Exception as exc:
            self.naming_error = exc
            return default
        finally:
            task_run_context.reset(token)

    def propose(self, state: State) -> State:
        accepted = propose_state(self.record, state)
        accepted.task_run_id = self.record.id  # lets a returned state link runs downstream
        accepted.run_name = self.record.name
        writer.keep_up()
        return accepted

    def start(self) -> State:
        """Record the run as Pending (called where it was created, before it is queued)."""
        if self.task.log_prints or self.flow_ctx.log_prints:
            from runs.logging import install_print_capture

            install_print_capture()
        return self.propose(Pending())

    def resolve_inputs(self) -> State | None:
        """Wait for upstreams and resolve inputs; returns a final state if the run must not start
        (an upstream did not complete)."""
        try:
            for value in self.wait_for:
                resolve(value)
            self.parameters = {name: resolve(v) for name, v in self.raw_parameters.items()}
        except UpstreamNotCompleted as exc:
            return self.propose(UpstreamFailed(str(exc)))
        self.context.parameters = self.parameters
        if self.task.task_run_name is not None and needs_resolution(self.raw_parameters):
            self._rename()
        return None

    def _rename(self) -> None:
        """Name the run again from its resolved arguments (a template given a future shows its
        result, as in Prefect 2); the new name is written with the next state."""
        token = task_run_context.set(self.context)
        try:
            name = format_run_name(
                self.task.task_run_name, self.parameters, kind="task", owner=self.task.name
            )
        except Exception as exc:
            self.naming_error = exc
            return
        finally:
            task_run_context.reset(token)
        with self.record.lock:
            self.record.name = name

    def prepare(self) -> State | None:
        """Before the first attempt: the cache key (a state here ends the run)."""
        return self.compute_cache_key()

    def compute_cache_key(self) -> State | None:
        task = self.task
        if task.cache_key_fn is None:
            return None
        try:
            key = task.cache_key_fn(self.context, self.parameters)
        except Exception as exc:  # outside the attempt: a crash, as in Prefect 2
            return self.propose(
                Crashed(
                    f"cache_key_fn {getattr(task.cache_key_fn, '__name__', task.cache_key_fn)!r} "
                    f"raised {type(exc).__name__}: {exc}",
                    data=exc,
                )
            )
        record = self.record
        record.cache_key = None if key is None else str(key)
        refresh = task.refresh_cache
        record.refresh_cache = (
            conf.settings.RUNS_TASKS_REFRESH_CACHE if refresh is None else bool(refresh)
        )
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
        if isinstance(result, GeneratorType):  # not portable: kept as the list it yields
            try:
                result = list(result)
            except BaseException as exc:  # raised after the function returned: a crash
                return self.crashed_outcome(exc)
        if self.flow_ctx is not None:  # before the final state wakes anyone who reads it
            link_result(self.flow_ctx.results_by_id, self.record.id, result)
            if self.index is not None:  # None: a run recorded elsewhere, not among the flow's
                self.flow_ctx.compact_link(self.index, self.record.id, result)
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
        return Completed(
            data=result,
            result_key=result_key,
            cache_key=self.record.cache_key,
            cache_expiration=expiration,
        )

    def failed(self, exc: Exception) -> State:
        from runs.logging import task_run_logger

        result_key = ""
        if self.force_persist:  # the caller is another process: keep the exception for it
            from runs.results import ResultNotPersistable, persist_result

            try:
                result_key = persist_result(exc)
            except ResultNotPersistable:
                pass
        return failed_state(exc, task_run_logger(self.record), "Task", result_key)

    def timed_out(self) -> State:
        return timed_out_state("Task", self.record.name, self.task.timeout_seconds)

    def crashed_outcome(self, exc: BaseException) -> State:
        """The outcome of an attempt ended by a BaseException that is not an Exception: CRASHED
        (never retried); its result raises that exception."""
        from runs.logging import task_run_logger

        state = crashed_state(exc)
        task_run_logger(self.record).error("Crash detected! %s", state.message)
        return state

    def crashed(self, exc: BaseException) -> State:
        return self.propose(crashed_state(exc))

    crash = crashed

    @property
    def retries(self) -> int:
        """The task's retries, or RUNS_TASK_DEFAULT_RETRIES when it sets none."""
        if self.task.retries is not None:
            return self.task.retries
        return conf.settings.RUNS_TASK_DEFAULT_RETRIES

    def wait_for_slot(self) -> None:
        self.slot_waiter(self.record)

    def conclude(self, outcome: State) -> State:
        """Propose an attempt's outcome; orchestration may answer AwaitingRetry."""
        return self.propose(outcome)

    def finish(self, state: State) -> State:
        """The run is final: its hooks are called (after the state is recorded)."""
        run_hooks(self.task, self.record, state)
        return state

    def _call_args(self) -> tuple[list, dict]:
        names = _plain_names(self.task.signature)
        parameters = self.parameters
        if names is not None and len(parameters) == len(names):
            try:
                return [parameters[name] for name in names], {}
            except KeyError:
                pass
        bound = inspect.BoundArguments(self.task.signature, dict(self.parameters))
        return bound.args, bound.kwargs

    # ---- drivers -----------------------------------------------------------------------------
    def _hooks_pending(self) -> threading.Event | None:
        """An event that futures wait on until the hooks have run (tasks with hooks only)."""
        if self.task.on_completion is None and self.task.on_failure is None:
            return None
        self.record.hooks_done = threading.Event()
        return self.record.hooks_done

    def run_sync(self) -> State:
        """Run to a final state in this thread (Pending must have been proposed)."""
        hooks_done = self._hooks_pending()
        try:
            stopped = self.resolve_inputs()
            if stopped is not None:
                return stopped
            token = task_run_context.set(self.context)
            try:
                return drive_sync(self)
            finally:
                task_run_context.reset(token)
        finally:
            if hooks_done is not None:
                hooks_done.set()

    async def run_async(self) -> State:
        """Run an async task to a final state on the running event loop."""
        hooks_done = self._hooks_pending()
        try:
            stopped = await asyncio.to_thread(self.resolve_inputs)
            if stopped is not None:
                return stopped
            token = task_run_context.set(self.context)
            try:
                return await drive_async(self)
            finally:
                task_run_context.reset(token)
        finally:
            if hooks_done is not None:
                hooks_done.set()

    # ---- one attempt --------------------------------------------------------------------------
    def execute_sync(self) -> State | AlreadyDecided:
        """Call the function once, in this thread: the outcome to propose."""
        if self.naming_error is not None:  # each attempt fails before the call, as in Prefect 2
            return self.failed(self.naming_error)
        args, kwargs = self._call_args()
        timeout = self.task.timeout_seconds
        if timeout is None:  # no deadline to arm or to ask about: the call itself
            try:
                result = self.task.fn(*args, **kwargs)
            except RunTimeout:
                raise  # an enclosing deadline (the flow's) fired
            except Exception as exc:
                return self.failed(exc)
            except BaseException as exc:  # a crash, as below
                return self.crashed_outcome(exc)
            return self.completed(result)
        on_stuck = stuck_reporter(self.record, self.propose, self.timed_out)
        deadline = None
        try:
            with deadline_scope(timeout, on_stuck) as deadline:
                result = self.task.fn(*args, **kwargs)
        except RunTimeout as exc:
            if deadline is None or not deadline.expired or exc.token not in (deadline, None):
                raise  # an enclosing deadline (the flow's) fired
            return decided_by_watchdog(deadline) or self.timed_out()
        except Exception as exc:
            return decided_by_watchdog(deadline) or self.failed(exc)
        except BaseException as exc:  # not a failure of the run but a crash (interrupts too:
            # the flow raises them once its runs are done)
            return decided_by_watchdog(deadline) or self.crashed_outcome(exc)
        return decided_by_watchdog(deadline) or self.completed(result)

    async def execute_async(self) -> State:
        """Await the function once on the event loop: the outcome to propose."""
        if self.naming_error is not None:
            return await asyncio.to_thread(self.failed, self.naming_error)
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
        except (RunTimeout, asyncio.CancelledError):
            raise
        except BaseException as exc:
            return self.crashed_outcome(exc)
        return await asyncio.to_thread(self.completed, result)

    # ---- the caller's view --------------------------------------------------------------------
    def reused_outcome(self, return_state: bool) -> Any:
        """What the call returns when it stands for a run that completed in an earlier attempt
        of the flow run: that run's result (or state); nothing is run or recorded again."""
        self.record = self.reused
        return self.outcome(self.reused.state, return_state)

    def outcome(self, state: State, return_state: bool) -> Any:
        """What a direct call returns: the state, or the result (raising on failure)."""
        if return_state:
            return state
        result = state.result()
        if not self.flow_ctx.is_linked(self.record.id, result):
            link_result(self.flow_ctx.results_by_id, self.record.id, result)
        return result


def call_task(task: Task, args: tuple, kwargs: dict, wait_for: Any, return_state: bool) -> Any:
    """A direct call of a task inside a flow."""
    flow_ctx = require_flow_context(task)
    engine = TaskRunEngine(task, flow_ctx, args, kwargs, wait_for=wait_for)
    if engine.reused is not None:
        if task.isasync and in_event_loop():
            return _ready(engine.reused_outcome(return_state))
        return engine.reused_outcome(return_state)
    if task.isasync:

        async def run() -> Any:
            await asyncio.to_thread(engine.start)
            return engine.outcome(await engine.run_async(), return_state)

        if in_event_loop():
            return run()
        return asyncio.run(run())
    if in_event_loop():
        # A sync task called from an async flow: the ORM may not run on the event loop thread.
        return run_in_thread(lambda: engine.outcome(_start_and_run(engine), return_state))
    return engine.outcome(_start_and_run(engine), return_state)


async def _ready(value: Any) -> Any:
    return value


def _start_and_run(engine: TaskRunEngine) -> State:
    engine.start()
    return engine.run_sync()


def submit_task(
    task: Task,
    args: tuple,
    kwargs: dict,
    wait_for: Any,
    map_index: int = -1,
    upstream: list | None = None,
) -> RunFuture:
    """Create a task run and hand it to the flow's task runner; returns its future.

    ``upstream`` adds (task run id, parameter) links found before the call (a mapped future)."""
    flow_ctx = require_flow_context(task)
    engine = TaskRunEngine(task, flow_ctx, args, kwargs, wait_for=wait_for, map_index=map_index)
    if engine.reused is not None:  # completed in an earlier attempt of the flow run
        future = RunFuture(engine.reused)
    else:
        if upstream:
            engine.record.upstream.extend(upstream)
        future = flow_ctx.task_runner.submit(engine)
    flow_ctx.add_future(future)
    return future
