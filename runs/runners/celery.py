"""CeleryTaskRunner: each submitted task run becomes a Celery message run by ``runs worker``.

Upstream futures are resolved in the calling process (a small local thread pool, so
``submit`` never blocks), then the task and its inputs travel as a signed cloudpickle payload.
The worker runs the same engine against the same database; the future resolves from the
database, and the result from the result store (the worker persists it).
"""

from __future__ import annotations

import functools
import logging
import queue as queue_module
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from runs.futures import RunFuture
from runs.links import link_result
from runs.process import runtime
from runs.runners import TaskRunner
from runs.runners.watch import sent_runs
from runs.states import State

if TYPE_CHECKING:
    from runs.engine.task_engine import TaskRunEngine

logger = logging.getLogger("runs.celery")

POLL_SECONDS = 0.02
#: Most runs in one message, and how many messages a large batch is at least split into (so
#: that every worker process gets some).
MAX_CHUNK = 20
CHUNKS_PER_BATCH = 16
#: Ids per query when the poller reads final states (under SQLite's variable limit).
POLL_CHUNK = 900
_STATE_COLUMNS = (
    "id",
    "state_type",
    "state_name",
    "state_message",
    "state_timestamp",
    "result_key",
)


def _mark_final(record, row: dict) -> State:
    state = State(
        type=row["state_type"],
        name=row["state_name"],
        message=row["state_message"],
        result_key=row["result_key"],
        timestamp=row["state_timestamp"] or record.created,
        task_run_id=record.id,
        run_name=record.name,
    )
    if state.is_final():
        record.settle(state)
    return state


class FinalStatePoller:
    """One thread per process that reads, in one query per tick, which awaited runs are final.

    A caller waiting on thousands of futures then costs one query every POLL_SECONDS, not one
    per future.
    """

    def __init__(self) -> None:
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, record) -> None:
        """Set ``record.final_event`` once the database shows the run final."""
        with self._lock:
            self._pending[record.id] = record
            if self._thread is None or not self._thread.is_alive():
                self._thread = runtime.ensure("celery-poll", self._loop)
        self._wake.set()

    def _loop(self) -> None:
        from runs.models import TaskRun
        from runs.states import FINAL_TYPES

        while True:
            with self._lock:
                for run_id in [i for i, r in self._pending.items() if r.final_event.is_set()]:
                    del self._pending[run_id]
                ids = list(self._pending)
            if not ids:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                for start in range(0, len(ids), POLL_CHUNK):
                    rows = TaskRun.objects.filter(
                        id__in=ids[start : start + POLL_CHUNK], state_type__in=FINAL_TYPES
                    ).values(*_STATE_COLUMNS)
                    for row in rows:
                        with self._lock:
                            record = self._pending.pop(row["id"], None)
                        if record is not None:
                            _mark_final(record, row)
                sent_runs.look_if_due()
            except Exception:  # the database is briefly unavailable: ask again next tick
                from django.db import close_old_connections

                close_old_connections()
            time.sleep(POLL_SECONDS)


poller = FinalStatePoller()


class CeleryRunFuture(RunFuture):
    """A future whose state is read from the database until it is final."""

    def _refresh(self) -> State:
        from runs.models import TaskRun

        record = self._record
        if record.is_final():
            return record.state
        row = TaskRun.objects.filter(id=record.id).values(*_STATE_COLUMNS).first()
        if row is None:
            return record.state
        return _mark_final(record, row)

    @property
    def state(self) -> State:
        return self._refresh()

    #: Set once its runner was abandoned (the flow run interrupted): nothing waits any more.
    abandoned: threading.Event | None = None

    def _wait_final(self, timeout: float | None) -> bool:
        if self._record.is_final():
            return True
        poller.watch(self._record)
        abandoned = self.abandoned
        if abandoned is None:
            return self._record.final_event.wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not abandoned.is_set():
            left = POLL_SECONDS * 5 if deadline is None else deadline - time.monotonic()
            if self._record.final_event.wait(min(left, POLL_SECONDS * 5)):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return self._record.is_final()


