"""Task runs whose flow run ended before a worker started them: ended, not started.

A flow run can end while its task runs still wait in the broker or in a worker's chunk: its
caller died (the reaper ended it CRASHED) or was interrupted, or somebody cancelled it. A
worker that receives such a run ends it here instead of starting it, as Prefect 2's
orchestration refuses to run a task whose flow run is not running.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("runs.worker")


def end_runs_of_ended_flow_runs(task_run_ids: list[str]) -> dict[str, str]:
    """End, instead of starting them, the runs of these whose flow run already ended (its
    caller died or was interrupted): CANCELLED when it was cancelled, else CRASHED. Their
    final states' names, by run id."""
    from runs.models import TaskRun
    from runs.orchestration import set_task_run_state
    from runs.states import FINAL_TYPES, Cancelled, Crashed, StateType

    if not task_run_ids:
        return {}
    rows = TaskRun.objects.filter(
        id__in=task_run_ids, flow_run__state_type__in=FINAL_TYPES
    ).exclude(state_type__in=FINAL_TYPES)
    ended = {}
    for task_run_id, flow_type, flow_name in rows.values_list(
        "id", "flow_run__state_type", "flow_run__state_name"
    ):
        ending = Cancelled if flow_type == StateType.CANCELLED else Crashed
        state = set_task_run_state(
            task_run_id,
            ending(
                f"Its flow run had ended ({flow_name}) when a worker received this task run, "
                "so it was not started."
            ),
        )
        logger.info(
            "Task run %s: its flow run had ended (%s); not started.", task_run_id, flow_name
        )
        ended[str(task_run_id)] = state.name
    return ended
