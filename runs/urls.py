"""URLs of the dashboard."""

from django.urls import path

from runs.views import auth, cache, flow_runs, flows, limits, overview, task_runs

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("flow-runs/", flow_runs.flow_run_list, name="flow-runs"),
    path("flow-runs/<uuid:flow_run_id>/", flow_runs.flow_run_detail, name="flow-run"),
    path("flow-runs/<uuid:flow_run_id>/cancel/", flow_runs.flow_run_cancel, name="flow-run-cancel"),
    path("task-runs/", task_runs.task_run_list, name="task-runs"),
    path("task-runs/<uuid:task_run_id>/", task_runs.task_run_detail, name="task-run"),
    path("flows/", flows.flow_list, name="flows"),
    path("flows/<str:flow_name>/run/", flows.flow_run_start, name="flow-run-start"),
    path("limits/", limits.limit_list, name="limits"),
    path("limits/<uuid:limit_id>/", limits.limit_detail, name="limit"),
    path("limits/<uuid:limit_id>/edit/", limits.limit_edit, name="limit-edit"),
    path("limits/<uuid:limit_id>/delete/", limits.limit_delete, name="limit-delete"),
    path("cache/", cache.cache_list, name="cache"),
    path("cache/expire/", cache.cache_expire, name="cache-expire"),
    path("cache/expire-task/", cache.cache_expire_task, name="cache-expire-task"),
]
