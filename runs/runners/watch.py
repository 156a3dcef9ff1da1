"""What a caller watches of the task runs it sent to Celery workers, besides their end.

A worker can die whole (``kill -9`` of its main process, the machine lost): on Redis its
messages come back only after the broker's visibility timeout, long after anyone waits. The
caller still holds each message it sent, so it looks, every ``LOOK_SECONDS`` while it waits:

- a run whose worker died while running it is judged by orchestration as a redelivery would be
  (:func:`runs.orchestration.ownership.judge_delivery`): with retries left the lost attempt
  counts as failed and the caller sends the run again; without, it ends CRASHED;
- a run a dead worker claimed but never started is sent again (it never began an attempt);
- a run still waiting in a broker that restarted empty (Redis keeps nothing on disk unless
  told to) will never be delivered: it ends CRASHED with a message naming the broker, so the
  caller's futures fail instead of hanging.

The reaper of every process (:mod:`runs.leases`) leaves such runs to their caller while the
caller lives (it could not send them again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runs.engine.task_engine import TaskRunEngine

logger = logging.getLogger("runs.celery")

#: How often a waiting caller looks for runs whose worker or broker was lost.
LOOK_SECONDS = 1.0


@dataclass
class Sent:
    """One message this process sent and whose run it has not seen end."""

    engine: TaskRunEngine
    payload: str
    queue: str | None
    broker_run: str | None  # the broker's identity when it was sent (Redis: its run_id)


class SentRuns:
    """This process's sent messages, by task run id (dropped as their runs end)."""

    def __init__(self) -> None:
        self._sent: dict[str, Sent] = {}
        self._lock = threading.Lock()
        self._next_look = 0.0
        # How many of the sent runs belong to each flow run, and were sent to each broker
        # identity: a look reads these, not every sent run.
        self._flow_runs: Counter = Counter()
        self._brokers: Counter = Counter()

    def add(self, engine: TaskRunEngine, payload: str, queue: str | None) -> None:
        """Remember a sent message until its run ends."""
        record = engine.record
        key = str(record.id)
        item = Sent(engine, payload, queue, broker_identity())
        with record.lock:  # settle() runs on_final under this lock
            if record.final_event.is_set():
                return
            record.on_final.append(lambda _state: self.drop(key))
            with self._lock:
                self._sent[key] = item
                self._flow_runs[record.flow_run_id] += 1
                self._brokers[item.broker_run] += 1

    def drop(self, task_run_id: str) -> None:
        """Forget a run (it ended)."""
        with self._lock:
            item = self._sent.pop(task_run_id, None)
            if item is not None:
                _decrement(self._flow_runs, item.engine.record.flow_run_id)
                _decrement(self._brokers, item.broker_run)

    def __len__(self) -> int:
        return len(self._sent)

    def look_if_due(self) -> None:
        """Look now if ``LOOK_SECONDS`` passed since the last look (the poller's tick)."""
        if not self._sent or time.monotonic() < self._next_look:
            return
        self._next_look = time.monotonic() + LOOK_SECONDS
        try:
            self.look()
        except Exception:
            logger.warning("Could not look for lost task runs yet", exc_info=True)

    def look(self) -> int:
        """Send again, retry or end the runs whose worker died or whose broker lost them; how
        many were acted on.

        Not read by run id, so that a map of a million runs costs a query or two: the runs
        some process holds (as many as runs in flight), and, only after the broker restarted,
        the unclaimed runs of these flow runs.
        """
        from runs.models import TaskRun
        from runs.owners import dead_owners

        with self._lock:
            flow_runs = list(self._flow_runs)
            brokers = set(self._brokers)
        if not flow_runs:
            return 0
        # Every run some process holds (index taskrun_state_owner: as many rows as runs in
        # flight anywhere), of which this process's sent runs are kept.
        held_anywhere = TaskRun.objects.filter(
            state_type__in=("PENDING", "RUNNING"), owner__gt=""
        ).order_by()
        held = [
            (item, state_type, owner)
            for run_id, state_type, owner in held_anywhere.values_list("id", "state_type", "owner")
            if (item := self._sent.get(str(run_id))) is not None
        ]
        dead = dead_owners(owner for _, _, owner in held)
        acted = 0
        for item, state_type, owner in held:
            if owner in dead:
                acted += self._worker_lost(item, state_type, owner)
        current = broker_identity()
        if current is not None and brokers - {None, current}:
            unclaimed = TaskRun.objects.filter(
                flow_run_id__in=flow_runs, state_type="PENDING", owner=""
            ).order_by()
            acted += self._broker_lost(
                [
                    item
                    for run_id in unclaimed.values_list("id", flat=True)
                    if (item := self._sent.get(str(run_id))) is not None
                ],
                current,
            )
        return acted

    def _worker_lost(self, item: Sent, state_type: str, owner: str) -> int:
        from runs.engine.task_engine import retry_options
        from runs.orchestration import Verdict, load_task_run_record
        from runs.orchestration.crash_messages import leases_of, owner_lost
        from runs.orchestration.ownership import judge_delivery

        record_id = item.engine.record.id
        if state_type == "PENDING":
            logger.warning(
                "Task run %s (%s): the worker that took it (%s) died before starting it; "
                "sending it again.",
                record_id,
                item.engine.record.name,
                owner,
            )
            return self._send_again(item)
        record = load_task_run_record(record_id)
        lost = owner_lost(record, leases_of([owner]).get(owner))
        judged = judge_delivery(record, retry_options(item.engine.task), lost)
        if judged.verdict is Verdict.ACCEPT:
            return self._send_again(item)  # AwaitingRetry: the retry runs on a live worker
        return 1  # CRASHED (no retries left) or ended meanwhile: the poller sees it final

    def _broker_lost(self, unclaimed: list[Sent], current: str) -> int:
        lost = [item for item in unclaimed if item.broker_run and item.broker_run != current]
        if not lost:
            return 0
        from runs.orchestration import set_task_run_state
        from runs.states import Crashed

        where = broker_location()
        for item in lost:
            set_task_run_state(
                item.engine.record.id,
                Crashed(
                    f"The broker {where} restarted empty after this task run was sent to it: "
                    "its message was lost and no worker started it. Keep the broker's data "
                    "(Redis: appendonly yes) to survive restarts, and run the flow again."
                ),
            )
        logger.error("%d task runs were lost by the broker %s, which restarted.", len(lost), where)
        return len(lost)

    def _send_again(self, item: Sent) -> int:
        from runs.runners.messages import RUN_TASK_RUN
        from runs_project.celery import app

        app.send_task(RUN_TASK_RUN, args=[item.payload], queue=item.queue or None)
        now_at = broker_identity()
        with self._lock:
            _decrement(self._brokers, item.broker_run)
            item.broker_run = now_at
            self._brokers[now_at] += 1
        return 1


def _decrement(counter: Counter, key: Any) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


def broker_identity() -> str | None:
    """Who the broker is right now, if it can forget messages on restart: Redis's run_id
    (new at every start), cached for a moment; None for brokers that keep their messages."""
    return _identity.get()


def broker_location() -> str:
    """The broker's address, without its password, for messages."""
    from runs_project.celery import app

    return app.connection_for_write().as_uri()


class _BrokerIdentity:
    def __init__(self) -> None:
        self._value: tuple[float, str | None] | None = None
        self._lock = threading.Lock()

    def get(self) -> str | None:
        with self._lock:
            if self._value is not None and time.monotonic() - self._value[0] < LOOK_SECONDS / 2:
                return self._value[1]
        value = _read_identity()
        with self._lock:
            self._value = (time.monotonic(), value)
        return value


def _read_identity() -> str | None:
    from runs_project.celery import app

    url = str(app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        return None
    try:
        import redis

        client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return str(client.info("server").get("run_id"))
        finally:
            client.close()
    except Exception:
        return None  # unreachable just now: nothing can be told


_identity = _BrokerIdentity()
sent_runs = SentRuns()
