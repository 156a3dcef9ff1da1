"""Reading work queues: how full each is, and the line of flow runs waiting in it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from runs.exceptions import ObjectNotFound
from runs.models import FlowRun, ProcessLease, WorkQueue
from runs.orchestration.queues import waiting_runs
from runs.states import FINAL_TYPES, now

_FINAL = [t.value for t in FINAL_TYPES]
#: The runs a queue's page lists in each part.
LISTED = 20


@dataclass
class WorkQueueSummary:
    """A queue and its counts: places held, runs due and waiting, runs scheduled later, late."""

    queue: WorkQueue
    running: int = 0
    waiting: int = 0
    scheduled_later: int = 0
    late: int = 0
    #: Worker processes with a live lease that consume this queue (0: nothing will start its
    #: runs; serve it with ``runs worker -Q NAME``).
    workers: int = 0

    @property
    def full(self) -> bool:
        limit = self.queue.concurrency_limit
        return limit is not None and self.running >= limit


@dataclass
class WorkQueueDetail(WorkQueueSummary):
    """A queue's summary and its runs: those holding a place, the line in order (the first
    starts next), and the first runs scheduled for later."""

    running_runs: list[FlowRun] = field(default_factory=list)
    waiting_runs: list[FlowRun] = field(default_factory=list)
    later_runs: list[FlowRun] = field(default_factory=list)


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting flow run stands in its queue's line."""

    queue_name: str
    place: int
    ahead: int
    limit: int | None
    running: int
    paused: bool
    #: False: its start time has not come yet (it is not in the line).
    due: bool = True
    #: How many runs wait in the line (due), this one included when it is due.
    waiting: int = 0


def _counts(queues, at) -> dict[int, dict[str, int]]:
    active = Q(flow_runs__dispatched_at__isnull=False) & ~Q(flow_runs__state_type__in=_FINAL)
    waiting = Q(flow_runs__dispatched_at__isnull=True, flow_runs__state_type="SCHEDULED")
    rows = queues.annotate(
        n_running=Count("flow_runs", filter=active),
        n_waiting=Count("flow_runs", filter=waiting & Q(flow_runs__expected_start_time__lte=at)),
        n_later=Count("flow_runs", filter=waiting & Q(flow_runs__expected_start_time__gt=at)),
        n_late=Count("flow_runs", filter=waiting & Q(flow_runs__state_name="Late")),
    ).values("id", "n_running", "n_waiting", "n_later", "n_late")
    return {row["id"]: row for row in rows}


def _workers_by_queue(at) -> dict[str, int]:
    served: dict[str, int] = {}
    leases = ProcessLease.objects.filter(kind="worker", expires__gt=at).values_list(
        "queues", flat=True
    )
    for queues in leases:
        for name in {q for q in queues.split(",") if q}:
            served[name] = served.get(name, 0) + 1
    return served


def _summary(
    queue: WorkQueue, counts: dict[str, int], served: dict[str, int], cls=WorkQueueSummary, **extra
):
    return cls(
        queue=queue,
        workers=served.get(queue.name, 0),
        running=counts["n_running"],
        waiting=counts["n_waiting"],
        scheduled_later=counts["n_later"],
        late=counts["n_late"],
        **extra,
    )


def work_queue_names() -> list[str]:
    """The names of every work queue (the Celery queues a worker serving them all consumes)."""
    return list(WorkQueue.objects.order_by("name").values_list("name", flat=True))


def work_queue_summaries() -> list[WorkQueueSummary]:
    """Every work queue by name, with its counts."""
    at = now()
    queues = WorkQueue.objects.all()
    counts = _counts(queues, at)
    served = _workers_by_queue(at)
    return [_summary(queue, counts[queue.id], served) for queue in queues]


def work_queue_detail(name: str) -> WorkQueueDetail:
    """A queue by name with its running runs, its line in order and its next later runs;
    ObjectNotFound when there is none."""
    queue = WorkQueue.objects.filter(name=str(name)).first()
    if queue is None:
        raise ObjectNotFound(f"No work queue is called {name!r}.")
    at = now()
    counts = _counts(WorkQueue.objects.filter(id=queue.id), at)[queue.id]
    runs = FlowRun.objects.select_related("flow", "deployment")
    running = (
        runs.filter(work_queue=queue, dispatched_at__isnull=False)
        .exclude(state_type__in=_FINAL)
        .order_by("dispatched_at", "id")[:LISTED]
    )
    line = waiting_runs(queue.id, at=at).select_related("flow", "deployment")[:LISTED]
    later = runs.filter(
        work_queue=queue,
        dispatched_at__isnull=True,
        state_type="SCHEDULED",
        expected_start_time__gt=at,
    ).order_by("expected_start_time", "created", "id")[:LISTED]
    return _summary(
        queue,
        counts,
        _workers_by_queue(at),
        WorkQueueDetail,
        running_runs=list(running),
        waiting_runs=list(line),
        later_runs=list(later),
    )


def queue_place(flow_run: FlowRun) -> QueuePlace | None:
    """Where ``flow_run`` waits in its queue's line (None when it does not wait in a queue)."""
    if (
        flow_run.work_queue_id is None
        or flow_run.dispatched_at is not None
        or flow_run.state_type != "SCHEDULED"
    ):
        return None
    queue = WorkQueue.objects.filter(id=flow_run.work_queue_id).first()
    if queue is None:
        return None
    at = now()
    counts = _counts(WorkQueue.objects.filter(id=queue.id), at)[queue.id]
    due = flow_run.expected_start_time is None or flow_run.expected_start_time <= at
    ahead = 0
    if due:
        before = Q(expected_start_time__lt=flow_run.expected_start_time) | Q(
            expected_start_time=flow_run.expected_start_time, created__lt=flow_run.created
        )
        ahead = waiting_runs(queue.id, at=at).filter(before).count()
    return QueuePlace(
        queue_name=queue.name,
        place=ahead + 1,
        ahead=ahead,
        limit=queue.concurrency_limit,
        running=counts["n_running"],
        paused=queue.paused,
        due=due,
        waiting=counts["n_waiting"],
    )
