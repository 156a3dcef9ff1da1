"""URLs of the REST API (included under /api/)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from runs.api import deployments, views, work_queues

urlpatterns = [
    path("concurrency-limits/", include("runs_limits.api.urls")),
    path("work-queues/", work_queues.WorkQueueListView.as_view(), name="api-work-queue-list"),
    path(
        "work-queues/<str:name>/",
        work_queues.WorkQueueDetailView.as_view(),
        name="api-work-queue-detail",
    ),
    path(
        "work-queues/<str:name>/pause/",
        work_queues.WorkQueuePauseView.as_view(),
        name="api-work-queue-pause",
    ),
    path(
        "work-queues/<str:name>/resume/",
        work_queues.WorkQueueResumeView.as_view(),
        name="api-work-queue-resume",
    ),
    path(
        "work-queues/<str:name>/runs/",
        work_queues.WorkQueueRunsView.as_view(),
        name="api-work-queue-runs",
    ),
    path("deployments/", deployments.DeploymentListView.as_view(), name="api-deployment-list"),
    path(
        "deployments/name/<str:flow_name>/<str:deployment_name>/",
        deployments.DeploymentByNameView.as_view(),
        name="api-deployment-by-name",
    ),
    path(
        "deployments/<int:deployment_id>/",
        deployments.DeploymentDetailView.as_view(),
        name="api-deployment-detail",
    ),
    path(
        "deployments/<int:deployment_id>/pause/",
        deployments.DeploymentPauseView.as_view(),
        name="api-deployment-pause",
    ),
    path(
        "deployments/<int:deployment_id>/resume/",
        deployments.DeploymentResumeView.as_view(),
        name="api-deployment-resume",
    ),
    path(
        "deployments/<int:deployment_id>/run/",
        deployments.DeploymentRunView.as_view(),
        name="api-deployment-run",
    ),
    path(
        "deployments/<int:deployment_id>/schedules/",
        deployments.ScheduleListView.as_view(),
        name="api-deployment-schedules",
    ),
    path(
        "deployments/<int:deployment_id>/schedules/<int:schedule_id>/",
        deployments.ScheduleDetailView.as_view(),
        name="api-deployment-schedule-detail",
    ),
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
    path("docs/", SpectacularSwaggerView.as_view(url_name="runs:api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="runs:api-schema"), name="api-redoc"),
    re_path(r"^[\s\S]*\Z", views.NotFoundView.as_view()),  # newlines too
]
