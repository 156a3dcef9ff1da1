"""Concurrency-limit endpoints: thin views over runs_limits.services and runs_limits.selectors.

``GET, POST /api/concurrency-limits/``; ``GET, PATCH, DELETE /api/concurrency-limits/ID/``;
``GET, DELETE /api/concurrency-limits/tag/TAG/``. They share the runs API's base views
(:mod:`runs.api.base`): the same error format (404 ``{"detail"}``, 400 ``{"field": [...]}``)
and the same keyset pages. Authentication is the project's default (token or session;
anonymous requests get 401); reading needs the Viewer role, changing limits the Admin role
(``write_permission``, see runs.api.permissions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from runs.api.base import ApiView, PagedView
from runs.api.pagination import KeysetPagination
from runs_limits import selectors, services
from runs_limits.api.serializers import (
    ConcurrencyLimitCreateSerializer,
    ConcurrencyLimitOutputSerializer,
    ConcurrencyLimitUpdateSerializer,
)

if TYPE_CHECKING:
    from runs_limits.models import ConcurrencyLimit


class LimitPagination(KeysetPagination):
    """The runs API's keyset pages, sized by ``?limit=`` (as Prefect's client sends it).

    ``?offset=M`` (what the Python client's ``read_concurrency_limits(limit, offset)`` sends)
    skips the first M limits by tag; the ``next`` and ``previous`` links are cursors.
    """

    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000
    offset_query_param = "offset"


def _invalid(error: services.LimitError, field: str) -> ValidationError:
    return ValidationError({field: [str(error)]})


class ConcurrencyLimitListView(PagedView):
    """List limits, or create one (setting a tag that already has a limit updates it)."""

    pagination_class = LimitPagination
    keyset_ordering = ("tag",)
    serializer_class = ConcurrencyLimitOutputSerializer
    write_permission = "limits.manage_limits"

    @extend_schema(responses=ConcurrencyLimitOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every limit, by tag, in keyset pages."""
        return self.page(request, selectors.list_limits())

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
            raise _invalid(error, field="concurrency_limit") from None
        return Response(
            ConcurrencyLimitOutputSerializer(limit).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class _OneLimitView(ApiView):
    write_permission = "limits.manage_limits"

    def find(self, **kwargs) -> ConcurrencyLimit:
        """The limit the URL names; ObjectNotFound (a 404) when there is none."""
        raise NotImplementedError

    @extend_schema(responses=ConcurrencyLimitOutputSerializer)
    def get(self, request: Request, **kwargs) -> Response:
        """One limit with the ids of the task runs holding its slots."""
        return Response(ConcurrencyLimitOutputSerializer(self.find(**kwargs)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, **kwargs) -> Response:
        """Remove the limit: its tag becomes unlimited and waiting runs go on."""
        services.delete_limit(limit=self.find(**kwargs))
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
        limit = self.find(**kwargs)
        body = ConcurrencyLimitUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            limit = services.update_limit(limit=limit, **body.validated_data)
        except services.LimitError as error:
            raise _invalid(error, field="tag") from None
        return Response(ConcurrencyLimitOutputSerializer(limit).data)


class ConcurrencyLimitByTagView(_OneLimitView):
    """One limit by its tag: read or delete."""

    def find(self, *, tag) -> ConcurrencyLimit:  # noqa: D102
        return selectors.get_limit_by_tag(tag)
