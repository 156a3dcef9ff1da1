"""JSON shapes of work queues, deployments and their schedules, in and out.

Output serializers read the selectors' summaries (runs.selectors.work_queues,
runs.selectors.deployments); input serializers check types and shapes only, the services check
the rest (a registered flow, an existing queue, a valid cron...). A work queue is named by its
``name`` (its Celery queue's), a deployment by its ``id`` or ``full_name`` ("flow/name").
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from runs.api.serializers import FlowRunSerializer, _has_nul
from runs.models import CATCHUP_POLICIES, SCHEDULE_KINDS

#: A work queue's name is its Celery queue's (runs.services.work_queues.NAME_PATTERN).
QUEUE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
#: Text with something besides spaces (they are trimmed), and no NUL character.
NAME_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
MAX_INT = 2_147_483_647


def _count(value) -> int:
    """A summary's count, or the length of a detail's list of runs."""
    return len(value) if isinstance(value, list | tuple) else int(value or 0)


# --- text fields whose schema says what the server accepts -------------------------------------


class _StrictText(serializers.CharField):
    """Text only: a number or a boolean is refused, not turned into text."""

    def to_internal_value(self, data) -> str:  # noqa: D102
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Expected text; got {type(data).__name__}.")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 200, "pattern": NAME_PATTERN})
class NameField(_StrictText):
    """Non-empty text without NUL characters (surrounding spaces are dropped)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "maxLength": 10000, "pattern": r"^[^\x00]*$"})
class TextField(_StrictText):
    """Free text, possibly empty, without NUL characters.

    Empty text is let through here rather than by ``allow_blank``: with it, drf-spectacular
    adds a second schema for blank text to a ``oneOf``, and "" would match both."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 10000)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):  # noqa: D102
        if data == "":
            return ""
        return super().run_validation(data)


@extend_schema_field(
    {"type": "string", "minLength": 1, "maxLength": 100, "pattern": QUEUE_NAME_PATTERN}
)
class QueueNameField(_StrictText):
    """A work queue's name: letters, digits and ``._-``, starting with a letter or digit."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: 0, 1, "yes" and the like are refused, as the schema says."""

    def to_internal_value(self, data) -> bool:  # noqa: D102
        if not isinstance(data, bool):
            raise serializers.ValidationError(f"Expected true or false; got {data!r}.")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON whole number only: text such as "5" and booleans are refused."""

    def to_internal_value(self, data) -> int:  # noqa: D102
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError(f"Expected a whole number; got {data!r}.")
        return super().to_internal_value(data)


class _ParametersField(serializers.DictField):
    """A JSON object of parameter values without NUL characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.JSONField(allow_null=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> dict:  # noqa: D102
        value = super().to_internal_value(data)
        if _has_nul(value):
            raise serializers.ValidationError(
                "A parameter contains a NUL character, which cannot be stored; remove it."
            )
        return value


# --- work queues -------------------------------------------------------------------------------


class WorkQueueSerializer(serializers.Serializer):
    """A work queue with how many of its runs hold a place, wait, wait for later, are late."""

    name = serializers.CharField(source="queue.name")
    description = serializers.CharField(source="queue.description")
    concurrency_limit = serializers.IntegerField(source="queue.concurrency_limit", allow_null=True)
    paused = serializers.BooleanField(source="queue.paused")
    running = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField()
    scheduled_later = serializers.SerializerMethodField()
    late = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="queue.created")
    updated = serializers.DateTimeField(source="queue.updated")
    url = serializers.SerializerMethodField()
    runs_url = serializers.SerializerMethodField()

    def get_running(self, summary) -> int:  # noqa: D102
        return _count(summary.running)

    def get_waiting(self, summary) -> int:  # noqa: D102
        return _count(summary.waiting)

    def get_scheduled_later(self, summary) -> int:  # noqa: D102
        return _count(summary.scheduled_later)

    def get_late(self, summary) -> int:  # noqa: D102
        return _count(summary.late)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, summary) -> str:  # noqa: D102
        return reverse(
            "runs:api-work-queue-detail",
            args=[summary.queue.name],
            request=self.context.get("request"),
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_runs_url(self, summary) -> str:  # noqa: D102
        return reverse(
            "runs:api-work-queue-runs",
            args=[summary.queue.name],
            request=self.context.get("request"),
        )


class WorkQueueCreateSerializer(serializers.Serializer):
    """``POST /api/work-queues/``: a new queue (``runs worker -Q NAME`` serves it)."""

    name = QueueNameField()
    description = TextField(required=False, default="")
    concurrency_limit = StrictIntegerField(
        min_value=0, max_value=MAX_INT, allow_null=True, required=False, default=None
    )
    paused = StrictBooleanField(required=False, default=False)


class WorkQueueUpdateSerializer(serializers.Serializer):
    """``PATCH /api/work-queues/NAME/``: what to change; a null limit means no limit."""

    description = TextField(required=False)
    concurrency_limit = StrictIntegerField(
        min_value=0, max_value=MAX_INT, allow_null=True, required=False
    )
    paused = StrictBooleanField(required=False)


class QueuedFlowRunSerializer(FlowRunSerializer):
    """A flow run of a work queue; ``place`` is its place in line (1 = next), null when it is
    not waiting."""

    place = serializers.SerializerMethodField()
    dispatched_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta(FlowRunSerializer.Meta):
        fields = [*FlowRunSerializer.Meta.fields, "place", "dispatched_at"]
        read_only_fields = fields

    def get_place(self, run) -> int | None:  # noqa: D102
        return self.context.get("places", {}).get(run.id)


# --- deployments -------------------------------------------------------------------------------


class ScheduleSerializer(serializers.Serializer):
    """A deployment's schedule; ``description`` says it in words ("every 5 minutes")."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SCHEDULE_KINDS)
    value = serializers.CharField()
    timezone = serializers.CharField()
    anchor = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()
    description = serializers.SerializerMethodField()

    def get_description(self, schedule) -> str:  # noqa: D102
        from runs.schedules import ScheduleError, describe, parse_schedule

        try:
            spec = parse_schedule(
                schedule.kind, schedule.value, timezone=schedule.timezone, anchor=schedule.anchor
            )
        except ScheduleError:
            return f"{schedule.kind} {schedule.value!r} (not valid any more)"
        return describe(spec)


class ShortFlowRunSerializer(serializers.Serializer):
    """A flow run named in a deployment: id, name, state and expected start."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    state_type = serializers.CharField()
    state_name = serializers.CharField()
    expected_start_time = serializers.DateTimeField(allow_null=True)
    start_time = serializers.DateTimeField(allow_null=True)
    end_time = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, run) -> str:  # noqa: D102
        return reverse(
            "runs:api-flow-run-detail", args=[run.id], request=self.context.get("request")
        )


