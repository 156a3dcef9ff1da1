"""One flow run: record it, run the function with its task runner, derive the final state, retry.

The final state follows Prefect 2: an exception fails the run; a returned State or future
gives its state; returned states or futures fail the run if any failed; a flow that returns
None fails if any of its task runs or subflow runs failed; anything else completes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from runs import conf
from runs.context import FlowRunContext, current_tags, flow_run_context, task_run_context
from runs.engine.timeouts import RunTimeout, deadline_scope
from runs.futures import RunFuture
from runs.orchestration import propose_state, writer
from runs.orchestration.records import FlowRunRecord, TaskRunRecord
from runs.parameters import jsonable_parameters
from runs.retries import delay_for_attempt, jittered
from runs.states import (
    AwaitingRetry,
    Cancelled,
    Completed,
    Crashed,
    Failed,
    Pending,
    Retrying,
    Running,
    State,
    StateType,
    TimedOut,
    now,
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

    with _flow_ids_lock:
        row, created = FlowRow.objects.get_or_create(
            name=flow.name, defaults={"description": flow.description or ""}
        )
        _flow_ids[flow.name] = row.id
        return row.id


class FlowRunEngine:
    """Everything about one flow run; drive it with :meth:`run_sync` or :meth:`run_async`."""

    def __init__(self, flow: Flow, args: tuple, kwargs: dict,
                 record: FlowRunRecord | None = None) -> None:
        bound = flow.signature.bind(*args, **kwargs)  # TypeError before any run is recorded
        bound.apply_defaults()
        self.flow = flow
        self.parameters = dict(bound.arguments)
        self.bound = bound
        self.parent_ctx = flow_run_context.get()
        self.parent_task: TaskRunRecord | None = None
        self.force_persist = False
        self.counts: dict[StateType, int] = {}
        self._counts_lock = threading.Lock()
        self.record = record or FlowRunRecord(
            name="", flow_name=flow.name, parameters=jsonable_parameters(self.parameters),
            tags=sorted(current_tags()), sync=True,
        )

    # ---- set-up -------------------------------------------------------------------------------
    def _run_name(self) -> str:
        from runs.names import random_run_name

        template = self.flow.flow_run_name
        if template is None:
            return random_run_name()
        if callable(template):
            return str(template())
        try:
            return template.format(**self.parameters)
        except KeyError as exc:
            raise ValueError(
                f"flow_run_name {template!r} of flow {self.flow.name!r} names {{{exc.args[0]}}}, "
                f"which is not a parameter; its parameters are: "
                f"{', '.join(self.parameters) or 'none'}."
            ) from None

    def _note_final(self, state: State) -> None:
        with self._counts_lock:
            self.counts[state.type] = self.counts.get(state.type, 0) + 1

    def begin(self) -> FlowRunContext:
        """Record the run (and, for a subflow, its task run in the parent) and build its context."""
        from runs.bootstrap import ensure_ready
        from runs.leases import active_flow_runs, ensure_heartbeat
        from runs.runners import default_task_runner

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
        runner = (self.flow.task_runner or default_task_runner()).duplicate()
        runner.start()
        log_prints = bool(self.flow.log_prints)
        if self.flow.log_prints is None and self.parent_ctx is not None:
            log_prints = self.parent_ctx.log_prints
        if log_prints:
            from runs.logging import install_print_capture

            install_print_capture()
        return FlowRunContext(self.flow, record, runner, log_prints=log_prints,
                              note_final=self._note_final)

    def _begin_parent_task_run(self, record: FlowRunRecord) -> None:
        parent = self.parent_ctx
        index = parent.next_index(f"subflow:{self.flow.name}")
        task_record = TaskRunRecord(
            name=f"{self.flow.name}-{index}", flow_run_id=parent.flow_run.id,
            flow_run=parent.flow_run, task_key=f"subflow:{self.flow.name}"[:64],
            task_name=self.flow.name, parameters=record.parameters, tags=record.tags,
        )
        task_record.on_final.append(parent.note_final)
        propose_state(task_record, Pending())
        propose_state(task_record, Running())
        writer.flush()  # the subflow's row points at this task run
        record.parent_task_run_id = task_record.id
        self.parent_task = task_record

    # ---- outcomes -----------------------------------------------------------------------------
    def _wait_for_futures(self, ctx: FlowRunContext) -> None:
        for future in ctx.futures:
            future.wait()

    def _state_from_return(self, value: Any) -> State:
        if isinstance(value, State):
            return value
        if isinstance(value, RunFuture):
            return value.wait()
        if isinstance(value, list | tuple | set) and value and all(
            isinstance(v, State | RunFuture) for v in value
        ):
            states = [v.wait() if isinstance(v, RunFuture) else v for v in value]
            bad = [s for s in states if not s.is_completed()]
            if bad:
                return Failed(f"{len(bad)}/{len(states)} states are not completed.")
            return Completed(data=[s.result() for s in states])
        if value is None:
            failed = self.counts.get(StateType.FAILED, 0) + self.counts.get(StateType.CRASHED, 0)
            total = sum(self.counts.values())
            if failed:
                return Failed(f"{failed} of {total} task runs of this flow run did not complete.")
            if self.counts.get(StateType.CANCELLED):
                return Cancelled(f"{self.counts[StateType.CANCELLED]} task runs were cancelled.")
        return self._completed(value)

    def _completed(self, value: Any) -> State:
        result_key = ""
        if self.force_persist or self.flow.persist_result:
            from runs.results import ResultNotPersistable, persist_result

            try:
                result_key = persist_result(value)
            except ResultNotPersistable as exc:
                return Failed(str(exc))
        return Completed(data=value, result_key=result_key)

    def _failed(self, exc: Exception) -> State:
        from runs.logging import flow_run_logger

        flow_run_logger(self.record).error(
            "Flow run failed with %s: %s\n%s", type(exc).__name__, exc,
            "".join(traceback.format_exception(exc)).rstrip(),
        )
        return Failed(f"{type(exc).__name__}: {exc}", data=exc)

    def _timed_out(self) -> State:
        seconds = self.flow.timeout_seconds
        return TimedOut(f"Flow run exceeded its timeout of {seconds:g} seconds; it was stopped.",
                        data=TimeoutError(f"Flow run {self.record.name!r} timed out after "
                                          f"{seconds:g} seconds"))

    def _retry_delay(self, state: State) -> float | None:
        if state.type is not StateType.FAILED:
            return None
        retries = self.flow.retries
        if retries is None:
            retries = conf.settings.RUNS_FLOW_DEFAULT_RETRIES
        if self.record.run_count > retries:
            return None
        delays = self.flow.retry_delay_seconds
        if delays is None:
            delays = conf.settings.RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS
        return jittered(delay_for_attempt(delays, retries, self.record.run_count), None)

    def _propose(self, state: State) -> State:
        return propose_state(self.record, state)

    def _finish(self, ctx: FlowRunContext, state: State) -> State:
        from limits.slots import release_deferred
        from runs.leases import active_flow_runs

        ctx.task_runner.shutdown()
        writer.flush()  # every task run row is in before the flow run is final
        release_deferred()  # and every slot its task runs held is free
        accepted = self._propose(state)
        accepted.flow_run_id = self.record.id
        if self.parent_task is not None:
            parent_state = accepted.copy(name=accepted.name, message=accepted.message)
            propose_state(self.parent_task, parent_state)
        active_flow_runs.pop(self.record.id, None)
        return accepted

    def _running(self) -> State:
        return Retrying() if self.record.run_count > 0 else Running()

    # ---- sync driver --------------------------------------------------------------------------
    def run_sync(self) -> State:
        ctx = self.begin()
        token = flow_run_context.set(ctx)
        task_token = task_run_context.set(None)
        try:
            while True:
                state = self._propose(self._running())
                if not state.is_running():
                    return self._finish(ctx, state)
                proposed = self._execute_sync(ctx)
                delay = self._retry_delay(proposed)
                if delay is None:
                    return self._finish(ctx, proposed)
                self._propose(AwaitingRetry(
                    f"Retry {self.record.run_count} in {delay:g} seconds",
                    scheduled_time=now() + dt.timedelta(seconds=delay)))
                time.sleep(delay)
        except BaseException as exc:
            if not self.record.is_final():
                self._wait_for_futures(ctx)
                self._finish(ctx, Crashed(f"{type(exc).__name__}: {exc}".rstrip(": "), data=exc))
            raise
        finally:
            task_run_context.reset(task_token)
            flow_run_context.reset(token)

    def _execute_sync(self, ctx: FlowRunContext) -> State:
        def record_timeout() -> None:
            self._propose(self._timed_out())

        deadline = None
        try:
            with deadline_scope(self.flow.timeout_seconds, on_expire=record_timeout) as deadline:
                value = self.flow.fn(*self.bound.args, **self.bound.kwargs)
        except RunTimeout as exc:
            if deadline is not None and deadline.expired and exc.token in (deadline, None):
                return self._timed_out()  # runs still going finish on their own
            raise
        except Exception as exc:
            self._wait_for_futures(ctx)
            return self._failed(exc)
        self._wait_for_futures(ctx)
        return self._state_from_return(value)

    # ---- async driver -------------------------------------------------------------------------
    async def run_async(self) -> State:
        ctx = await asyncio.to_thread(self.begin)
        token = flow_run_context.set(ctx)
        task_token = task_run_context.set(None)
        try:
            while True:
                state = await asyncio.to_thread(self._propose, self._running())
                if not state.is_running():
                    return await asyncio.to_thread(self._finish, ctx, state)
                proposed = await self._execute_async(ctx)
                delay = self._retry_delay(proposed)
                if delay is None:
                    return await asyncio.to_thread(self._finish, ctx, proposed)
                await asyncio.to_thread(self._propose, AwaitingRetry(
                    f"Retry {self.record.run_count} in {delay:g} seconds",
                    scheduled_time=now() + dt.timedelta(seconds=delay)))
                await asyncio.sleep(delay)
        except BaseException as exc:
            if not self.record.is_final():
                await asyncio.to_thread(self._wait_for_futures, ctx)
                await asyncio.to_thread(
                    self._finish, ctx, Crashed(f"{type(exc).__name__}: {exc}".rstrip(": "),
                                               data=exc))
            raise
        finally:
            task_run_context.reset(task_token)
            flow_run_context.reset(token)

    async def _execute_async(self, ctx: FlowRunContext) -> State:
        timeout = self.flow.timeout_seconds
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
        return state if return_state else state.result()


def call_flow(flow: Flow, args: tuple, kwargs: dict, return_state: bool) -> Any:
    """A call of a flow: a new flow run (a subflow run when called inside a flow)."""
    engine = FlowRunEngine(flow, args, kwargs)
    if flow.isasync:
        async def run() -> Any:
            return engine.outcome(await engine.run_async(), return_state)

        return run()
    from runs.engine.task_engine import _in_event_loop, _run_in_thread

    if _in_event_loop():
        return _run_in_thread(lambda: engine.outcome(engine.run_sync(), return_state))
    return engine.outcome(engine.run_sync(), return_state)
