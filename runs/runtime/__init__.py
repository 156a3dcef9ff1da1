"""Information about the current run: ``from runs.runtime import flow_run, task_run``.

Outside a run every attribute is an empty value, never an error.
"""

from runs.runtime import flow_run, task_run

__all__ = ["flow_run", "task_run"]
