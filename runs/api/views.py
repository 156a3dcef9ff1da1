"""REST endpoints for flows, flow runs, task runs, their states and logs.

Thin views over :mod:`runs.selectors` (reading: a run's log lines are ``logs_for``, the same
lines the dashboard shows) and :mod:`runs.services.flow_runs` (starting, cancelling). Unknown ids are a 404 ``{"detail"}``; bad filters and bodies a 400 naming the
field. Authentication is the project's default (token, session; anonymous gets 401); reading
needs the Viewer role, starting and cancelling the Operator role (``write_permission``, see
runs.api.permissions).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from runs import registry, selectors
from runs.api import filters
from runs.api.base import ApiView, PagedView
from runs.api.parsers import DepthLimitedJSONParser
from runs.api.serializers import (
    FlowRunDetailSerializer,
    FlowRunSerializer,
    FlowRunStartSerializer,
    FlowSerializer,
    LogSerializer,
    StateSerializer,
    TaskRunDetailSerializer,
    TaskRunSerializer,
)
from runs.exceptions import ObjectNotFound
from runs.parameters import ParameterError
from runs.selectors import flows as flow_selectors

# Error answers (400, 401, 404, 415) are added to every operation by runs.api.schema.
_CONFLICT = OpenApiResponse(
    response={
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    description="The flow run has already ended.",
)


def _deployment(id_or_full_name: str):
    """The deployment a start request names; a 400 naming ``deployment`` when there is none."""
    from runs.services.deployments import get_deployment

    try:
        return get_deployment(id_or_full_name)
    except ObjectNotFound as error:
        raise ValidationError({"deployment": [str(error)]}) from None


def _start_body(required: str, *, queue: bool) -> dict:
    """One way to start a run: by ``flow`` (with an optional ``work_queue``) or by
    ``deployment``; the request body is exactly one of them."""
    text = {"type": "string", "minLength": 1, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"}
    if required == "flow":
        named = {**text, "maxLength": 200, "description": "Name of a registered flow."}
    else:
        named = {
            "anyOf": [{**text, "maxLength": 401}, {"type": "integer", "minimum": 1}],
            "description": "A deployment's id or FLOW/NAME (GET /api/deployments/).",
        }
    properties = {
        required: named,
        "parameters": {
            "type": "object",
            "additionalProperties": {},
            "description": "Parameter values by name (over the deployment's defaults).",
        },
    }
    if queue:
        properties["work_queue"] = {
            **text,
            "maxLength": 100,
            "description": 'The work queue the run waits in (default: "default").',
        }
    return {
        "type": "object",
        "properties": properties,
        "required": [required],
        "additionalProperties": False,
    }


#: ``POST /api/flow-runs/``'s body: a flow (and its queue), or a deployment; never both.
FLOW_RUN_START = {
    "application/json": {
        "oneOf": [_start_body("flow", queue=True), _start_body("deployment", queue=False)]
    }
}


def _run_id(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH)


# --- flows -----------------------------------------------------------------------------------


class FlowListView(PagedView):
    """Registered flows: the ones a POST to /api/flow-runs/ may start."""

    serializer_class = FlowSerializer
    keyset_ordering = ("name",)

    @extend_schema(responses=FlowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Registered flows by name, with their parameters."""
        return self.page(request, flow_selectors.registered_flows())


class FlowDetailView(ApiView):
    """One registered flow by name."""

    @extend_schema(responses=FlowSerializer)
    def get(self, request: Request, name: str) -> Response:
        """The flow with its parameters: name -> ``type``, ``default``, ``required``."""
        flow = flow_selectors.get_registered_flow(name)
        return Response(FlowSerializer(flow, context={"request": request}).data)


# --- flow runs -------------------------------------------------------------------------------