def _chunkable(engine: TaskRunEngine) -> bool:
    """Whether a run may share a message with others: it never sleeps between attempts (a
    retry delay would hold up the chunk's other runs). Retries without a delay, tags, timeouts
    and caching all travel in chunks: a run that must wait for a concurrency slot leaves its
    chunk and is parked (:mod:`runs.runners.parking`)."""
    return not engine.retries or not _sleeps_between_attempts(engine.record.retry_options)


def _sleeps_between_attempts(options) -> bool:
    from runs.retries import delays_of

    delays = delays_of(options, is_task=True)
    if callable(delays):
        return True  # unknown until called: keep such runs in messages of their own
    if isinstance(delays, list | tuple):
        return any(delay > 0 for delay in delays)
    return bool(delays and delays > 0)


def _give_up(engine: TaskRunEngine, exc: BaseException) -> None:
    """A run that could not be sent ends CRASHED, in the database if it can be written and in
    this process in any case, so that nothing waits for it forever."""
    from runs.states import Crashed

    record = engine.record
    if record.is_final():
        return
    try:
        engine.crashed(exc)
    except Exception:
        logger.exception("Could not record that task run %s was not sent", record.id)
    if not record.final_event.is_set():  # the database refused even the crash
        record.settle(
            Crashed(
                f"Could not send the task run to a worker: {type(exc).__name__}: {exc}",
                task_run_id=record.id,
                run_name=record.name,
            )
        )


