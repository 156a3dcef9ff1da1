"""Which process is which on this machine, and whether one is still running.

A lease that lapsed says only that a process stopped renewing it in time. A process can be slow
to renew (its heartbeat thread starved of the GIL or of SQLite's write lock) and still be
healthy. On the same machine the operating system knows for sure, so a process records a key
that names it exactly: the machine's boot, its pid namespace, its pid and its start time (a
pid that was reused by a later process has another start time). Linux only; elsewhere the key
is empty and the lease alone decides.
"""

from __future__ import annotations

import functools
import os


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None when there is no such pid."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # The command name is in parentheses and may itself hold spaces and parentheses.
    return text[text.rfind(")") + 2 :].split()


@functools.cache
def _machine() -> str | None:
    """This boot of this machine and this pid namespace, or None where /proc cannot tell."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    if not boot:
        return None
    return f"{boot.strip()}/{namespace}"


def process_key(pid: int | None = None) -> str:
    """The key of process ``pid`` (default: this one), or "" where it cannot be known."""
    machine = _machine()
    pid = os.getpid() if pid is None else pid
    fields = _stat_fields(pid)
    if machine is None or fields is None or len(fields) < 20:
        return ""
    return f"{machine}:{pid}:{fields[19]}"  # field 22 of stat: start time since boot, in ticks


def alive_here(key: str) -> bool | None:
    """Whether the process of ``key`` is running: True or False when it was started on this
    machine (and pid namespace), None when this machine cannot tell."""
    machine = _machine()
    if not key or machine is None:
        return None
    parts = key.rsplit(":", 2)  # the machine part itself holds a colon ("pid:[...]")
    if len(parts) != 3 or parts[0] != machine or not parts[1].isdigit():
        return None
    pid_text, started = parts[1], parts[2]
    fields = _stat_fields(int(pid_text))
    if fields is None or len(fields) < 20:
        return False
    if fields[0] in ("Z", "X"):  # a zombie has exited; only its parent has not reaped it yet
        return False
    return fields[19] == started
