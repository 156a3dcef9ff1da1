"""Parameters from a form or a JSON body: the flow's schema, coercion, and errors per field."""

from __future__ import annotations

import datetime as dt

import pytest

from runs.parameters import ParameterError, coerce_parameters, parameter_schema


def etl(
    n: int,
    ratio: float = 0.5,
    when: dt.date | None = None,
    items: list | None = None,
    loud: bool = False,
    label: str = "x",
):
    return n


def test_schema_lists_types_defaults_and_what_is_required():
    schema = parameter_schema(etl)
    assert schema["n"]["type"] == "integer" and schema["n"]["required"] is True
    assert schema["ratio"] == {
        **schema["ratio"],
        "type": "number",
        "default": 0.5,
        "required": False,
    }
    assert schema["loud"]["type"] == "boolean" and schema["label"]["type"] == "string"


def test_text_from_a_form_becomes_the_annotated_types():
    values = coerce_parameters(
        etl,
        {
            "n": " 3 ",
            "ratio": "0.25",
            "when": "2026-11-24",
            "items": "[1, 2]",
            "loud": "on",
            "label": "y",
        },
    )
    assert values == {
        "n": 3,
        "ratio": 0.25,
        "when": dt.date(2026, 11, 24),
        "items": [1, 2],
        "loud": True,
        "label": "y",
    }


def test_each_bad_field_is_named_with_what_to_write():
    with pytest.raises(ParameterError) as caught:
        coerce_parameters(
            etl, {"n": "abc", "ratio": "half", "when": "soon", "items": "[1,", "colour": "red"}
        )
    errors = caught.value.errors
    assert errors["n"].startswith("expected a whole number, e.g. 3")
    assert errors["ratio"].startswith("expected a number, e.g. 0.5")
    assert "ISO 8601 date" in errors["when"]
    assert "JSON array" in errors["items"]
    assert "unknown parameter" in errors["colour"]


def test_a_missing_required_parameter_is_an_error():
    with pytest.raises(ParameterError) as caught:
        coerce_parameters(etl, {})
    assert caught.value.errors == {"n": "this parameter is required"}
