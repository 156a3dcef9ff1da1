"""The base views of every REST endpoint, the runs API's and the limits API's alike.

:class:`ApiView` turns the domain's errors into the API's: ObjectNotFound is a 404
``{"detail"}``, a FilterError a 400 naming each field (``{"field": ["what was wrong"]}``);
it reads JSON bodies nested at most ``MAX_JSON_DEPTH`` levels (:mod:`runs.api.parsers`).
:class:`PagedView` serves a list in keyset pages (:mod:`runs.api.pagination`).
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runs.api.pagination import KeysetPagination
from runs.api.parsers import DepthLimitedJSONParser
from runs.exceptions import ObjectNotFound
from runs.selectors import FilterError, run_sort


class ApiView(APIView):
    """Maps the domain's lookup and filter errors to 404 and 400."""

    parser_classes = [DepthLimitedJSONParser, FormParser, MultiPartParser]

    def initial(self, request, *args, **kwargs):  # noqa: D102
        super().initial(request, *args, **kwargs)
        if any("\x00" in str(value) for value in kwargs.values()):
            raise NotFound("No object has a name or id containing a NUL character.")

    def handle_exception(self, exc):  # noqa: D102
        if isinstance(exc, ObjectNotFound):
            exc = NotFound(str(exc))
        elif isinstance(exc, FilterError):
            exc = ValidationError({name: [message] for name, message in exc.errors.items()})
        return super().handle_exception(exc)


class PagedView(ApiView):
    """A list cut into keyset pages, sorted by ``keyset_ordering`` (unique last)."""

    pagination_class = KeysetPagination
    keyset_ordering: tuple[str, ...] = ("-created", "-id")
    serializer_class: type[serializers.Serializer]

    def page(self, request: Request, queryset, ordering: tuple[str, ...] | None = None) -> Response:
        """The page of ``queryset`` the request asks for, serialized; sorted by ``ordering``, or
        the view's ``keyset_ordering``."""
        paginator = self.pagination_class()
        items = paginator.paginate_queryset(
            queryset, request, view=self, ordering=ordering or self.keyset_ordering
        )
        data = self.serializer_class(items, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    def sorted_page(self, request: Request, queryset) -> Response:
        """A run list's page in the order ``?sort=`` names (runs.selectors.RUN_SORTS)."""
        sort = request.query_params.get("sort")
        if sort and "\x00" in sort:
            raise ValidationError({"sort": ["A sort cannot contain a NUL character."]})
        try:
            queryset, ordering = run_sort(queryset, sort)
        except FilterError as exc:
            raise ValidationError({name: [text] for name, text in exc.errors.items()}) from None
        return self.page(request, queryset, ordering)
