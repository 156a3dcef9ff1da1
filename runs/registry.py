"""Registered flows: the only flows the web form and the API may start.

A flow is registered by its entrypoint (``module:function``): from the modules listed in
RUNS_FLOW_MODULES (every ``@flow`` in them), or with ``runs deploy MODULE:FLOW``. A request
names a registered flow by name; nothing received ever names code to import.

A Django task (``@task`` of django_tasks, run by runs.django_tasks.RunsBackend) is registered
as the flow ``django-task:MODULE.FUNCTION`` with that entrypoint: a flow of two parameters,
``args`` and ``kwargs``, that hands them to its backend's ``run_task``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from django.db.models import QuerySet

from runs import conf
from runs.models import Flow as FlowRow
from runs.parameters import parameter_schema


class UnknownFlow(LookupError):
    """No registered flow has this name."""


class RegistrationError(ValueError):
    """An entrypoint that does not name a flow."""


#: The entrypoint (and flow name) prefix of a Django task: ``django-task:myapp.tasks.send``.
DJANGO_TASK_PREFIX = "django-task:"


def _django_task_flow(entrypoint: str):
    """The flow that runs the Django task named by ``django-task:MODULE.FUNCTION`` through its
    backend's ``run_task``, with the backend's OPTIONS ``retries`` and ``retry_delay_seconds``."""
    from runs.flows import Flow

    path = entrypoint.removeprefix(DJANGO_TASK_PREFIX)
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except (ImportError, ValueError) as exc:
        raise RegistrationError(f"Cannot import module {module_name!r}: {exc}.") from None
    task = getattr(module, attribute, None)
    if not callable(getattr(task, "func", None)) or not hasattr(task, "get_backend"):
        raise RegistrationError(
            f"{path!r} is not a Django task: {attribute!r} in {module_name!r} must be a function "
            "decorated with @task (django_tasks or django.tasks)."
        )
    backend = task.get_backend()
    run_task = getattr(backend, "run_task", None)
    if run_task is None:
        raise RegistrationError(
            f"Django task {path!r} uses the task backend {task.backend!r}, which is "
            f"{type(backend).__module__}.{type(backend).__qualname__} here; runs runs only the "
            "tasks of runs.django_tasks.RunsBackend: set it in this process's TASKS setting."
        )

    def django_task(args: list, kwargs: dict) -> Any:
        return run_task(task, args, kwargs)

    return Flow(
        django_task,
        name=f"{DJANGO_TASK_PREFIX}{path}",
        description=inspect.getdoc(task.func) or "",
        retries=backend.options.get("retries"),
        retry_delay_seconds=backend.options.get("retry_delay_seconds"),
    )


def _import_entrypoint(entrypoint: str):
    from runs.flows import Flow

    if entrypoint.startswith(DJANGO_TASK_PREFIX):
        return _django_task_flow(entrypoint)
    module_name, sep, attribute = entrypoint.partition(":")
    if not sep or not module_name or not attribute:
        raise RegistrationError(
            f"{entrypoint!r} is not an entrypoint; write MODULE:FLOW, e.g. myapp.flows:etl."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistrationError(f"Cannot import module {module_name!r}: {exc}.") from None
    obj = getattr(module, attribute, None)
    if not isinstance(obj, Flow):
        raise RegistrationError(
            f"{entrypoint!r} is not a flow: {attribute!r} in {module_name!r} must be a function "
            "decorated with @flow."
        )
    return obj


def register_flow(entrypoint: str) -> FlowRow:
    """Register the flow at ``entrypoint`` (``module:function``); returns its Flow row.

    Inside a host's transaction on PostgreSQL the row is written where the run history is (on
    its own connection), so the runs that name it can be recorded before the host commits."""
    from runs.orchestration.writer import apart_from_caller, run_apart

    if apart_from_caller():
        return run_apart(lambda: register_flow(entrypoint))
    flow = _import_entrypoint(entrypoint)
    row, _ = FlowRow.objects.update_or_create(
        name=flow.name,
        defaults={
            "entrypoint": entrypoint,
            "description": flow.description or "",
            "parameters_schema": parameter_schema(flow.fn),
        },
    )
    return row


def sync_registered_flows() -> list[FlowRow]:
    """Register every flow found in the modules of RUNS_FLOW_MODULES."""
    from runs.flows import Flow

    rows = []
    for module_name in conf.settings.RUNS_FLOW_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise RegistrationError(
                f"RUNS_FLOW_MODULES names {module_name!r}, which cannot be imported: {exc}."
            ) from None
        for attribute, value in vars(module).items():
            if isinstance(value, Flow) and getattr(value.fn, "__module__", None) == module_name:
                rows.append(register_flow(f"{module_name}:{attribute}"))
    return rows


def registered_flows() -> QuerySet[FlowRow]:
    """Flows that can be started by name, by name."""
    return FlowRow.objects.exclude(entrypoint="").order_by("name")


def get_registered_flow(name: str) -> FlowRow:
    row = registered_flows().filter(name=name).first()
    if row is None:
        known = ", ".join(registered_flows().values_list("name", flat=True)) or "none yet"
        raise UnknownFlow(
            f"No registered flow is named {name!r} (registered: {known}). "
            "Register it with `runs deploy MODULE:FLOW` or RUNS_FLOW_MODULES."
        )
    return row


def load_flow(name: str):
    """The Flow object of the registered flow ``name`` (imported from its entrypoint)."""
    return flow_of(get_registered_flow(name))


def flow_of(row: FlowRow):
    """The Flow object of a registered flow's row (imported from its entrypoint)."""
    return _import_entrypoint(row.entrypoint)
