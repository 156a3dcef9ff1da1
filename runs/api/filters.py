"""Query-string filters of the list endpoints: what each accepts, and its OpenAPI description.

Values are handed to :mod:`runs.selectors`, which raises FilterError for values it cannot use;
the views turn that into a 400 naming the parameter. An empty value (``?until=``) is the same
as leaving the parameter out, as in an HTML form; each schema below says exactly what passes.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from runs.selectors import RUN_SORTS, STATE_TYPE_NAMES, FilterError
from runs.selectors.filters import MAX_FILTER_SECONDS, MAX_LEVEL

_STATES = ", ".join(STATE_TYPE_NAMES)
#: The level names parse_level knows (logging's), and the numbers it takes: 1 to 6 ASCII digits
#: (leading zeros included) worth 0 to MAX_LEVEL (32767; the pattern spells it out).
_LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "NOTSET")
_LEVEL_NUMBER = (
    "0{0,2}[0-9]{1,4}|0?(?:[12][0-9]{4}|3[01][0-9]{3}|32[0-6][0-9]{2}|327[0-5][0-9]|3276[0-7])"
)

#: An empty value (``?until=``) is the same as leaving the parameter out.
EMPTY = {"type": "string", "maxLength": 0}


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _words(words) -> str:
    return "|".join(_any_case(word) for word in words)


def _optional(schema: dict) -> dict:
    """``schema``, or an empty value meaning "no filter"."""
    return {"anyOf": [schema, EMPTY]}


#: Comma-separated state types in any case; spaces around them and empty items are ignored.
_STATE_ITEM = rf"\s*(?:{_words(STATE_TYPE_NAMES)})?\s*"
STATE_TYPES_SCHEMA = {"type": "string", "pattern": rf"^{_STATE_ITEM}(?:,{_STATE_ITEM})*$"}
#: A level name in any case, or a number; spaces around it are ignored; empty means no filter.
LEVEL_SCHEMA = {
    "type": "string",
    "pattern": rf"^(?:\s*(?:{_words(_LEVEL_NAMES)}|{_LEVEL_NUMBER})\s*)?$",
}
TIME_SCHEMA = _optional(
    {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
        ]
    }
)
UUID_SCHEMA = _optional({"type": "string", "format": "uuid"})


def _param(name: str, description: str, type_=str) -> OpenApiParameter:
    return OpenApiParameter(
        name, type_, OpenApiParameter.QUERY, required=False, description=description
    )


STATE_TYPE = _param(
    "state",
    f"State types, comma-separated, any case ({_STATES}); alias `state_type`.",
    STATE_TYPES_SCHEMA,
)
STATE_TYPE_ALIAS = _param("state_type", "Same as `state`.", STATE_TYPES_SCHEMA)
STATE_NAME = _param("state_name", "State names, comma-separated (e.g. `Cached,Retrying`).")
TAG = _param("tag", "Only runs carrying this tag.")
SINCE = _param(
    "since", "Created at or after this time (ISO 8601; a date means its midnight UTC).", TIME_SCHEMA
)
UNTIL = _param(
    "until", "Created before this time (ISO 8601; a date means its midnight UTC).", TIME_SCHEMA
)
SEARCH = _param("search", "Part of the run's name, any case.")
FLOW = _param("flow", "Name of the flow.")
PARENT = _param(
    "parent", "Id of the task run (or of its flow run) a subflow was called from.", UUID_SCHEMA
)
FLOW_RUN = _param("flow_run", "Id of the flow run.", UUID_SCHEMA)
TASK_RUN = _param("task_run", "Id of the task run.", UUID_SCHEMA)
TASK = _param("task", "Name of the task; alias `task_name`.")
TASK_ALIAS = _param("task_name", "Same as `task`.")
LEVEL = _param(
    "level",
    "Lowest level shown: a name (DEBUG, INFO, WARNING, ERROR, CRITICAL; any case) or a number "
    f"from 0 to {MAX_LEVEL}.",
    LEVEL_SCHEMA,
)

RETRIED = _param(
    "retried",
    "`true`: only runs that ran more than once (retried); `false`: only the others. Also "
    "yes/no, 1/0, on/off, any case.",
    _optional(
        {
            "type": "string",
            "pattern": rf"^\s*(?:{_words(['true', 'false', 'yes', 'no', '1', '0', 'on', 'off'])})\s*$",
        }
    ),
)
_SECONDS = _optional({"type": "number", "minimum": 0, "maximum": MAX_FILTER_SECONDS})
MIN_DURATION = _param(
    "min_duration", "Only runs that ended and took at least this many seconds.", _SECONDS
)
MAX_DURATION = _param(
    "max_duration", "Only runs that ended and took at most this many seconds.", _SECONDS
)
MESSAGE = _param("message", "Part of the current state's message, any case.")
SORT = _param(
    "sort",
    "Order of the list: `-created` (newest first, the default), `created`, `-duration` "
    "(longest first; runs not ended last), `duration`, `-runs` (most attempts first), `runs`.",
    _optional({"type": "string", "enum": list(RUN_SORTS)}),
)
RUN_FILTERS = [RETRIED, MIN_DURATION, MAX_DURATION, MESSAGE, SORT]
UPCOMING = _param(
    "upcoming",
    "`false`: leave out the runs scheduled for later that have not started (a deployment's "
    "schedules make them ahead of time); `true`, the default: list them too. Also yes/no, "
    "1/0, on/off, any case.",
    RETRIED.type,
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
    UPCOMING,
    *RUN_FILTERS,
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
    *RUN_FILTERS,
]
LOG_SEARCH = _param("search", "Part of the message, any case.")
LOG_FILTERS = [LEVEL, LOG_SEARCH]
ALL_LOG_FILTERS = [FLOW_RUN, TASK_RUN, LEVEL, LOG_SEARCH]


#: Selector keyword -> the query parameters that set it, first one preferred.
SHARED_RUN_PARAMS = {
    "retried": ("retried",),
    "min_duration": ("min_duration",),
    "max_duration": ("max_duration",),
    "message": ("message",),
}
FLOW_RUN_PARAMS = {
    "flow": ("flow",),
    "state_type": ("state", "state_type"),
    "state_name": ("state_name",),
    "tag": ("tag",),
    "since": ("since",),
    "until": ("until",),
    "parent": ("parent",),
    "search": ("search",),
    "upcoming": ("upcoming",),
    **SHARED_RUN_PARAMS,
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
    **SHARED_RUN_PARAMS,
}
#: A run's lines (``logs_for``): the filters the run pages and their download use too.
RUN_LOG_PARAMS = {"level": ("level",), "search": ("search",)}
LOG_PARAMS = {"flow_run": ("flow_run",), "task_run": ("task_run",), **RUN_LOG_PARAMS}


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
