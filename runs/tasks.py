"""``@task``: the Task object, its options, and the cache-key helpers of ``runs.tasks``."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any

import cloudpickle

from runs.context import TAG_LENGTH
from runs.engine.hooks import validate_hooks
from runs.exceptions import ReservedArgumentError
from runs.options import validate_options
from runs.retries import exponential_backoff
from runs.values import cut

__all__ = ["Task", "task", "task_input_hash", "exponential_backoff", "hash_objects"]

_OPTION_NAMES = (
    "name",
    "description",
    "tags",
    "cache_key_fn",
    "cache_expiration",
    "task_run_name",
    "retries",
    "retry_delay_seconds",
    "retry_jitter_factor",
    "retry_condition_fn",
    "persist_result",
    "refresh_cache",
    "timeout_seconds",
    "log_prints",
    "version",
    "on_completion",
    "on_failure",
)


def hash_objects(*objects: Any) -> str | None:
    """A stable hash of ``objects``: JSON with sorted keys first, cloudpickle if that fails, else None."""
    try:
        payload = json.dumps(objects, sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        try:
            payload = cloudpickle.dumps(objects)
        except Exception:
            return None
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()


def task_input_hash(context: Any, arguments: dict[str, Any]) -> str | None:
    """A cache key from the task's identity, its code and its inputs (None: not cacheable)."""
    return hash_objects(context.task.task_key, _code_of(context.task.fn), arguments)


def _code_of(fn: Callable[..., Any]) -> str:
    """The bytecode of ``fn`` as hex (of its ``__call__`` or wrapped function for callable
    objects and partials; empty for callables without Python code, such as mocks)."""
    for candidate in (fn, getattr(fn, "func", None), _call_method(fn)):
        code = getattr(candidate, "__code__", None)
        if code is not None:
            return code.co_code.hex()
    return ""


def code_key(fn: Callable[..., Any]) -> str:
    """What runs of the same task code share, as Prefect 2's ``task_key``: the function's
    name and a hash of its code (a class's qualified name for callables without either);
    default task-run names count per code key within a flow run."""
    qualname = getattr(fn, "__qualname__", None)
    code = getattr(fn, "__code__", None) or getattr(_call_method(fn), "__code__", None)
    if not isinstance(qualname, str) or code is None:
        kind = type(fn)
        return f"{kind.__module__}.{kind.__qualname__}"
    try:
        digest = hashlib.md5(cloudpickle.dumps(code), usedforsecurity=False).hexdigest()[:8]
    except Exception:
        digest = "unknown"
    return f"{qualname.split('.')[-1]}-{digest}"


