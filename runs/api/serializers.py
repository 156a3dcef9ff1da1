"""JSON shapes of flows, flow runs, task runs, states and log lines.

A state is written ``{"type", "name", "message", "timestamp"}``; times are ISO 8601 with a
time zone. A run's ``version`` is the ``version=`` of its flow or task, null when not given. Output serializers are read-only; the one input is :class:`FlowRunStartSerializer`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from runs.models import STATE_TYPES, Flow, FlowRun, Log, State, TaskRun
from runs.selectors.runs import task_runs_of, upstream_ids

#: Most task runs a flow run's detail lists; ``task_runs_url`` pages through all of them.
DETAIL_TASK_RUNS = 1000


class StateSerializer(serializers.ModelSerializer):
    """One state of a run's history."""

    class Meta:
        model = State
        fields = ["type", "name", "message", "timestamp", "scheduled_time"]
        read_only_fields = fields


_CURRENT_STATE = inline_serializer(
    "CurrentState",
    fields={
        "type": serializers.ChoiceField(choices=STATE_TYPES),
        "name": serializers.CharField(),
        "message": serializers.CharField(),
        "timestamp": serializers.DateTimeField(allow_null=True),
    },
)


@extend_schema_field(_CURRENT_STATE)
class CurrentStateField(serializers.Field):
    """The run's current state from its ``state_*`` columns."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "*")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, run) -> dict:  # noqa: D102
        timestamp = run.state_timestamp
        return {
            "type": run.state_type,
            "name": run.state_name,
            "message": run.state_message,
            "timestamp": serializers.DateTimeField().to_representation(timestamp)
            if timestamp
            else None,
        }


class _ParameterSpec(serializers.Serializer):
    type = serializers.CharField()
    annotation = serializers.CharField(required=False)
    default = serializers.JSONField(allow_null=True)
    required = serializers.BooleanField()


class FlowSerializer(serializers.ModelSerializer):
    """A registered flow with its parameters: name -> ``type``, ``default``, ``required``."""

    parameters = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Flow
        fields = ["id", "name", "description", "entrypoint", "parameters", "created", "url"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=_ParameterSpec()))
    def get_parameters(self, flow: Flow) -> dict:  # noqa: D102
        return flow.parameters_schema or {}

    def get_url(self, flow: Flow) -> str:  # noqa: D102
        return reverse(
            "runs:api-flow-detail", args=[flow.name], request=self.context.get("request")
        )


class TaskRunSerializer(serializers.ModelSerializer):
    """A task run in a list."""

    state = CurrentStateField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = TaskRun
        fields = [
            "id",
            "name",
            "task_key",
            "task_name",
            "map_index",
            "flow_run",
            "state",
            "run_count",
            "tags",
            "version",
            "created",
            "start_time",
            "end_time",
            "cache_key",
            "cache_expiration",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, run: TaskRun) -> str:  # noqa: D102
        return reverse(
            "runs:api-task-run-detail", args=[run.id], request=self.context.get("request")
        )


class TaskRunDetailSerializer(TaskRunSerializer):
    """A task run with its parameters and the ids of the task runs it depended on."""

    upstream = serializers.SerializerMethodField()

    class Meta(TaskRunSerializer.Meta):
        fields = [*TaskRunSerializer.Meta.fields, "parameters", "upstream"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_upstream(self, run: TaskRun) -> list[str]:  # noqa: D102
        return [str(run_id) for run_id in upstream_ids(run)]


class FlowRunSerializer(serializers.ModelSerializer):
    """A flow run in a list; ``deployment`` is its deployment's id and ``work_queue`` its work
    queue's name (null for a flow called directly)."""

    flow = serializers.CharField(source="flow.name", read_only=True)
    state = CurrentStateField()
    work_queue = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = FlowRun
        fields = [
            "id",
            "name",
            "flow",
            "state",
            "parameters",
            "tags",
            "version",
            "run_count",
            "created",
            "expected_start_time",
            "start_time",
            "end_time",
            "parent_task_run",
            "rerun_of",
            "deployment",
            "work_queue",
            "auto_scheduled",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, run: FlowRun) -> str:  # noqa: D102
        return reverse(
            "runs:api-flow-run-detail", args=[run.id], request=self.context.get("request")
        )

    def get_work_queue(self, run: FlowRun) -> str | None:  # noqa: D102
        if run.work_queue_id is None:
            return None
        # One query per response for a page of runs: the queues are few.
        names = self.context.get("_work_queue_names")
        if names is None or run.work_queue_id not in names:
            from runs.models import WorkQueue

            names = dict(WorkQueue.objects.values_list("id", "name"))
            if isinstance(self.context, dict):
                self.context["_work_queue_names"] = names
        return names.get(run.work_queue_id)


