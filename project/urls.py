"""URLs: the admin, and runs' dashboard with its REST API (under /api/) at the root."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("runs.urls")),
]
