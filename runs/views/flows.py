"""Registered flows, each with a Run form; submitting starts the run on a worker."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from runs.exceptions import ObjectNotFound
from runs.forms import FlowRunForm
from runs.parameters import ParameterError
from runs.registry import RegistrationError, UnknownFlow
from runs.selectors import deployments as deployment_selectors
from runs.selectors import flows as flow_selectors
from runs.selectors import runs as run_selectors
from runs.selectors.work_queues import work_queue_names
from runs.services.flow_runs import FlowRunNameError, start_flow_run
from runs.services.work_queues import DEFAULT_WORK_QUEUE, WorkQueueError
from runs.views.common import render_page
from runs.views.permissions import can_operate, can_view


def run_choices(flow_ids: list[int], chosen: dict | None = None) -> dict[int, dict]:
    """The Deployment and Work queue selects of the Run forms, by flow id: the flow's
    deployments, every queue, and what is selected (``chosen`` by flow id: ``deployment``,
    ``work_queue``, ``errors``; else no deployment and the default queue)."""
    queues = work_queue_names()
    deployments: dict[int, list] = {}
    for deployment in deployment_selectors.deployments_of_flows(flow_ids):
        deployments.setdefault(deployment.flow_id, []).append(deployment)
    out = {}
    for flow_id in flow_ids:
        picked = (chosen or {}).get(flow_id, {})
        out[flow_id] = {
            "deployments": deployments.get(flow_id, []),
            "queues": queues,
            "deployment_id": picked.get("deployment"),
            "work_queue": picked.get("work_queue") or DEFAULT_WORK_QUEUE,
            "run_errors": picked.get("errors", {}),
        }
    return out


def _cards(
    bound: dict | None = None, initial: dict | None = None, chosen: dict | None = None
) -> list[dict]:
    """A card per registered flow: its Run form (``bound`` forms by flow name, or ``initial``
    values by flow name), its deployment and queue selects (``chosen`` by flow id), and its
    last run."""
    rows = list(flow_selectors.registered_flows())
    choices = run_choices([row.id for row in rows], chosen)
    cards = []
    for row in rows:
        form = (bound or {}).get(row.name) or FlowRunForm(
            schema=row.parameters_schema,
            prefix=f"f{row.id}",
            initial=(initial or {}).get(row.name),
        )
        last = flow_selectors.last_flow_run(row)
        cards.append({"flow": row, "form": form, "last_run": last, **choices[row.id]})
    return cards


def _deployment(value: str):
    """The deployment a form or query names by id; ObjectNotFound when there is none."""
    return deployment_selectors.get_deployment(int(value) if value.isdigit() else value)


@can_view
def flow_list(request: HttpRequest) -> HttpResponse:
    """Every registered flow with its Run form, defaults filled in; ``?rerun=ID`` fills the
    form of that flow run's flow with its parameters ("Run again" on a flow run's page);
    ``?deployment=ID`` fills its flow's form with the deployment's defaults and queue."""
    initial, chosen, again = {}, {}, None
    if request.GET.get("deployment", "").strip():
        try:
            deployment = _deployment(request.GET["deployment"].strip())
        except ObjectNotFound as exc:
            raise Http404(str(exc)) from None
        initial[deployment.flow.name] = FlowRunForm.initial_from(
            deployment.flow.parameters_schema, deployment.parameters
        )
        chosen[deployment.flow_id] = {
            "deployment": deployment.id,
            "work_queue": deployment.work_queue.name,
        }
    if request.GET.get("rerun"):
        try:
            again = run_selectors.get_flow_run(request.GET["rerun"])
        except ObjectNotFound as exc:
            raise Http404(str(exc)) from None
        initial[again.flow.name] = FlowRunForm.initial_from(
            again.flow.parameters_schema, again.parameters
        )
    return render_page(
        request,
        "runs/flows.html",
        {"cards": _cards(initial=initial, chosen=chosen), "again": again},
    )


@can_operate
@require_POST
def flow_run_start(request: HttpRequest, flow_name: str) -> HttpResponse:
    """Start a run of ``flow_name`` from its form, then open its page (which updates live)."""
    try:
        row = flow_selectors.get_registered_flow(flow_name)
    except ObjectNotFound:
        return render_page(
            request,
            "runs/flows.html",
            {
                "cards": _cards(),
                "error": f"No registered flow is named {flow_name!r}; pick one below.",
            },
            status=404,
        )
    form = FlowRunForm(request.POST, schema=row.parameters_schema, prefix=f"f{row.id}")
    error = None
    picked = {
        "deployment": request.POST.get("deployment", "").strip(),
        "work_queue": request.POST.get("work_queue", "").strip(),
        "errors": {},
    }
    deployment = None
    if picked["deployment"]:
        try:
            deployment = _deployment(picked["deployment"])
        except ObjectNotFound as exc:
            picked["errors"]["deployment"] = f"{exc} Pick one from the list, or none."
        else:
            picked["deployment"] = deployment.id
            if deployment.flow_id != row.id:
                picked["errors"]["deployment"] = (
                    f"Deployment {deployment.full_name} runs another flow; pick one of "
                    f"{row.name}'s, or none."
                )
    if form.is_valid() and not picked["errors"]:
        try:
            run = start_flow_run(
                flow_name=row.name,
                parameters=form.raw_parameters(),
                deployment=deployment,
                work_queue=picked["work_queue"] or None,
            )
        except ParameterError as exc:
            form.add_parameter_errors(exc.errors)
        except FlowRunNameError as exc:
            form.add_error(None, str(exc))
        except WorkQueueError as exc:
            picked["errors"][exc.field or "work_queue"] = str(exc)
        except (UnknownFlow, RegistrationError) as exc:
            error = str(exc)
        else:
            return redirect("runs:flow-run", flow_run_id=run.id)
    return render_page(
        request,
        "runs/flows.html",
        {
            "cards": _cards({row.name: form}, chosen={row.id: picked}),
            "error": error,
            "failed_flow": row.name,
        },
        status=400,
    )
