"""Signing in and out, with the dashboard's own templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import resolve_url
from django.urls import reverse


class LoginView(auth_views.LoginView):
    """The sign-in page; anyone can read it, so it names no path on the server."""

    template_name = "runs/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        """Without ``next``: the dashboard's overview, wherever the project mounts it."""
        return reverse("runs:overview")


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, with CSRF), then back to the sign-in page (the project's
    LOGOUT_REDIRECT_URL when it sets one)."""

    def get_default_redirect_url(self) -> str:
        """LOGOUT_REDIRECT_URL, else the sign-in page of LOGIN_URL."""
        return resolve_url(settings.LOGOUT_REDIRECT_URL or settings.LOGIN_URL)
