"""The Python client: in-process (async and sync) and through RUNS_API_URL to a live server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from runs import conf, flow, get_run_logger
from runs.client import get_client
from runs.exceptions import ClientError, ObjectNotFound
from runs.models import Log
from runs.services.tokens import create_token
from runs.states import now
from tests.runs.api import seed
from tests.runs.live_server import serving


def new_tag() -> str:
    return f"client-{uuid.uuid4().hex[:8]}"


def test_the_documented_async_example_works_as_written():
    tag = new_tag()

    async def example():
        async with get_client() as client:
            limit_id = await client.create_concurrency_limit(tag=tag, concurrency_limit=10)
            limit = await client.read_concurrency_limit_by_tag(tag=tag)
            limits = await client.read_concurrency_limits(limit=100, offset=0)
            await client.delete_concurrency_limit_by_tag(tag=tag)
            return limit_id, limit, limits

    limit_id, limit, limits = asyncio.run(example())

    assert isinstance(limit_id, uuid.UUID)
    assert (limit.id, limit.tag, limit.concurrency_limit, limit.active_slots) == (
        limit_id,
        tag,
        10,
        [],
    )
    assert tag in [item.tag for item in limits]


def test_sync_client_same_methods_and_object_not_found():
    tag = new_tag()
    client = get_client(sync_client=True)

    limit_id = client.create_concurrency_limit(tag=tag, concurrency_limit=2)
    again = client.create_concurrency_limit(tag=tag, concurrency_limit=3)  # updates
    limit = client.read_concurrency_limit_by_tag(tag=tag)
    client.delete_concurrency_limit_by_tag(tag=tag)

    assert again == limit_id
    assert limit.concurrency_limit == 3
    with pytest.raises(ObjectNotFound, match=tag):
        client.read_concurrency_limit_by_tag(tag=tag)
    with pytest.raises(ObjectNotFound):
        client.delete_concurrency_limit_by_tag(tag=tag)


def test_async_unknown_tag_raises_object_not_found():
    async def read():
        async with get_client() as client:
            await client.read_concurrency_limit_by_tag(tag=new_tag())

    with pytest.raises(ObjectNotFound):
        asyncio.run(read())


def test_bad_limit_is_a_client_error():
    with get_client(sync_client=True) as client, pytest.raises(ClientError, match="negative"):
        client.create_concurrency_limit(tag=new_tag(), concurrency_limit=-1)


def test_offset_and_limit_page_through_limits():
    prefix = f"client-page-{uuid.uuid4().hex[:6]}"
    client = get_client(sync_client=True)
    tags = [f"{prefix}-{i}" for i in range(3)]
    for tag in tags:
        client.create_concurrency_limit(tag=tag, concurrency_limit=1)

    everything = [limit.tag for limit in client.read_concurrency_limits(limit=1000, offset=0)]
    start = everything.index(tags[0])
    page = client.read_concurrency_limits(limit=2, offset=start + 1)

    assert [limit.tag for limit in page] == tags[1:]


def test_history_reads():
    run = seed.flow_run()
    task = seed.task_run(run, run_count=2, cache_key="k1")
    upstream = seed.task_run(run)
    seed.depends(task, upstream)
    seed.states(task, "PENDING", "RUNNING", "COMPLETED")
    seed.states(run, "RUNNING", "COMPLETED")
    seed.log(task, "hello from the task", 20)
    client = get_client(sync_client=True)

    flow_run = client.read_flow_run(run.id)
    task_run = client.read_task_run(task.id)
    task_states = client.read_task_run_states(task.id)
    flow_states = client.read_flow_run_states(run.id)
    lines = client.read_logs(task_run_id=task.id)

    assert flow_run.id == run.id and set(flow_run.task_run_ids) == {task.id, upstream.id}
    assert (task_run.run_count, task_run.cache_key, task_run.upstream) == (2, "k1", [upstream.id])
    assert [s.type.value for s in task_states] == ["PENDING", "RUNNING", "COMPLETED"]
    assert [s.type.value for s in flow_states] == ["RUNNING", "COMPLETED"]
    assert [(line.level, line.message) for line in lines] == [(20, "hello from the task")]
    with pytest.raises(ObjectNotFound):
        client.read_task_run(uuid.uuid4())


def test_reads_follow_every_page():
    run = seed.flow_run()
    Log.objects.bulk_create(
        [Log(flow_run=run, message=f"line {i}", timestamp=now()) for i in range(120)]
    )

    lines = get_client(sync_client=True).read_logs(flow_run_id=run.id)

    assert [line.message for line in lines] == [f"line {i}" for i in range(120)]


def test_in_process_calls_leave_the_callers_transaction_alone():
    from django.db import transaction

    tag = new_tag()
    with transaction.atomic():
        seed.flow_run()
        get_client(sync_client=True).read_concurrency_limits(limit=1, offset=0)
        seed.flow_run()  # the caller's connection still works inside its transaction
    assert tag  # reached without a broken transaction


@flow(name="client-logging-check")
def says(message: str) -> None:
    get_run_logger().info(message)


def test_run_logs_are_still_stored_after_in_process_calls():
    get_client(sync_client=True).read_concurrency_limits(limit=1, offset=0)
    message = f"still logging {uuid.uuid4().hex}"

    says(message)

    assert Log.objects.filter(message=message).exists()


# --- through RUNS_API_URL -------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server():
    with serving() as url:
        yield url


@pytest.fixture
def token() -> str:
    key = create_token(username=seed.user().username).key
    return key


def test_remote_sync_and_async_with_a_token(live_server, token):
    tag = new_tag()

    async def remote_async():
        async with get_client() as client:
            limit_id = await client.create_concurrency_limit(tag=tag, concurrency_limit=4)
            return limit_id, await client.read_concurrency_limit_by_tag(tag=tag)

    with conf.override(RUNS_API_URL=f"{live_server}/api", RUNS_API_KEY=token):
        limit_id, limit = asyncio.run(remote_async())
        with get_client(sync_client=True) as client:
            assert client.read_concurrency_limit_by_tag(tag=tag).id == limit_id
            client.delete_concurrency_limit_by_tag(tag=tag)
            with pytest.raises(ObjectNotFound):
                client.read_concurrency_limit_by_tag(tag=tag)

    assert limit.concurrency_limit == 4


def test_remote_without_a_token_is_refused(live_server):
    with (
        conf.override(RUNS_API_URL=live_server, RUNS_API_KEY=None),
        get_client(sync_client=True) as client,
        pytest.raises(ClientError, match="RUNS_API_KEY"),
    ):
        client.read_concurrency_limits(limit=10, offset=0)


def test_remote_with_a_bare_server_url(live_server, token):
    with (
        conf.override(RUNS_API_URL=live_server, RUNS_API_KEY=token),
        get_client(sync_client=True) as client,
    ):
        assert isinstance(client.read_concurrency_limits(limit=5, offset=0), list)
