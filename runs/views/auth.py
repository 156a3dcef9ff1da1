"""Signing in and out, with the dashboard's own templates."""

from __future__ import annotations

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    """The sign-in page; anyone can read it, so it names no path on the server."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, with CSRF), then back to the sign-in page."""
