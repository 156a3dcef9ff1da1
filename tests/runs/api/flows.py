"""Flows the API tests register."""

from runs import flow


@flow(name="api-needs-name")
def needs_name(name: str, times: int = 1) -> str:
    return name * times
