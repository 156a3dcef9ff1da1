"""REST endpoints for work queues: where flow runs wait for room to start.

``GET, POST /api/work-queues/``; ``GET, PATCH, DELETE /api/work-queues/NAME/``;
``POST /api/work-queues/NAME/pause/`` and ``/resume/``; ``GET /api/work-queues/NAME/runs/
?status=waiting|running|later`` (waiting runs in line order, each with its ``place``).
Thin views over runs.services.work_queues and runs.selectors.work_queues. Reading needs the
Viewer role; creating, changing, pausing and deleting queues needs the permission that changes
concurrency limits (``limits.manage_limits``, the Admin role): a queue's limit and pause decide
how many runs start, as a concurrency limit does. A taken name or a queue still in use is a 409
naming the field; other bad input a 400 naming it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from runs.api.base import ApiView
from runs.api.pagination import KeysetPagination
from runs.api.parsers import DepthLimitedJSONParser
from runs.api.serializers_deployments import (
    QUEUE_NAME_PATTERN,
    QueuedFlowRunSerializer,
    WorkQueueCreateSerializer,
    WorkQueueSerializer,
    WorkQueueUpdateSerializer,
)

#: The permission that creates, changes and deletes work queues and deployments.
MANAGE = "limits.manage_limits"

CONFLICT = OpenApiResponse(
    response={"type": "object", "additionalProperties": True},
    description="The change conflicts with what exists: field name -> why (a taken name, a "
    "queue or deployment still in use).",
)

RUN_STATUSES = ("waiting", "running", "later")


def queue_name_parameter(name: str = "name") -> OpenApiParameter:
    """The path parameter naming a work queue."""
    return OpenApiParameter(
        name,
        {"type": "string", "pattern": QUEUE_NAME_PATTERN},
        OpenApiParameter.PATH,
        description="The work queue's name.",
    )


def field_errors(field: str, message: str) -> dict[str, list[str]]:
    """``{"field": ["message"]}``, the API's shape of a field's error."""
    return {field or "non_field_errors": [message]}


class ListPagination(KeysetPagination):
    """The API's keyset pages over a list already in memory, sorted by a key of JSON values.

    For the short lists of queues and deployments, which selectors hand out with counts and
    next runs already gathered; the cursors look like (and are as opaque as) the others.
    """

    def paginate_list(self, items: Sequence, request: Request, key: Callable[[Any], list]) -> list:
        """The page of ``items`` (sorted by ``key``) the request's cursor and size ask for."""
        size = self.page_size_for(request)
        cursor = request.query_params.get(self.cursor_query_param) or None
        keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
        backwards = False
        if cursor is not None:
            value, backwards = self._decode(cursor)
            try:
                if backwards:
                    keyed = [pair for pair in keyed if pair[0] < value][-size - 1 :]
                else:
                    keyed = [pair for pair in keyed if pair[0] > value]
            except TypeError:  # a cursor of another list's keys
                raise self._bad_cursor() from None
        if backwards:
            more_before = len(keyed) > size
            page = keyed[-size:]
            self.next_cursor = self._encode(page[-1][0], False) if page else None
            self.previous_cursor = self._encode(page[0][0], True) if more_before else None
        else:
            page = keyed[:size]
            more_after = len(keyed) > size
            self.next_cursor = self._encode(page[-1][0], False) if more_after else None
            self.previous_cursor = self._encode(page[0][0], True) if cursor and page else None
        self.request = request
        return [item for _, item in page]

    @staticmethod
    def _encode(value: list, backwards: bool) -> str:
        raw = json.dumps({"v": value, "r": backwards}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode(cursor: str) -> tuple[list, bool]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            payload = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            payload = None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("v"), list)
            or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in payload["v"])
        ):
            raise ListPagination._bad_cursor()
        return payload["v"], bool(payload.get("r"))

    @staticmethod
    def _bad_cursor() -> ValidationError:
        return ValidationError(
            field_errors(
                "cursor",
                "This cursor is not one this API gave out; use the next or previous link of a "
                "page, or leave the cursor out for the first page.",
            )
        )

    def get_paginated_response(self, data):  # noqa: D102
        return Response(
            {
                "results": data,
                "next": self._link(self.next_cursor),
                "previous": self._link(self.previous_cursor),
            }
        )


class ListView(ApiView):
    """A list served in :class:`ListPagination` pages."""

    pagination_class = ListPagination

    def list_page(self, request: Request, items: Sequence, key, serialize) -> Response:
        """The requested page of ``items`` (sorted by ``key``), each serialized by
        ``serialize(page_items)``."""
        paginator = self.pagination_class()
        page = paginator.paginate_list(items, request, key)
        return paginator.get_paginated_response(serialize(page))


def _summary(name: str):
    from runs.selectors.work_queues import work_queue_detail

    return work_queue_detail(name)


def _queue_error(error) -> ValidationError:
    return ValidationError(field_errors(error.field, str(error)))


def _is_conflict(message: str) -> bool:
    return any(
        words in message
        for words in ("already exists", "cannot be deleted", "is used by", "still has")
    )


