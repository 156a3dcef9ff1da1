"""The API's JSON parser: DRF's, with a fixed limit on how deeply a body may nest.

Code that walks a value (validation, storage, display) recurses once per level, so a body
nested hundreds of levels deep would end in a RecursionError and a 500. Bodies nested more
than :data:`MAX_JSON_DEPTH` levels are refused with a 400 naming the field, before any of it runs.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

#: The deepest nesting of arrays and objects a JSON body may have (the body itself is level 1).
MAX_JSON_DEPTH = 64


def too_deep(value, max_depth: int = MAX_JSON_DEPTH) -> list | None:
    """The path (keys and indexes) to the first array or object nested deeper than
    ``max_depth`` levels in ``value``, or None when it nests no deeper. Walks without recursion."""
    stack = [(value, 1, [])]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth > max_depth:
            return path
        stack.extend((child, depth + 1, [*path, key]) for key, child in children)
    return None


def depth_errors(path: list, message: str):
    """``message`` under the object keys at the start of ``path``, the shape DRF gives the
    errors of nested fields: ``["parameters", "name", 0, 0]`` -> ``{"parameters": {"name": [...]}}``."""
    keys = []
    for step in path:
        if not isinstance(step, str):
            break
        keys.append(step)
    errors = [message]
    for key in reversed(keys):
        errors = {key: errors}
    return errors if keys else {"non_field_errors": errors}


class DepthLimitedJSONParser(JSONParser):
    """JSON bodies nested at most :data:`MAX_JSON_DEPTH` levels deep."""

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: D102
        message = (
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted; "
            "send a flatter value."
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        path = too_deep(data)
        if path is not None:
            raise ValidationError(depth_errors(path, message))
        return data
