"""Reading flows: the registered ones (which may be started by name), and their names."""

from __future__ import annotations

from django.db.models import QuerySet

from runs.exceptions import ObjectNotFound
from runs.models import Flow, FlowRun


def registered_flows() -> QuerySet[Flow]:
    """Flows that can be started by name, by name."""
    return Flow.objects.exclude(entrypoint="").order_by("name")


def get_registered_flow(name: str) -> Flow:
    """The registered flow named ``name``; ObjectNotFound when there is none."""
    row = registered_flows().filter(name=name).first()
    if row is None:
        raise ObjectNotFound(f"No registered flow is named {name!r}.")
    return row


def any_registered_flows() -> bool:
    """Whether any flow can be started by name."""
    return registered_flows().exists()


def flow_names() -> list[str]:
    """The name of every flow that has run or is registered, by name."""
    return list(Flow.objects.order_by("name").values_list("name", flat=True))


def last_flow_run(flow: Flow) -> FlowRun | None:
    """The newest run of ``flow``, or None."""
    return flow.runs.order_by("-created", "-id").first()


def get_flow(name: str) -> Flow:
    """The flow named ``name``, registered or only run from a script; ObjectNotFound else."""
    row = Flow.objects.filter(name=name).first()
    if row is None:
        raise ObjectNotFound(
            f"No flow is named {name!r}; the Flows page and the Flow runs list show the known ones."
        )
    return row
