"""What a run ended by the reaper says about the process that was lost (the cases the
kill -9 tests in test_reaper.py and tests/runs/test_leases.py cannot reach from this machine)."""

from __future__ import annotations

import datetime as dt

from runs.orchestration import propose_state
from runs.orchestration.crash_messages import Lease, loss, owner_lost, process
from runs.processes import process_key
from runs.states import Running, now


def _lease(**fields) -> Lease:
    values = dict(
        hostname="far-away",
        pid=4242,
        kind="worker",
        queues="celery",
        expires=now() - dt.timedelta(seconds=5),
        process_key="",  # another machine: this one cannot tell whether it runs
    )
    return Lease(**{**values, **fields})


def test_a_process_on_another_machine_probably_died_when_its_lease_ran_out():
    lease = _lease()
    assert (
        process("far-away:4242:abcd1234", lease)
        == "worker process 4242 on far-away (queues celery)"
    )
    assert loss(lease).startswith("stopped renewing its lease, which ran out at ")
    assert loss(lease).endswith("; it probably died")


def test_a_process_of_this_machine_that_exited_is_said_to_have_exited():
    gone = process_key(1).rsplit(":", 1)[0] + ":0"  # pid 1 with another start time: not running
    assert loss(_lease(process_key=gone)).startswith("has exited: it stopped renewing its lease")
    assert loss(_lease(process_key=gone), brief=True) == "has exited"


def test_a_process_with_no_lease_is_named_from_its_owner_id():
    assert process("host-b:99:deadbeef", None) == "process 99 on host-b"
    assert loss(None).startswith("left no lease")


def test_a_running_task_run_says_since_when_and_which_attempt(task_runs):
    record = task_runs()
    propose_state(record, Running())
    record.run_count = 2
    message = owner_lost(record, _lease())
    assert message.startswith("The worker process 4242 on far-away (queues celery) that ran ")
    assert "The task run had been running since " in message and "(attempt 2)" in message
