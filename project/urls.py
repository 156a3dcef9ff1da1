"""URLs: the admin, and runs' dashboard with its REST API (under /api/) at the root."""

from django.contrib import admin
from django.urls import include, path

# runs' styled error pages (a host project keeps its own handlers).
handler403 = "runs.views.errors.permission_denied"
handler404 = "runs.views.errors.page_not_found"
handler500 = "runs.views.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("runs.urls")),
]
