"""A drf-spectacular hook: the error answers every endpoint can give, in the schema.

DRF answers 401 to anonymous requests, 400 to bad query values or bodies, 404 to unknown ids
and 415 to bodies of a media type it does not parse, everywhere; views only document their successes. This hook adds
the errors each operation can produce, so a client (and the schemathesis fuzzer) knows them.
"""

from __future__ import annotations

_DETAIL = {
    "description": "An error: `detail` says what was wrong.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    },
}
_FIELDS = {
    "description": "Bad input: field or parameter name -> messages (or `detail` for a "
    "malformed body).",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: add 400, 401, 404, 415 answers to the operations that can give them."""
    from runs.api.middleware import api_prefix

    prefix = api_prefix()
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            if (
                operation.get("security") != [{}]
                and path.startswith(prefix)
                and not path.startswith(f"{prefix}schema")
            ):
                responses.setdefault("401", _DETAIL)
                responses.setdefault("403", _DETAIL)  # the user's role lacks the permission
            if "requestBody" in operation or parameters:
                responses.setdefault("400", _FIELDS)
            if "requestBody" in operation:
                responses.setdefault("415", _DETAIL)
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", _DETAIL)
    return result
