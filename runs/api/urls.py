"""URLs of the REST API (included under /api/)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from runs.api import views

urlpatterns = [
    path("concurrency-limits/", include("limits.api.urls")),
    path("flows/", views.FlowListView.as_view(), name="api-flow-list"),
    path("flows/<str:name>/", views.FlowDetailView.as_view(), name="api-flow-detail"),
    path("flow-runs/", views.FlowRunListView.as_view(), name="api-flow-run-list"),
    path(
        "flow-runs/<str:flow_run_id>/",
        views.FlowRunDetailView.as_view(),
        name="api-flow-run-detail",
    ),
    path(
        "flow-runs/<str:flow_run_id>/cancel/",
        views.FlowRunCancelView.as_view(),
        name="api-flow-run-cancel",
    ),
    path(
        "flow-runs/<str:flow_run_id>/rerun/",
        views.FlowRunRerunView.as_view(),
        name="api-flow-run-rerun",
    ),
    path(
        "flow-runs/<str:flow_run_id>/states/",
        views.FlowRunStatesView.as_view(),
        name="api-flow-run-states",
    ),
    path(
        "flow-runs/<str:flow_run_id>/logs/",
        views.FlowRunLogsView.as_view(),
        name="api-flow-run-logs",
    ),
    path("task-runs/", views.TaskRunListView.as_view(), name="api-task-run-list"),
    path(
        "task-runs/<str:task_run_id>/",
        views.TaskRunDetailView.as_view(),
        name="api-task-run-detail",
    ),
    path(
        "task-runs/<str:task_run_id>/states/",
        views.TaskRunStatesView.as_view(),
        name="api-task-run-states",
    ),
    path(
        "task-runs/<str:task_run_id>/logs/",
        views.TaskRunLogsView.as_view(),
        name="api-task-run-logs",
    ),
    path("logs/", views.LogListView.as_view(), name="api-log-list"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"^[\s\S]*\Z", views.NotFoundView.as_view()),  # newlines too
]
