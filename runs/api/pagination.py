"""Keyset pagination for the API's lists: ``{"results": [...], "next": URL, "previous": URL}``.

Pages are cut by :func:`runs.selectors.keyset_page` on the values of the sort columns (the view's
``keyset_ordering``), so a deep page costs what the first one does. ``?page_size=`` sets the
size (default 50, at most 500); ``?cursor=`` comes from a ``next`` or ``previous`` link.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from runs.selectors import FilterError, keyset_page


class KeysetPagination(BasePagination):
    """Cursor pages over indexed columns; see the module docstring."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = 50
    max_page_size = 500

    def page_size_for(self, request) -> int:
        """The page size asked for; a bad one is a 400 naming ``page_size``."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"Expected a whole number from 1 to {self.max_page_size}; got {raw!r}."]})
        return size

    def paginate_queryset(self, queryset, request, view=None):  # noqa: D102
        ordering = getattr(view, "keyset_ordering", ("-created", "-id"))
        size = self.page_size_for(request)
        cursor = request.query_params.get(self.cursor_query_param) or None
        try:
            self.page = keyset_page(queryset, cursor=cursor, size=size, ordering=ordering)
        except FilterError as error:
            raise ValidationError({k: [v] for k, v in error.errors.items()}) from None
        self.request = request
        return self.page.items

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):  # noqa: D102
        return Response({
            "results": data,
            "next": self._link(self.page.next_cursor),
            "previous": self._link(self.page.previous_cursor),
        })

    def get_paginated_response_schema(self, schema):  # noqa: D102
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }

    def get_schema_operation_parameters(self, view):  # noqa: D102
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Opaque cursor from a `next` or `previous` link.",
             "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Items per page (1 to {self.max_page_size}, default "
                            f"{self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]