class CeleryTaskRunner(TaskRunner):
    """Send submitted task runs to Celery workers (``runs worker``).

    Runs whose inputs are ready go straight to one sender thread, which writes every waiting
    Pending row in one flush and publishes the batch on one broker connection; runs that wait
    for upstream futures wait in a small pool first, then join the sender's queue.
    """

    name = "celery"

    def __init__(self, queue: str | None = None) -> None:
        self.queue = queue
        self._waiting: ThreadPoolExecutor | None = None
        self._outbox: queue_module.SimpleQueue = queue_module.SimpleQueue()
        self._sender: threading.Thread | None = None
        self._lock = threading.Lock()
        self._open: set = set()  # ids of its runs not seen final, to cancel them if abandoned
        self.abandoned = threading.Event()

    def duplicate(self) -> CeleryTaskRunner:
        return CeleryTaskRunner(self.queue)

    def submit(self, engine: TaskRunEngine) -> RunFuture:
        from runs.engine.inputs import needs_resolution

        engine.start()  # buffered: the sender writes a batch of Pending rows in one flush
        record = engine.record
        record.sync = True  # the worker reads the row: write later transitions at once
        self._open.add(record.id)
        record.on_final.append(lambda _state: self._open.discard(record.id))
        links = engine.flow_ctx.results_by_id
        # The result, once read here, links to the run like a result made in this process.
        record.on_final.append(
            lambda state: setattr(
                state, "on_load", functools.partial(link_result, links, record.id)
            )
        )
        if engine.wait_for or needs_resolution(engine.raw_parameters):
            with self._lock:
                if self._waiting is None:
                    self._waiting = ThreadPoolExecutor(8, thread_name_prefix="runs-celery-wait")
            self._waiting.submit(self._resolve_then_send, engine)
        else:
            self._enqueue(engine)
        poller.watch(engine.record)
        future = CeleryRunFuture(engine.record)
        future.abandoned = self.abandoned
        return future

    def _resolve_then_send(self, engine: TaskRunEngine) -> None:
        try:
            if engine.resolve_inputs() is not None:
                return  # an upstream failed: the run ended here, nothing to send
        except BaseException as exc:
            _give_up(engine, exc)
            return
        self._enqueue(engine)

    def _enqueue(self, engine: TaskRunEngine) -> None:
        with self._lock:
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send_loop, daemon=True, name="runs-celery-send"
                )
                self._sender.start()
        self._outbox.put(engine)

    def _send_loop(self) -> None:
        while True:
            batch = [self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get())
            stop = None in batch
            engines = [engine for engine in batch if engine is not None]
            try:
                self._send_batch(engines)
            except BaseException as exc:  # never leave a caller waiting on a run not sent
                for engine in engines:
                    _give_up(engine, exc)
            if stop:
                return

    def _send_batch(self, batch: list[TaskRunEngine]) -> None:
        from runs.orchestration.writer import writer
        from runs.runners.messages import RUN_TASK_RUN, RUN_TASK_RUNS
        from runs.signing import dumps
        from runs_project.celery import app

        if not batch:
            return
        if self.abandoned.is_set():
            for engine in batch:
                _give_up(engine, KeyboardInterrupt())
            return
        try:
            if any(not engine.record.persisted for engine in batch):
                writer.flush()  # the workers must find the rows
        except BaseException as exc:
            for engine in batch:
                _give_up(engine, exc)
            return
        options = {"queue": self.queue} if self.queue else {}
        payloads: list[tuple[TaskRunEngine, str]] = []
        for engine in batch:
            try:
                if engine.parameters is None and engine.resolve_inputs() is not None:
                    continue
                payloads.append(
                    (
                        engine,
                        dumps(
                            {
                                "task": engine.task,
                                "task_run_id": str(engine.record.id),
                                "parameters": engine.parameters,
                            }
                        ),
                    )
                )
            except BaseException as exc:
                _give_up(engine, exc)
        grouped, singles = [], []
        for item in payloads:
            (grouped if _chunkable(item[0]) else singles).append(item)
        size = min(MAX_CHUNK, max(1, len(grouped) // CHUNKS_PER_BATCH))
        if size == 1:  # too few to share messages and still reach every worker process
            singles, grouped = payloads, []
        with app.producer_or_acquire() as producer:
            for engine, payload in singles:
                try:
                    app.send_task(RUN_TASK_RUN, args=[payload], producer=producer, **options)
                except BaseException as exc:
                    _give_up(engine, exc)
                else:
                    sent_runs.add(engine, payload, self.queue)
            for start in range(0, len(grouped), size):
                chunk = grouped[start : start + size]
                try:
                    app.send_task(
                        RUN_TASK_RUNS,
                        args=[[payload for _, payload in chunk]],
                        producer=producer,
                        **options,
                    )
                except BaseException as exc:
                    for engine, _ in chunk:
                        _give_up(engine, exc)
                else:
                    for engine, payload in chunk:
                        sent_runs.add(engine, payload, self.queue)

    def abandon(self) -> None:
        """The flow run was interrupted: runs not sent yet are not sent, runs sent that no
        worker started are CANCELLED (a worker that receives one drops it), and nothing waits
        for runs already running on workers (they finish there and are recorded)."""
        from runs.models import TaskRun
        from runs.orchestration import set_task_run_state
        from runs.states import Cancelled

        self.abandoned.set()
        open_ids = list(self._open)
        not_started = []
        for start in range(0, len(open_ids), POLL_CHUNK):
            not_started += TaskRun.objects.filter(
                id__in=open_ids[start : start + POLL_CHUNK], state_type="PENDING"
            ).values_list("id", flat=True)
        for task_run_id in not_started:
            set_task_run_state(
                task_run_id,
                Cancelled(
                    "Its flow run was interrupted before a worker started it, so it was cancelled."
                ),
            )
        if not_started:
            logger.warning(
                "Cancelled %d task runs sent to workers that had not started.", len(not_started)
            )

    def shutdown(self) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, None
            sender, self._sender = self._sender, None
        abandoned = self.abandoned.is_set()
        if waiting is not None:
            waiting.shutdown(wait=not abandoned, cancel_futures=abandoned)
        if sender is not None:
            self._outbox.put(None)
            # An interrupted flow does not wait on a broker that does not answer.
            sender.join(timeout=5 if abandoned else None)
