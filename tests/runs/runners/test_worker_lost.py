"""A worker's pool process killed mid-run: the run is retried when it has retries left."""

from __future__ import annotations

import os
import signal
import threading
import time

from runs import flow
from runs.models import State as StateRow
from runs.models import TaskRun
from runs.runners.celery import CeleryTaskRunner
from runs.states import StateType
from tests.runs import celery_flows
from tests.workers import start_worker, workers_on_a_queue


def test_a_run_whose_pool_process_was_killed_is_retried_on_a_live_one(tmp_path):
    # The default heartbeat, as in production: the message comes back (about a second after
    # the kill) long before the dead process's lease lapses and the reaper would end the run.
    worker = start_worker(tmp_path, concurrency=1, env={"RUNS_HEARTBEAT_SECONDS": "5"})
    folder = tmp_path / "attempts"
    folder.mkdir()
    outcome: dict = {}

    @flow(task_runner=CeleryTaskRunner(queue=worker.queue))
    def survives():
        return celery_flows.dies_on_first_attempt.submit(str(folder)).result(timeout=60)

    thread = threading.Thread(target=lambda: outcome.setdefault("result", survives()))
    thread.start()
    try:
        killed = _pid_of_first_attempt(folder, worker.log)
        os.kill(killed, signal.SIGKILL)
        thread.join(timeout=45)
        assert not thread.is_alive(), worker.log()
    finally:
        worker.stop()
    assert outcome["result"] != f"retried in {killed}"
    _assert_retried_once(outcome["result"])
    # The worker says which process was lost and what the run was doing.
    assert f"process {killed} on " in worker.log() and "delivered again" in worker.log()


def _pid_of_first_attempt(folder, log) -> int:
    """The pid the first attempt of ``dies_on_first_attempt`` wrote, once its run is RUNNING."""
    deadline = time.monotonic() + 30
    while not (folder / "pid").exists():
        assert time.monotonic() < deadline, log()
        time.sleep(0.05)
    time.sleep(0.1)  # the pid is written; its RUNNING state is recorded before the call
    return int((folder / "pid").read_text())


def _assert_retried_once(result: str) -> None:
    """The newest ``dies_on_first_attempt`` run: its lost attempt counted, the retry completed."""
    assert result.startswith("retried in ")
    run = TaskRun.objects.filter(task_name="dies_on_first_attempt").order_by("-created").first()
    assert run.state_type == StateType.COMPLETED
    assert run.run_count == 2
    names = list(
        StateRow.objects.filter(task_run=run).order_by("timestamp").values_list("name", flat=True)
    )
    assert names == ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]
    retry = StateRow.objects.get(task_run=run, name="AwaitingRetry")
    assert "Retry 1 of 1" in retry.message


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_a_run_whose_whole_worker_was_killed_is_sent_again_by_its_caller_and_retried(tmp_path):
    # Redis would give the message back only after its visibility timeout (an hour), the
    # filesystem broker never: the caller, which still holds the message, sends it again.
    with workers_on_a_queue(tmp_path, "whole", concurrency=1) as workers:
        folder = tmp_path / "attempts"
        folder.mkdir()
        outcome: dict = {}

        @flow(task_runner=CeleryTaskRunner(queue=workers[0].queue))
        def survives():
            return celery_flows.dies_on_first_attempt.submit(str(folder)).result(timeout=60)

        thread = threading.Thread(target=lambda: outcome.setdefault("result", survives()))
        thread.start()
        killed = _pid_of_first_attempt(folder, lambda: workers[0].log() + workers[1].log())
        victim = next(w for w in workers if w.process.pid == _parent_of(killed))
        victim.kill()  # the main process and its pool process, as a lost machine
        thread.join(timeout=45)
        survivor = next(w for w in workers if w is not victim)
        assert not thread.is_alive(), survivor.log()
    _assert_retried_once(outcome["result"])


def test_a_limited_tag_recovers_when_the_worker_holding_its_slot_and_parked_runs_dies(tmp_path):
    import uuid

    from runs import tags
    from runs.models import ParkedTaskRun
    from runs_limits.services import create_limit
    from tests.limits.history import max_concurrency, running_spans

    tag = f"lost-{uuid.uuid4().hex[:8]}"
    create_limit(tag=tag, concurrency_limit=1)
    marks = tmp_path / "marks"
    marks.mkdir()
    with workers_on_a_queue(tmp_path, "recovers", concurrency=1) as workers:
        outcome: dict = {}

        @flow(task_runner=CeleryTaskRunner(queue=workers[0].queue))
        def limited():
            with tags(tag):
                futures = celery_flows.waits_for_go.map(str(marks), range(4))
            return [future.wait(60).type for future in futures]

        thread = threading.Thread(target=lambda: outcome.setdefault("states", limited()))
        thread.start()
        deadline = time.monotonic() + 30
        # One run holds the slot; the other three wait, parked by one worker or the other.
        while not (list(marks.iterdir()) and ParkedTaskRun.objects.count() == 3):
            assert time.monotonic() < deadline, workers[0].log() + workers[1].log()
            time.sleep(0.05)
        holder = int(next(marks.iterdir()).name)
        run = TaskRun.objects.get(task_name="waits_for_go", map_index=holder, tag_rows__tag=tag)
        victim = next(
            w
            for w in workers
            if run.owner.split(":")[1] in {str(pid) for pid in _pool_of(w.process.pid)}
        )
        victim.kill()
        (marks / "go").write_text("")
        killed_at = time.monotonic()
        thread.join(timeout=45)
        assert not thread.is_alive(), workers[0].log() + workers[1].log()
        recovered_in = time.monotonic() - killed_at
    states = outcome["states"]
    assert states.count(StateType.COMPLETED) == 3
    assert states[holder] == StateType.CRASHED  # no retries: ended, and its slot freed
    assert recovered_in < 15
    # The recorded history keeps the limit: the dead holder's slot was freed by its crash.
    spans = running_spans(tag)
    assert len(spans) == 4 and max_concurrency(spans) == 1


def _pool_of(main_pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if _parent_of(int(entry)) == main_pid:
                    found.append(int(entry))
            except OSError:
                pass
    return found
