"""Signed-in clients and a recorded flow run for the dashboard's view tests."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_user(role: str | None = "admin"):
    """A new user with ``role`` (viewer, operator, admin; None: no role at all)."""
    from runs.roles import set_role

    made = get_user_model().objects.create_user(
        username=unique(role or "user"), password="pw-123456"
    )
    if role is not None:
        set_role(made, role)
    return made


@pytest.fixture
def user():
    """An Admin: the views' own tests reach every page and action."""
    return make_user("admin")


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anonymous() -> Client:
    return Client()


@pytest.fixture(scope="session")
def sample_run():
    """A finished run of dashboard-sample: TimedOut, a retried task, a map, a cached task, logs."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer
    from tests.runs.views.sample_flows import dashboard_sample

    state = dashboard_sample(count=4, salt=unique("salt"), return_state=True)
    writer.flush()
    return FlowRun.objects.select_related("flow").get(id=state.flow_run_id)