class FlowRunDetailSerializer(FlowRunSerializer):
    """A flow run with its task runs (the first DETAIL_TASK_RUNS, oldest first)."""

    task_runs = serializers.SerializerMethodField()
    task_runs_url = serializers.SerializerMethodField()

    class Meta(FlowRunSerializer.Meta):
        fields = [*FlowRunSerializer.Meta.fields, "task_runs", "task_runs_url"]
        read_only_fields = fields

    @extend_schema_field(TaskRunSerializer(many=True))
    def get_task_runs(self, run: FlowRun) -> list:  # noqa: D102
        rows = task_runs_of(run, limit=DETAIL_TASK_RUNS)
        return TaskRunSerializer(rows, many=True, context=self.context).data

    @extend_schema_field(OpenApiTypes.URI)
    def get_task_runs_url(self, run: FlowRun) -> str:  # noqa: D102
        url = reverse("runs:api-task-run-list", request=self.context.get("request"))
        return f"{url}?flow_run={run.id}"


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        # Not only spaces (they are trimmed), and no NUL character.
        "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$",
        "description": "Name of a registered flow (GET /api/flows/).",
    }
)
class _FlowNameField(serializers.CharField):
    """A flow's name: text with something besides spaces, and no NUL character."""

    def to_internal_value(self, data) -> str:  # noqa: D102
        value = super().to_internal_value(data)
        if "\x00" in value:
            raise serializers.ValidationError("The flow name contains a NUL character.")
        return value


class _DeploymentField(serializers.Field):
    """A deployment's id (a whole number) or ``flow/name``, as text."""

    def to_internal_value(self, data) -> str:  # noqa: D102
        if isinstance(data, int) and not isinstance(data, bool):
            return str(data)
        return _FlowNameField(max_length=401).run_validation(data)

    def to_representation(self, value) -> str:  # noqa: D102
        return str(value)


class FlowRunStartSerializer(serializers.Serializer):
    """``POST /api/flow-runs/``: a registered flow's name, or a deployment (its id or
    ``flow/name``, whose defaults the given parameters go over), and the parameters; a flow's
    run may name its ``work_queue`` (default: "default")."""

    flow = _FlowNameField(max_length=200, required=False)
    deployment = _DeploymentField(required=False)
    work_queue = _FlowNameField(max_length=100, required=False)
    parameters = serializers.DictField(
        child=serializers.JSONField(allow_null=True), required=False, default=dict
    )

    def validate(self, attrs: dict) -> dict:  # noqa: D102
        if ("flow" in attrs) == ("deployment" in attrs):
            raise serializers.ValidationError(
                {
                    "flow": [
                        "Give exactly one of flow (a registered flow's name) or deployment (a "
                        "deployment's id or FLOW/NAME)."
                    ]
                }
            )
        if "deployment" in attrs and "work_queue" in attrs:
            raise serializers.ValidationError(
                {
                    "work_queue": [
                        "A deployment's run goes to the deployment's work queue; leave "
                        "work_queue out, or change the deployment's."
                    ]
                }
            )
        return attrs

    def validate_parameters(self, value: dict) -> dict:  # noqa: D102
        if _has_nul(value):
            raise serializers.ValidationError(
                "A parameter contains a NUL character, which cannot be stored; remove it."
            )
        return value


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class LogSerializer(serializers.ModelSerializer):
    """One log line."""

    level_name = serializers.CharField(read_only=True)

    class Meta:
        model = Log
        fields = [
            "id",
            "flow_run",
            "task_run",
            "level",
            "level_name",
            "name",
            "message",
            "timestamp",
        ]
        read_only_fields = fields
