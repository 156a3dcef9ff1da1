"""Flow parameters checked and coerced against their annotations, by one set of rules, for direct
calls, the REST API, the web form and the worker that runs a flow started by id; and
``flow_run_name`` naming runs started from the API and the form.

String annotations (this module's ``from __future__ import annotations``) are resolved.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import pytest
from django.test import Client

from runs import flow, task
from runs.exceptions import ParameterTypeError
from runs.models import FlowRun
from runs.registry import register_flow
from tests.runs.api.seed import api_client


@flow(name="pv-double")
def double(x: int) -> int:
    return x * 2


@flow(name="pv-typed", flow_run_name="typed-{mode}-{n}")
def typed(
    n: int,
    mode: Literal["fast", "slow"] = "fast",
    xs: list[int] | None = None,
    limit: int | None = None,
    day: dt.date | None = None,
) -> dict:
    return {
        "n": n,
        "mode": mode,
        "xs": xs,
        "limit": limit,
        "day_type": type(day).__name__,
        "day": day.isoformat() if day else None,
    }


@flow(name="pv-bad-name", flow_run_name="run-{missing}")
def bad_name(n: int = 1) -> int:
    return n


def _failing_name() -> str:
    raise LookupError("no name today")


@flow(name="pv-callable-name", flow_run_name=lambda: "named-by-a-function")
def callable_name() -> int:
    return 1


@flow(name="pv-failing-name", flow_run_name=_failing_name)
def failing_name() -> int:
    return 1


@task
def make_list() -> list[int]:
    return [1, 2, 3]


@flow
def total(xs: list[int]) -> int:
    return sum(xs)


@pytest.fixture
def typed_row():
    return register_flow("tests.runs.test_parameter_validation:typed")


@pytest.fixture
def bad_name_row():
    return register_flow("tests.runs.test_parameter_validation:bad_name")


# ---- direct calls (the flow engine runs the validator) -----------------------------------------
def test_a_direct_call_coerces_text_to_the_annotated_int():
    """Prefect 2: flow parameters are validated by default; "3" for an int becomes 3."""
    assert double("3") == 6


def test_a_direct_call_with_a_value_that_does_not_fit_is_a_clear_error_naming_it():
    """Prefect 2: a ParameterTypeError names the bad parameter before the flow's body runs."""
    with pytest.raises(ParameterTypeError) as caught:
        double("abc")
    assert set(caught.value.errors) == {"x"}
    assert "x: expected a whole number" in str(caught.value)


def test_validate_parameters_false_leaves_the_values_alone():
    """Prefect 2: @flow(validate_parameters=False) skips the validation."""

    @flow(validate_parameters=False)
    def echo(x: int):
        return x

    assert echo("3") == "3"


def test_a_direct_call_checks_literals_lists_and_optional_values():
    """Prefect 2 (pydantic lax rules): list[int] items, Literal choices and None for X | None."""
    out = typed("2", xs=["1", 2], limit=None, day="2026-11-24")
    assert out == {
        "n": 2,
        "mode": "fast",
        "xs": [1, 2],
        "limit": None,
        "day_type": "date",
        "day": "2026-11-24",
    }
    with pytest.raises(ParameterTypeError) as caught:
        typed(1, mode="medium", xs=[1, "a"])
    assert set(caught.value.errors) == {"mode", "xs"}


def test_dates_reach_the_flow_as_dates_and_are_recorded_as_iso_text():
    """Prefect 2: a date parameter given as ISO text is a date in the flow; its record is JSON."""
    state = typed(1, day="2026-11-24", return_state=True)
    assert state.result()["day_type"] == "date"
    run = FlowRun.objects.get(id=state.flow_run_id)
    assert run.parameters["day"] == "2026-11-24"
    assert run.name == "typed-fast-1"


def test_a_task_result_passed_to_a_subflow_is_validated_like_any_argument():
    """Prefect 2 validates a subflow's arguments too; a fitting list[int] goes through."""

    @flow
    def parent() -> bool:
        xs = make_list()
        return total(xs) == 6

    assert parent() is True


# ---- REST API ---------------------------------------------------------------------------------
def _start(body: dict):
    return api_client().post("/api/flow-runs/", body, format="json")


def test_the_api_coerces_by_the_same_rules_and_names_the_run(typed_row):
    """Prefect 2: a deployment's run is validated like a call, and named by flow_run_name."""
    response = _start(
        {
            "flow": "pv-typed",
            "parameters": {
                "n": "7",
                "mode": "slow",
                "xs": ["1"],
                "limit": None,
                "day": "2026-01-02",
            },
        }
    )
    assert response.status_code == 201, response.json()
    run = FlowRun.objects.get(id=response.json()["id"])
    assert run.name == "typed-slow-7"
    assert run.parameters == {"n": 7, "mode": "slow", "xs": [1], "limit": None, "day": "2026-01-02"}


