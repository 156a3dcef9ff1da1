"""Celery messages are sent by the names the worker registers; producers never import it."""

from __future__ import annotations

import ast
from pathlib import Path

from runs.runners import messages

REPO_ROOT = Path(__file__).resolve().parents[3]
#: The worker's own entry points: the Celery app finds the tasks there, and the worker
#: re-sends a run that must wait for a slot.
WORKER_ENTRY_POINTS = {"runs/worker.py", "project/celery.py"}


def _imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_but_the_worker_entry_points_imports_the_worker_module():
    importers = sorted(
        str(path.relative_to(REPO_ROOT))
        for package in ("runs", "limits", "project")
        for path in (REPO_ROOT / package).rglob("*.py")
        if "runs.worker" in _imports_of(path)
    )

    assert set(importers) <= WORKER_ENTRY_POINTS, importers


def test_every_name_producers_send_is_a_task_the_worker_registers():
    import runs.worker  # noqa: F401  (registers the tasks, as the worker's app does)
    from runs_project.celery import app

    assert set(messages.NAMES) <= set(app.tasks)
