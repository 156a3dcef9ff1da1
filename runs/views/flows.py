"""Registered flows, each with a Run form; submitting starts the run on a worker."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from runs.exceptions import ObjectNotFound
from runs.forms import FlowRunForm
from runs.parameters import ParameterError
from runs.registry import RegistrationError, UnknownFlow
from runs.selectors import flows as flow_selectors
from runs.selectors import runs as run_selectors
from runs.services.flow_runs import FlowRunNameError, start_flow_run
from runs.views.common import render_page
from runs.views.permissions import can_operate, can_view


def _cards(bound: dict | None = None, initial: dict | None = None) -> list[dict]:
    """A card per registered flow: its Run form (``bound`` forms by flow name, or ``initial``
    values by flow name), and its last run."""
    cards = []
    for row in flow_selectors.registered_flows():
        form = (bound or {}).get(row.name) or FlowRunForm(
            schema=row.parameters_schema,
            prefix=f"f{row.id}",
            initial=(initial or {}).get(row.name),
        )
        last = flow_selectors.last_flow_run(row)
        cards.append({"flow": row, "form": form, "last_run": last})
    return cards


@can_view
def flow_list(request: HttpRequest) -> HttpResponse:
    """Every registered flow with its Run form, defaults filled in; ``?rerun=ID`` fills the
    form of that flow run's flow with its parameters ("Run again" on a flow run's page)."""
    initial, again = {}, None
    if request.GET.get("rerun"):
        try:
            again = run_selectors.get_flow_run(request.GET["rerun"])
        except ObjectNotFound as exc:
            raise Http404(str(exc)) from None
        initial[again.flow.name] = FlowRunForm.initial_from(
            again.flow.parameters_schema, again.parameters
        )
    return render_page(
        request, "runs/flows.html", {"cards": _cards(initial=initial), "again": again}
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
    if form.is_valid():
        try:
            run = start_flow_run(flow_name=row.name, parameters=form.raw_parameters())
        except ParameterError as exc:
            form.add_parameter_errors(exc.errors)
        except FlowRunNameError as exc:
            form.add_error(None, str(exc))
        except (UnknownFlow, RegistrationError) as exc:
            error = str(exc)
        else:
            return redirect("flow-run", flow_run_id=run.id)
    return render_page(
        request,
        "runs/flows.html",
        {"cards": _cards({row.name: form}), "error": error, "failed_flow": row.name},
        status=400,
    )
