"""The Workers page: the processes that execute runs, what each runs now, and the lost ones."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from runs import conf
from runs.owners import lease_seconds
from runs.selectors.workers import worker_processes
from runs.views.common import render_page
from runs.views.permissions import can_view


@can_view
def worker_list(request: HttpRequest) -> HttpResponse:
    """Every process with a lease: workers (their queues) first, then scripts running flows;
    alive ones with their last heartbeat, lost ones marked so. The page refreshes itself."""
    scripts = request.GET.get("scripts", "1") != "0"
    processes = worker_processes(include_scripts=scripts)
    context = {
        "processes": processes,
        "alive_workers": sum(1 for p in processes if p.kind == "worker" and p.alive),
        "lost": sum(1 for p in processes if not p.alive),
        "scripts": scripts,
        "live": any(p.alive and (p.running_task_runs or p.running_flow_runs) for p in processes),
        "lease_seconds": lease_seconds(),
        "heartbeat_seconds": conf.settings.RUNS_HEARTBEAT_SECONDS,
    }
    return render_page(request, "runs/workers.html", context)
