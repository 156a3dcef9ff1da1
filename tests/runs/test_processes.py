"""runs.processes: a process on this machine is known exactly, a pid reused is another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from runs.processes import alive_here, process_key

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_this_process_is_alive():
    key = process_key()
    assert key.endswith(f":{os.getpid()}:" + key.rsplit(":", 1)[1])
    assert alive_here(key) is True


def test_an_exited_process_is_dead_even_before_its_parent_reaps_it():
    child = subprocess.Popen(["sleep", "30"])
    key = process_key(child.pid)
    assert alive_here(key) is True
    os.kill(child.pid, signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still a zombie
    assert alive_here(key) is False
    child.wait()
    assert alive_here(key) is False


def test_a_reused_pid_is_another_process():
    machine, pid, started = process_key().rsplit(":", 2)
    assert alive_here(f"{machine}:{pid}:{int(started) + 1}") is False


def test_another_machine_cannot_be_judged():
    assert alive_here("") is None
    assert alive_here("some-other-boot/pid:[1]:1:1") is None
