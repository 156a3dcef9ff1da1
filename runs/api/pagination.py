"""Keyset pagination for the API's lists: ``{"results": [...], "next": URL, "previous": URL}``.

Pages are cut by :func:`runs.selectors.paging.keyset_page` (the one keyset module of the project)
on the values of the sort columns (the view's ``keyset_ordering``), so a deep page costs what the
first one does. ``?page_size=`` sets the size (default 50, at most 500); ``?cursor=`` comes from
a ``next`` or ``previous`` link. A subclass may also accept ``?offset=`` on the first page
(``offset_query_param``), for clients that count.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from runs.selectors.filters import FilterError
from runs.selectors.paging import keyset_page

#: Cursors are unpadded URL-safe base64 (runs.selectors.paging); which ones are valid only the
#: server that issued them knows.
CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"


class KeysetPagination(BasePagination):
    """Cursor pages over indexed columns; see the module docstring."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = 50
    max_page_size = 500
    #: A query parameter that skips items of the first page, or None for none.
    offset_query_param: str | None = None

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
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Expected a whole number from 1 to {self.max_page_size}; got {raw!r}."
                    ]
                }
            )
        return size

    def offset_for(self, request) -> int:
        """The items to skip asked for (0 without); a bad number is a 400 naming the parameter."""
        raw = request.query_params.get(self.offset_query_param) if self.offset_query_param else None
        if raw is None:
            return 0
        try:
            offset = int(raw)
        except ValueError:
            offset = -1
        if not 0 <= offset < 2**31:
            raise ValidationError(
                {
                    self.offset_query_param: [
                        f"Expected a whole number from 0 to {2**31 - 1}; got {raw!r}."
                    ]
                }
            )
        return offset

    def paginate_queryset(self, queryset, request, view=None, ordering=None):  # noqa: D102
        ordering = ordering or getattr(view, "keyset_ordering", ("-created", "-id"))
        size = self.page_size_for(request)
        offset = self.offset_for(request)
        cursor = request.query_params.get(self.cursor_query_param) or None
        try:
            self.page = keyset_page(
                queryset, cursor=cursor, size=size, ordering=ordering, offset=offset
            )
        except FilterError as error:
            raise ValidationError({k: [v] for k, v in error.errors.items()}) from None
        self.request = request
        return self.page.items

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        if self.offset_query_param:
            url = remove_query_param(url, self.offset_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):  # noqa: D102
        return Response(
            {
                "results": data,
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
            }
        )

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
        offset = (
            [
                {
                    "name": self.offset_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Skip this many items of the first page (a cursor wins).",
                    "schema": {"type": "integer", "minimum": 0},
                }
            ]
            if self.offset_query_param
            else []
        )
        return [
            *offset,
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a `next` or `previous` link; empty for the "
                "first page.",
                "schema": {"type": "string", "pattern": CURSOR_PATTERN},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (1 to {self.max_page_size}, default "
                f"{self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
