"""Parameters: the flow's schema, the rules that check and coerce values against annotations
(direct calls, the API, the form), errors per field, JSON records."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal

import pytest

from runs.exceptions import ParameterTypeError
from runs.parameters import (
    ParameterError,
    coerce_parameters,
    jsonable_parameters,
    parameter_schema,
    parameter_validator,
)


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


# ---- the rules shared by direct calls, the API and the form -----------------------------------
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point:
    """A class the rules do not know: any value passes."""


def typed(
    n: int = 0,
    ratio: float = 0.0,
    label: str = "",
    loud: bool = False,
    xs: list[int] | None = None,
    pair: tuple[int, str] | None = None,
    counts: dict[str, int] | None = None,
    mode: Literal["fast", "slow"] = "fast",
    limit: int | None = 5,
    day: dt.date | None = None,
    at: dt.datetime | None = None,
    colour: Colour = Colour.RED,
    either: int | str = 0,
    point: Point | None = None,
    anything: Any = None,
    *args: int,
    **kwargs: int,
):
    return n


def check(**arguments):
    validate = parameter_validator(typed)
    return validate(arguments)


def test_a_function_without_annotations_has_no_validator():
    """Prefect 2 validates only what is annotated; here an unannotated flow pays nothing."""

    def plain(a, b=1, *args, **kwargs):
        return a

    def only_unknown(a: Point, b: Any = None):
        return a

    assert parameter_validator(plain) is None
    assert parameter_validator(only_unknown) is None
    assert parameter_validator(typed) is not None


@pytest.mark.parametrize(
    "name, given, expected",
    [
        ("n", "3", 3),
        ("n", " 3 ", 3),
        ("n", 4.0, 4),
        ("n", True, 1),
        ("ratio", "0.5", 0.5),
        ("ratio", 2, 2.0),
        ("label", 5, "5"),
        ("loud", "true", True),
        ("loud", "False", False),
        ("loud", "on", True),
        ("loud", 0, False),
        ("xs", ["1", 2], [1, 2]),
        ("xs", (1, 2), [1, 2]),
        ("xs", None, None),
        ("pair", ["1", "a"], (1, "a")),
        ("counts", {"a": "2"}, {"a": 2}),
        ("mode", "slow", "slow"),
        ("limit", None, None),
        ("day", "2026-11-24", dt.date(2026, 11, 24)),
        ("day", dt.datetime(2026, 11, 24), dt.date(2026, 11, 24)),
        ("at", "2026-11-24T09:30:00", dt.datetime(2026, 11, 24, 9, 30)),
        ("at", "2026-11-24T09:30:00Z", dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)),
        ("colour", "blue", Colour.BLUE),
        ("either", "3", "3"),
        ("either", 3, 3),
        ("anything", object, object),
    ],
)
def test_values_are_coerced_as_prefect_2_does(name, given, expected):
    """Prefect 2 validates flow parameters with pydantic's lax coercion: text becomes numbers,
    booleans, dates; items of list[int] and values of dict[str, int] are coerced; a union keeps
    a value that already fits one of its members."""
    out = check(**{name: given})[name]
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    "name, given, problem",
    [
        ("n", "abc", "expected a whole number, e.g. 3 (int); got 'abc'"),
        ("n", 2.5, "expected a whole number, e.g. 3, not a fraction (int); got 2.5"),
        ("n", None, "expected a whole number, e.g. 3 (int); got None"),
        ("n", [1], "expected a whole number"),
        ("ratio", "half", "expected a number, e.g. 0.5"),
        ("label", None, "expected text (str); got None"),
        ("label", ["a"], "expected text"),
        ("loud", "maybe", "expected true or false"),
        ("xs", [1, "a"], "item [1]: expected a whole number, e.g. 3 (list[int] | None); got 'a'"),
        ("xs", "abc", "expected a list"),
        ("xs", {"a": 1}, "expected a list"),
        ("pair", [1], "expected 2 items"),
        ("counts", {"a": "x"}, "item ['a']: expected a whole number"),
        ("counts", [1], "expected a dict"),
        ("mode", "medium", "expected one of 'fast', 'slow'"),
        ("day", "soon", "expected an ISO 8601 date, e.g. 2026-11-24"),
        (
            "day",
            dt.datetime(2026, 1, 1, 9),
            "expected an ISO 8601 date, e.g. 2026-11-24, without a time",
        ),
        ("at", "tomorrow", "expected an ISO 8601 datetime"),
        ("colour", "green", "expected one of 'red', 'blue' (Colour)"),
        ("either", None, "expected int or str"),
    ],
)
def test_values_that_do_not_fit_are_an_error_naming_the_parameter(name, given, problem):
    """Prefect 2 raises ParameterTypeError naming each parameter that fails validation."""
    with pytest.raises(ParameterTypeError) as caught:
        check(**{name: given})
    assert set(caught.value.errors) == {name}
    assert problem in caught.value.errors[name]
    assert f"{name}: {problem}" in str(caught.value)


def test_every_bad_parameter_is_reported_at_once():
    """Prefect 2 lists every invalid parameter in one error."""
    with pytest.raises(ParameterTypeError) as caught:
        check(n="x", mode="y", xs=["z"])
    assert set(caught.value.errors) == {"n", "mode", "xs"}


def test_values_that_fit_are_the_same_objects_and_defaults_are_not_checked():
    """Prefect 2 tracks task results passed on by identity: a value that fits is not copied.
    Prefect 2 (pydantic) does not validate defaults; neither do these rules."""
    xs, counts, when, point = [1, 2], {"a": 1}, dt.date(2026, 1, 1), Point()
    out = check(xs=xs, counts=counts, day=when, point=point, n=10**30, label="x" * 3)
    assert out["xs"] is xs and out["counts"] is counts and out["day"] is when
    assert out["point"] is point
    assert check(point="not a point")["point"] == "not a point"  # an unknown class: unchecked

    def odd_default(n: int = "not an int"):  # type: ignore[assignment]
        return n

    assert parameter_validator(odd_default)({"n": "not an int"}) == {"n": "not an int"}


def test_star_args_and_kwargs_pass_through_unchecked():
    """Prefect 2 passes *args/**kwargs entries to the function as given."""
    out = check(n="1", args=("a",), kwargs={"extra": "b"})
    assert out == {"n": 1, "args": ("a",), "kwargs": {"extra": "b"}}


def test_the_validator_returns_a_new_dict():
    arguments = {"n": "1"}
    out = check(**arguments)
    assert out == {"n": 1} and arguments == {"n": "1"}


def test_unresolvable_string_annotations_let_values_through():
    """An annotation naming something the module cannot import is not checked (no crash)."""

    def fn(a: NotDefinedAnywhere, b: "int"):  # noqa: F821, UP037
        return a

    validate = parameter_validator(fn)
    assert validate({"a": "x", "b": "2"}) == {"a": "x", "b": 2}


def test_the_api_and_form_use_the_same_rules_plus_json_text():
    """Raw values (a JSON body, a form) are read by the same rules; a list or dict may come as
    JSON text from a form's text area; unknown and missing names are errors too."""
    values = coerce_parameters(
        typed, {"xs": '[1, "2"]', "mode": "slow", "limit": None, "day": "2026-01-02"}
    )
    assert values == {"xs": [1, 2], "mode": "slow", "limit": None, "day": dt.date(2026, 1, 2)}
    with pytest.raises(ParameterError) as caught:
        coerce_parameters(typed, {"xs": [1, "a"], "mode": "medium", "n": None})
    assert set(caught.value.errors) == {"xs", "mode", "n"}


def test_dates_and_enums_are_recorded_as_json():
    """Prefect 2 stores parameters as JSON: dates and datetimes as ISO text, enums by value."""
    recorded = jsonable_parameters(
        check(day="2026-11-24", at="2026-11-24T09:30:00", colour="blue", xs=["1"])
    )
    assert recorded["day"] == "2026-11-24"
    assert recorded["at"] == "2026-11-24T09:30:00"
    assert recorded["colour"] == "blue"
    assert recorded["xs"] == [1]
    assert jsonable_parameters({"days": [dt.date(2026, 1, 1)]}) == {"days": ["2026-01-01"]}


def test_a_parameter_error_is_a_parameter_type_error_and_pickles():
    """Prefect 2's ParameterTypeError; errors survive pickling (a failed state's data)."""
    import pickle

    error = ParameterError({"x": "expected a whole number"})
    assert isinstance(error, ParameterTypeError) and isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.errors == {"x": "expected a whole number"} and str(copy) == str(error)


def test_literal_choices_are_in_the_schema():
    assert parameter_schema(typed)["mode"]["choices"] == ["fast", "slow"]
