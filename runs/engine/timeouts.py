"""Timeouts that stop the function: the line after the deadline never runs.

- In the main thread, a SIGALRM timer (``signal.setitimer``) raises :class:`RunTimeout` at the
  deadline, even inside ``time.sleep``. Nested deadlines (a task inside a flow) share the timer.
- In any other thread, a watchdog raises RunTimeout into the thread at the deadline
  (``PyThreadState_SetAsyncExc``), which fires at the thread's next Python line; the engine then
  proposes TimedOut from the run's own thread, as in the main thread. The watchdog only
  interrupts.
- Code blocked inside a C extension that does not return to Python cannot be interrupted in a
  thread. If the thread is still inside the scope :data:`STUCK_GRACE_SECONDS` after the
  deadline, the watchdog calls ``on_stuck`` (the engine proposes TimedOut through orchestration
  then, which may answer with a retry) and keeps its answer on the deadline; the thread is
  released when the C call returns, and nothing after that call runs.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class RunTimeout(BaseException):
    """Raised into a run's code when its timeout passes (a BaseException so ``except Exception`` cannot swallow it)."""

    def __init__(self, seconds: float, token: object = None) -> None:
        super().__init__(f"Timed out after {seconds:g} seconds")
        self.seconds = seconds
        self.token = token


#: How long a thread may take to leave its scope after the interrupt before the watchdog
#: reports it stuck (``on_stuck``).
STUCK_GRACE_SECONDS = 0.1


class Deadline:
    """One armed timeout; ``expired`` tells whether it fired, ``decided`` what ``on_stuck``
    answered if the watchdog had to call it (the run's state is then decided already)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.decided: Any = None


# ---- main thread: SIGALRM ---------------------------------------------------------------
_alarm_stack: list[Deadline] = []


def _arm_alarm() -> None:
    pending = [d for d in _alarm_stack if not d.expired]
    if not pending:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    remaining = max(min(d.at for d in pending) - time.monotonic(), 1e-4)
    signal.setitimer(signal.ITIMER_REAL, remaining)


def _on_alarm(signum, frame) -> None:
    current = time.monotonic()
    expired = [d for d in _alarm_stack if not d.expired and d.at <= current + 1e-3]
    if not expired:
        _arm_alarm()
        return
    for deadline in expired:
        deadline.expired = True
    # The outermost expired deadline wins: its whole scope must stop.
    outermost = expired[0]
    _arm_alarm()
    raise RunTimeout(outermost.seconds, outermost)


def _can_use_alarm() -> bool:
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


@contextmanager
def _alarm_deadline(seconds: float) -> Iterator[Deadline]:
    deadline = Deadline(seconds)
    previous = signal.getsignal(signal.SIGALRM) if not _alarm_stack else None
    if not _alarm_stack:
        signal.signal(signal.SIGALRM, _on_alarm)
    _alarm_stack.append(deadline)
    _arm_alarm()
    try:
        yield deadline
    finally:
        _alarm_stack.remove(deadline)
        _arm_alarm()
        if not _alarm_stack:
            signal.signal(signal.SIGALRM, previous or signal.SIG_DFL)


# ---- other threads: watchdog + async exception --------------------------------------------
def _raise_in_thread(thread_id: int, exc: BaseException | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


class _AsyncExcTimeout(RunTimeout):
    """RunTimeout raised into a thread (an instance is made by the interpreter, so no token)."""

    def __init__(self, *args) -> None:
        BaseException.__init__(self, *args)
        self.seconds = 0.0
        self.token = None


@contextmanager
def _watchdog_deadline(seconds: float, on_stuck: Callable[[], Any] | None) -> Iterator[Deadline]:
    deadline = Deadline(seconds)
    thread_id = threading.get_ident()
    lock = threading.Lock()
    left = threading.Event()  # set once the thread has left the scope

    def fire() -> None:
        with lock:
            if left.is_set():
                return
            deadline.expired = True
            _raise_in_thread(thread_id, _AsyncExcTimeout)
        if on_stuck is None or left.wait(STUCK_GRACE_SECONDS):
            return
        with lock:  # the thread waits here to leave the scope until the answer is kept
            if left.is_set():
                return
            try:
                deadline.decided = on_stuck()
            except Exception:  # reporting the timeout must not kill the watchdog
                pass

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield deadline
    except _AsyncExcTimeout:
        if deadline.expired:
            raise RunTimeout(seconds, deadline) from None
        raise  # an enclosing deadline fired
    finally:
        timer.cancel()
        with lock:
            left.set()
            if deadline.expired:
                _raise_in_thread(thread_id, None)  # clear one that has not fired yet


@contextmanager
def deadline_scope(
    seconds: float | None, on_stuck: Callable[[], Any] | None = None
) -> Iterator[Deadline | None]:
    """Raise RunTimeout (with ``token`` = the yielded Deadline) if the block outlives ``seconds``.

    ``on_stuck`` is called by the watchdog, only for a thread that has not left the block
    :data:`STUCK_GRACE_SECONDS` after its deadline; its answer is kept as ``Deadline.decided``.
    """
    if seconds is None:
        yield None
        return
    if _can_use_alarm():
        with _alarm_deadline(float(seconds)) as deadline:
            yield deadline
    else:
        with _watchdog_deadline(float(seconds), on_stuck) as deadline:
            yield deadline