class DeploymentSerializer(serializers.Serializer):
    """A deployment: a registered flow with defaults, a work queue, tags and schedules."""

    id = serializers.IntegerField(source="deployment.id")
    name = serializers.CharField(source="deployment.name")
    full_name = serializers.CharField(source="deployment.full_name")
    flow = serializers.CharField(source="deployment.flow.name")
    description = serializers.CharField(source="deployment.description")
    parameters = serializers.DictField(
        source="deployment.parameters", child=serializers.JSONField(allow_null=True)
    )
    work_queue = serializers.CharField(source="deployment.work_queue.name")
    tags = serializers.ListField(source="deployment.tags", child=serializers.CharField())
    paused = serializers.BooleanField(source="deployment.paused")
    catchup = serializers.ChoiceField(source="deployment.catchup", choices=CATCHUP_POLICIES)
    schedules = ScheduleSerializer(many=True)
    next_runs = ShortFlowRunSerializer(many=True)
    last_run = ShortFlowRunSerializer(allow_null=True)
    created = serializers.DateTimeField(source="deployment.created")
    updated = serializers.DateTimeField(source="deployment.updated")
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, summary) -> str:  # noqa: D102
        return reverse(
            "runs:api-deployment-detail",
            args=[summary.deployment.id],
            request=self.context.get("request"),
        )


class DeploymentDetailSerializer(DeploymentSerializer):
    """A deployment with its next runs (first 20) and its latest runs (last 20)."""

    upcoming = ShortFlowRunSerializer(many=True)
    recent = ShortFlowRunSerializer(many=True)


class ScheduleInputSerializer(serializers.Serializer):
    """A schedule to add: a cron expression, an interval (seconds, "1h30m", "PT1H"...) or an
    RRule, read in ``timezone``; an interval counts from ``anchor``."""

    kind = serializers.ChoiceField(choices=SCHEDULE_KINDS)
    value = NameField(max_length=1000)
    timezone = NameField(max_length=64, required=False, default="UTC")
    anchor = serializers.DateTimeField(allow_null=True, required=False, default=None)
    active = StrictBooleanField(required=False, default=True)


class ScheduleUpdateSerializer(serializers.Serializer):
    """``PATCH`` of a schedule: the parts to change."""

    kind = serializers.ChoiceField(choices=SCHEDULE_KINDS, required=False)
    value = NameField(max_length=1000, required=False)
    timezone = NameField(max_length=64, required=False)
    anchor = serializers.DateTimeField(allow_null=True, required=False)
    active = StrictBooleanField(required=False)


class DeploymentCreateSerializer(serializers.Serializer):
    """``POST /api/deployments/``: a registered flow's deployment and its schedules."""

    flow = NameField(help_text="Name of a registered flow (GET /api/flows/).")
    name = NameField()
    description = TextField(required=False, default="")
    parameters = _ParametersField(required=False, default=dict)
    work_queue = QueueNameField(required=False, default="default")
    tags = serializers.ListField(child=NameField(), required=False, default=list, max_length=100)
    catchup = serializers.ChoiceField(choices=CATCHUP_POLICIES, required=False, default="once")
    paused = StrictBooleanField(required=False, default=False)
    schedules = ScheduleInputSerializer(many=True, required=False, default=list)


class DeploymentUpdateSerializer(serializers.Serializer):
    """``PATCH /api/deployments/ID/``: the parts to change (schedules have their own URLs)."""

    description = TextField(required=False)
    parameters = _ParametersField(required=False)
    work_queue = QueueNameField(required=False)
    tags = serializers.ListField(child=NameField(), required=False, max_length=100)
    catchup = serializers.ChoiceField(choices=CATCHUP_POLICIES, required=False)
    paused = StrictBooleanField(required=False)


class DeploymentRunSerializer(serializers.Serializer):
    """``POST /api/deployments/ID/run/``: parameters merged over the deployment's, and when."""

    parameters = _ParametersField(required=False, default=dict)
    scheduled_time = serializers.DateTimeField(allow_null=True, required=False, default=None)


#: The 409 answer: the field at fault -> why (a taken name, a queue still in use).
CONFLICT = inline_serializer(
    "Conflict",
    fields={"detail": serializers.CharField(required=False)},
)
