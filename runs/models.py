"""Rows for flows, flow runs, task runs, their state history and their logs.

A run keeps a copy of its current state (``state_type``, ``state_name``...) so that lists can
filter and sort on indexed columns; the full history lives in :class:`State`, one row per
transition. Only ``runs.orchestration`` writes states.
"""

from __future__ import annotations

import uuid

from django.db import models

from runs.states import FINAL_TYPES

STATE_TYPES = [
    ("SCHEDULED", "Scheduled"),
    ("PENDING", "Pending"),
    ("RUNNING", "Running"),
    ("COMPLETED", "Completed"),
    ("FAILED", "Failed"),
    ("CRASHED", "Crashed"),
    ("CANCELLED", "Cancelled"),
]


CATCHUP_POLICIES = [
    ("once", "Once: one run for the latest missed time"),
    ("all", "All: a run for every missed time"),
    ("skip", "Skip: no run for missed times"),
]

SCHEDULE_KINDS = [("cron", "Cron"), ("interval", "Interval"), ("rrule", "RRule")]


class Flow(models.Model):
    """A flow known by name; ``entrypoint`` (``module:function``) is set when it is registered."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    entrypoint = models.CharField(max_length=500, blank=True, default="")
    parameters_schema = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunFields(models.Model):
    """What flow runs and task runs share: a name, tags, the current state, counts and times."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=300)
    parameters = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    state_type = models.CharField(max_length=16, choices=STATE_TYPES, default="PENDING")
    state_name = models.CharField(max_length=64, default="Pending")
    state_message = models.TextField(blank=True, default="")
    state_timestamp = models.DateTimeField(null=True, blank=True)
    run_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField()
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    # The process executing the run; its heartbeat is the run's lease (see runs.leases).
    owner = models.CharField(max_length=120, blank=True, default="")
    # The ``version=`` of the flow or task that made the run (None: not given).
    version = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def duration(self):
        if self.start_time and self.end_time:
            return self.end_time - self.start_time
        return None

    @property
    def is_final(self) -> bool:
        return self.state_type in FINAL_TYPES


class FlowRun(RunFields):
    """One call of a flow (or a run started from the API or the web form)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    parent_task_run = models.ForeignKey(
        "TaskRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="subflow_runs"
    )
    expected_start_time = models.DateTimeField(null=True, blank=True)
    result_key = models.CharField(max_length=200, blank=True, default="")
    #: The flow run this one re-runs (its page's "Retry failed", or POST .../rerun/).
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    #: The deployment it runs (None: a flow started by name, or called directly).
    deployment = models.ForeignKey(
        "Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    #: The work queue that starts it when it has room (None: called directly, not queued).
    work_queue = models.ForeignKey(
        "WorkQueue", null=True, blank=True, on_delete=models.SET_NULL, related_name="flow_runs"
    )
    #: The schedule that made it ahead of time (None: started by hand).
    schedule = models.ForeignKey(
        "DeploymentSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    auto_scheduled = models.BooleanField(default=False)
    #: When its queue gave it a place among the runs it lets run and sent it to a worker; it
    #: holds that place until it ends (None: still waiting, or not queued).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        # What the roles of runs.roles hold: reading is everything a Viewer may do.
        permissions = [
            ("view_history", "Can read flows, runs, logs, limits and the cache"),
            ("operate_flows", "Can start, cancel and re-run flow runs and expire cache entries"),
            ("manage_accounts", "Can manage users and API tokens"),
        ]
        indexes = [
            models.Index(fields=["-created", "-id"], name="flowrun_created"),
            models.Index(fields=["state_type", "-created"], name="flowrun_state_created"),
            models.Index(fields=["state_name", "-created"], name="flowrun_statename_created"),
            models.Index(fields=["flow", "-created"], name="flowrun_flow_created"),
            models.Index(fields=["-start_time"], name="flowrun_start"),
            # A queue's runs that hold a place (sent, not final), and those waiting in line.
            models.Index(
                fields=["work_queue", "dispatched_at"],
                name="flowrun_queue_active",
                condition=models.Q(dispatched_at__isnull=False)
                & ~models.Q(state_type__in=sorted(t.value for t in FINAL_TYPES)),
            ),
            models.Index(
                fields=["work_queue", "expected_start_time", "created"],
                name="flowrun_queue_waiting",
                condition=models.Q(dispatched_at__isnull=True, state_type="SCHEDULED"),
            ),
            models.Index(
                fields=["deployment", "-expected_start_time"], name="flowrun_deployment_expected"
            ),
        ]
        constraints = [
            # Every scheduled time of a deployment gets one run, whichever scheduler made it.
            models.UniqueConstraint(
                fields=["deployment", "expected_start_time"],
                condition=models.Q(auto_scheduled=True),
                name="flowrun_one_per_scheduled_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state_name})"


class WorkQueue(models.Model):
    """A Celery queue that flow runs are sent to, and how many of them may run at once."""

    #: The Celery queue's name: ``runs worker -Q NAME`` serves it.
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    #: Flow runs of this queue that may be sent and not yet final at once (None: no limit; 0:
    #: none start, like a pause).
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Deployment(models.Model):
    """A registered flow with a name, default parameters, a work queue, tags and schedules."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    parameters = models.JSONField(default=dict, blank=True)
    work_queue = models.ForeignKey(WorkQueue, on_delete=models.PROTECT, related_name="deployments")
    tags = models.JSONField(default=list, blank=True)
    paused = models.BooleanField(default=False)
    #: What the scheduler does with the times it missed while no scheduler ran.
    catchup = models.CharField(max_length=8, choices=CATCHUP_POLICIES, default="once")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["flow__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "name"], name="deployment_flow_name")
        ]

    @property
    def full_name(self) -> str:
        """``flow-name/deployment-name``, as Prefect names a deployment."""
        return f"{self.flow.name}/{self.name}"

    def __str__(self) -> str:
        return self.full_name


