"""Signing in and out, with the dashboard's own templates."""

from __future__ import annotations

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    """The sign-in page; says where the admin password is when `runs up` generated it."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from runs import conf
        from runs.services.admin_account import PASSWORD_FILE

        context = super().get_context_data(**kwargs)
        context["password_file"] = conf.settings.RUNS_HOME / PASSWORD_FILE
        return context


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, with CSRF), then back to the sign-in page."""
