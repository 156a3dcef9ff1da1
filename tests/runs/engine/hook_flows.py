"""Tasks and flows with state hooks that tests send to real ``runs worker`` processes
(importable by them). Each hook leaves a file in the folder its run was given, named after the
run and the state, holding the id of the process it ran in."""

from __future__ import annotations

import os
from pathlib import Path

from runs import flow, task


def _mark(folder: str, name: str) -> None:
    Path(folder, name).write_text(str(os.getpid()))


def mark_task(task, task_run, state) -> None:
    _mark(task_run.parameters["folder"], f"{task_run.name}-{state.name}")


async def mark_task_async(task, task_run, state) -> None:
    _mark(task_run.parameters["folder"], f"{task_run.name}-{state.name}-async")


def broken_hook(task, task_run, state) -> None:
    raise RuntimeError("the hook broke on the worker")


def mark_flow(flow, flow_run, state) -> None:
    _mark(flow_run.parameters["folder"], f"flow-{state.name}")


@task(on_completion=[mark_task], on_failure=[broken_hook, mark_task])
def divide(folder: str, x: int) -> float:
    return 1 / x


@task(on_completion=[mark_task_async])
async def async_double(folder: str, x: int) -> int:
    return 2 * x


@task
def plain(folder: str) -> str:
    return folder


@flow(name="hooks-on-a-worker", on_completion=[mark_flow])
def flow_with_hooks(folder: str) -> str:
    return plain(folder)
