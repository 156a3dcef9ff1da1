"""The project's settings with runs' backend for Django's Tasks framework: the settings of the
workers that the RunsBackend tests start (the host project's own settings, in real use)."""

from runs_project.settings import *  # noqa: F403

TASKS = {
    "default": {
        "BACKEND": "runs.django_tasks.RunsBackend",
        "QUEUES": [],
        "OPTIONS": {"retries": 1, "retry_delay_seconds": 0},
    }
}
