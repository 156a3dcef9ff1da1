"""Parameters of flows and tasks: their schema from a signature, coercion of raw values, JSON records.

The schema feeds the REST API and the web form; :func:`coerce_parameters` turns what a form or
a JSON body sent into the types the function's annotations ask for, with an error per field.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import typing
from collections.abc import Callable
from typing import Any

from runs.values import clean_text, jsonable, safe_repr

_TYPE_NAMES: dict[Any, str] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    list: "array",
    tuple: "array",
    dict: "object",
    dt.datetime: "datetime",
    dt.date: "date",
}


class ParameterError(ValueError):
    """Parameters that do not fit a flow's signature; ``errors`` maps each field to its problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        detail = "; ".join(f"{name}: {message}" for name, message in errors.items())
        super().__init__(f"Invalid parameters: {detail}")


def _annotation_type(annotation: Any) -> Any:
    """The plain type behind an annotation (``Optional[int]`` -> int, ``list[str]`` -> list)."""
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, str):  # an annotation that could not be resolved: read its text
        names = [part.split("[")[0].strip() for part in annotation.split("|")]
        names = [n for n in names if n not in ("None", "Optional")]
        return (
            {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}.get(
                names[0]
            )
            if len(names) == 1
            else None
        )
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _annotation_type(args[0]) if len(args) == 1 else None
    return origin or annotation


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _jsonable(value: Any) -> Any:
    safe = jsonable(value)
    return safe_repr(value) if safe is None and value is not None else safe


def parameter_schema(fn: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    """Each parameter of ``fn``: ``type`` (JSON-schema-like name), ``default``, ``required``."""
    schema: dict[str, dict[str, Any]] = {}
    try:  # resolves string annotations (``from __future__ import annotations``)
        hints = typing.get_type_hints(fn)
    except Exception:  # a name the module cannot resolve: fall back to the annotation's text
        hints = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, param.annotation)
        plain = _annotation_type(annotation)
        required = param.default is inspect.Parameter.empty
        schema[name] = {
            "type": _TYPE_NAMES.get(plain, "any"),
            "annotation": _annotation_text(annotation),
            "default": None if required else _jsonable(param.default),
            "required": required,
        }
    return schema


def _coerce(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    if type_name == "integer":
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("expected a whole number")
        try:
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        except (ValueError, TypeError):
            raise ValueError("expected a whole number, e.g. 3") from None
    if type_name == "number":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            return float(value)
        except (ValueError, TypeError):
            raise ValueError("expected a number, e.g. 0.5") from None
    if type_name == "string":
        if not isinstance(value, str):
            raise ValueError("expected text")
        return value
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {
            "true",
            "on",
            "1",
            "yes",
            "false",
            "off",
            "0",
            "no",
            "",
        }:
            return value.lower() in {"true", "on", "1", "yes"}
        raise ValueError("expected true or false")
    if type_name in ("array", "object"):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"expected a JSON {type_name}") from None
        expected = list if type_name == "array" else dict
        if not isinstance(value, expected):
            raise ValueError(f"expected a JSON {type_name}")
        return value
    if type_name in ("datetime", "date") and isinstance(value, str):
        kind = dt.datetime if type_name == "datetime" else dt.date
        try:
            return kind.fromisoformat(value)
        except ValueError:
            example = "2026-11-24T09:30:00" if type_name == "datetime" else "2026-11-24"
            raise ValueError(f"expected an ISO 8601 {type_name}, e.g. {example}") from None
    return value


def coerce_parameters(fn: Callable[..., Any], raw: dict[str, Any] | None) -> dict[str, Any]:
    """Values of ``raw`` converted to ``fn``'s annotated types; raise ParameterError per bad field.

    Unknown names and missing required parameters are errors too. Defaults are not filled in.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParameterError({"parameters": "expected a JSON object of name -> value"})
    schema = parameter_schema(fn)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in raw:
        if name not in schema:
            errors[name] = f"unknown parameter; this flow takes: {', '.join(schema) or 'none'}"
    for name, spec in schema.items():
        if name not in raw:
            if spec["required"]:
                errors[name] = "this parameter is required"
            continue
        try:
            values[name] = _coerce(raw[name], spec["type"])
        except (ValueError, TypeError) as exc:
            label = spec["annotation"] or spec["type"]
            errors[name] = f"{exc} ({label}); got {raw[name]!r}"
    if errors:
        raise ParameterError(errors)
    return values


def jsonable_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as they are recorded: JSON values made storable (see runs.values), anything
    else as its repr."""
    out: dict[str, Any] = {}
    for name, value in parameters.items():
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is str and "\x00" not in value:
            out[clean_text(name)] = value
            continue
        safe = jsonable(value)
        out[clean_text(name)] = safe_repr(value) if safe is None and value is not None else safe
    return out
