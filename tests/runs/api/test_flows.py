"""GET /api/flows/ and /api/flows/NAME/: registered flows with their parameter schema."""

from __future__ import annotations

from runs.registry import register_flow
from tests.runs.api.seed import api_client, flow, walk


def test_registered_flows_are_listed_with_their_parameters():
    register_flow("runs.demo_flows:demo_caching")
    unregistered = flow()  # known by name only (a script ran it): not startable, not listed
    client = api_client()

    flows = {item["name"]: item for item in walk(client, "/api/flows/")}

    assert flows["demo-caching"]["parameters"] == {
        "x": {"type": "integer", "annotation": "int", "default": 7, "required": False}
    }
    assert flows["demo-caching"]["entrypoint"] == "runs.demo_flows:demo_caching"
    assert "second time the task is Cached" in flows["demo-caching"]["description"]
    assert unregistered.name not in flows


def test_flow_detail_by_name():
    register_flow("runs.demo_flows:demo_map")
    client = api_client()

    response = client.get("/api/flows/demo-map/")

    assert response.status_code == 200
    assert response.json()["parameters"]["count"]["default"] == 20
    assert response.json()["url"].endswith("/api/flows/demo-map/")


def test_unknown_flow_is_a_json_404():
    response = api_client().get("/api/flows/no-such-flow/")

    assert response.status_code == 404
    assert "no-such-flow" in response.json()["detail"]


def test_flow_list_pages_by_name():
    for name in ("demo-retries", "demo-timeout", "demo-caching", "demo-map"):
        register_flow(f"runs.demo_flows:{name.replace('-', '_')}")
    client = api_client()

    first = client.get("/api/flows/?page_size=2").json()
    names = [item["name"] for item in walk(client, "/api/flows/?page_size=2")]

    assert len(first["results"]) == 2
    assert first["next"]
    assert names == sorted(names)
    assert {"demo-retries", "demo-timeout", "demo-caching", "demo-map"} <= set(names)
