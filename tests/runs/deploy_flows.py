"""Flows the deployment tests register by entrypoint (tests.runs.deploy_flows:NAME)."""

from __future__ import annotations

from runs import flow


@flow(name="deploy-tests-add")
def add(x: int, y: int = 1) -> int:
    return x + y


@flow(name="deploy-tests-hello")
def hello(name: str = "world") -> str:
    return f"hello {name}"
