"""The Python client's work-queue and deployment methods (sync and async, in-process)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from runs.client import get_client
from runs.exceptions import ClientError, ObjectNotFound
from runs.registry import register_flow
from runs.states import now


@pytest.fixture(scope="module", autouse=True)
def needs_name_flow():
    register_flow("tests.runs.api.flows:needs_name")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_work_queue_methods():
    name = unique("client-wq")
    with get_client(sync_client=True) as client:
        made = client.create_work_queue(name, description="d", concurrency_limit=2)
        read = client.read_work_queue(name)
        changed = client.update_work_queue(name, concurrency_limit=None, description="e")
        paused = client.pause_work_queue(name)
        waiting = client.start_flow_run("api-needs-name", {"name": "x"}, work_queue_name=name)
        client.cancel_flow_run(waiting.id)
        resumed = client.resume_work_queue(name)
        listed = client.read_work_queues()
        client.delete_work_queue(name)
        with pytest.raises(ObjectNotFound):
            client.read_work_queue(name)
        with pytest.raises(ClientError, match="already exists"):
            client.create_work_queue("default")

    assert (made.name, made.concurrency_limit, made.is_paused) == (name, 2, False)
    assert read.description == "d" and read.running == read.waiting == 0
    assert (changed.concurrency_limit, changed.description) == (None, "e")
    assert (paused.is_paused, resumed.is_paused) == (True, False)
    assert (waiting.work_queue_name, waiting.state.type) == (name, "SCHEDULED")
    assert name in [queue.name for queue in listed]


def test_deployment_methods_and_a_run_from_it():
    queue = unique("client-wq")
    name = unique("client-dep")
    later = now() + dt.timedelta(hours=2)
    with get_client(sync_client=True) as client:
        client.create_work_queue(queue, is_paused=True)
        deployment_id = client.create_deployment(
            "api-needs-name",
            name,
            parameters={"name": "ab"},
            work_queue_name=queue,
            tags=["client"],
            schedules=[{"kind": "interval", "value": "3600", "active": False}],
        )
        by_id = client.read_deployment(deployment_id)
        by_name = client.read_deployment_by_name(f"api-needs-name/{name}")
        listed = client.read_deployments(work_queue_name=queue)
        changed = client.update_deployment(deployment_id, tags=["changed"], catchup="skip")
        paused = client.pause_deployment(deployment_id)
        resumed = client.resume_deployment(deployment_id)
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"times": 2}, scheduled_time=later
        )
        client.cancel_flow_run(run.id)
        client.delete_deployment(deployment_id)
        with pytest.raises(ObjectNotFound):
            client.read_deployment(deployment_id)

    assert isinstance(deployment_id, int)
    assert by_id == by_name
    assert (by_id.full_name, by_id.work_queue_name, by_id.tags) == (
        f"api-needs-name/{name}",
        queue,
        ["client"],
    )
    [schedule] = by_id.schedules
    assert (schedule.kind, schedule.value, schedule.active) == ("interval", "3600", False)
    assert "hour" in schedule.description
    assert [d.id for d in listed] == [deployment_id]
    assert (changed.tags, changed.catchup) == (["changed"], "skip")
    assert (paused.paused, resumed.paused) == (True, False)
    assert run.parameters == {"name": "ab", "times": 2}
    assert (run.deployment_id, run.work_queue_name, run.expected_start_time) == (
        deployment_id,
        queue,
        later,
    )


def test_bad_deployment_input_is_a_client_error_naming_the_field():
    with get_client(sync_client=True) as client:
        with pytest.raises(ClientError, match="schedules\\[0\\].value"):
            client.create_deployment(
                "api-needs-name",
                unique("client-dep"),
                parameters={"name": "a"},
                schedules=[{"kind": "cron", "value": "not a cron"}],
            )
        with pytest.raises(ValueError, match="FLOW/NAME"):
            client.read_deployment_by_name("no-slash")


def test_async_client_has_the_same_methods():
    name = unique("client-dep")

    async def example():
        async with get_client() as client:
            deployment_id = await client.create_deployment(
                "api-needs-name", name, parameters={"name": "x"}
            )
            deployment = await client.read_deployment(f"api-needs-name/{name}")
            queues = await client.read_work_queues(limit=1)
            await client.delete_deployment(deployment_id)
            return deployment_id, deployment, queues

    deployment_id, deployment, queues = asyncio.run(example())

    assert deployment.id == deployment_id
    assert deployment.work_queue_name == "default"
    assert len(queues) == 1
