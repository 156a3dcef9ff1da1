"""Creating, changing and deleting work queues: where flow runs wait for room to start."""

from __future__ import annotations

import re
from typing import Any

from runs.exceptions import ObjectNotFound
from runs.models import WorkQueue
from runs.services.dispatch import dispatch_quietly
from runs.states import FINAL_TYPES

#: The queue of flow runs that name no other; it cannot be deleted.
DEFAULT_WORK_QUEUE = "default"
#: A queue's name is a Celery queue's name too: letters, digits and ``._-``, up to 100.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

#: What a keyword left out means in :func:`update_work_queue`: no change.
UNSET: Any = object()


class WorkQueueError(ValueError):
    """A work queue cannot be made or changed as asked; ``field`` names the field at fault."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def get_work_queue(name: str) -> WorkQueue:
    """The work queue called ``name``; ObjectNotFound when there is none."""
    queue = WorkQueue.objects.filter(name=str(name)).first()
    if queue is None:
        raise ObjectNotFound(
            f"No work queue is called {name!r}; create it with `runs work-queue create {name}`."
        )
    return queue


def _checked_name(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise WorkQueueError(
            f"A work queue's name is also its Celery queue's: 1 to 100 letters, digits, '.', "
            f"'_' or '-', starting with a letter or digit; {name!r} is not.",
            field="name",
        )
    return name


def _checked_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise WorkQueueError(
            f"The concurrency limit must be a whole number of 0 or more (0 holds every run, "
            f"like a pause), or none for no limit; {limit!r} is not.",
            field="concurrency_limit",
        )
    if limit > 2_147_483_647:
        raise WorkQueueError(
            "The concurrency limit is too large; leave it empty for no limit.",
            field="concurrency_limit",
        )
    return limit


def _checked_description(description: Any) -> str:
    if not isinstance(description, str):
        raise WorkQueueError("The description must be text.", field="description")
    if "\x00" in description:
        raise WorkQueueError("The description cannot hold a NUL character.", field="description")
    return description


def create_work_queue(
    *,
    name: str,
    concurrency_limit: int | None = None,
    description: str = "",
    paused: bool = False,
) -> WorkQueue:
    """Make a work queue: ``runs worker -Q NAME`` serves it. Raises WorkQueueError naming the
    field for a bad or taken name or a bad limit."""
    name = _checked_name(name)
    limit = _checked_limit(concurrency_limit)
    description = _checked_description(description)
    if WorkQueue.objects.filter(name=name).exists():
        raise WorkQueueError(f"A work queue called {name!r} already exists.", field="name")
    return WorkQueue.objects.create(
        name=name, concurrency_limit=limit, description=description, paused=bool(paused)
    )


def update_work_queue(
    name: str,
    *,
    concurrency_limit: Any = UNSET,
    description: Any = UNSET,
    paused: Any = UNSET,
) -> WorkQueue:
    """Change a queue's limit, description or pause; the runs it now has room for start."""
    queue = get_work_queue(name)
    changed = []
    if concurrency_limit is not UNSET:
        queue.concurrency_limit = _checked_limit(concurrency_limit)
        changed.append("concurrency_limit")
    if description is not UNSET:
        queue.description = _checked_description(description)
        changed.append("description")
    if paused is not UNSET:
        queue.paused = bool(paused)
        changed.append("paused")
    if changed:
        queue.save(update_fields=[*changed, "updated"])
        dispatch_quietly(queue.id)
    return queue


def pause_work_queue(name: str) -> WorkQueue:
    """Start nothing new from the queue; runs already sent go on."""
    return update_work_queue(name, paused=True)


def resume_work_queue(name: str) -> WorkQueue:
    """Start the queue's waiting runs again, in order, as room allows."""
    return update_work_queue(name, paused=False)


def set_work_queue_limit(name: str, limit: int | None) -> WorkQueue:
    """Let at most ``limit`` of the queue's flow runs run at once (None: no limit)."""
    return update_work_queue(name, concurrency_limit=limit)


def delete_work_queue(name: str) -> None:
    """Delete a queue that no deployment uses and no unfinished run waits in."""
    queue = get_work_queue(name)
    if queue.name == DEFAULT_WORK_QUEUE:
        raise WorkQueueError(
            "The default work queue cannot be deleted: flow runs that name no queue go there.",
            field="name",
        )
    deployments = list(queue.deployments.select_related("flow")[:3])
    if deployments:
        names = ", ".join(d.full_name for d in deployments)
        raise WorkQueueError(
            f"Work queue {queue.name!r} is used by deployments ({names}); move them to another "
            "queue or delete them first.",
            field="name",
        )
    unfinished = queue.flow_runs.exclude(state_type__in=[t.value for t in FINAL_TYPES]).count()
    if unfinished:
        raise WorkQueueError(
            f"Work queue {queue.name!r} still has {unfinished} unfinished flow run(s); cancel "
            "them or let them finish first.",
            field="name",
        )
    queue.delete()
