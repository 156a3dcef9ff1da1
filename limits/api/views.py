"""Concurrency-limit endpoints: thin views over limits.services and limits.selectors.

``GET, POST /api/concurrency-limits/``; ``GET, PATCH, DELETE /api/concurrency-limits/ID/``;
``GET, DELETE /api/concurrency-limits/tag/TAG/``. Authentication and permissions are the
project's defaults (token or session; anonymous requests get 401).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from limits import selectors, services
from limits.api.serializers import (
    ConcurrencyLimitCreateSerializer,
    ConcurrencyLimitOutputSerializer,
    ConcurrencyLimitUpdateSerializer,
)
from limits.models import ConcurrencyLimit
from runs.exceptions import ObjectNotFound


class LimitPagination(CursorPagination):
    """Cursor pages ordered by tag: ``{"results", "next", "previous"}``.

    ``?limit=N`` sets the page size. ``?offset=M`` (what the Python client's
    ``read_concurrency_limits(limit, offset)`` sends) skips the first M limits by tag; its
    ``next`` link carries on with the offset.
    """

    ordering = ("tag",)
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000
    offset_query_param = "offset"

    def paginate_queryset(self, queryset, request, view=None):  # noqa: D102
        raw = request.query_params.get(self.offset_query_param)
        self._offset = None
        if raw is None or request.query_params.get(self.cursor_query_param):
            return super().paginate_queryset(queryset, request, view)
        try:
            offset = int(raw)
        except ValueError:
            offset = -1
        if not 0 <= offset < 2**31:
            raise ValidationError(
                {"offset": [f"Expected a whole number from 0 to {2**31 - 1}; got {raw!r}."]}
            )
        size = self.get_page_size(request)
        self._offset, self._size, self.request = offset, size, request
        page = list(queryset.order_by(*self.ordering)[offset : offset + size + 1])
        self._has_more = len(page) > size
        return page[:size]

    def get_paginated_response(self, data):  # noqa: D102
        if self._offset is None:
            return super().get_paginated_response(data)
        url = self.request.build_absolute_uri()
        following = (
            replace_query_param(url, self.offset_query_param, self._offset + self._size)
            if self._has_more
            else None
        )
        previous = None
        if self._offset > 0:
            back = max(self._offset - self._size, 0)
            previous = (
                replace_query_param(url, self.offset_query_param, back)
                if back
                else remove_query_param(url, self.offset_query_param)
            )
        return Response({"results": data, "next": following, "previous": previous})

    def get_schema_operation_parameters(self, view):  # noqa: D102
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "Skip this many limits (by tag) instead of using a cursor.",
                "schema": {"type": "integer", "minimum": 0},
            },
        ]


def _bad_request(error: services.LimitError, field: str) -> Response:
    return Response({field: [str(error)]}, status=status.HTTP_400_BAD_REQUEST)


class ConcurrencyLimitListView(APIView):
    """List limits, or create one (setting a tag that already has a limit updates it)."""

    pagination_class = LimitPagination

    @extend_schema(
        responses=ConcurrencyLimitOutputSerializer(many=True),
        parameters=[OpenApiParameter("limit", int, description="Page size (at most 1000)")],
    )
    def get(self, request: Request) -> Response:
        """Every limit, by tag, cursor-paginated."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.list_limits(), request, view=self)
        data = ConcurrencyLimitOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=ConcurrencyLimitCreateSerializer,
        responses={201: ConcurrencyLimitOutputSerializer, 200: ConcurrencyLimitOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Set a tag's limit: 201 when new, 200 when an existing limit was updated."""
        body = ConcurrencyLimitCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            limit, created = services.create_limit(**body.validated_data)
        except services.LimitError as error:
            return _bad_request(error, field="concurrency_limit")
        return Response(
            ConcurrencyLimitOutputSerializer(limit).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class _OneLimitView(APIView):
    def find(self, **kwargs) -> ConcurrencyLimit:
        raise NotImplementedError

    def _get(self, **kwargs) -> ConcurrencyLimit:
        try:
            return self.find(**kwargs)
        except ObjectNotFound as error:
            raise NotFound(str(error)) from error

    @extend_schema(responses=ConcurrencyLimitOutputSerializer)
    def get(self, request: Request, **kwargs) -> Response:
        """One limit with the ids of the task runs holding its slots."""
        return Response(ConcurrencyLimitOutputSerializer(self._get(**kwargs)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, **kwargs) -> Response:
        """Remove the limit: its tag becomes unlimited and waiting runs go on."""
        services.delete_limit(limit=self._get(**kwargs))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConcurrencyLimitDetailView(_OneLimitView):
    """One limit by id: read, change (``concurrency_limit``, ``tag``) or delete."""

    def find(self, *, limit_id) -> ConcurrencyLimit:  # noqa: D102
        return selectors.get_limit(limit_id)

    @extend_schema(
        request=ConcurrencyLimitUpdateSerializer, responses=ConcurrencyLimitOutputSerializer
    )
    def patch(self, request: Request, **kwargs) -> Response:
        """Change the limit; waiting runs see the new number at once."""
        limit = self._get(**kwargs)
        body = ConcurrencyLimitUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            limit = services.update_limit(limit=limit, **body.validated_data)
        except services.LimitError as error:
            return _bad_request(error, field="tag")
        return Response(ConcurrencyLimitOutputSerializer(limit).data)


class ConcurrencyLimitByTagView(_OneLimitView):
    """One limit by its tag: read or delete."""

    def find(self, *, tag) -> ConcurrencyLimit:  # noqa: D102
        return selectors.get_limit_by_tag(tag)
