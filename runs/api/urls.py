"""URLs of the REST API."""

from django.urls import include, path

urlpatterns = [
    path("concurrency-limits/", include("limits.api.urls")),
]
