"""``version=`` on ``@task`` and ``@flow`` is recorded on each run and shown, as Prefect 2 records
a flow run's ``flow_version`` and a task run's ``task_version``."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.test import Client

from runs import flow, task
from runs.models import FlowRun, TaskRun
from runs.orchestration.writer import writer
from tests.runs.api.seed import api_client


@task(version="task-1.2")
def versioned_task(x: int) -> int:
    return x + 1


@task
def unversioned_task(x: int) -> int:
    return x * 2


@flow(name="version-flow", version="flow-3.0")
def versioned_flow(x: int = 1) -> dict:
    return {
        "called": versioned_task(x, return_state=True),
        "submitted": versioned_task.with_options(version="task-2.0").submit(x).wait(),
        "plain": unversioned_task(x, return_state=True),
    }


@flow(name="version-none")
def unversioned_flow() -> int:
    return unversioned_task(2)


def _signed_in() -> Client:
    from runs.roles import set_role

    user = get_user_model().objects.create_user(username=f"version-{uuid.uuid4().hex[:8]}")
    set_role(user, "viewer")
    client = Client()
    client.force_login(user)
    return client


def test_versions_are_recorded_and_given_by_the_api():
    """Prefect 2 stores the flow's version on its flow runs and the task's on its task runs
    (``with_options(version=...)`` included); without one, none is recorded."""
    state = versioned_flow(return_state=True)
    states = state.result()
    writer.flush()
    client = api_client()

    flow_run = client.get(f"/api/flow-runs/{state.flow_run_id}/").json()
    assert flow_run["version"] == "flow-3.0"
    assert {t["id"]: t["version"] for t in flow_run["task_runs"]} == {
        str(states["called"].task_run_id): "task-1.2",
        str(states["submitted"].task_run_id): "task-2.0",
        str(states["plain"].task_run_id): None,
    }
    detail = client.get(f"/api/task-runs/{states['called'].task_run_id}/").json()
    assert detail["version"] == "task-1.2"
    listed = client.get("/api/flow-runs/", {"flow": "version-flow"}).json()["results"]
    assert listed[0]["version"] == "flow-3.0"

    unversioned = unversioned_flow(return_state=True)
    writer.flush()
    assert client.get(f"/api/flow-runs/{unversioned.flow_run_id}/").json()["version"] is None


def test_the_run_pages_show_the_version_only_when_set():
    state = versioned_flow(return_state=True)
    states = state.result()
    unversioned = unversioned_flow(return_state=True)
    writer.flush()
    client = _signed_in()

    flow_page = client.get(f"/flow-runs/{state.flow_run_id}/").content.decode()
    task_page = client.get(f"/task-runs/{states['called'].task_run_id}/").content.decode()
    plain_task_page = client.get(f"/task-runs/{states['plain'].task_run_id}/").content.decode()
    plain_flow_page = client.get(f"/flow-runs/{unversioned.flow_run_id}/").content.decode()

    assert "<dt>Version</dt><dd>flow-3.0</dd>" in flow_page
    assert "<dt>Version</dt><dd>task-1.2</dd>" in task_page
    assert "<dt>Version</dt>" not in plain_task_page
    assert "<dt>Version</dt>" not in plain_flow_page


def test_a_long_or_non_text_version_is_stored_cut_to_fit():
    """Whatever ``version=`` holds is stored as text within the column (runs.values.cut)."""

    @task(version=7)
    def numbered() -> int:
        return 1

    @flow(version="v" * 500)
    def long_version() -> dict:
        return {"state": numbered(return_state=True)}

    state = long_version(return_state=True)
    task_state = state.result()["state"]
    writer.flush()

    stored = FlowRun.objects.get(id=state.flow_run_id).version
    assert len(stored) == 200 and stored.startswith("vvv") and stored.endswith("\u2026")
    assert TaskRun.objects.get(id=task_state.task_run_id).version == "7"
