"""The project's API route for limits, on its own: the tests do not depend on runs/api/urls.py."""

from django.urls import include, path

urlpatterns = [path("api/concurrency-limits/", include("runs_limits.api.urls"))]
