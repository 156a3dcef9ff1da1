"""Parameters of flows and tasks: their schema from a signature, checks against annotations,
JSON records.

One set of rules serves every caller: :func:`parameter_validator` for a direct flow call,
:func:`coerce_parameters` for the REST API, the web form and the worker that runs a flow
started by id. The rules follow the
lax coercion Prefect 2 applies to flow parameters (pydantic's ``validate_arguments``): ``"3"``
for an ``int`` becomes ``3``, ``"abc"`` is an error naming the parameter, ``list[int]`` checks
each item, ``Literal`` its choices, ``X | None`` takes ``None``; ``date``/``datetime`` take ISO
text and are recorded as ISO text. Annotations the rules do not know (other classes, ``Any``)
let any value through unchanged. Where pydantic v1 would lose information silently (``3.5`` for
an ``int``, a datetime with a time for a ``date``), the value is refused as pydantic v2 does.
"""

from __future__ import annotations

import collections.abc as abc
import datetime as dt
import decimal
import enum
import functools
import inspect
import json
import pathlib
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

from runs.exceptions import ParameterTypeError
from runs.values import clean_text, jsonable, safe_repr

_TYPE_NAMES: dict[Any, str] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    list: "array",
    tuple: "array",
    set: "array",
    frozenset: "array",
    abc.Sequence: "array",
    dict: "object",
    abc.Mapping: "object",
    dt.datetime: "datetime",
    dt.date: "date",
}


