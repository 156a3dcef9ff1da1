"""Trusting the in-process client without a token.

:mod:`runs.client` calls the Django app inside the same process through a WSGI transport and
puts :data:`IN_PROCESS_MARK` into the WSGI environ. The mark is a Python object, not text:
a WSGI server only ever puts strings there (headers arrive as ``HTTP_*`` strings), so no HTTP
request can carry it, whatever headers it sends.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication

#: Environ key and the one object the in-process transport stores under it.
IN_PROCESS_KEY = "runs.in_process"
IN_PROCESS_MARK = object()


class InProcessUser:
    """The user of requests made by code running inside the app's own process."""

    username = "in-process"
    pk = id = None
    is_active = True
    is_staff = True
    is_superuser = False
    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm, obj=None) -> bool:  # noqa: D102
        return True


def is_in_process(request) -> bool:
    """Whether ``request`` (Django's or DRF's) came from runs.client in this process."""
    django_request = getattr(request, "_request", request)
    return django_request.META.get(IN_PROCESS_KEY) is IN_PROCESS_MARK


class InProcessAuthentication(BaseAuthentication):
    """Authenticates requests bearing the in-process mark; returns None for every other one."""

    def authenticate(self, request):  # noqa: D102
        if is_in_process(request):
            return InProcessUser(), None
        return None
