"""The role a dashboard page or action needs: signed in, and holding its permission.

Anonymous visitors go to the sign-in page as before; a signed-in user without the permission
gets the 403 page (templates/runs/403.html, with the nav) saying which role the action needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from runs import roles
from runs.views.errors import runs_error_pages

_READING = frozenset({"GET", "HEAD", "OPTIONS"})


def requires(permission: str, *, writes: str | None = None) -> Callable:
    """Decorate a view: ``permission`` for every request, or for reading only when ``writes``
    is given (then POST and other writes need ``writes``). A refusal, and a 404 the view
    raises, show runs' own error pages, also inside a host project."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @runs_error_pages
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            needed = writes if writes and request.method not in _READING else permission
            if not request.user.has_perm(needed):
                raise PermissionDenied(roles.refusal(needed, request.user.get_username()))
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorator


#: Reading pages: every role.
can_view = requires(roles.VIEW)
#: Starting and cancelling flow runs, expiring cache entries: Operators and Admins.
can_operate = requires(roles.OPERATE)
#: Changing concurrency limits: Admins.
can_manage_limits = requires(roles.MANAGE_LIMITS)