def test_the_api_refuses_a_bad_literal_list_item_or_fraction_naming_each_parameter(typed_row):
    """Prefect 2: Literal is checked, list[int] refuses [1, "a"], an int refuses 2.5."""
    before = FlowRun.objects.count()
    response = _start(
        {"flow": "pv-typed", "parameters": {"n": 2.5, "mode": "medium", "xs": [1, "a"]}}
    )
    assert response.status_code == 400
    errors = response.json()["parameters"]
    assert set(errors) == {"n", "mode", "xs"}
    assert "expected one of 'fast', 'slow'" in errors["mode"][0]
    assert errors["xs"][0].startswith("item [1]: expected a whole number")
    assert FlowRun.objects.count() == before


def test_a_flow_run_name_that_cannot_be_formatted_is_a_400_from_the_api(bad_name_row):
    """A flow_run_name naming a missing argument fails in Prefect 2; here before the run exists."""
    before = FlowRun.objects.count()
    response = _start({"flow": "pv-bad-name", "parameters": {}})
    assert response.status_code == 400
    message = response.json()["flow_run_name"][0]
    assert "could not be named" in message and "{missing}" in message
    assert FlowRun.objects.count() == before


def test_a_callable_flow_run_name_names_an_api_run_and_its_failure_is_a_400():
    """Prefect 2 calls a callable flow_run_name for the run's name; one that raises fails."""
    register_flow("tests.runs.test_parameter_validation:callable_name")
    register_flow("tests.runs.test_parameter_validation:failing_name")

    response = _start({"flow": "pv-callable-name"})
    assert response.status_code == 201
    assert FlowRun.objects.get(id=response.json()["id"]).name == "named-by-a-function"

    failed = _start({"flow": "pv-failing-name"})
    assert failed.status_code == 400
    assert "raised LookupError: no name today" in failed.json()["flow_run_name"][0]


def test_the_worker_keeps_the_name_and_passes_coerced_values(typed_row):
    """Prefect 2 names a deployment's run once; the worker running it by id keeps that name."""
    from runs.worker import run_flow_run

    parameters = {"n": "3", "xs": ["4"], "day": "2026-03-04"}
    response = _start({"flow": "pv-typed", "parameters": parameters})
    run_id = response.json()["id"]

    assert run_flow_run(run_id, parameters) == "Completed"
    run = FlowRun.objects.get(id=run_id)
    assert run.name == "typed-fast-3"
    assert run.state_type == "COMPLETED"


# ---- web form ---------------------------------------------------------------------------------
@pytest.fixture
def web():
    from django.contrib.auth import get_user_model

    from runs.roles import set_role

    user = get_user_model().objects.create_user(
        username=f"pv-{uuid.uuid4().hex[:8]}", password="pw-123456"
    )
    set_role(user, "operator")  # starts flows from the form
    client = Client()
    client.force_login(user)
    return client


def test_the_form_offers_a_literal_as_choices_and_names_the_run(web, typed_row):
    """Prefect 2's UI offers a Literal's choices; the run is named by flow_run_name."""
    prefix = f"f{typed_row.id}"
    html = web.get("/flows/").content.decode()
    assert f'<select name="{prefix}-mode"' in html and "slow</option>" in html

    response = web.post(
        f"/flows/{typed_row.name}/run/",
        {f"{prefix}-n": "5", f"{prefix}-mode": '"slow"', f"{prefix}-xs": "[1, 2]"},
    )
    assert response.status_code == 302
    run = FlowRun.objects.filter(flow=typed_row).order_by("-created").first()
    assert run.name == "typed-slow-5"
    # The effective parameters: those left at their defaults are recorded too.
    assert run.parameters == {"n": 5, "mode": "slow", "xs": [1, 2], "day": None, "limit": None}


def test_the_form_shows_the_shared_rules_errors_on_the_fields(web, typed_row):
    """The form's errors come from the rules direct calls use (list[int] refuses [1, "a"])."""
    prefix = f"f{typed_row.id}"
    response = web.post(
        f"/flows/{typed_row.name}/run/",
        {f"{prefix}-n": "five", f"{prefix}-xs": '[1, "a"]', f"{prefix}-day": "soon"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Expected a whole number, e.g. 3" in html
    assert "Item [1]: expected a whole number" in html
    assert "Expected an ISO 8601 date" in html


def test_a_flow_run_name_that_cannot_be_formatted_is_a_form_error(web, bad_name_row):
    """A flow_run_name that cannot be formatted is shown on the form; no run starts."""
    before = FlowRun.objects.filter(flow=bad_name_row).count()
    response = web.post(f"/flows/{bad_name_row.name}/run/", {})
    assert response.status_code == 400
    assert "could not be named" in response.content.decode()
    assert FlowRun.objects.filter(flow=bad_name_row).count() == before
