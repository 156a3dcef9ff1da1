"""Exceptions users of runs catch: the client's and API's, and the errors of a call that Prefect 2
raises under the same names."""

from __future__ import annotations


class ObjectNotFound(LookupError):
    """The object asked for (a concurrency limit by tag, a run by id) does not exist."""


class ClientError(RuntimeError):
    """The API refused a request; the message says why."""


class ReservedArgumentError(TypeError):
    """A task's function takes a parameter whose name the call itself uses (``wait_for``,
    ``return_state``)."""


class MappingMissingIterable(ValueError):
    """``task.map()`` got no iterable argument to map over."""


class MappingLengthMismatch(ValueError):
    """``task.map()`` got iterables of different lengths."""


class ParameterTypeError(ValueError):
    """Arguments of a flow that do not fit its annotations; ``errors`` maps each parameter to
    its problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        detail = "; ".join(f"{name}: {message}" for name, message in errors.items())
        super().__init__(f"Invalid parameters: {detail}")


class UnfinishedRun(RuntimeError):
    """``result()`` was asked of a state that is not final."""


class MissingResult(RuntimeError):
    """The state's result was not kept (not persisted, and not in this process)."""


class FailedRun(Exception):
    """Raised for a failed run whose original exception is not in this process."""


class CrashedRun(Exception):
    """Raised for a crashed run whose original exception is not in this process."""


class CancelledRun(Exception):
    """Raised when the result of a cancelled run is asked for."""


class UpstreamTaskError(Exception):
    """An upstream task run the task needs did not complete (Prefect 2's name; runs records
    such a run as UpstreamFailed)."""
