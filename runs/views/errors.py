"""runs' error pages (templates/runs/403.html, 404.html, 500.html, with the nav).

runs' own project names these views as its ``handler403``/``handler404``/``handler500``. In a
host project the host's handlers answer the host's errors; runs' own pages still show runs'
pages, because :func:`runs_error_pages` (applied by ``requires``) renders them for the
``PermissionDenied`` and ``Http404`` a runs view raises.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults

FORBIDDEN_TEMPLATE = "runs/403.html"
NOT_FOUND_TEMPLATE = "runs/404.html"
SERVER_ERROR_TEMPLATE = "runs/500.html"


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 403 page, saying which role the action needs (the exception's message)."""
    return defaults.permission_denied(request, exception, template_name=FORBIDDEN_TEMPLATE)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 page, naming the path and what was not found."""
    return defaults.page_not_found(request, exception, template_name=NOT_FOUND_TEMPLATE)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, pointing at the server's log; nothing of the error itself."""
    return defaults.server_error(request, template_name=SERVER_ERROR_TEMPLATE)


def runs_error_pages(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a view: its ``PermissionDenied`` and ``Http404`` get runs' pages, whatever the
    project's handlers are."""

    @wraps(view)
    def rendered(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return permission_denied(request, exc)
        except Http404 as exc:
            return page_not_found(request, exc)

    return rendered