class FlowRunListView(PagedView):
    """List flow runs, or start a registered flow."""

    serializer_class = FlowRunSerializer
    write_permission = "runs.operate_flows"
    # JSON only: a form field cannot carry the ``parameters`` object.
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(parameters=filters.FLOW_RUN_FILTERS, responses=FlowRunSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Flow runs, newest first, filtered."""
        queryset = filters.select(
            selectors.flow_runs, filters.FLOW_RUN_PARAMS, request.query_params
        )
        return self.sorted_page(request, queryset)

    @extend_schema(request=FLOW_RUN_START, responses={201: FlowRunSerializer})
    def post(self, request: Request) -> Response:
        """Start a registered flow, or a deployment, on a worker: 201 with the new SCHEDULED run
        and its URL. It waits in its work queue until the queue has room."""
        from runs.services.flow_runs import FlowRunNameError, start_flow_run
        from runs.services.work_queues import WorkQueueError

        body = FlowRunStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        given = body.validated_data
        try:
            if "deployment" in given:
                deployment = _deployment(given["deployment"])
                run = start_flow_run(
                    flow_name=deployment.flow.name,
                    deployment=deployment,
                    parameters=given["parameters"],
                )
            else:
                run = start_flow_run(
                    flow_name=given["flow"],
                    parameters=given["parameters"],
                    work_queue=given.get("work_queue"),
                )
        except WorkQueueError as error:
            raise ValidationError({"work_queue": [str(error)]}) from None
        except registry.UnknownFlow as error:
            raise ValidationError({"flow": [str(error)]}) from None
        except registry.RegistrationError as error:
            raise ValidationError({"flow": [f"This flow cannot be loaded: {error}"]}) from None
        except ParameterError as error:
            raise ValidationError(
                {"parameters": {name: [message] for name, message in error.errors.items()}}
            ) from None
        except FlowRunNameError as error:
            raise ValidationError({"flow_run_name": [str(error)]}) from None
        data = FlowRunSerializer(run, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


class FlowRunDetailView(ApiView):
    """One flow run with its task runs."""

    @extend_schema(parameters=[_run_id("flow_run_id")], responses=FlowRunDetailSerializer)
    def get(self, request: Request, flow_run_id: str) -> Response:
        """The flow run, its state, parameters and task runs (oldest first)."""
        run = selectors.get_flow_run(flow_run_id)
        return Response(FlowRunDetailSerializer(run, context={"request": request}).data)


class FlowRunCancelView(ApiView):
    """Cancel a flow run."""

    write_permission = "runs.operate_flows"

    @extend_schema(
        request=None,
        parameters=[_run_id("flow_run_id")],
        responses={200: FlowRunSerializer, 409: _CONFLICT},
    )
    def post(self, request: Request, flow_run_id: str) -> Response:
        """Cancel a scheduled, pending or running flow run; 409 when it has already ended."""
        from runs.services.flow_runs import FlowRunError, cancel_flow_run

        run = selectors.get_flow_run(flow_run_id)
        try:
            run = cancel_flow_run(flow_run_id=run.id)
        except FlowRunError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(FlowRunSerializer(run, context={"request": request}).data)


class FlowRunRerunView(ApiView):
    """Run a finished flow run's flow again with the same parameters."""

    write_permission = "runs.operate_flows"

    @extend_schema(
        request=None,
        parameters=[_run_id("flow_run_id")],
        responses={201: FlowRunSerializer, 409: _CONFLICT},
    )
    def post(self, request: Request, flow_run_id: str) -> Response:
        """Start a new flow run of the same flow and parameters, linked by ``rerun_of``: 201
        with it; 409 when the run has not finished or its flow is not registered."""
        from runs.services.flow_runs import FlowRunError, rerun_flow_run

        run = selectors.get_flow_run(flow_run_id)
        try:
            new = rerun_flow_run(flow_run_id=run.id)
        except (FlowRunError, registry.UnknownFlow, registry.RegistrationError) as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except ParameterError as error:
            message = "; ".join(f"{name}: {text}" for name, text in error.errors.items())
            return Response(
                {"detail": f"The recorded parameters no longer fit the flow: {message}"},
                status=status.HTTP_409_CONFLICT,
            )
        data = FlowRunSerializer(new, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


class FlowRunStatesView(PagedView):
    """A flow run's state history."""

    serializer_class = StateSerializer
    keyset_ordering = ("timestamp", "id")

    @extend_schema(parameters=[_run_id("flow_run_id")], responses=StateSerializer(many=True))
    def get(self, request: Request, flow_run_id: str) -> Response:
        """Every state of the flow run, oldest first."""
        return self.page(request, selectors.state_history(selectors.get_flow_run(flow_run_id)))


class FlowRunLogsView(PagedView):
    """A flow run's log lines, its task runs' included."""

    serializer_class = LogSerializer
    keyset_ordering = ("timestamp", "id")

    @extend_schema(
        parameters=[_run_id("flow_run_id"), *filters.LOG_FILTERS],
        responses=LogSerializer(many=True),
    )
    def get(self, request: Request, flow_run_id: str) -> Response:
        """Log lines, oldest first; ``level`` keeps that level and above, ``search`` lines
        whose message contains it."""
        run = selectors.get_flow_run(flow_run_id)
        return self.page(
            request,
            filters.select(
                selectors.logs_for, filters.RUN_LOG_PARAMS, request.query_params, run=run
            ),
        )


# --- task runs -------------------------------------------------------------------------------


class TaskRunListView(PagedView):
    """List task runs."""

    serializer_class = TaskRunSerializer

    @extend_schema(parameters=filters.TASK_RUN_FILTERS, responses=TaskRunSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Task runs, newest first, filtered."""
        queryset = filters.select(
            selectors.task_runs, filters.TASK_RUN_PARAMS, request.query_params
        )
        return self.sorted_page(request, queryset)


class TaskRunDetailView(ApiView):
    """One task run."""

    @extend_schema(parameters=[_run_id("task_run_id")], responses=TaskRunDetailSerializer)
    def get(self, request: Request, task_run_id: str) -> Response:
        """The task run with its upstream task runs, run count, cache key and expiration."""
        run = selectors.get_task_run(task_run_id)
        return Response(TaskRunDetailSerializer(run, context={"request": request}).data)


class TaskRunStatesView(PagedView):
    """A task run's state history."""

    serializer_class = StateSerializer
    keyset_ordering = ("timestamp", "id")

    @extend_schema(parameters=[_run_id("task_run_id")], responses=StateSerializer(many=True))
    def get(self, request: Request, task_run_id: str) -> Response:
        """Every state of the task run, oldest first."""
        return self.page(request, selectors.state_history(selectors.get_task_run(task_run_id)))


class TaskRunLogsView(PagedView):
    """A task run's log lines."""

    serializer_class = LogSerializer
    keyset_ordering = ("timestamp", "id")

    @extend_schema(
        parameters=[_run_id("task_run_id"), *filters.LOG_FILTERS],
        responses=LogSerializer(many=True),
    )
    def get(self, request: Request, task_run_id: str) -> Response:
        """Log lines, oldest first; ``level`` keeps that level and above, ``search`` lines
        whose message contains it."""
        run = selectors.get_task_run(task_run_id)
        return self.page(
            request,
            filters.select(
                selectors.logs_for, filters.RUN_LOG_PARAMS, request.query_params, run=run
            ),
        )


class LogListView(PagedView):
    """Log lines of any run."""

    serializer_class = LogSerializer
    keyset_ordering = ("timestamp", "id")

    @extend_schema(parameters=filters.ALL_LOG_FILTERS, responses=LogSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Log lines, oldest first, of one flow run, one task run, or every run."""
        return self.page(
            request, filters.select(selectors.log_lines, filters.LOG_PARAMS, request.query_params)
        )


# --- anything else under /api/ ---------------------------------------------------------------


@extend_schema(exclude=True)
class NotFoundView(ApiView):
    """A JSON 404 for any path under /api/ that names no endpoint."""

    permission_classes: list = []
    authentication_classes: list = []

    def _missing(self, request: Request, *args, **kwargs) -> Response:
        raise NotFound(
            f"No API endpoint at {request.path}. The endpoints are listed at /api/docs/."
        )

    get = post = put = patch = delete = head = options = _missing
