"""Every error under /api/ answers JSON ``{"detail": ...}``, also those Django makes itself.

DRF turns the errors it handles into JSON; what happens around it does not: a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` and an unhandled exception (a 500) come back as Django's HTML
pages. :class:`JsonApiErrors` refuses oversized bodies up front with a 413, and replaces any
error response under /api/ that is not JSON with one that is, keeping its status.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

#: Where runs' own project mounts the API (a host mounts it under its prefix: see api_prefix).
API_PREFIX = "/api/"


def api_prefix() -> str:
    """The path (without the script prefix) the API is mounted at: ``/api/`` in runs' own
    project, ``/runs/api/`` when a host includes ``runs.urls`` under ``runs/``."""
    from django.urls import get_urlconf

    return _api_prefix(get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=8)
def _api_prefix(urlconf) -> str:
    from django.urls import NoReverseMatch, get_script_prefix, reverse

    try:
        schema = reverse("runs:api-schema", urlconf=urlconf).removeprefix(get_script_prefix())
    except NoReverseMatch:  # runs' URLs are not included: nothing is the API
        return API_PREFIX
    return "/" + schema.removesuffix("schema/")


DETAILS = {
    413: (
        "The request body is larger than the {limit} bytes the API accepts; send less data "
        "(for a flow run, smaller parameters)."
    ),
    500: (
        "Server error: the request could not be completed. It has been logged with its "
        "traceback for the administrator; try again, or report it if it persists."
    ),
}


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _json_error(status: int, reason: str) -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    detail = DETAILS.get(status, "{reason}.").format(limit=limit, reason=reason)
    return JsonResponse({"detail": detail}, status=status)


class JsonApiErrors:
    """Middleware: JSON error responses for every request under :data:`API_PREFIX`."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:  # noqa: D102
        if not request.path_info.startswith(api_prefix()):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _content_length(request) > limit:
            return _json_error(413, "Request body too large")
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code < 400 or "json" in content_type:
            return response
        replaced = _json_error(response.status_code, response.reason_phrase)
        # Django logs an error response once; the one it already logged (a 500 with its
        # traceback) is not logged again, without it, as this new one.
        replaced._has_been_logged = getattr(response, "_has_been_logged", False)
        return replaced
