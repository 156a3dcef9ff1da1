"""URLs: the REST API under /api/, the dashboard everywhere else."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("runs.api.urls")),
    path("", include("runs.urls")),
]