class ParameterError(ParameterTypeError):
    """Parameters that do not fit a flow's signature; ``errors`` maps each field to its problem."""

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (a failed state's data) with its errors
        return (type(self), (self.errors,))


class _Invalid(Exception):
    """One value that does not fit; ``where`` is the path inside the parameter (``[1]``)."""

    def __init__(self, message: str, value: Any, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.where = where

    def describe(self, label: str) -> str:
        """The message for the parameter: what was expected, of which annotation, what came."""
        place = f"item {self.where}: " if self.where else ""
        return f"{place}{self.message} ({label}); got {safe_repr(self.value, 200)}"


_Check = Callable[[Any], Any]


# ---- rules for one type -------------------------------------------------------------------------
def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int):  # bool (pydantic reads True as 1) or an int subclass
        return int(value) if value is True or value is False else value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    elif isinstance(value, float | decimal.Decimal):
        whole = value.is_integer() if isinstance(value, float) else _whole_decimal(value)
        if whole:
            return int(value)
        raise _Invalid("expected a whole number, e.g. 3, not a fraction", value)
    raise _Invalid("expected a whole number, e.g. 3", value)


def _whole_decimal(value: decimal.Decimal) -> bool:
    return value.is_finite() and value == value.to_integral_value()


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, int | decimal.Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _Invalid("expected a number, e.g. 0.5", value)


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("expected text", value)


_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _bool(value: Any) -> Any:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise _Invalid("expected true or false", value)


def _datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise _Invalid("expected an ISO 8601 datetime, e.g. 2026-11-24T09:30:00", value)


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date()
        raise _Invalid("expected an ISO 8601 date, e.g. 2026-11-24, without a time of day", value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid("expected an ISO 8601 date, e.g. 2026-11-24", value)


def _time(value: Any) -> Any:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid("expected an ISO 8601 time, e.g. 09:30:00", value)


def _uuid(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise _Invalid("expected a UUID, e.g. 1b4e28ba-2fa1-11d2-883f-0016d3cca427", value)


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return decimal.Decimal(value.strip() if isinstance(value, str) else str(value))
        except decimal.InvalidOperation:
            pass
    raise _Invalid("expected a decimal number, e.g. 1.25", value)


def _path(kind: type) -> _Check:
    def check(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if isinstance(value, str):
            return kind(value)
        raise _Invalid("expected a path", value)

    return check


def _enum(kind: type[enum.Enum]) -> _Check:
    def check(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except (ValueError, TypeError):
            choices = ", ".join(repr(member.value) for member in kind)
            raise _Invalid(f"expected one of {choices}", value) from None

    return check


def _literal(choices: tuple[Any, ...]) -> _Check:
    allowed = ", ".join(repr(choice) for choice in choices)

    def check(value: Any) -> Any:
        for choice in choices:
            if value is choice:
                return value
        for choice in choices:
            # equal and of the same kind: True is not the choice 1, nor "1" the choice 1
            if type(value) is type(choice) and value == choice:
                return value
        raise _Invalid(f"expected one of {allowed}", value)

    return check


def _model(kind: type) -> _Check:
    """A pydantic model (v2 or v1, found by its methods, never imported): a dict becomes one."""
    validate = getattr(kind, "model_validate", None) or getattr(kind, "parse_obj", None)

    def check(value: Any) -> Any:
        if isinstance(value, kind) or not isinstance(value, dict):
            return value
        try:
            return validate(value)
        except Exception as exc:  # pydantic's ValidationError, whichever version
            raise _Invalid(f"does not fit {kind.__name__}: {_model_problem(exc)}", value) from None

    return check


def _model_problem(exc: Exception) -> str:
    """A pydantic ValidationError's problems on one line: ``field: message; ...``."""
    try:
        problems = exc.errors()  # type: ignore[attr-defined]
        return "; ".join(
            f"{'.'.join(str(part) for part in p['loc'])}: {p['msg']}" for p in problems
        )
    except Exception:
        return str(exc).replace("\n", " ")


_SCALARS: dict[Any, _Check] = {
    int: _int,
    float: _float,
    str: _str,
    bool: _bool,
    dt.datetime: _datetime,
    dt.date: _date,
    dt.time: _time,
    uuid.UUID: _uuid,
    decimal.Decimal: _decimal,
}


# ---- containers ---------------------------------------------------------------------------------
def _items(value: Any, check: _Check | None) -> list[Any] | None:
    """Each item checked; None when every item came back as itself (the container can stay)."""
    if check is None:
        return None
    out: list[Any] | None = None
    for index, item in enumerate(value):
        try:
            new = check(item)
        except _Invalid as exc:
            raise _Invalid(exc.message, exc.value, f"[{index}]{exc.where}") from None
        if new is not item and out is None:
            out = list(value)[:index]
        if out is not None:
            out.append(new)
    return out


def _sequence(kind: type, item: _Check | None, keep_kind: bool = False) -> _Check:
    name = {list: "list", tuple: "tuple", set: "set", frozenset: "set"}.get(kind, "list")

    def check(value: Any) -> Any:
        if isinstance(value, str | bytes | dict) or not isinstance(
            value, list | tuple | set | frozenset | abc.Sequence | abc.Set | types.GeneratorType
        ):
            raise _Invalid(f"expected a {name}", value)
        if isinstance(value, types.GeneratorType):
            value = list(value)
        target = tuple if keep_kind and isinstance(value, tuple) else kind
        items = _items(value, item)
        if items is None:
            return value if type(value) is target or keep_kind else target(value)
        return target(items)

    return check


def _fixed_tuple(items: list[_Check | None]) -> _Check:
    def check(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise _Invalid("expected a tuple", value)
        if len(value) != len(items):
            raise _Invalid(f"expected {len(items)} items", value)
        out = []
        changed = type(value) is not tuple
        for index, (element, item_check) in enumerate(zip(value, items, strict=True)):
            try:
                new = element if item_check is None else item_check(element)
            except _Invalid as exc:
                raise _Invalid(exc.message, exc.value, f"[{index}]{exc.where}") from None
            changed = changed or new is not element
            out.append(new)
        return tuple(out) if changed else value

    return check


def _mapping(key: _Check | None, val: _Check | None) -> _Check:
    def check(value: Any) -> Any:
        if not isinstance(value, abc.Mapping):
            raise _Invalid("expected a dict", value)
        if key is None and val is None:
            return value
        out: dict[Any, Any] | None = None
        for k, v in value.items():
            try:
                new_k = k if key is None else key(k)
            except _Invalid as exc:
                raise _Invalid(f"key: {exc.message}", exc.value, f"[{k!r}]") from None
            try:
                new_v = v if val is None else val(v)
            except _Invalid as exc:
                raise _Invalid(exc.message, exc.value, f"[{k!r}]{exc.where}") from None
            if out is None and (new_k is not k or new_v is not v):
                out = {}
                for done_k, done_v in value.items():
                    if done_k is k:
                        break
                    out[done_k] = done_v
            if out is not None:
                out[new_k] = new_v
        if out is None:
            return value if type(value) is dict else dict(value)
        return out

    return check


def _union(members: list[Any], allows_none: bool) -> _Check | None:
    checks = [_checker(member) for member in members]
    if not checks and allows_none:
        return _none_only
    if all(check is None for check in checks):
        return None  # no member can be checked: neither can the union
    # a datetime is a date, but a date member does not take one as it is (see _date)
    exact = tuple(
        m
        for m in members
        if isinstance(m, type) and typing.get_origin(m) is None and m is not dt.date
    )
    bool_ok = bool in members
    anything = any(check is None for check in checks)
    checks = [c for c in checks if c is not None]

    def check(value: Any) -> Any:
        if value is None and allows_none:
            return None
        if exact and isinstance(value, exact) and (bool_ok or not isinstance(value, bool)):
            return value  # already one of the members: no member coerces it into another
        first: _Invalid | None = None
        for member_check in checks:
            try:
                return member_check(value)
            except _Invalid as exc:
                first = first or exc
        if anything:
            return value
        if first is None:
            raise _Invalid("expected null", value)
        if len(checks) == 1:
            raise first
        raise _Invalid(f"expected {' or '.join(_label(m) for m in members)}", value)

    return check


def _none_only(value: Any) -> Any:
    if value is None:
        return None
    raise _Invalid("expected null", value)


#: Bounds an ``Annotated`` type may carry (annotated_types' Ge, Interval, Len, MinLen...;
#: pydantic's ``Field(ge=0)`` holds them in ``.metadata``), with how each is described.
_BOUND_WORDS = {
    "gt": "greater than",
    "ge": "at least",
    "lt": "less than",
    "le": "at most",
    "min_length": "of length at least {}",
    "max_length": "of length at most {}",
}


def _bounds(metadata: tuple[Any, ...]) -> dict[str, Any]:
    """The bounds (``ge``, ``lt``, ``min_length``...) named by ``Annotated`` metadata."""
    found: dict[str, Any] = {}
    for item in metadata:
        for inner in getattr(item, "metadata", None) or ():  # pydantic's FieldInfo
            found.update(_bounds((inner,)))
        for name in _BOUND_WORDS:
            value = getattr(item, name, None)
            if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
                found[name] = value
    return found


def _bounds_text(bounds: dict[str, Any]) -> str:
    """``bounds`` in words: "at least 0 and at most 100"."""
    words = []
    for name, value in bounds.items():
        word = _BOUND_WORDS[name]
        words.append(word.format(value) if "{}" in word else f"{word} {value}")
    return " and ".join(words)


def _within(value: Any, bounds: dict[str, Any]) -> bool:
    try:
        size = len(value) if ("min_length" in bounds or "max_length" in bounds) else None
    except TypeError:
        size = None
    tests = {
        "gt": lambda v, b: v > b,
        "ge": lambda v, b: v >= b,
        "lt": lambda v, b: v < b,
        "le": lambda v, b: v <= b,
    }
    for name, bound in bounds.items():
        if name in tests:
            try:
                if not tests[name](value, bound):
                    return False
            except TypeError:
                continue
        elif size is not None:
            if name == "min_length" and size < bound or name == "max_length" and size > bound:
                return False
    return True


def _bounded(check: _Check | None, bounds: dict[str, Any]) -> _Check | None:
    """``check``, then ``bounds`` on what it gives (as pydantic applies ``Field(ge=...)``)."""
    if not bounds:
        return check

    def within(value: Any) -> Any:
        value = check(value) if check is not None else value
        if not _within(value, bounds):
            raise _Invalid(f"expected a value {_bounds_text(bounds)}", value)
        return value

    return within


def _checker(annotation: Any) -> _Check | None:
    """The check for ``annotation``, or None when any value passes unchanged."""
    try:
        if annotation in _SCALARS:
            return _SCALARS[annotation]
    except TypeError:  # an annotation that cannot be hashed: none of these
        pass
    if annotation is None or annotation is type(None):
        return _none_only
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _bounded(_checker(args[0]), _bounds(args[1:]))
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        return _union(members, len(members) < len(args))
    if origin is typing.Literal:
        return _literal(args)
    if origin is list or origin is abc.MutableSequence:
        return _sequence(list, _checker(args[0]) if args else None)
    if origin in (set, abc.Set, abc.MutableSet):
        return _sequence(set, _checker(args[0]) if args else None)
    if origin is frozenset:
        return _sequence(frozenset, _checker(args[0]) if args else None)
    if origin is abc.Sequence:
        return _sequence(list, _checker(args[0]) if args else None, keep_kind=True)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(tuple, _checker(args[0]))
        if args == ((),):
            return _fixed_tuple([])
        return _fixed_tuple([_checker(a) for a in args]) if args else _sequence(tuple, None)
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        key, val = args if len(args) == 2 else (None, None)
        return _mapping(_checker(key) if key is not None else None, _checker(val) if val else None)
    if origin is not None:
        return None  # another generic (Callable[...], Iterable[...], type[...]): not checked
    if isinstance(annotation, typing.NewType):
        return _checker(annotation.__supertype__)
    if not isinstance(annotation, type):
        return None  # Any, a TypeVar, a string that did not resolve
    if annotation in (list, tuple, set, frozenset):
        return _sequence(annotation, None)
    if annotation is dict:
        return _mapping(None, None)
    if issubclass(annotation, enum.Enum):
        return _enum(annotation)
    if issubclass(annotation, pathlib.PurePath):
        return _path(annotation)
    if hasattr(annotation, "model_validate") or hasattr(annotation, "parse_obj"):
        return _model(annotation)
    return None


# ---- per function -------------------------------------------------------------------------------
def _namespace(fn: Callable[..., Any]) -> dict[str, Any]:
    """The globals string annotations of ``fn`` are read in (through wrappers and partials)."""
    target: Any = inspect.unwrap(fn)
    while isinstance(target, functools.partial):
        target = inspect.unwrap(target.func)
    if not hasattr(target, "__globals__"):  # a callable object: its __call__'s module
        target = type(target).__call__ if callable(target) else target
    return getattr(target, "__globals__", {})


def _resolved_annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    """Each parameter's annotation, string annotations (``from __future__ import annotations``)
    resolved one by one in the function's module; one that does not resolve is left out."""
    namespace = _namespace(fn)
    out: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        annotation = param.annotation
        if annotation is inspect.Parameter.empty:
            continue
        try:
            for _ in range(2):  # a quoted annotation under the future import is quoted twice
                if isinstance(annotation, str):
                    annotation = eval(annotation, namespace)  # noqa: S307 - the module's text
        except Exception:
            continue
        if isinstance(annotation, str):
            continue
        out[name] = annotation
    return out


def _label(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if typing.get_origin(annotation) is typing.Annotated:  # its bounds are in the message
        return _label(typing.get_args(annotation)[0])
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("datetime.", "")


def _checks(fn: Callable[..., Any]) -> list[tuple[str, _Check, Any, str, type | None]]:
    """(name, check, default, label, exact type that fits as it is) for each parameter whose
    annotation can be checked."""
    annotations = _resolved_annotations(fn)
    checks = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name not in annotations:
            continue
        annotation = annotations[name]
        check = _checker(annotation)
        if check is not None:
            fits = (
                annotation
                if isinstance(annotation, type) and check is _SCALARS.get(annotation)
                else None
            )
            checks.append((name, check, param.default, _label(annotation), fits))
    return checks


def parameter_validator(
    fn: Callable[..., Any],
) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The check of a call's arguments against ``fn``'s annotations, or None when no annotation
    can be checked (then there is nothing to do).

    The callable takes the bound arguments (name -> value, defaults applied; ``*args`` and
    ``**kwargs`` entries pass unchecked) and returns a new dict with values coerced, or raises
    :class:`ParameterError` naming each parameter that does not fit. A value already of the right
    type is returned as the same object; a parameter left at its default is not checked (as in
    Prefect 2). Build it once per function: the work of reading annotations is done here.
    """
    checks = _checks(fn)
    if not checks:
        return None

    def validate(arguments: dict[str, Any]) -> dict[str, Any]:
        out = dict(arguments)
        errors: dict[str, str] | None = None
        for name, check, default, label, fits in checks:
            value = out.get(name, default)
            if type(value) is fits or value is default:
                continue
            try:
                new = check(value)
            except _Invalid as exc:
                if errors is None:
                    errors = {}
                errors[name] = exc.describe(label)
                continue
            if new is not value:
                out[name] = new
        if errors:
            raise ParameterError(errors)
        return out

    return validate


# ---- schema and raw values (API, form) ----------------------------------------------------------
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
    if origin is typing.Annotated:
        return _annotation_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _annotation_type(args[0]) if len(args) == 1 else None
    return origin or annotation


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if typing.get_origin(annotation) is typing.Annotated:  # the bounds are given apart
        return _annotation_text(typing.get_args(annotation)[0])
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _jsonable(value: Any) -> Any:
    safe = jsonable(_json_form(value))
    return safe_repr(value) if safe is None and value is not None else safe


def parameter_schema(fn: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    """Each parameter of ``fn``: ``type`` (JSON-schema-like name), ``default``, ``required``;
    ``choices`` too for a ``Literal``."""
    schema: dict[str, dict[str, Any]] = {}
    annotations = _resolved_annotations(fn)
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = annotations.get(name, param.annotation)
        plain = _annotation_type(annotation)
        required = param.default is inspect.Parameter.empty
        schema[name] = {
            "type": _TYPE_NAMES.get(plain, "any"),
            "annotation": _annotation_text(annotation),
            "default": None if required else _jsonable(param.default),
            "required": required,
        }
        if plain is typing.Literal:
            schema[name]["choices"] = [_jsonable(c) for c in typing.get_args(annotation)]
        if typing.get_origin(annotation) is typing.Annotated:
            bounds = _bounds(typing.get_args(annotation)[1:])
            if bounds:
                schema[name]["bounds"] = {k: _jsonable(v) for k, v in bounds.items()}
                schema[name]["bounds_text"] = _bounds_text(bounds)
    return schema


def _from_text(value: Any, type_name: str) -> Any:
    """A JSON list or object sent as text (a form's text area) read as JSON, before the rules."""
    if type_name in ("array", "object") and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise _Invalid(f"expected a JSON {type_name}", value) from None
    return value


def coerce_parameters(fn: Callable[..., Any], raw: dict[str, Any] | None) -> dict[str, Any]:
    """Values of ``raw`` (a JSON body, a form) converted to ``fn``'s annotated types by the rules
    direct calls use; raise ParameterError with an error per bad field.

    Unknown names and missing required parameters are errors too. Defaults are not filled in.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParameterError({"parameters": "expected a JSON object of name -> value"})
    schema = parameter_schema(fn)
    checks = {name: (check, default, label) for name, check, default, label, _ in _checks(fn)}
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
        check, default, label = checks.get(name, (None, None, spec["annotation"]))
        value = raw[name]
        try:
            value = _from_text(value, spec["type"])
            values[name] = value if check is None or value is default else check(value)
        except _Invalid as exc:
            errors[name] = exc.describe(label)
    if errors:
        raise ParameterError(errors)
    return values


# ---- records ------------------------------------------------------------------------------------
def _json_form(value: Any) -> Any:
    """Values the rules make (dates, UUIDs, enums, paths, decimals, sets) as JSON would carry
    them, inside lists, tuples and dicts too; anything else as it is."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _json_form(value.value)
    if isinstance(value, uuid.UUID | pathlib.PurePath | decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_form(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_form(item) for key, item in value.items()}
    return value


def jsonable_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as they are recorded: JSON values made storable (see runs.values), dates and
    datetimes as ISO text, anything else as its repr."""
    out: dict[str, Any] = {}
    for name, value in parameters.items():
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is str and "\x00" not in value:
            out[clean_text(name)] = value
            continue
        safe = jsonable(value)
        if safe is None and value is not None:
            safe = jsonable(_json_form(value))
        out[clean_text(name)] = safe_repr(value) if safe is None and value is not None else safe
    return out
