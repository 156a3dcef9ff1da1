"""Deployments: their schedules, next and last runs; pause, resume, Run now, schedule toggles."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from runs.exceptions import ObjectNotFound
from runs.selectors import deployments as deployment_selectors
from runs.services import deployments as deployment_services
from runs.services.deployments import DeploymentError
from runs.services.work_queues import WorkQueueError
from runs.states import now
from runs.views.common import render_page
from runs.views.permissions import can_operate, can_view


def _schedules(summary) -> list[dict]:
    return [
        {"row": s, "text": deployment_selectors.describe_schedule(s)} for s in summary.schedules
    ]


def _back(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Where an action returns: the deployment's page when sent from there, else the list."""
    if request.POST.get("next") == "detail":
        return redirect("runs:deployment", deployment_id=deployment_id)
    return redirect("runs:deployments")


def _get(deployment_id: int):
    try:
        return deployment_selectors.get_deployment(deployment_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None


@can_view
def deployment_list(request: HttpRequest) -> HttpResponse:
    """Every deployment: its schedules in words, next run, last run's state, queue, paused."""
    rows = [
        {"summary": s, "schedules": _schedules(s)}
        for s in deployment_selectors.deployment_summaries()
    ]
    live = any(r["summary"].last_run and not r["summary"].last_run.is_final for r in rows)
    context = {"rows": rows, "now": now(), "live": live}
    return render_page(request, "runs/deployments.html", context)


@can_view
def deployment_detail(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """One deployment: schedules (with toggles), upcoming runs, recent runs, its defaults."""
    try:
        detail = deployment_selectors.deployment_detail(deployment_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    moment = now()
    due = any(r.expected_start_time and r.expected_start_time <= moment for r in detail.upcoming)
    context = {
        "detail": detail,
        "deployment": detail.deployment,
        "schedules": _schedules(detail),
        "now": moment,
        "live": due or any(not run.is_final for run in detail.recent),
    }
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "live":
        return render_page(
            request,
            "runs/deployment.html",
            context,
            partial="runs/partials/deployment_live.html",
        )
    return render_page(request, "runs/deployment.html", context)


@can_operate
@require_POST
def deployment_pause(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Pause a deployment: its schedules make no new runs until it is resumed."""
    deployment = _get(deployment_id)
    deployment_services.pause_deployment(deployment.id)
    messages.success(
        request, f"Paused deployment {deployment.full_name}: its schedules start nothing new."
    )
    return _back(request, deployment.id)


@can_operate
@require_POST
def deployment_resume(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Resume a deployment: its schedules make runs again."""
    deployment = _get(deployment_id)
    deployment_services.resume_deployment(deployment.id)
    messages.success(request, f"Resumed deployment {deployment.full_name}.")
    return _back(request, deployment.id)


def run_form_url(deployment) -> str:
    """The Run form of the deployment's flow, filled in with its defaults."""
    query = urlencode({"deployment": deployment.id})
    return f"{reverse('runs:flows')}?{query}#flow-{slugify(deployment.flow.name)}"


@can_operate
@require_POST
def deployment_run(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Run now: a flow run with the deployment's defaults, then its page; the Run form
    (filled in) when the defaults lack a parameter the flow requires."""
    deployment = _get(deployment_id)
    try:
        run = deployment_services.run_deployment(deployment.id)
    except DeploymentError as exc:
        if exc.field == "parameters":
            messages.info(
                request,
                f"Deployment {deployment.full_name} cannot run with its defaults: {exc} Fill "
                "in the form below and press Run.",
            )
            return redirect(run_form_url(deployment))
        messages.error(request, f"Could not run deployment {deployment.full_name}: {exc}")
        return _back(request, deployment.id)
    except WorkQueueError as exc:
        messages.error(request, f"Could not run deployment {deployment.full_name}: {exc}")
        return _back(request, deployment.id)
    return redirect("runs:flow-run", flow_run_id=run.id)


@can_operate
@require_POST
def schedule_active(request: HttpRequest, deployment_id: int, schedule_id: int) -> HttpResponse:
    """Turn one of a deployment's schedules on (``active=1``) or off (``active=0``); turning
    it off removes the runs it made that have not started."""
    try:
        detail = deployment_selectors.deployment_detail(deployment_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    deployment = detail.deployment
    if schedule_id not in {s.id for s in detail.schedules}:
        raise Http404(f"Deployment {deployment.full_name} has no schedule {schedule_id}.")
    active = request.POST.get("active") == "1"
    deployment_services.set_schedule_active(schedule_id, active)
    messages.success(
        request,
        f"Schedule {'resumed' if active else 'paused'} on deployment {deployment.full_name}.",
    )
    return _back(request, deployment.id)
