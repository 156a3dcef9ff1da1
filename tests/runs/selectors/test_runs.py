"""Run selectors the CLI and the dashboard share: finding a run by id prefix, latest runs."""

from __future__ import annotations

import pytest

from runs.exceptions import ObjectNotFound
from runs.selectors import FilterError
from runs.selectors import runs as run_selectors
from tests.runs.selectors.logged_flows import run_logged_flow


def test_a_flow_run_is_found_by_its_id_or_a_unique_prefix():
    run, _, _ = run_logged_flow()

    assert run_selectors.find_flow_run(str(run.id)) == run
    assert run_selectors.find_flow_run(run.id.hex[:12]) == run
    with pytest.raises(ObjectNotFound, match="is not a flow run id"):
        run_selectors.find_flow_run("xyz")
    with pytest.raises(ObjectNotFound, match="No flow run has id"):
        run_selectors.find_flow_run("00000000-0000-0000-0000-000000000000")


def test_latest_runs_of_a_flow_in_a_state_and_an_unknown_state_named():
    run, warned, printed = run_logged_flow()

    latest = run_selectors.latest_flow_runs(flow="selectors-logged", state="completed", limit=1)

    assert latest == [run]
    assert run_selectors.task_runs_of(run) == [warned, printed]
    with pytest.raises(FilterError) as error:
        run_selectors.latest_flow_runs(state="DONE")
    assert set(error.value.errors) == {"state"}
