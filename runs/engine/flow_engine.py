"""One flow run: record it, run the function with its task runner, derive the final state.

Its attempts are ``runs.engine.attempts``'s loop, as for task runs; retries are orchestration's.

The final state follows Prefect 2: an exception fails the run; what the function returned
decides it otherwise (``runs.engine.returns``), and a flow that returns None stands for all the
task runs and subflows of its attempt.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from runs.context import FlowRunContext, current_tags, flow_run_context, task_run_context
from runs.engine.attempts import (
    AlreadyDecided,
    decided_by_watchdog,
    drive_async,
    drive_sync,
    stuck_reporter,
)
from runs.engine.hooks import run_hooks
from runs.engine.inputs import (
    UpstreamNotCompleted,
    collect_upstream,
    needs_resolution,
    resolve,
)
from runs.engine.naming import format_run_name
from runs.engine.outcomes import crashed_state, failed_state, is_interrupt, timed_out_state
from runs.engine.returns import RunStates, aggregate_of, state_from_return
from runs.engine.threads import in_event_loop, run_in_thread
from runs.engine.timeouts import RunTimeout, deadline_scope
from runs.exceptions import ParameterTypeError
from runs.links import link_result
from runs.orchestration import propose_state, writer
from runs.orchestration.records import FlowRunRecord, TaskRunRecord
from runs.parameters import jsonable_parameters
from runs.retries import RetryOptions
from runs.states import (
    Completed,
    Failed,
    Pending,
    Running,
    State,
    UpstreamFailed,
)

if TYPE_CHECKING:
    from runs.flows import Flow

_flow_ids: dict[str, int] = {}
_flow_ids_lock = threading.Lock()


def flow_id_for(flow: Flow) -> int:
    """The id of the Flow row named like ``flow`` (created on first use; cached per process)."""
    flow_id = _flow_ids.get(flow.name)
    if flow_id is not None:
        return flow_id
    from runs.models import Flow as FlowRow
    from runs.orchestration.writer import apart_from_caller, run_apart

    def get_or_create() -> int:
        row, _ = FlowRow.objects.get_or_create(
            name=flow.name, defaults={"description": flow.description or ""}
        )
        return row.id

    with _flow_ids_lock:
        # Like the run history, the row outlives a caller's transaction that rolls back.
        flow_id = run_apart(get_or_create) if apart_from_caller() else get_or_create()
        _flow_ids[flow.name] = flow_id
        return flow_id


class FlowRunEngine:
    """Everything about one flow run; drive it with :meth:`run_sync` or :meth:`run_async`."""

    prepare_blocks = True
    finish_blocks = True

    def __init__(
        self,
        flow: Flow,
        args: tuple,
        kwargs: dict,
        record: FlowRunRecord | None = None,
        wait_for: Any = None,
    ) -> None:
        bound = flow.signature.bind(*args, **kwargs)  # TypeError before any run is recorded
        bound.apply_defaults()
        self.flow = flow
        self.wait_for = list(wait_for or ())
        self.parameters = dict(bound.arguments)
        self.bound = bound
        self.parent_ctx = flow_run_context.get()
        self.invalid: ParameterTypeError | None = None
        self.validated = False
        if not needs_resolution(self.parameters):  # else once a subflow's inputs are resolved
            self._validate()
        self.parent_task: TaskRunRecord | None = None
        self.force_persist = False
        self.record = record or FlowRunRecord(
            name="",
            flow_name=flow.name,
            parameters=jsonable_parameters(self.parameters),
            tags=sorted(current_tags()),
            sync=True,
            version=flow.version,
        )
        self.record.retry_options = RetryOptions(
            retries=flow.retries, delay_seconds=flow.retry_delay_seconds
        )
        self.ctx: FlowRunContext | None = None

    # ---- set-up -------------------------------------------------------------------------------
    def _run_name(self) -> str:
        from runs.names import random_run_name

        template = self.flow.flow_run_name
        if template is None:
            return random_run_name()
        return format_run_name(template, self.parameters, kind="flow", owner=self.flow.name)

    def begin(self) -> FlowRunContext:
        """Record the run (and, for a subflow, its task run in the parent) and build its context.

        A set-up that fails once the run is recorded (no such task runner, a runner that does
        not start) ends the run FAILED with the error as its message, then raises the error.
        """
        from runs.bootstrap import ensure_ready
        from runs.leases import active_flow_runs, ensure_heartbeat

        ensure_ready()
        ensure_heartbeat()
        record = self.record
        if not record.name:
            record.name = self._run_name()
        record.flow_id = record.flow_id or flow_id_for(self.flow)
        if self.parent_ctx is not None and task_run_context.get() is None:
            self._begin_parent_task_run(record)
        if record.state is None:
            propose_state(record, Pending())
        active_flow_runs[record.id] = record
        try:
            self.ctx = self._context()
        except BaseException as exc:
            self.finish(self.propose(Failed(f"{type(exc).__name__}: {exc}", data=exc)))
            raise
        return self.ctx

    def _context(self) -> FlowRunContext:
        log_prints = bool(self.flow.log_prints)
        if self.flow.log_prints is None and self.parent_ctx is not None:
            log_prints = self.parent_ctx.log_prints
        if log_prints:
            from runs.logging import install_print_capture

            install_print_capture()
        runner = self.flow.new_task_runner()
        runner.start()  # last: nothing after it can fail and leave it running
        return FlowRunContext(
            self.flow, self.record, runner, log_prints=log_prints, retriable=self._retriable()
        )

    def _retriable(self) -> bool:
        """Whether the run may have another attempt (then completed task runs are kept for it
        to reuse)."""
        from runs import conf

        retries = self.flow.retries
        if retries is None:
            retries = conf.settings.RUNS_FLOW_DEFAULT_RETRIES
        return bool(retries)

    def _begin_parent_task_run(self, record: FlowRunRecord) -> None:
        parent = self.parent_ctx
        task_record = TaskRunRecord(
            name=record.name,  # as Prefect 2 names a subflow's run in its parent
            flow_run_id=parent.flow_run.id,
            flow_run=parent.flow_run,
            task_key=f"subflow:{self.flow.name}"[:64],
            task_name=self.flow.name,
            parameters=record.parameters,
            tags=record.tags,
            upstream=self._upstream(parent),
        )
        parent.add_task_run(task_record)
        propose_state(task_record, Pending())
        propose_state(task_record, Running())
        writer.flush()  # the subflow's row points at this task run
        record.parent_task_run_id = task_record.id
        self.parent_task = task_record

    def _upstream(self, parent: FlowRunContext) -> list:
        """The task runs a subflow's arguments and ``wait_for`` came from, in its parent."""
        found: list = []
        for name, value in self.parameters.items():
            collect_upstream(value, parent, name, found)
        for value in self.wait_for:
            collect_upstream(value, parent, "", found)
        return found

    # ---- outcomes -----------------------------------------------------------------------------
    def _wait_for_futures(self, ctx: FlowRunContext, raise_interrupts: bool = True) -> None:
        """Wait for the runs the flow submitted; an interrupt or exit that crashed any task
        run of this attempt is raised then (the flow run crashes with it), as in Prefect 2."""
        for future in list(ctx.futures):
            future.wait()
        if not raise_interrupts:
            return
        for state in ctx.kept_states():  # the others completed
            if state.is_crashed() and is_interrupt(state.data):
                raise state.data

    def _state_from_return(self, value: Any) -> State:
        if value is None and len(self.ctx.task_runs):
            # Every task run and subflow of the attempt stands for the flow, as in Prefect 2;
            # their States are made only if the flow's result is read (RunStates).
            counts, total, runs = self.ctx.task_run_counts()
            state = aggregate_of(counts, total, RunStates(runs)) if total else Completed(data=None)
        else:
            state = state_from_return(value)
        if state.is_completed() and state.has_data:
            return self._completed(state)
        return state

    def _completed(self, state: State) -> State:
        """``state`` with its result persisted when the flow or its caller asks for it."""
        if self.force_persist or self.flow.persist_result:
            from runs.results import ResultNotPersistable, persist_result

            try:
                return state.copy(result_key=persist_result(state.data))
            except ResultNotPersistable as exc:
                return Failed(str(exc))
        return state

    def _failed(self, exc: Exception) -> State:
        from runs.logging import flow_run_logger

        return failed_state(exc, flow_run_logger(self.record), "Flow")

    def _timed_out(self) -> State:
        return timed_out_state("Flow", self.record.name, self.flow.timeout_seconds)

    # ---- the steps of the attempt loop ---------------------------------------------------------
    def prepare(self) -> State | None:
        """Before the first attempt: wait for ``wait_for``, resolve futures and states passed
        as arguments, then check the arguments against the annotations. A state here ends
        the run (UpstreamFailed, or Failed with the ParameterTypeError as its result)."""
        try:
            for value in self.wait_for:
                resolve(value)
            if self.parent_ctx is not None:  # a subflow's arguments, as a task's
                self.parameters = {name: resolve(v) for name, v in self.parameters.items()}
        except UpstreamNotCompleted as exc:
            return self.propose(UpstreamFailed(str(exc)))
        if not self.validated:
            self._validate()
        if self.invalid is not None:
            from runs.logging import flow_run_logger

            flow_run_logger(self.record).error(
                "Validation of flow parameters failed with error: %s", self.invalid
            )
            return self.propose(Failed(str(self.invalid), data=self.invalid))
        self.bound.arguments.update(self.parameters)
        return None

    def _validate(self) -> None:
        """Check and coerce the arguments against the annotations (``validate_parameters``);
        the run records the coerced values, or fails before its first attempt."""
        self.validated = True
        validate = self.flow.validate_arguments
        if validate is None:
            return
        try:
            self.parameters = validate(self.parameters)
        except ParameterTypeError as exc:
            self.invalid = exc

    def propose(self, state: State) -> State:
        return propose_state(self.record, state)

    def wait_for_slot(self) -> None:
        """Flow runs take no slots; never called."""

    def conclude(self, outcome: State) -> State:
        """Propose an attempt's outcome once every task run row is in and every slot they held
        is free; orchestration may answer AwaitingRetry (the runner starts again then)."""
        from runs.orchestration.slots import release_deferred

        runner = self.ctx.task_runner
        runner.shutdown()
        writer.flush()
        release_deferred()
        accepted = self.propose(outcome)
        if accepted.is_scheduled():
            runner.start()
        return accepted

    def finish(self, state: State) -> State:
        """The run is final: its runner is shut down, its parent task run (a subflow's) takes
        its state."""
        from runs.leases import active_flow_runs

        if self.ctx is not None:
            self.ctx.task_runner.shutdown()  # a no-op when the last attempt's outcome did it
        state.flow_run_id = self.record.id
        if self.parent_task is not None:
            # A subflow's state and result, passed on to a task, link it to this task run.
            state.task_run_id = self.parent_task.id
            propose_state(self.parent_task, state.copy(name=state.name, message=state.message))
            if state.is_completed() and state.has_data:
                link_result(self.parent_ctx.results_by_id, self.parent_task.id, state.data)
        active_flow_runs.pop(self.record.id, None)
        run_hooks(self.flow, self.record, state)
        return state

    def crash(self, exc: BaseException) -> None:
        if is_interrupt(exc) and self.ctx is not None:
            self.ctx.task_runner.abandon()  # what runs elsewhere is not waited for
        self._wait_for_futures(self.ctx, raise_interrupts=False)
        self.finish(self.conclude(crashed_state(exc)))

    # ---- drivers -------------------------------------------------------------------------------
    def run_sync(self) -> State:
        ctx = self.begin()
        token = flow_run_context.set(ctx)
        task_token = task_run_context.set(None)
        try:
            return drive_sync(self)
        finally:
            task_run_context.reset(task_token)
            flow_run_context.reset(token)

    async def run_async(self) -> State:
        ctx = await asyncio.to_thread(self.begin)
        token = flow_run_context.set(ctx)
        task_token = task_run_context.set(None)
        try:
            return await drive_async(self)
        finally:
            task_run_context.reset(task_token)
            flow_run_context.reset(token)

    # ---- one attempt ---------------------------------------------------------------------------
    def execute_sync(self) -> State | AlreadyDecided:
        self.ctx.start_attempt()  # each attempt stands on its own runs, reusing completed ones
        timeout = self.flow.timeout_seconds
        on_stuck = (
            None if timeout is None else stuck_reporter(self.record, self.conclude, self._timed_out)
        )
        deadline = None
        try:
            with deadline_scope(timeout, on_stuck) as deadline:
                value = self.flow.fn(*self.bound.args, **self.bound.kwargs)
        except RunTimeout as exc:
            if deadline is None or not deadline.expired or exc.token not in (deadline, None):
                raise
            # Runs still going finish on their own.
            return decided_by_watchdog(deadline) or self._timed_out()
        except Exception as exc:
            self._wait_for_futures(self.ctx)
            return decided_by_watchdog(deadline) or self._failed(exc)
        self._wait_for_futures(self.ctx)
        return decided_by_watchdog(deadline) or self._state_from_return(value)

    async def execute_async(self) -> State:
        timeout = self.flow.timeout_seconds
        ctx = self.ctx
        ctx.start_attempt()
        try:
            async with asyncio.timeout(timeout) as scope:
                value = await self.flow.fn(*self.bound.args, **self.bound.kwargs)
        except TimeoutError as exc:
            if timeout is not None and scope.expired():
                return self._timed_out()
            await asyncio.to_thread(self._wait_for_futures, ctx)
            return await asyncio.to_thread(self._failed, exc)
        except Exception as exc:
            await asyncio.to_thread(self._wait_for_futures, ctx)
            return await asyncio.to_thread(self._failed, exc)
        await asyncio.to_thread(self._wait_for_futures, ctx)
        return await asyncio.to_thread(self._state_from_return, value)

    # ---- the caller's view --------------------------------------------------------------------
    @staticmethod
    def outcome(state: State, return_state: bool) -> Any:
        if return_state:
            return state
        result = state.result()
        if isinstance(result, RunStates):
            result.fill()  # the caller gets a list like any other
        return result


def call_flow(
    flow: Flow, args: tuple, kwargs: dict, return_state: bool, wait_for: Any = None
) -> Any:
    """A call of a flow: a new flow run (a subflow run when called inside a flow)."""
    if wait_for is not None and flow_run_context.get() is None:
        raise ValueError(
            "Only flows run as subflows can wait for dependencies: wait_for= is for a flow called "
            "inside another flow. Call the flows one after another instead."
        )
    engine = FlowRunEngine(flow, args, kwargs, wait_for=wait_for)
    if flow.isasync:

        async def run() -> Any:
            return engine.outcome(await engine.run_async(), return_state)

        return run()
    if in_event_loop():
        return run_in_thread(lambda: engine.outcome(engine.run_sync(), return_state))
    return engine.outcome(engine.run_sync(), return_state)
