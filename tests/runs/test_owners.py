"""Owners: a process is dead when its lease lapsed and, on this machine, it is gone."""

from __future__ import annotations

import datetime as dt
import subprocess

from runs.models import ProcessLease
from runs.owners import dead_owners
from runs.processes import process_key
from runs.states import now


def test_dead_owners_are_gone_processes_not_late_ones():
    sleeper = subprocess.Popen(["sleep", "30"])
    lapsed = now() - dt.timedelta(seconds=60)
    try:
        ProcessLease.objects.create(
            owner="late",
            pid=sleeper.pid,
            started=now(),
            expires=lapsed,
            process_key=process_key(sleeper.pid),
        )
        machine, pid, started = process_key(sleeper.pid).rsplit(":", 2)
        ProcessLease.objects.create(
            owner="reused-pid",
            pid=sleeper.pid,
            started=now(),
            expires=lapsed,
            process_key=f"{machine}:{pid}:{started}0",
        )
        ProcessLease.objects.create(
            owner="elsewhere",
            pid=1,
            started=now(),
            expires=lapsed,
            process_key="another-boot/pid:[1]:1:1",
        )
        ProcessLease.objects.create(
            owner="fresh", pid=1, started=now(), expires=now() + dt.timedelta(seconds=60)
        )
        owners = {"late", "reused-pid", "elsewhere", "fresh", "never-leased", ""}
        assert dead_owners(owners) == {"reused-pid", "elsewhere", "never-leased"}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert dead_owners(owners) == {"late", "reused-pid", "elsewhere", "never-leased"}
