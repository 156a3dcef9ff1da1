"""Query-string filters of the list endpoints: what each accepts, and its OpenAPI description.

Values are handed to :mod:`runs.selectors`, which raises FilterError for values it cannot use;
the views turn that into a 400 naming the parameter.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from runs.selectors import STATE_TYPE_NAMES, FilterError

_STATES = ", ".join(STATE_TYPE_NAMES)


def _param(name: str, description: str, type_=str) -> OpenApiParameter:
    return OpenApiParameter(
        name, type_, OpenApiParameter.QUERY, required=False, description=description
    )


STATE_TYPE = _param("state", f"State types, comma-separated ({_STATES}); alias `state_type`.")
STATE_TYPE_ALIAS = _param("state_type", "Same as `state`.")
STATE_NAME = _param("state_name", "State names, comma-separated (e.g. `Cached,Retrying`).")
TAG = _param("tag", "Only runs carrying this tag.")
SINCE = _param("since", "Created at or after this time (ISO 8601).", OpenApiTypes.DATETIME)
UNTIL = _param("until", "Created before this time (ISO 8601).", OpenApiTypes.DATETIME)
SEARCH = _param("search", "Part of the run's name, any case.")
FLOW = _param("flow", "Name of the flow.")
PARENT = _param(
    "parent",
    "Id of the task run (or of its flow run) a subflow was called from.",
    OpenApiTypes.UUID,
)
FLOW_RUN = _param("flow_run", "Id of the flow run.", OpenApiTypes.UUID)
TASK_RUN = _param("task_run", "Id of the task run.", OpenApiTypes.UUID)
TASK = _param("task", "Name of the task; alias `task_name`.")
TASK_ALIAS = _param("task_name", "Same as `task`.")
LEVEL = _param(
    "level",
    "Lowest level shown: a name (DEBUG, INFO, WARNING, ERROR, CRITICAL) or a number from 0 to "
    "32767.",
)

FLOW_RUN_FILTERS = [
    FLOW,
    STATE_TYPE,
    STATE_TYPE_ALIAS,
    STATE_NAME,
    TAG,
    SINCE,
    UNTIL,
    PARENT,
    SEARCH,
]
TASK_RUN_FILTERS = [
    FLOW_RUN,
    STATE_TYPE,
    STATE_TYPE_ALIAS,
    STATE_NAME,
    TAG,
    TASK,
    TASK_ALIAS,
    SINCE,
    UNTIL,
    SEARCH,
]
LOG_FILTERS = [LEVEL]
ALL_LOG_FILTERS = [FLOW_RUN, TASK_RUN, LEVEL]


#: Selector keyword -> the query parameters that set it, first one preferred.
FLOW_RUN_PARAMS = {
    "flow": ("flow",),
    "state_type": ("state", "state_type"),
    "state_name": ("state_name",),
    "tag": ("tag",),
    "since": ("since",),
    "until": ("until",),
    "parent": ("parent",),
    "search": ("search",),
}
TASK_RUN_PARAMS = {
    "flow_run": ("flow_run",),
    "state_type": ("state", "state_type"),
    "state_name": ("state_name",),
    "tag": ("tag",),
    "task_name": ("task", "task_name"),
    "since": ("since",),
    "until": ("until",),
    "search": ("search",),
}
LOG_PARAMS = {"flow_run": ("flow_run",), "task_run": ("task_run",), "level": ("level",)}


def select(selector, spec: dict[str, tuple[str, ...]], params, **fixed):
    """Call ``selector`` with the values of ``params`` named in ``spec`` (plus ``fixed``).

    A FilterError comes back keyed by the query parameter the request used (``state``, not
    ``state_type``), so a 400 names what the caller wrote.
    """
    kwargs, used = {}, {}
    for keyword, names in spec.items():
        for name in names:
            value = params.get(name)
            if value is not None:
                if "\x00" in value:
                    raise ValidationError(
                        {name: ["The value contains a NUL character; remove it."]}
                    )
                kwargs[keyword], used[keyword] = value, name
                break
    try:
        return selector(**kwargs, **fixed)
    except FilterError as error:
        raise FilterError({used.get(k, k): v for k, v in error.errors.items()}) from None