def callable_name(fn: Callable[..., Any]) -> str:
    """What a task or flow made from ``fn`` is called: its ``__name__``, else its class's name
    (a callable object, a ``functools.partial``, a mock)."""
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) and name else type(fn).__name__


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` gives a coroutine (an ``async def`` function, a partial of one, or
    an object whose ``__call__`` is ``async def``)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(_call_method(fn))


def _call_method(fn: Callable[..., Any]) -> Any:
    """The ``__call__`` defined on ``fn``'s class (None when only ``type`` defines it)."""
    for klass in type(fn).__mro__[:-1]:
        if "__call__" in vars(klass):
            return vars(klass)["__call__"]
    return None


RESERVED_ARGUMENTS = ("return_state", "wait_for")


def raise_for_reserved_arguments(signature: inspect.Signature) -> None:
    """A function whose parameters include a keyword of the call itself cannot be a task."""
    for argument in RESERVED_ARGUMENTS:
        if argument in signature.parameters:
            raise ReservedArgumentError(
                f"{argument!r} is a reserved argument name and cannot be used: it is a keyword of "
                "the call of a task or flow itself. Rename the parameter of the function."
            )


class Task:
    """A function whose calls inside a flow are recorded as task runs."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        cache_key_fn: Callable[[Any, dict[str, Any]], str | None] | None = None,
        cache_expiration: dt.timedelta | None = None,
        task_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: Any = None,
        retry_jitter_factor: float | None = None,
        retry_condition_fn: Callable[..., bool] | None = None,
        persist_result: bool | None = None,
        refresh_cache: bool | None = None,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
        version: str | None = None,
        on_completion: list[Callable[..., Any]] | None = None,
        on_failure: list[Callable[..., Any]] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@task decorates a function; got {fn!r}.")
        if isinstance(tags, str):
            tags = [tags]
        options = dict(locals())
        validate_options(options)
        self.fn = fn
        self.name = name or callable_name(fn)
        self.description = description if description is not None else inspect.getdoc(fn)
        self.tags: set[str] = {cut(t, TAG_LENGTH) if isinstance(t, str) else t for t in tags or ()}
        self.cache_key_fn = cache_key_fn
        self.cache_expiration = cache_expiration
        self.task_run_name = task_run_name
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.retry_jitter_factor = retry_jitter_factor
        self.retry_condition_fn = retry_condition_fn
        self.persist_result = persist_result
        self.refresh_cache = refresh_cache
        self.timeout_seconds = timeout_seconds
        self.log_prints = log_prints
        self.version = version
        self.on_completion = validate_hooks("on_completion", on_completion)
        self.on_failure = validate_hooks("on_failure", on_failure)
        self.isasync = is_async_callable(fn)
        self.signature = inspect.signature(fn)
        raise_for_reserved_arguments(self.signature)
        self.code_key = code_key(fn)
        qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        module = getattr(fn, "__module__", None) or type(fn).__module__
        self.task_key = hashlib.md5(
            "\0".join([self.name, f"{module}.{qualname}", *sorted(self.tags)]).encode(),
            usedforsecurity=False,
        ).hexdigest()
        # Only a function's attributes are copied: an object's own (a mock's, say) could
        # shadow the task's.
        functools.update_wrapper(self, fn, updated=("__dict__",) if inspect.isfunction(fn) else ())

    def with_options(self, **options: Any) -> Task:
        """A copy of this task with some options changed (same keywords as ``@task``)."""
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise TypeError(
                f"with_options() got unknown option(s): {', '.join(sorted(unknown))}. "
                f"Options: {', '.join(_OPTION_NAMES)}."
            )
        for hook in ("on_completion", "on_failure"):
            if hook in options and not options[hook]:  # Prefect 2 keeps the hooks then
                del options[hook]
        current = {name: getattr(self, name) for name in _OPTION_NAMES}
        current["tags"] = set(self.tags)
        current.update(options)
        if "name" not in options and options.get("tags") is not None:
            current["name"] = self.name
        return Task(self.fn, **current)

    # ---- calls ------------------------------------------------------------------------------
    def __call__(
        self,
        *args: Any,
        return_state: bool = False,
        wait_for: Iterable[Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the task in the current flow run: its result, or its State with return_state=True."""
        from runs.engine.task_engine import call_task

        return call_task(self, args, kwargs, wait_for=wait_for, return_state=return_state)

    def submit(
        self,
        *args: Any,
        return_state: bool = False,
        wait_for: Iterable[Any] | None = None,
        **kwargs: Any,
    ):
        """Run the task with the flow's task runner; returns a RunFuture (its final State with
        ``return_state=True``, as in Prefect 2)."""
        from runs.engine.task_engine import submit_task

        future = submit_task(self, args, kwargs, wait_for=wait_for)
        return future.wait() if return_state else future

    def map(
        self,
        *args: Any,
        return_state: bool = False,
        wait_for: Iterable[Any] | None = None,
        **kwargs: Any,
    ):
        """One task run per element of the iterable arguments (zipped); returns a list of
        RunFuture (of final States with ``return_state=True``)."""
        from runs.engine.mapping import map_task

        return map_task(self, args, kwargs, wait_for=wait_for, return_state=return_state)

    def __repr__(self) -> str:
        return f"Task(name={self.name!r})"

    def __get__(self, instance: Any, owner: Any) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)


def task(__fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Turn a function into a Task: ``@task`` or ``@task(name=..., retries=...)``."""
    unknown = set(options) - set(_OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"@task got unknown option(s): {', '.join(sorted(unknown))}. "
            f"Options: {', '.join(_OPTION_NAMES)}."
        )
    if __fn is not None:
        return Task(__fn, **options)
    return lambda fn: Task(fn, **options)
