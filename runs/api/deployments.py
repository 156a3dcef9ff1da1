"""REST endpoints for deployments and their schedules, and for starting a deployment's run.

``GET, POST /api/deployments/``; ``GET, PATCH, DELETE /api/deployments/ID/``;
``GET /api/deployments/name/FLOW/NAME/``; ``POST /api/deployments/ID/pause/``, ``/resume/``,
``/run/``; ``GET, POST /api/deployments/ID/schedules/``; ``PATCH, DELETE
/api/deployments/ID/schedules/SID/``. Thin views over runs.services.deployments and
runs.selectors.deployments. Reading needs the Viewer role; "Run now" the Operator role
(``runs.operate_flows``, as starting a flow does); creating, changing, pausing and deleting
deployments and schedules the Admin role (``limits.manage_limits``, as concurrency limits and
work queues). Field errors name the field, a schedule's by its place: ``schedules[0].value``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from runs import registry
from runs.api.base import ApiView
from runs.api.parsers import DepthLimitedJSONParser
from runs.api.serializers import FlowRunSerializer
from runs.api.serializers_deployments import (
    DeploymentCreateSerializer,
    DeploymentDetailSerializer,
    DeploymentRunSerializer,
    DeploymentSerializer,
    DeploymentUpdateSerializer,
    ScheduleInputSerializer,
    ScheduleSerializer,
    ScheduleUpdateSerializer,
)
from runs.api.work_queues import CONFLICT, MANAGE, ListView, field_errors
from runs.parameters import ParameterError

OPERATE = "runs.operate_flows"
#: Deployment and schedule ids are database ids: positive, and within a 64-bit integer.
MAX_ID = 2**63 - 1


def _id(name: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.PATH
    )


def _checked_id(value: int, what: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"No {what} has id {value}.")
    return value


def flattened(errors: dict) -> dict:
    """DRF's errors with each schedule's under ``schedules[i].field`` (the services' names)."""
    flat: dict = {}
    for field, value in errors.items():
        # DRF gives a list's errors by index: a dict {0: {...}} (or a list, one per item).
        items = enumerate(value) if isinstance(value, list) else getattr(value, "items", list)()
        per_item = [(index, item) for index, item in items if isinstance(item, dict)]
        if field == "schedules" and per_item:
            for index, item in per_item:
                for part, messages in item.items():
                    flat[f"schedules[{index}].{part}"] = messages
        else:
            flat[field] = value
    return flat


def _valid(serializer_class, data, **kwargs):
    body = serializer_class(data=data, **kwargs)
    if not body.is_valid():
        raise ValidationError(flattened(body.errors))
    return body.validated_data


def api_field(field: str, *, schedule_body: bool = False) -> str:
    """The body field a service's error names: a schedule's ``cron``, ``interval`` or ``rrule``
    is its ``value``; in a schedule's own body, ``schedule.value`` is ``value``."""
    head, dot, last = field.rpartition(".")
    if dot and head.startswith("schedule") and last in ("cron", "interval", "rrule"):
        field = f"{head}.value"
    if schedule_body and field.startswith("schedule."):
        field = field.removeprefix("schedule.")
    return field


def deployment_error(error, *, schedule_body: bool = False) -> Response:
    """A DeploymentError as the API answers it: a 409 response for a taken name; else raises
    the 400. Both name the field."""
    message = str(error)
    field = api_field(getattr(error, "field", ""), schedule_body=schedule_body)
    body = field_errors(field, message)
    if "already exists" in message or "already has" in message:
        return Response(body, status=status.HTTP_409_CONFLICT)
    raise ValidationError(body)


def _detail(deployment_id: int):
    from runs.selectors.deployments import deployment_detail

    return deployment_detail(deployment_id)


def _schedule_input(data: dict):
    from runs.services.deployments import ScheduleInput

    return ScheduleInput(**data)


def _detail_response(request: Request, deployment_id: int, code: int = 200) -> Response:
    data = DeploymentDetailSerializer(_detail(deployment_id), context={"request": request}).data
    headers = {"Location": data["url"]} if code == status.HTTP_201_CREATED else None
    return Response(data, status=code, headers=headers)


class DeploymentListView(ListView):
    """List deployments, or create one."""

    write_permission = MANAGE
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("flow", OpenApiTypes.STR, description="Only this flow's."),
            OpenApiParameter(
                "work_queue", OpenApiTypes.STR, description="Only those of this work queue."
            ),
        ],
        responses=DeploymentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """Deployments by full name (``flow/name``), with their schedules, next runs and last
        run."""
        from runs.selectors.deployments import deployment_summaries

        flow = request.query_params.get("flow")
        queue = request.query_params.get("work_queue")
        items = [
            summary
            for summary in deployment_summaries()
            if (not flow or summary.deployment.flow.name == flow)
            and (not queue or summary.deployment.work_queue.name == queue)
        ]
        return self.list_page(
            request,
            items,
            key=lambda summary: [summary.deployment.flow.name, summary.deployment.name],
            serialize=lambda page: (
                DeploymentSerializer(page, many=True, context={"request": request}).data
            ),
        )

    @extend_schema(
        request=DeploymentCreateSerializer,
        responses={201: DeploymentDetailSerializer, 409: CONFLICT},
    )
    def post(self, request: Request) -> Response:
        """Create a deployment of a registered flow with its schedules; the scheduler makes its
        runs. 400 naming the field at fault (``schedules[0].value``...), 409 when the flow
        already has a deployment of that name."""
        from runs.services.deployments import DeploymentError, create_deployment

        data = _valid(DeploymentCreateSerializer, request.data)
        try:
            deployment = create_deployment(
                flow_name=data["flow"],
                name=data["name"],
                parameters=data["parameters"],
                work_queue=data["work_queue"],
                tags=data["tags"],
                description=data["description"],
                schedules=[_schedule_input(item) for item in data["schedules"]],
                paused=data["paused"],
                catchup=data["catchup"],
            )
        except DeploymentError as error:
            return deployment_error(error)
        return _detail_response(request, deployment.id, status.HTTP_201_CREATED)