def _refusal(error) -> Response | None:
    """A 409 for a conflict with what exists; None when the error is bad input (a 400)."""
    if _is_conflict(str(error)):
        return Response(field_errors(error.field, str(error)), status=status.HTTP_409_CONFLICT)
    return None


class WorkQueueListView(ListView):
    """List work queues with their counts, or create one."""

    write_permission = MANAGE
    # JSON only: a form field cannot say null (no limit) nor a strict true/false.
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(responses=WorkQueueSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every work queue by name: its limit, pause, and how many runs hold a place
        (``running``), wait their turn (``waiting``), wait for a later time, are late."""
        from runs.selectors.work_queues import work_queue_summaries

        return self.list_page(
            request,
            work_queue_summaries(),
            key=lambda summary: [summary.queue.name],
            serialize=lambda page: (
                WorkQueueSerializer(page, many=True, context={"request": request}).data
            ),
        )

    @extend_schema(
        request=WorkQueueCreateSerializer,
        responses={201: WorkQueueSerializer, 409: CONFLICT},
    )
    def post(self, request: Request) -> Response:
        """Create a work queue: ``runs worker -Q NAME`` serves it. 409 when the name is taken."""
        from runs.services.work_queues import WorkQueueError, create_work_queue

        body = WorkQueueCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            queue = create_work_queue(**body.validated_data)
        except WorkQueueError as error:
            conflict = _refusal(error)
            if conflict is not None:
                return conflict
            raise _queue_error(error) from None
        data = WorkQueueSerializer(_summary(queue.name), context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


class WorkQueueDetailView(ApiView):
    """One work queue: read, change (limit, description, pause) or delete."""

    write_permission = MANAGE
    # JSON only: a form field cannot say null (no limit) nor a strict true/false.
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(parameters=[queue_name_parameter()], responses=WorkQueueSerializer)
    def get(self, request: Request, name: str) -> Response:
        """The queue with its counts."""
        return Response(WorkQueueSerializer(_summary(name), context={"request": request}).data)

    @extend_schema(
        parameters=[queue_name_parameter()],
        request=WorkQueueUpdateSerializer,
        responses=WorkQueueSerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        """Change the queue's ``concurrency_limit`` (null: no limit; 0: nothing starts),
        ``description`` or ``paused``; the runs it now has room for start at once."""
        from runs.services.work_queues import WorkQueueError, get_work_queue, update_work_queue

        get_work_queue(name)  # an unknown queue is a 404 before a bad body is a 400
        body = WorkQueueUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            update_work_queue(name, **body.validated_data)
        except WorkQueueError as error:
            raise _queue_error(error) from None
        return Response(WorkQueueSerializer(_summary(name), context={"request": request}).data)

    @extend_schema(parameters=[queue_name_parameter()], responses={204: None, 409: CONFLICT})
    def delete(self, request: Request, name: str) -> Response:
        """Delete the queue; 409 for the default queue, or one that deployments or unfinished
        runs still use."""
        from runs.services.work_queues import WorkQueueError, delete_work_queue

        try:
            delete_work_queue(name)
        except WorkQueueError as error:
            return Response(field_errors(error.field, str(error)), status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _PauseView(ApiView):
    write_permission = MANAGE
    parser_classes = [DepthLimitedJSONParser]
    paused = True

    @extend_schema(request=None, parameters=[queue_name_parameter()], responses=WorkQueueSerializer)
    def post(self, request: Request, name: str) -> Response:  # noqa: D102
        from runs.services.work_queues import pause_work_queue, resume_work_queue

        (pause_work_queue if self.paused else resume_work_queue)(name)
        return Response(WorkQueueSerializer(_summary(name), context={"request": request}).data)


class WorkQueuePauseView(_PauseView):
    """Pause a work queue: nothing new starts from it; runs already sent go on."""

    paused = True


class WorkQueueResumeView(_PauseView):
    """Resume a work queue: its waiting runs start again, in order, as room allows."""

    paused = False


class WorkQueueRunsView(ListView):
    """A work queue's flow runs: waiting in line (first = next), running, or due later."""

    @extend_schema(
        parameters=[
            queue_name_parameter(),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=list(RUN_STATUSES),
                description="waiting (default): due runs in line order, each with its place; "
                "running: runs holding a place; later: runs scheduled for later. Each lists its "
                "first 20 runs.",
            ),
        ],
        responses=QueuedFlowRunSerializer(many=True),
    )
    def get(self, request: Request, name: str) -> Response:
        """The queue's runs of one ``status``, in order."""
        wanted = request.query_params.get("status") or "waiting"
        if wanted not in RUN_STATUSES:
            raise ValidationError(
                field_errors(
                    "status",
                    f"Expected one of {', '.join(RUN_STATUSES)}; got {wanted!r}.",
                )
            )
        detail = _summary(name)
        runs = list(getattr(detail, f"{wanted}_runs"))
        places = (
            {run.id: index + 1 for index, run in enumerate(runs)} if wanted == "waiting" else {}
        )
        positions = {run.id: index for index, run in enumerate(runs)}
        return self.list_page(
            request,
            runs,
            key=lambda run: [positions[run.id]],
            serialize=lambda page: (
                QueuedFlowRunSerializer(
                    page, many=True, context={"request": request, "places": places}
                ).data
            ),
        )