class DeploymentSchedule(models.Model):
    """When a deployment runs by itself: a cron, an interval from an anchor, or an RRule."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="schedules")
    kind = models.CharField(max_length=8, choices=SCHEDULE_KINDS)
    #: The cron expression, the interval in seconds, or the RRule text, by ``kind``.
    value = models.TextField()
    #: An interval's first time (its times are anchor + k * interval).
    anchor = models.DateTimeField(null=True, blank=True)
    #: An IANA time zone name: a cron's and an RRule's times are read in it.
    timezone = models.CharField(max_length=64, default="UTC")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deployment", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class TaskRun(RunFields):
    """One call of a task inside a flow run; retries add states, never rows here."""

    # No index of its own: taskrun_flowrun_rows and taskrun_timeline start with it.
    flow_run = models.ForeignKey(
        FlowRun, on_delete=models.CASCADE, related_name="task_runs", db_index=False
    )
    # No index of its own: every query of it is of one flow run (the timeline's indexes), or
    # of cached states (state_cache_key).
    task_key = models.CharField(max_length=64)
    task_name = models.CharField(max_length=200)
    map_index = models.IntegerField(default=-1)
    cache_key = models.CharField(max_length=4000, null=True, blank=True)
    cache_expiration = models.DateTimeField(null=True, blank=True)
    result_key = models.CharField(max_length=200, blank=True, default="")
    upstream = models.ManyToManyField(
        "self",
        symmetrical=False,
        through="TaskRunDependency",
        through_fields=("downstream", "upstream"),
        related_name="downstream",
    )

    class Meta:
        ordering = ["-created", "-id"]
        # Ascending, read backwards for the lists' newest first: new rows go in at the end of
        # the index, whose pages fill up, where a descending one splits its first page in two
        # for every new run (as written, those indexes took twice their size).
        indexes = [
            models.Index(fields=["created", "id"], name="taskrun_created_asc"),
            models.Index(fields=["state_type", "created"], name="taskrun_state_created_asc"),
            models.Index(fields=["state_name", "created"], name="taskrun_statename_created_asc"),
            models.Index(fields=["task_name", "created"], name="taskrun_task_created_asc"),
            # A flow run's timeline: its rows in order, filtered without reading the table, and
            # its runs counted by task and state, and by end time (runs/selectors/timeline.py).
            models.Index(
                fields=["flow_run", "created", "id", "map_index", "task_key"],
                name="taskrun_flowrun_rows",
            ),
            models.Index(
                fields=[
                    "flow_run",
                    "state_type",
                    "state_name",
                    "task_key",
                    "end_time",
                    "map_index",
                ],
                name="taskrun_timeline",
            ),
            models.Index(fields=["state_type", "owner"], name="taskrun_state_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state_name})"


class TaskRunDependency(models.Model):
    """``downstream`` waited for, or took a value from, ``upstream``."""

    # No indexes of their own: dep_upstream, and dep_unique (downstream first), serve them.
    upstream = models.ForeignKey(
        TaskRun, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    downstream = models.ForeignKey(
        TaskRun, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    parameter = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["upstream"], name="dep_upstream")]
        constraints = [
            models.UniqueConstraint(
                fields=["downstream", "upstream", "parameter"], name="dep_unique"
            )
        ]


class RunTag(models.Model):
    """One tag of one run, so that lists can filter by tag on an index."""

    tag = models.CharField(max_length=200)
    task_run = models.ForeignKey(
        TaskRun, null=True, blank=True, on_delete=models.CASCADE, related_name="tag_rows"
    )
    flow_run = models.ForeignKey(
        FlowRun, null=True, blank=True, on_delete=models.CASCADE, related_name="tag_rows"
    )

    class Meta:
        indexes = [models.Index(fields=["tag"], name="runtag_tag")]


class State(models.Model):
    """One transition of a flow run or a task run, in order of ``timestamp``."""

    # No indexes of their own: state_taskrun_ts and state_flowrun_ts start with them.
    task_run = models.ForeignKey(
        TaskRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="states",
        db_index=False,
    )
    flow_run = models.ForeignKey(
        FlowRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="states",
        db_index=False,
    )
    type = models.CharField(max_length=16, choices=STATE_TYPES)
    name = models.CharField(max_length=64)
    message = models.TextField(blank=True, default="")
    timestamp = models.DateTimeField()
    scheduled_time = models.DateTimeField(null=True, blank=True)
    # Where the result lives in the result store ("" when not persisted).
    result_key = models.CharField(max_length=200, blank=True, default="")
    cache_key = models.CharField(max_length=4000, null=True, blank=True)
    cache_expiration = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [
            models.Index(fields=["task_run", "timestamp"], name="state_taskrun_ts"),
            # Partial: a task run's states (most rows) have no flow run, and most states no
            # cache key; every query of these columns asks for a value (or IS NOT NULL).
            models.Index(
                fields=["flow_run", "timestamp"],
                name="state_flowrun_ts",
                condition=models.Q(flow_run__isnull=False),
            ),
            models.Index(
                fields=["cache_key", "-timestamp"],
                name="state_cache_key",
                condition=models.Q(cache_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type}/{self.name}"


class Log(models.Model):
    """A log line written by a flow run or a task run."""

    # No indexes of their own: log_flowrun_ts and log_taskrun_ts start with them.
    flow_run = models.ForeignKey(
        FlowRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="logs",
        db_index=False,
    )
    task_run = models.ForeignKey(
        TaskRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="logs",
        db_index=False,
    )
    level = models.PositiveSmallIntegerField(default=20)
    name = models.CharField(max_length=200, blank=True, default="")
    message = models.TextField()
    timestamp = models.DateTimeField()

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [
            models.Index(fields=["flow_run", "timestamp"], name="log_flowrun_ts"),
            models.Index(fields=["task_run", "timestamp"], name="log_taskrun_ts"),
        ]

    @property
    def level_name(self) -> str:
        import logging

        return logging.getLevelName(self.level)


class ProcessLease(models.Model):
    """A process that executes runs; its runs are alive while ``expires`` is in the future, or
    while it is still running on the machine that looks (see :mod:`runs.leases`)."""

    owner = models.CharField(max_length=120, primary_key=True)
    hostname = models.CharField(max_length=200, blank=True, default="")
    pid = models.IntegerField(default=0)
    started = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)
    #: Who the process is on its machine (boot, pid namespace, pid, start time), so that a
    #: process on the same machine can tell it is still alive when its lease has lapsed.
    process_key = models.CharField(max_length=200, blank=True, default="")
    #: What the process is: "worker" (a Celery worker's pool process) or "script" (any other
    #: process running flows); and, for a worker, the queues it consumes (comma-separated).
    kind = models.CharField(max_length=20, blank=True, default="script")
    queues = models.CharField(max_length=500, blank=True, default="")


class ParkedTaskRun(models.Model):
    """A task run's Celery message, held here while the run waits for a concurrency slot.

    A worker does not keep a process idle, nor send the message round again and again: it
    parks the message and takes other work. When a slot of the run's tags frees, a worker
    sends it again (see :mod:`runs.runners.parking`); the run keeps its place in line.
    """

    task_run = models.OneToOneField(
        TaskRun, primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    payload = models.TextField()
    queue = models.CharField(max_length=200, blank=True, default="")
    parked = models.DateTimeField()
