"""The Run form never guesses (issue 15, item 4): numbers are read as typed, bounds come from
the annotation, and the run page shows the effective parameters, defaults included."""

from __future__ import annotations

import pytest

from runs.models import FlowRun
from runs.registry import register_flow


@pytest.fixture
def demo_map():
    return register_flow("runs.demo_flows:demo_map")


@pytest.fixture
def demo_retries():
    return register_flow("runs.demo_flows:demo_retries")


def _post(client, row, **fields):
    data = {f"f{row.id}-{name}": value for name, value in fields.items()}
    return client.post(f"/flows/{row.name}/run/", data)


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("abc", "Expected a whole number, e.g. 3"),
        ("1e400", "1e400 is too large to be a number here"),
        ("-5", "Expected a value at least 0 and at most 10000"),
        ("2.5", "Expected a whole number"),
    ],
)
def test_a_number_the_browser_could_not_read_is_an_error_not_the_default(
    client, demo_map, typed, expected
):
    before = FlowRun.objects.filter(flow=demo_map).count()

    response = _post(client, demo_map, count=typed)

    assert response.status_code == 400
    assert expected in response.content.decode()
    assert FlowRun.objects.filter(flow=demo_map).count() == before


def test_the_form_states_the_bounds_of_an_annotated_parameter(client, demo_retries):
    page = client.get("/flows/").content.decode()

    assert "A number, e.g. 0.5. (float; at least 0 and at most 1)" in page


def test_a_fraction_outside_its_bounds_is_refused_beside_its_field(client, demo_retries):
    response = _post(client, demo_retries, failure_rate="1.5")

    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert "at least 0 and at most 1" in response.content.decode()


def test_a_run_started_with_empty_fields_records_and_shows_its_defaults(client, demo_map):
    response = _post(client, demo_map, count="")

    assert response.status_code == 302
    run = FlowRun.objects.filter(flow=demo_map).order_by("-created").first()
    assert run.parameters == {"count": 20}
    page = client.get(response["Location"]).content.decode()
    assert "<dt>count</dt><dd><code>20</code></dd>" in page
    assert "takes no parameters" not in page
