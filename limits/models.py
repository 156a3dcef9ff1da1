"""Concurrency limits on tags and the slots that running task runs hold in them."""

from __future__ import annotations

import uuid

from django.db import models


class ConcurrencyLimit(models.Model):
    """At most ``concurrency_limit`` task runs carrying ``tag`` may be RUNNING at once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tag = models.CharField(max_length=200, unique=True)
    concurrency_limit = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]
        permissions = [("manage_limits", "Can create, change and delete concurrency limits")]

    def __str__(self) -> str:
        return f"{self.tag} ({self.concurrency_limit})"


class ConcurrencySlot(models.Model):
    """A slot of ``limit`` held by ``task_run`` while it runs in the process ``owner``.

    The slot is taken before the run's RUNNING state is written (that goes through the
    write-behind buffer), so the run's row may not exist yet: the reference is not a database
    constraint, and whether a slot is still held is decided by its owner's lease.
    """

    limit = models.ForeignKey(ConcurrencyLimit, on_delete=models.CASCADE, related_name="slots")
    task_run = models.ForeignKey(
        "runs.TaskRun", on_delete=models.CASCADE, related_name="slots", db_constraint=False
    )
    acquired = models.DateTimeField()
    owner = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["limit", "task_run"], name="slot_unique")]


class SlotWaiter(models.Model):
    """A task run waiting for a slot of ``limit``; served first come, first served."""

    limit = models.ForeignKey(ConcurrencyLimit, on_delete=models.CASCADE, related_name="waiters")
    task_run = models.ForeignKey(  # as for slots, the run's row may not be written yet
        "runs.TaskRun", on_delete=models.CASCADE, related_name="slot_waits", db_constraint=False
    )
    enqueued = models.DateTimeField()
    owner = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["enqueued", "id"]
        constraints = [models.UniqueConstraint(fields=["limit", "task_run"], name="waiter_unique")]
        indexes = [models.Index(fields=["limit", "enqueued"], name="waiter_limit_enqueued")]
