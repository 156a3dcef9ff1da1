"""Celery tasks: translate messages into engine calls, and nothing more.

``run_task_run`` carries one task run submitted by a CeleryTaskRunner (a signed cloudpickle
payload), ``run_task_runs`` a chunk of short ones; ``run_flow_run`` starts a registered flow run
by id (JSON parameters only).
"""

from __future__ import annotations

import logging
import threading
import time

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.core.exceptions import ObjectDoesNotExist

from runs.engine.attempts import Deferred
from runs.orchestration.ended_flows import end_runs_of_ended_flow_runs
from runs.reconnect import once_reopened
from runs.states import now

logger = logging.getLogger("runs.worker")

#: How often the worker asks whether the daily retention pass is due (seconds).
RETENTION_CHECK_SECONDS = 3600
#: How often a chunk's later runs are checked again for a flow run that ended (seconds).
RECHECK_FLOW_RUNS_SECONDS = 1.0
#: Claimed messages of the filesystem broker older than this are deleted (seconds).
PROCESSED_MESSAGE_SECONDS = 60

_MISSING = object()  # a run the database does not have, as found by a chunk's one query
_handing_over = threading.local()  # whether this thread runs parked runs one after another


class Park(Deferred):
    """The run must wait for a concurrency slot: park its message instead of blocking."""


def park_instead_of_waiting(record: object) -> None:
    """The worker's slot waiter: a run that must wait for a slot is parked until one frees
    (:mod:`runs.runners.parking`), and the process takes other work."""
    raise Park


@worker_process_init.connect
def _start_heartbeat(**_: object) -> None:
    from runs.bootstrap import ensure_ready
    from runs.leases import ensure_heartbeat
    from runs.runners.parking import parked_sender

    ensure_ready()
    ensure_heartbeat()
    parked_sender.start()


@worker_ready.connect
def _start_housekeeping(**_: object) -> None:
    """From the worker's main process: RUNS_RETENTION_DAYS once a day, and the broker's files."""
    from runs.process import runtime
    from runs_project.celery import app

    runtime.ensure("retention", _retention_loop)
    folder = (app.conf.broker_transport_options or {}).get("processed_folder")
    if str(app.conf.broker_url).startswith("filesystem://") and folder:
        runtime.ensure("broker-cleanup", _processed_cleanup_loop, folder)


def _processed_cleanup_loop(folder: str) -> None:
    """Delete messages the filesystem broker's consumers claimed more than a minute ago."""
    import os

    while True:
        cutoff = time.time() - PROCESSED_MESSAGE_SECONDS
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        # ctime: the rename that claimed it, not when it was queued
                        if entry.is_file() and entry.stat().st_ctime < cutoff:
                            os.remove(entry.path)
                    except FileNotFoundError:
                        pass  # another worker removed it first
        except OSError:
            logger.warning("Could not clean the broker folder %s", folder, exc_info=True)
        time.sleep(PROCESSED_MESSAGE_SECONDS)


def _retention_loop() -> None:
    from runs.services.prune import prune_if_due

    while True:
        try:
            prune_if_due()
        except Exception:
            logger.exception("The retention pass failed; it will be tried again in an hour.")
        time.sleep(RETENTION_CHECK_SECONDS)


