"""``@flow``: the Flow object and its options."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from runs import conf
from runs.engine.hooks import validate_hooks
from runs.options import validate_options
from runs.runners import TaskRunner, ThreadPoolTaskRunner
from runs.tasks import callable_name, is_async_callable, raise_for_reserved_arguments

__all__ = ["Flow", "flow"]

_OPTION_NAMES = (
    "name",
    "description",
    "retries",
    "retry_delay_seconds",
    "timeout_seconds",
    "log_prints",
    "flow_run_name",
    "task_runner",
    "persist_result",
    "version",
    "validate_parameters",
    "on_completion",
    "on_failure",
    "on_cancellation",
    "on_crashed",
)


class Flow:
    """A function whose calls are recorded as flow runs; tasks are called inside it."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        retries: int | None = None,
        retry_delay_seconds: Any = None,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
        flow_run_name: str | Callable[[], str] | None = None,
        task_runner: TaskRunner | type[TaskRunner] | None = None,
        persist_result: bool | None = None,
        version: str | None = None,
        validate_parameters: bool = True,
        on_completion: list[Callable[..., Any]] | None = None,
        on_failure: list[Callable[..., Any]] | None = None,
        on_cancellation: list[Callable[..., Any]] | None = None,
        on_crashed: list[Callable[..., Any]] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow decorates a function; got {fn!r}.")
        validate_options(
            dict(
                retries=retries,
                retry_delay_seconds=retry_delay_seconds,
                timeout_seconds=timeout_seconds,
            )
        )
        if isinstance(task_runner, type):
            task_runner = task_runner()
        if task_runner is not None and not isinstance(task_runner, TaskRunner):
            raise TypeError(
                f"task_runner must be a task runner such as ThreadPoolTaskRunner() or "
                f"CeleryTaskRunner(); got {task_runner!r}."
            )
        self.fn = fn
        self.name = name or callable_name(fn).replace("_", "-")
        if not isinstance(self.name, str) or "\x00" in self.name or len(self.name) > 200:
            raise ValueError(
                f"A flow's name must be text of at most 200 characters without NUL "
                f"characters; got {self.name!r:.80}. Pass a shorter name=..."
            )
        self.description = description if description is not None else inspect.getdoc(fn)
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = timeout_seconds
        self.log_prints = log_prints
        if flow_run_name is not None and not (
            isinstance(flow_run_name, str) or callable(flow_run_name)
        ):
            raise TypeError(
                f"flow_run_name must be a string or a callable; got "
                f'{flow_run_name!r}. Write flow_run_name="{{param}}-run" or pass '
                "a function that returns the name."
            )
        self.flow_run_name = flow_run_name
        self.task_runner = task_runner
        self.persist_result = persist_result
        self.version = version
        self.validate_parameters = bool(validate_parameters)
        self.on_completion = validate_hooks("on_completion", on_completion)
        self.on_failure = validate_hooks("on_failure", on_failure)
        self.on_cancellation = validate_hooks("on_cancellation", on_cancellation)
        self.on_crashed = validate_hooks("on_crashed", on_crashed)
        self.isasync = is_async_callable(fn)
        self.signature = inspect.signature(fn)
        raise_for_reserved_arguments(self.signature)
        functools.update_wrapper(self, fn)

    @functools.cached_property
    def validate_arguments(self) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        """Checks and coerces a run's arguments against the annotations (None: nothing to
        check, or ``validate_parameters=False``); raises ParameterTypeError."""
        if not self.validate_parameters:
            return None
        from runs.parameters import parameter_validator

        return parameter_validator(self.fn)

    def new_task_runner(self) -> TaskRunner:
        """A fresh task runner for one run of this flow: its own, or RUNS_DEFAULT_TASK_RUNNER's
        (a SettingError when that names no task runner)."""
        return (self.task_runner or default_task_runner()).duplicate()

    def with_options(self, **options: Any) -> Flow:
        """A copy of this flow with some options changed (same keywords as ``@flow``)."""
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise TypeError(
                f"with_options() got unknown option(s): {', '.join(sorted(unknown))}. "
                f"Options: {', '.join(_OPTION_NAMES)}."
            )
        for hook in ("on_completion", "on_failure", "on_cancellation", "on_crashed"):
            if hook in options and not options[hook]:  # Prefect 2 keeps the hooks then
                del options[hook]
        current = {name: getattr(self, name) for name in _OPTION_NAMES}
        current.update(options)
        return Flow(self.fn, **current)

    def __call__(
        self,
        *args: Any,
        return_state: bool = False,
        wait_for: Iterable[Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the flow: its result (raising if it failed), or its State with return_state=True.

        A subflow starts once the futures in ``wait_for`` have finished."""
        from runs.engine.flow_engine import call_flow

        return call_flow(self, args, kwargs, return_state=return_state, wait_for=wait_for)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r})"


def flow(__fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Turn a function into a Flow: ``@flow`` or ``@flow(name=..., retries=...)``."""
    unknown = set(options) - set(_OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"@flow got unknown option(s): {', '.join(sorted(unknown))}. "
            f"Options: {', '.join(_OPTION_NAMES)}."
        )
    if __fn is not None:
        return Flow(__fn, **options)
    return lambda fn: Flow(fn, **options)


def default_task_runner() -> TaskRunner:
    """The runner of flows that name none: RUNS_DEFAULT_TASK_RUNNER (thread or celery)."""
    choice = conf.settings.RUNS_DEFAULT_TASK_RUNNER.strip().lower()
    if choice == "celery":
        from runs.runners.celery import CeleryTaskRunner  # Celery is loaded only when chosen

        return CeleryTaskRunner()
    if choice not in ("thread", "threads", "threadpool", ""):
        raise conf.SettingError(
            f"RUNS_DEFAULT_TASK_RUNNER={choice!r} is not a task runner; use 'thread' or 'celery'."
        )
    return ThreadPoolTaskRunner()
