"""Sign-in throttling: django-axes' lock-out check, for sign-ins made through a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class SignInThrottle(AxesStandaloneBackend):
    """Refuses a sign-in from an address and user name that are locked out (django-axes).

    ``authenticate()`` called without a request (a script, a management command, a test) has
    no address to count: it is left to the next backend instead of being an error.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ):  # noqa: D102
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