@shared_task(name="runs.run_task_run", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_task_run(self, payload: str, attempt: int = 0) -> str:
    """Run one task run sent by a CeleryTaskRunner; returns the final state's name.

    ``attempt`` is read no more (messages re-queued by an earlier version carry it)."""
    return _run_payload(payload, _queue_of(self), write_behind=False)


@shared_task(name="runs.run_task_runs", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_task_runs(self, payloads: list[str]) -> list[str]:
    """Run a chunk of short task runs one after another; returns their final states' names.

    Their transitions go through the write-behind buffer and are committed together before the
    message is acknowledged, so the chunk costs a few commits instead of two per run; a run
    that lasts longer than the writer's interval is seen RUNNING meanwhile, so the reaper can
    still tell if this process dies. If it dies mid-chunk, the message is delivered again and
    the runs already final are skipped.
    """
    from runs.orchestration import load_task_run_records
    from runs.orchestration.writer import writer

    messages = [_load(payload) for payload in payloads]
    ids = [m["task_run_id"] for m in messages if m is not None]

    def claim_and_load() -> tuple[dict, dict]:
        _claim(ids)
        ended = end_runs_of_ended_flow_runs(ids)
        return ended, load_task_run_records([run for run in ids if run not in ended])

    ended, records = once_reopened(claim_and_load)
    checked = time.monotonic()
    names = []
    try:
        for index, (message, payload) in enumerate(zip(messages, payloads, strict=True)):
            if message is None:
                names.append("Refused")
                continue
            if time.monotonic() - checked > RECHECK_FLOW_RUNS_SECONDS:
                # A long chunk: the flow run may have ended since its first run started.
                writer.flush()
                later = [m["task_run_id"] for m in messages[index:] if m is not None]
                ended.update(end_runs_of_ended_flow_runs(later))
                checked = time.monotonic()
            run_id = message["task_run_id"]
            names.append(
                ended.get(run_id)
                or _run_message(
                    message,
                    payload,
                    _queue_of(self),
                    write_behind=True,
                    record=records.get(run_id, _MISSING),
                )
            )
        return names
    finally:
        writer.flush()


def _claim(task_run_ids: list[str]) -> None:
    """Mark the chunk's runs as this process's, so that if it dies before starting them the
    reaper ends them CRASHED instead of leaving them Pending."""
    from runs.orchestration.ownership import claim_task_runs

    claim_task_runs(task_run_ids)


def _queue_of(task) -> str | None:
    return (task.request.delivery_info or {}).get("routing_key") or None


def _load(payload: str) -> dict | None:
    """The message inside a signed payload, or None (logged) when its signature is wrong."""
    from runs.bootstrap import ensure_ready
    from runs.leases import ensure_heartbeat
    from runs.signing import BadSignature, loads

    ensure_ready()
    ensure_heartbeat()
    try:
        return loads(payload)
    except BadSignature as exc:
        logger.error("Refused a task run message: %s", exc)
        return None


def _run_payload(
    payload: str, queue: str | None, *, write_behind: bool, flow_run_checked: bool = False
) -> str:
    message = _load(payload)
    if message is None:
        return "Refused"
    ended = (
        {}
        if flow_run_checked
        else once_reopened(lambda: end_runs_of_ended_flow_runs([message["task_run_id"]]))
    )
    if ended:
        return ended[message["task_run_id"]]
    return _run_message(message, payload, queue, write_behind=write_behind)


def _run_message(
    message: dict, payload: str, queue: str | None, *, write_behind: bool, record=None
) -> str:
    """Run the task run of one message; ``record`` may come preloaded (a chunk loads them all
    in one query), or ``_MISSING`` when the database has no such run."""
    from runs.engine.task_engine import TaskRunEngine, retry_options
    from runs.orchestration import Verdict, load_task_run_record
    from runs.orchestration.ownership import judge_delivery

    try:
        if record is _MISSING:
            raise ObjectDoesNotExist
        if record is None:
            record = once_reopened(lambda: load_task_run_record(message["task_run_id"]))
    except ObjectDoesNotExist:
        logger.warning(
            "Dropped a message for task run %s, which this database does not have "
            "(pruned, or sent by a project with another database).",
            message["task_run_id"],
        )
        return "Unknown"
    judged = judge_delivery(record, retry_options(message["task"]))
    if judged.verdict is not Verdict.ACCEPT:
        # A duplicate of a finished run, a run alive on another worker, or one whose worker died.
        return judged.state.name if judged.state.is_final() else "AlreadyRunning"
    if judged.state is not None and judged.state.scheduled_time is not None:
        # Its worker died and it is retried here, after its retry delay.
        time.sleep(max((judged.state.scheduled_time - now()).total_seconds(), 0.0))
    record.sync = not write_behind
    engine = TaskRunEngine.resume(
        message["task"], record, message["parameters"], slot_waiter=park_instead_of_waiting
    )
    try:
        if engine.task.isasync:
            import asyncio

            state = asyncio.run(engine.run_async())
        else:
            state = engine.run_sync()
    except Park:
        _park(record, payload, queue)
        # A slot may have freed meanwhile (its holder found nothing parked yet): this process
        # is free, so it runs what may go now itself, this run perhaps.
        _run_parked_here(queue)
        return "AwaitingConcurrencySlot"
    if record.limited:
        _run_parked_here(queue)
    return state.name


def _run_parked_here(queue: str | None) -> None:
    """A slot may be free (this process's run freed it, or freed it while it parked): run here,
    one after another, the parked runs of this queue that may take one now (no trip through
    the broker), until there are none."""
    from runs.orchestration.writer import writer
    from runs.runners.parking import take_parked

    if getattr(_handing_over, "active", False):
        return  # the loop below, one call up, takes the next
    _handing_over.active = True
    try:
        while (taken := take_parked(queue)) is not None:
            task_run_id, payload = taken
            logger.info("Task run %s may take its slot now: running it here.", task_run_id)
            try:
                # Written behind, as in a chunk: the slot's transactions stay short.
                _run_payload(payload, queue, write_behind=True, flow_run_checked=True)
            finally:
                writer.flush()
    finally:
        _handing_over.active = False


def _park(record, payload: str, queue: str | None) -> None:
    from runs.orchestration.writer import writer
    from runs.runners.parking import park, parked_sender

    # Its waiting state is in the database before anyone can send it again.
    writer.flush()
    park(record.id, payload, queue)
    parked_sender.start()
    logger.info(
        "Task run %s (%s) waits for a concurrency slot: %s Parked until one frees.",
        record.id,
        record.name,
        record.state.message if record.state else "",
    )


@shared_task(name="runs.run_flow_run", acks_late=True, reject_on_worker_lost=True)
def run_flow_run(flow_run_id: str, parameters: dict) -> str:
    """Run a flow run created by ``start_flow_run``; returns the final state's name. Once it
    has ended, its work queue's next runs are sent."""
    from runs.services.dispatch import dispatch_after

    try:
        return _run_flow_run(flow_run_id, parameters)
    finally:
        dispatch_after(flow_run_id)


def _run_flow_run(flow_run_id: str, parameters: dict) -> str:
    from runs.bootstrap import ensure_ready
    from runs.engine.flow_engine import FlowRunEngine
    from runs.leases import ensure_heartbeat
    from runs.orchestration import load_flow_run_record, set_flow_run_state
    from runs.parameters import ParameterError, coerce_parameters
    from runs.registry import RegistrationError, UnknownFlow, load_flow
    from runs.services.flow_runs import given_parameters
    from runs.states import Failed

    ensure_ready()
    ensure_heartbeat()
    try:
        record = load_flow_run_record(flow_run_id)
    except ObjectDoesNotExist:
        logger.warning(
            "Dropped a message for flow run %s, which this database does not have.", flow_run_id
        )
        return "Unknown"
    if record.is_final():
        return record.state.name
    try:
        flow = load_flow(record.flow_name)
        values = coerce_parameters(flow.fn, given_parameters(flow, parameters))
    except (UnknownFlow, RegistrationError, ParameterError) as exc:
        return set_flow_run_state(flow_run_id, Failed(str(exc))).name
    engine = FlowRunEngine(flow, (), values, record=record)
    engine.force_persist = True
    try:
        return engine.run_sync().name
    except BaseException:  # the flow run's state already says what happened
        return record.state.name if record.state else "Crashed"
