"""The Celery messages `runs worker` answers, sent by their registered names.

Producers (the Celery task runner, the service that starts flow runs) send by name, so they
never import the worker module (``runs.worker``): that module is the worker's side, with its
signal handlers and engine wiring, and importing it from a web process or a script would
connect them there too.
"""

from __future__ import annotations

from typing import Any

#: One task run of a CeleryTaskRunner: ``[payload]`` (a signed cloudpickle payload).
RUN_TASK_RUN = "runs.run_task_run"
#: A chunk of short task runs: ``[[payload, ...]]``.
RUN_TASK_RUNS = "runs.run_task_runs"
#: A registered flow run started by id: ``[flow_run_id, parameters]`` (JSON only).
RUN_FLOW_RUN = "runs.run_flow_run"

NAMES = (RUN_TASK_RUN, RUN_TASK_RUNS, RUN_FLOW_RUN)


def send(name: str, args: list[Any], **options: Any) -> None:
    """Publish one message for the worker task registered as ``name``.

    ``options`` go to Celery's ``send_task`` (``queue``, ``producer``, ``countdown``...).
    """
    from runs_project.celery import app

    app.send_task(name, args=args, **options)
