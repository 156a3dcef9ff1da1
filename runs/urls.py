"""URLs of the dashboard, and the REST API under ``api/``: include them under any prefix
(``path("runs/", include("runs.urls"))``)."""

from django.urls import include, path

from runs.views import (
    auth,
    cache,
    deployments,
    flow_page,
    flow_runs,
    flows,
    limits,
    log_download,
    overview,
    task_runs,
    work_queues,
    workers,
)

#: Every name is reversed as ``runs:NAME`` (``{% url 'runs:flows' %}``), clear of a host's own.
app_name = "runs"

urlpatterns = [
    path("api/", include("runs.api.urls")),
    path("", overview.overview, name="overview"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("flow-runs/", flow_runs.flow_run_list, name="flow-runs"),
    path("flow-runs/<uuid:flow_run_id>/", flow_runs.flow_run_detail, name="flow-run"),
    path("flow-runs/<uuid:flow_run_id>/cancel/", flow_runs.flow_run_cancel, name="flow-run-cancel"),
    path("flow-runs/<uuid:flow_run_id>/rerun/", flow_runs.flow_run_rerun, name="flow-run-rerun"),
    path("flow-runs/<uuid:flow_run_id>/logs.txt", log_download.flow_run_logs, name="flow-run-logs"),
    path("task-runs/", task_runs.task_run_list, name="task-runs"),
    path("task-runs/<uuid:task_run_id>/", task_runs.task_run_detail, name="task-run"),
    path("task-runs/<uuid:task_run_id>/logs.txt", log_download.task_run_logs, name="task-run-logs"),
    path("flows/", flows.flow_list, name="flows"),
    path("flows/<str:flow_name>/run/", flows.flow_run_start, name="flow-run-start"),
    # After the Run route: a flow's name may hold "/" (path), its page must still open.
    path("flows/<path:flow_name>/", flow_page.flow_detail, name="flow"),
    path("limits/", limits.limit_list, name="limits"),
    path("limits/<uuid:limit_id>/", limits.limit_detail, name="limit"),
    path("limits/<uuid:limit_id>/edit/", limits.limit_edit, name="limit-edit"),
    path("limits/<uuid:limit_id>/delete/", limits.limit_delete, name="limit-delete"),
    path("workers/", workers.worker_list, name="workers"),
    path("deployments/", deployments.deployment_list, name="deployments"),
    path("deployments/<int:deployment_id>/", deployments.deployment_detail, name="deployment"),
    path(
        "deployments/<int:deployment_id>/pause/",
        deployments.deployment_pause,
        name="deployment-pause",
    ),
    path(
        "deployments/<int:deployment_id>/resume/",
        deployments.deployment_resume,
        name="deployment-resume",
    ),
    path("deployments/<int:deployment_id>/run/", deployments.deployment_run, name="deployment-run"),
    path(
        "deployments/<int:deployment_id>/schedules/<int:schedule_id>/active/",
        deployments.schedule_active,
        name="deployment-schedule-active",
    ),
    path("work-queues/", work_queues.work_queue_list, name="work-queues"),
    path("work-queues/<str:name>/", work_queues.work_queue_detail, name="work-queue"),
    path("work-queues/<str:name>/pause/", work_queues.work_queue_pause, name="work-queue-pause"),
    path("work-queues/<str:name>/resume/", work_queues.work_queue_resume, name="work-queue-resume"),
    path("work-queues/<str:name>/limit/", work_queues.work_queue_limit, name="work-queue-limit"),
    path("cache/", cache.cache_list, name="cache"),
    path("cache/expire/", cache.cache_expire, name="cache-expire"),
    path("cache/expire-task/", cache.cache_expire_task, name="cache-expire-task"),
]