class DeploymentDetailView(ApiView):
    """One deployment: read, change or delete."""

    write_permission = MANAGE
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(parameters=[_id("deployment_id")], responses=DeploymentDetailSerializer)
    def get(self, request: Request, deployment_id: int) -> Response:
        """The deployment with its schedules, next runs (first 20) and latest runs (last 20)."""
        return _detail_response(request, _checked_id(deployment_id, "deployment"))

    @extend_schema(
        parameters=[_id("deployment_id")],
        request=DeploymentUpdateSerializer,
        responses=DeploymentDetailSerializer,
    )
    def patch(self, request: Request, deployment_id: int) -> Response:
        """Change the deployment's parameters, work queue, tags, description, catch-up policy
        or pause; its future runs not yet started are made again from the new definition."""
        from runs.services.deployments import (
            DeploymentError,
            get_deployment,
            pause_deployment,
            resume_deployment,
            update_deployment,
        )

        get_deployment(_checked_id(deployment_id, "deployment"))
        data = dict(_valid(DeploymentUpdateSerializer, request.data, partial=True))
        paused = data.pop("paused", None)
        try:
            if data:
                update_deployment(deployment_id, **data)
            if paused is not None:
                (pause_deployment if paused else resume_deployment)(deployment_id)
        except DeploymentError as error:
            return deployment_error(error)
        return _detail_response(request, deployment_id)

    @extend_schema(parameters=[_id("deployment_id")], responses={204: None})
    def delete(self, request: Request, deployment_id: int) -> Response:
        """Delete the deployment and its schedules, and its runs not yet started; its other
        runs stay, no longer linked to it."""
        from runs.services.deployments import delete_deployment

        delete_deployment(_checked_id(deployment_id, "deployment"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeploymentByNameView(ApiView):
    """One deployment by its flow's name and its own (Prefect's ``flow/name``)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("flow_name", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("deployment_name", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        responses=DeploymentDetailSerializer,
    )
    def get(self, request: Request, flow_name: str, deployment_name: str) -> Response:
        """The deployment ``flow_name/deployment_name``."""
        from runs.services.deployments import get_deployment

        deployment = get_deployment(f"{flow_name}/{deployment_name}")
        return _detail_response(request, deployment.id)


class _PauseView(ApiView):
    write_permission = MANAGE
    paused = True

    @extend_schema(
        request=None, parameters=[_id("deployment_id")], responses=DeploymentDetailSerializer
    )
    def post(self, request: Request, deployment_id: int) -> Response:  # noqa: D102
        from runs.services.deployments import pause_deployment, resume_deployment

        deployment_id = _checked_id(deployment_id, "deployment")
        (pause_deployment if self.paused else resume_deployment)(deployment_id)
        return _detail_response(request, deployment_id)


class DeploymentPauseView(_PauseView):
    """Pause a deployment: its schedules make no runs, and its future runs not yet started are
    removed."""

    paused = True


class DeploymentResumeView(_PauseView):
    """Resume a deployment: its schedules make runs again."""

    paused = False


class DeploymentRunView(ApiView):
    """Run a deployment now (or at ``scheduled_time``): Prefect's "Quick run"."""

    write_permission = OPERATE
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(
        parameters=[_id("deployment_id")],
        request=DeploymentRunSerializer,
        responses={201: FlowRunSerializer},
    )
    def post(self, request: Request, deployment_id: int) -> Response:
        """Start a flow run of the deployment: its parameters are the deployment's with those
        given over them, its queue and tags the deployment's. 201 with the run, as POST
        /api/flow-runs/ answers."""
        from runs.services.deployments import DeploymentError, get_deployment, run_deployment
        from runs.services.flow_runs import FlowRunNameError

        get_deployment(_checked_id(deployment_id, "deployment"))
        data = _valid(DeploymentRunSerializer, request.data)
        try:
            run = run_deployment(
                deployment_id,
                parameters=data["parameters"],
                scheduled_time=data["scheduled_time"],
            )
        except DeploymentError as error:
            return deployment_error(error)
        except (registry.UnknownFlow, registry.RegistrationError) as error:
            return Response(
                {"detail": f"The deployment's flow cannot be started: {error}"},
                status=status.HTTP_409_CONFLICT,
            )
        except ParameterError as error:
            raise ValidationError(
                {"parameters": {name: [message] for name, message in error.errors.items()}}
            ) from None
        except FlowRunNameError as error:
            raise ValidationError({"parameters": [str(error)]}) from None
        data = FlowRunSerializer(run, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


# --- schedules -----------------------------------------------------------------------------------


def _schedule_of(deployment_id: int, schedule_id: int):
    """The schedule ``schedule_id`` of the deployment; a 404 when it is not one of its own."""
    detail = _detail(_checked_id(deployment_id, "deployment"))
    for schedule in detail.schedules:
        if schedule.id == schedule_id:
            return schedule
    raise NotFound(f"Deployment {deployment_id} has no schedule with id {schedule_id}.")


class ScheduleListView(ApiView):
    """A deployment's schedules: list them, or add one."""

    write_permission = MANAGE
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(parameters=[_id("deployment_id")], responses=ScheduleSerializer(many=True))
    def get(self, request: Request, deployment_id: int) -> Response:
        """Every schedule of the deployment, each with a ``description`` in words."""
        detail = _detail(_checked_id(deployment_id, "deployment"))
        return Response(ScheduleSerializer(detail.schedules, many=True).data)

    @extend_schema(
        parameters=[_id("deployment_id")],
        request=ScheduleInputSerializer,
        responses={201: ScheduleSerializer},
    )
    def post(self, request: Request, deployment_id: int) -> Response:
        """Add a schedule: a cron expression, an interval or an RRule; 400 naming the field."""
        from runs.services.deployments import DeploymentError, add_schedule, get_deployment

        get_deployment(_checked_id(deployment_id, "deployment"))
        data = _valid(ScheduleInputSerializer, request.data)
        try:
            schedule = add_schedule(deployment_id, _schedule_input(data))
        except DeploymentError as error:
            return deployment_error(error, schedule_body=True)
        return Response(
            ScheduleSerializer(_schedule_of(deployment_id, schedule.id)).data,
            status=status.HTTP_201_CREATED,
        )


class ScheduleDetailView(ApiView):
    """One schedule of a deployment: change or delete it."""

    write_permission = MANAGE
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(
        parameters=[_id("deployment_id"), _id("schedule_id")],
        request=ScheduleUpdateSerializer,
        responses=ScheduleSerializer,
    )
    def patch(self, request: Request, deployment_id: int, schedule_id: int) -> Response:
        """Change the schedule (``active: false`` stops it); the future runs it made that have
        not started are made again from the new one."""
        from runs.services.deployments import (
            DeploymentError,
            ScheduleInput,
            set_schedule_active,
            update_schedule,
        )

        row = _schedule_of(deployment_id, schedule_id)
        data = _valid(ScheduleUpdateSerializer, request.data, partial=True)
        try:
            if set(data) - {"active"}:
                merged = {
                    part: data.get(part, getattr(row, part))
                    for part in ("kind", "value", "timezone", "anchor", "active")
                }
                update_schedule(schedule_id, ScheduleInput(**merged))
            elif "active" in data:
                set_schedule_active(schedule_id, data["active"])
        except DeploymentError as error:
            return deployment_error(error, schedule_body=True)
        return Response(ScheduleSerializer(_schedule_of(deployment_id, schedule_id)).data)

    @extend_schema(parameters=[_id("deployment_id"), _id("schedule_id")], responses={204: None})
    def delete(self, request: Request, deployment_id: int, schedule_id: int) -> Response:
        """Delete the schedule and the future runs it made that have not started."""
        from runs.services.deployments import delete_schedule

        _schedule_of(deployment_id, schedule_id)
        delete_schedule(schedule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
