"""Reading runs, logs, flows and cache entries: the only place the faces' reads are written.

The dashboard, the REST API, the CLI and the client all read through these functions, so they
answer the same question the same way. By subject:

- :mod:`.filters`: parsing filter values (:class:`FilterError` names each bad field);
- :mod:`.runs`: flow runs, task runs, their states and dependencies, the overview's counts;
- :mod:`.logs`: :func:`logs_for` a run, and the log list;
- :mod:`.flows`: registered flows;
- :mod:`.cache`: the one definition of a live cache entry, and the entries;
- :mod:`.timeline`: a flow run's task runs and states in bulk, for its timeline;
- :mod:`.stats`: runs over time by state, a flow's success rate and duration percentiles;
- :mod:`.paging`: :func:`keyset_page`, the keyset pages of every list.

Concurrency limits are read in :mod:`runs_limits.selectors`.
"""

from __future__ import annotations

from runs.selectors.filters import (
    RUN_SORTS,
    STATE_TYPE_NAMES,
    FilterError,
    parse_level,
    parse_state_types,
    parse_time,
    parse_uuid,
    run_sort,
)
from runs.selectors.logs import log_lines, log_table, logs, logs_for
from runs.selectors.paging import Page, keyset_page
from runs.selectors.runs import (
    flow_runs,
    get_flow_run,
    get_task_run,
    state_history,
    task_runs,
    upstream_ids,
)

__all__ = [
    "RUN_SORTS",
    "STATE_TYPE_NAMES",
    "FilterError",
    "Page",
    "flow_runs",
    "get_flow_run",
    "get_task_run",
    "keyset_page",
    "log_lines",
    "log_table",
    "logs",
    "logs_for",
    "parse_level",
    "parse_state_types",
    "parse_time",
    "parse_uuid",
    "run_sort",
    "state_history",
    "task_runs",
    "upstream_ids",
]
