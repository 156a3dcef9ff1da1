"""The Python client: ``get_client()`` speaks the REST API, remotely or inside this process.

::

    async with get_client() as client:
        limit_id = await client.create_concurrency_limit(tag="small", concurrency_limit=10)

    with get_client(sync_client=True) as client:
        limit = client.read_concurrency_limit_by_tag(tag="small")

With ``RUNS_API_URL`` set, requests go there over HTTP with ``Authorization: Token
$RUNS_API_KEY``. Without it they go to the Django app in this process through a WSGI transport
(no network hop), on one worker thread with its own database connection; those requests carry
a mark only this transport can set (see :mod:`runs.api.auth`), so they need no token.

An unknown tag or id raises :class:`runs.exceptions.ObjectNotFound`; any other refusal raises
:class:`runs.exceptions.ClientError` with the API's message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from runs import conf
from runs.exceptions import ClientError, ObjectNotFound
from runs.states import State

TIMEOUT = 30.0


# --- what the client returns -----------------------------------------------------------------


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


@dataclass
class ConcurrencyLimit:
    """A tag's limit; ``active_slots`` are the ids of the task runs holding its slots."""

    id: uuid.UUID
    tag: str
    concurrency_limit: int
    active_slots: list[uuid.UUID] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> ConcurrencyLimit:
        return cls(
            id=uuid.UUID(str(data["id"])),
            tag=data["tag"],
            concurrency_limit=data["concurrency_limit"],
            active_slots=[uuid.UUID(str(s)) for s in data.get("active_slots", [])],
        )


def _state(data: dict | None) -> State | None:
    if not data:
        return None
    return State(
        type=data["type"],
        name=data.get("name", ""),
        message=data.get("message", ""),
        timestamp=_time(data.get("timestamp")) or dt.datetime.now(dt.UTC),
        scheduled_time=_time(data.get("scheduled_time")),
    )


@dataclass
class FlowRun:
    """A flow run as the API shows it."""

    id: uuid.UUID
    name: str
    flow_name: str
    state: State | None
    parameters: dict
    tags: list[str]
    run_count: int
    created: dt.datetime | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    parent_task_run_id: uuid.UUID | None
    task_run_ids: list[uuid.UUID] = field(default_factory=list)
    rerun_of_id: uuid.UUID | None = None
    deployment_id: int | None = None
    work_queue_name: str | None = None
    expected_start_time: dt.datetime | None = None
    auto_scheduled: bool = False

    @classmethod
    def from_json(cls, data: dict) -> FlowRun:
        return cls(
            id=uuid.UUID(data["id"]),
            name=data["name"],
            flow_name=data["flow"],
            state=_state(data.get("state")),
            parameters=data.get("parameters") or {},
            tags=data.get("tags") or [],
            run_count=data.get("run_count", 0),
            created=_time(data.get("created")),
            start_time=_time(data.get("start_time")),
            end_time=_time(data.get("end_time")),
            parent_task_run_id=_uuid(data.get("parent_task_run")),
            task_run_ids=[uuid.UUID(t["id"]) for t in data.get("task_runs", [])],
            rerun_of_id=_uuid(data.get("rerun_of")),
            deployment_id=data.get("deployment"),
            work_queue_name=data.get("work_queue"),
            expected_start_time=_time(data.get("expected_start_time")),
            auto_scheduled=bool(data.get("auto_scheduled")),
        )


@dataclass
class TaskRun:
    """A task run as the API shows it."""

    id: uuid.UUID
    name: str
    task_key: str
    task_name: str
    flow_run_id: uuid.UUID
    state: State | None
    run_count: int
    tags: list[str]
    cache_key: str | None
    cache_expiration: dt.datetime | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    upstream: list[uuid.UUID] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> TaskRun:
        return cls(
            id=uuid.UUID(data["id"]),
            name=data["name"],
            task_key=data["task_key"],
            task_name=data["task_name"],
            flow_run_id=uuid.UUID(data["flow_run"]),
            state=_state(data.get("state")),
            run_count=data.get("run_count", 0),
            tags=data.get("tags") or [],
            cache_key=data.get("cache_key"),
            cache_expiration=_time(data.get("cache_expiration")),
            start_time=_time(data.get("start_time")),
            end_time=_time(data.get("end_time")),
            upstream=[uuid.UUID(u) for u in data.get("upstream", [])],
        )


@dataclass
class LogLine:
    """One log line of a run."""

    level: int
    message: str
    timestamp: dt.datetime
    name: str = ""
    flow_run_id: uuid.UUID | None = None
    task_run_id: uuid.UUID | None = None

    @classmethod
    def from_json(cls, data: dict) -> LogLine:
        return cls(
            level=data["level"],
            message=data["message"],
            timestamp=_time(data["timestamp"]),
            name=data.get("name", ""),
            flow_run_id=_uuid(data.get("flow_run")),
            task_run_id=_uuid(data.get("task_run")),
        )


@dataclass
class WorkQueue:
    """A work queue (its name is its Celery queue's) and how many of its runs hold a place
    (``running``), wait their turn (``waiting``), wait for a later time, are late."""

    name: str
    description: str
    concurrency_limit: int | None
    is_paused: bool
    running: int = 0
    waiting: int = 0
    scheduled_later: int = 0
    late: int = 0
    created: dt.datetime | None = None

    @classmethod
    def from_json(cls, data: dict) -> WorkQueue:
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            concurrency_limit=data.get("concurrency_limit"),
            is_paused=bool(data.get("paused")),
            running=data.get("running", 0),
            waiting=data.get("waiting", 0),
            scheduled_later=data.get("scheduled_later", 0),
            late=data.get("late", 0),
            created=_time(data.get("created")),
        )


@dataclass
class DeploymentSchedule:
    """One schedule of a deployment; ``description`` says it in words."""

    id: int
    kind: str
    value: str
    timezone: str = "UTC"
    anchor: dt.datetime | None = None
    active: bool = True
    description: str = ""

    @classmethod
    def from_json(cls, data: dict) -> DeploymentSchedule:
        return cls(
            id=data["id"],
            kind=data["kind"],
            value=data["value"],
            timezone=data.get("timezone", "UTC"),
            anchor=_time(data.get("anchor")),
            active=bool(data.get("active", True)),
            description=data.get("description", ""),
        )


@dataclass
class Deployment:
    """A deployment: a registered flow with default parameters, a work queue, tags and
    schedules; ``full_name`` is ``flow/name``."""

    id: int
    name: str
    flow_name: str
    full_name: str
    parameters: dict
    work_queue_name: str
    tags: list[str]
    paused: bool
    catchup: str
    description: str = ""
    schedules: list[DeploymentSchedule] = field(default_factory=list)
    next_run_ids: list[uuid.UUID] = field(default_factory=list)
    created: dt.datetime | None = None

    @classmethod
    def from_json(cls, data: dict) -> Deployment:
        return cls(
            id=data["id"],
            name=data["name"],
            flow_name=data["flow"],
            full_name=data["full_name"],
            parameters=data.get("parameters") or {},
            work_queue_name=data["work_queue"],
            tags=data.get("tags") or [],
            paused=bool(data.get("paused")),
            catchup=data.get("catchup", "once"),
            description=data.get("description", ""),
            schedules=[DeploymentSchedule.from_json(s) for s in data.get("schedules", [])],
            next_run_ids=[uuid.UUID(r["id"]) for r in data.get("next_runs", [])],
            created=_time(data.get("created")),
        )


# --- requests, independent of sync or async ----------------------------------------------------


@dataclass
class _Call:
    """One API operation: a request, and how to read its answer (all pages when ``paged``)."""

    method: str
    path: str
    parse: Callable[[Any], Any]
    json: Any = None
    params: dict | None = None
    paged: bool = False


def _tag_path(tag: str) -> str:
    if not isinstance(tag, str) or not tag.strip():
        raise ValueError("Give the tag of the concurrency limit (non-empty text).")
    return f"concurrency-limits/tag/{quote(tag, safe='')}/"


#: What a keyword left out of an ``update_...`` call means: no change.
_UNSET: Any = object()


def _changes(**values) -> dict:
    """The keywords given (not left at _UNSET), JSON-ready."""
    return {
        name: value.isoformat() if isinstance(value, dt.datetime) else value
        for name, value in values.items()
        if value is not _UNSET
    }


def _queue_path(name: str, action: str = "") -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("Give the work queue's name (non-empty text).")
    return f"work-queues/{quote(name, safe='')}/{action}"


def _deployment_path(deployment_id, action: str = "") -> str:
    """A deployment's URL by id; ``flow/name`` is looked up by name (reading only)."""
    if isinstance(deployment_id, str) and "/" in deployment_id:
        if action:
            raise ValueError(
                f"Name the deployment by its id here; read_deployment({deployment_id!r}).id "
                "gives it."
            )
        flow_name, _, name = deployment_id.partition("/")
        return f"deployments/name/{quote(flow_name, safe='')}/{quote(name, safe='')}/"
    try:
        number = int(deployment_id)
    except (TypeError, ValueError):
        raise ValueError(
            f"A deployment is named by its id or as FLOW/NAME; {deployment_id!r} is neither."
        ) from None
    return f"deployments/{number}/{action}"


def _schedule_json(schedule) -> dict:
    """A schedule given as a dict or an object with ``kind``, ``value``... attributes."""
    if not isinstance(schedule, dict):
        schedule = {
            key: getattr(schedule, key)
            for key in ("kind", "value", "timezone", "anchor", "active")
            if hasattr(schedule, key)
        }
    return _changes(**schedule)


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text[:500]
    detail = body.get("detail") if isinstance(body, dict) else None
    if response.status_code == 404:
        raise ObjectNotFound(detail or f"Not found: {response.request.url}")
    if response.status_code in (401, 403):
        raise ClientError(
            f"The API at {response.request.url} refused the request ({response.status_code}: "
            f"{detail or body}). Set RUNS_API_KEY to a token from `runs token create USERNAME`."
        )
    raise ClientError(
        f"The API answered {response.status_code} to {response.request.method} "
        f"{response.request.url}: {body}"
    )


# --- transports --------------------------------------------------------------------------------


def _api_base(url: str) -> str:
    """``RUNS_API_URL`` with a trailing slash; a bare server URL gets ``/api/``."""
    url = url.rstrip("/")
    if urlsplit(url).path in ("", "/"):
        url += "/api"
    return url + "/"


_in_process_lock = threading.Lock()
_in_process: _InProcess | None = None


def _marked_app():
    """The project's WSGI app, with every request marked as coming from this process."""
    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.core.handlers.wsgi import WSGIHandler

    from runs.api.auth import IN_PROCESS_KEY, IN_PROCESS_MARK

    # Not get_wsgi_application(): it runs django.setup() again, whose logging set-up would
    # strip the handlers that store run logs.
    app = WSGIHandler()

    def marked(environ, start_response):
        environ[IN_PROCESS_KEY] = IN_PROCESS_MARK
        return app(environ, start_response)

    return marked


def _in_process_host() -> str:
    from django.conf import settings

    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and "*" not in host:
            return host.lstrip(".")
    return "localhost"


class _InProcess:
    """One worker thread and one WSGI-transport client, shared by the process's clients.

    Requests run on that thread so that Django's end-of-request connection handling never
    touches the caller's own database connection (or its open transaction), and so that an
    async caller's event loop never runs database code. Django is made ready on that thread,
    at the first request.
    """

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runs-client")
        self._http: httpx.Client | None = None

    def _request(self, method: str, path: str, kwargs: dict) -> httpx.Response:
        if self._http is None:
            app = _marked_app()
            from runs.api.middleware import api_prefix

            self._http = httpx.Client(
                transport=httpx.WSGITransport(app=app),
                base_url=f"http://{_in_process_host()}{api_prefix()}",
                timeout=TIMEOUT,
            )
        return self._http.request(method, path, **kwargs)

    def submit(self, method: str, path: str, **kwargs):
        """A future of the response to one request."""
        return self.executor.submit(self._request, method, path, kwargs)


def _in_process_client() -> _InProcess:
    global _in_process
    with _in_process_lock:
        if _in_process is None:
            _in_process = _InProcess()
        return _in_process


def _remote_settings() -> tuple[str, dict[str, str]] | None:
    # RUNS_HOME first: runs.conf resolves it under a lock that reading another setting first
    # would take twice.
    conf.settings.RUNS_HOME  # noqa: B018
    url = conf.settings.RUNS_API_URL
    if not url:
        return None
    key = conf.settings.RUNS_API_KEY
    headers = {"Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Token {key}"
    return _api_base(url), headers


def _next_path(url: str | None) -> str | None:
    """A ``next`` link as a path relative to the API base (keeps host and scheme of the client)."""
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path
    marker = "/api/"
    index = path.find(marker)
    relative = path[index + len(marker) :] if index >= 0 else path.lstrip("/")
    return relative + (f"?{parts.query}" if parts.query else "")


class _Operations:
    """The client's operations; subclasses say how one ``_Call`` is carried out."""

    def _do(self, call: _Call):
        raise NotImplementedError

    # concurrency limits
    def create_concurrency_limit(self, tag: str, concurrency_limit: int):
        """Set ``tag``'s limit (creating it or updating it); returns the limit's id (UUID)."""
        return self._do(
            _Call(
                "POST",
                "concurrency-limits/",
                json={"tag": tag, "concurrency_limit": concurrency_limit},
                parse=lambda data: uuid.UUID(str(data["id"])),
            )
        )

    def read_concurrency_limit_by_tag(self, tag: str):
        """The limit of ``tag`` (``.id .tag .concurrency_limit .active_slots``)."""
        return self._do(_Call("GET", _tag_path(tag), parse=ConcurrencyLimit.from_json))

    def read_concurrency_limits(self, limit: int = 100, offset: int = 0):
        """Up to ``limit`` limits by tag, skipping the first ``offset``."""
        return self._do(
            _Call(
                "GET",
                "concurrency-limits/",
                params={"limit": limit, "offset": offset},
                parse=lambda data: [ConcurrencyLimit.from_json(item) for item in data["results"]],
            )
        )

    def delete_concurrency_limit_by_tag(self, tag: str):
        """Remove ``tag``'s limit; ObjectNotFound when it has none."""
        return self._do(_Call("DELETE", _tag_path(tag), parse=lambda data: None))

    # work queues
    def create_work_queue(
        self,
        name: str,
        description: str = "",
        concurrency_limit: int | None = None,
        is_paused: bool = False,
    ):
        """Make a work queue (``runs worker -Q NAME`` serves it); returns the WorkQueue."""
        return self._do(
            _Call(
                "POST",
                "work-queues/",
                json={
                    "name": name,
                    "description": description,
                    "concurrency_limit": concurrency_limit,
                    "paused": is_paused,
                },
                parse=WorkQueue.from_json,
            )
        )

    def read_work_queue(self, name: str):
        """The work queue called ``name``, with its counts."""
        return self._do(_Call("GET", _queue_path(name), parse=WorkQueue.from_json))

    read_work_queue_by_name = read_work_queue

    def read_work_queues(self, limit: int | None = None, offset: int = 0):
        """Work queues by name (every one, or ``limit`` of them after the first ``offset``)."""
        end = None if limit is None else offset + limit
        return self._do(
            _Call(
                "GET",
                "work-queues/",
                paged=True,
                parse=lambda items: [WorkQueue.from_json(item) for item in items][offset:end],
            )
        )

    def update_work_queue(
        self,
        name: str,
        *,
        description: Any = _UNSET,
        concurrency_limit: Any = _UNSET,
        is_paused: Any = _UNSET,
    ):
        """Change what is given (``concurrency_limit=None``: no limit); returns the WorkQueue."""
        return self._do(
            _Call(
                "PATCH",
                _queue_path(name),
                json=_changes(
                    description=description, concurrency_limit=concurrency_limit, paused=is_paused
                ),
                parse=WorkQueue.from_json,
            )
        )

    def pause_work_queue(self, name: str):
        """Start nothing new from the queue; returns the WorkQueue."""
        return self._do(_Call("POST", _queue_path(name, "pause/"), parse=WorkQueue.from_json))

    def resume_work_queue(self, name: str):
        """Start the queue's waiting runs again; returns the WorkQueue."""
        return self._do(_Call("POST", _queue_path(name, "resume/"), parse=WorkQueue.from_json))

    def delete_work_queue(self, name: str):
        """Delete a queue no deployment and no unfinished run uses."""
        return self._do(_Call("DELETE", _queue_path(name), parse=lambda data: None))

    # deployments
    def create_deployment(
        self,
        flow_name: str,
        name: str,
        *,
        parameters: dict | None = None,
        work_queue_name: str = "default",
        tags: list[str] | None = None,
        description: str = "",
        schedules: list | None = None,
        paused: bool = False,
        catchup: str = "once",
    ):
        """Deploy the registered flow ``flow_name`` as ``name``; returns the deployment's id.

        ``schedules``: dicts (or objects) with ``kind`` (cron, interval, rrule), ``value``, and
        optionally ``timezone``, ``anchor``, ``active``.
        """
        return self._do(
            _Call(
                "POST",
                "deployments/",
                json={
                    "flow": flow_name,
                    "name": name,
                    "parameters": parameters or {},
                    "work_queue": work_queue_name,
                    "tags": list(tags or []),
                    "description": description,
                    "schedules": [_schedule_json(s) for s in schedules or []],
                    "paused": paused,
                    "catchup": catchup,
                },
                parse=lambda data: data["id"],
            )
        )

    def read_deployment(self, deployment_id):
        """A deployment by id, or by ``flow/name``."""
        return self._do(_Call("GET", _deployment_path(deployment_id), parse=Deployment.from_json))

    def read_deployment_by_name(self, name: str):
        """The deployment ``flow/name`` (Prefect's name for it)."""
        if not isinstance(name, str) or "/" not in name:
            raise ValueError(f"Name the deployment as FLOW/NAME; {name!r} is not.")
        return self.read_deployment(name)

    def read_deployments(self, flow_name: str | None = None, work_queue_name: str | None = None):
        """Every deployment by full name; only one flow's or one queue's when given."""
        params = {
            key: value
            for key, value in (("flow", flow_name), ("work_queue", work_queue_name))
            if value is not None
        }
        return self._do(
            _Call(
                "GET",
                "deployments/",
                params=params,
                paged=True,
                parse=lambda items: [Deployment.from_json(item) for item in items],
            )
        )

    def update_deployment(
        self,
        deployment_id,
        *,
        parameters: Any = _UNSET,
        work_queue_name: Any = _UNSET,
        tags: Any = _UNSET,
        description: Any = _UNSET,
        catchup: Any = _UNSET,
        paused: Any = _UNSET,
    ):
        """Change what is given; the runs its schedules made that have not started are made
        again. Returns the Deployment."""
        return self._do(
            _Call(
                "PATCH",
                _deployment_path(deployment_id),
                json=_changes(
                    parameters=parameters,
                    work_queue=work_queue_name,
                    tags=list(tags) if isinstance(tags, list | tuple) else tags,
                    description=description,
                    catchup=catchup,
                    paused=paused,
                ),
                parse=Deployment.from_json,
            )
        )

    def pause_deployment(self, deployment_id):
        """Stop the deployment's schedules; returns the Deployment."""
        return self._do(
            _Call("POST", _deployment_path(deployment_id, "pause/"), parse=Deployment.from_json)
        )

    def resume_deployment(self, deployment_id):
        """Let the deployment's schedules make runs again; returns the Deployment."""
        return self._do(
            _Call("POST", _deployment_path(deployment_id, "resume/"), parse=Deployment.from_json)
        )

    def delete_deployment(self, deployment_id):
        """Delete the deployment, its schedules and its runs that have not started."""
        return self._do(_Call("DELETE", _deployment_path(deployment_id), parse=lambda data: None))

    def create_flow_run_from_deployment(
        self,
        deployment_id,
        *,
        parameters: dict | None = None,
        scheduled_time: dt.datetime | None = None,
    ):
        """Start a run of the deployment (its parameters under ``parameters``), now or at
        ``scheduled_time``; returns the new FlowRun, waiting in the deployment's queue."""
        return self._do(
            _Call(
                "POST",
                _deployment_path(deployment_id, "run/"),
                json={"parameters": parameters or {}, **_changes(scheduled_time=scheduled_time)},
                parse=FlowRun.from_json,
            )
        )

    # runs and their history
    def read_flow_run(self, flow_run_id):
        """One flow run (with the ids of its task runs)."""
        return self._do(_Call("GET", f"flow-runs/{flow_run_id}/", parse=FlowRun.from_json))

    def read_task_run(self, task_run_id):
        """One task run (with its upstream task run ids)."""
        return self._do(_Call("GET", f"task-runs/{task_run_id}/", parse=TaskRun.from_json))

    def read_flow_run_states(self, flow_run_id):
        """Every State of a flow run, oldest first."""
        return self._do(
            _Call(
                "GET",
                f"flow-runs/{flow_run_id}/states/",
                paged=True,
                parse=lambda items: [_state(item) for item in items],
            )
        )

    def read_task_run_states(self, task_run_id):
        """Every State of a task run, oldest first."""
        return self._do(
            _Call(
                "GET",
                f"task-runs/{task_run_id}/states/",
                paged=True,
                parse=lambda items: [_state(item) for item in items],
            )
        )

    def read_logs(self, flow_run_id=None, task_run_id=None, level=None):
        """Log lines (``.level .message .timestamp``), oldest first, of one run or all runs."""
        params = {
            k: str(v)
            for k, v in (("flow_run", flow_run_id), ("task_run", task_run_id), ("level", level))
            if v is not None
        }
        return self._do(
            _Call(
                "GET",
                "logs/",
                params=params,
                paged=True,
                parse=lambda items: [LogLine.from_json(item) for item in items],
            )
        )

    def start_flow_run(
        self, flow: str, parameters: dict | None = None, work_queue_name: str | None = None
    ):
        """Start the registered flow ``flow`` on a worker; returns the new (SCHEDULED) FlowRun,
        waiting in ``work_queue_name`` (default: "default") until the queue has room."""
        body = {"flow": flow, "parameters": parameters or {}}
        if work_queue_name is not None:
            body["work_queue"] = work_queue_name
        return self._do(_Call("POST", "flow-runs/", json=body, parse=FlowRun.from_json))

    def cancel_flow_run(self, flow_run_id):
        """Cancel a scheduled or running flow run; returns it."""
        return self._do(_Call("POST", f"flow-runs/{flow_run_id}/cancel/", parse=FlowRun.from_json))

    def rerun_flow_run(self, flow_run_id):
        """Start a finished flow run's flow again with its parameters; returns the new FlowRun
        (its ``rerun_of_id`` is the first run's id)."""
        return self._do(_Call("POST", f"flow-runs/{flow_run_id}/rerun/", parse=FlowRun.from_json))


class SyncClient(_Operations):
    """The client without ``await``; use it as a context manager or call it directly."""

    def __init__(self) -> None:
        remote = _remote_settings()
        self._remote = remote is not None
        if remote:
            base, headers = remote
            self._http = httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT)
        else:
            self._in_process = _in_process_client()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection (the in-process transport is shared and stays)."""
        if self._remote:
            self._http.close()

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        if self._remote:
            return self._http.request(method, path, **kwargs)
        return self._in_process.submit(method, path, **kwargs).result()

    def _do(self, call: _Call):
        response = self._send(call.method, call.path, json=call.json, params=call.params)
        _raise_for(response)
        if not call.paged:
            return call.parse(response.json() if response.content else None)
        items, body = [], response.json()
        while True:
            items.extend(body["results"])
            following = _next_path(body.get("next"))
            if not following:
                return call.parse(items)
            response = self._send("GET", following)
            _raise_for(response)
            body = response.json()


class AsyncClient(_Operations):
    """The client for ``async`` code: ``async with get_client() as client: await ...``."""

    def __init__(self) -> None:
        remote = _remote_settings()
        self._remote = remote is not None
        if remote:
            base, headers = remote
            self._http = httpx.AsyncClient(base_url=base, headers=headers, timeout=TIMEOUT)
        else:
            self._in_process = _in_process_client()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection (the in-process transport is shared and stays)."""
        if self._remote:
            await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        if self._remote:
            return await self._http.request(method, path, **kwargs)
        return await asyncio.wrap_future(self._in_process.submit(method, path, **kwargs))

    async def _do(self, call: _Call):
        response = await self._send(call.method, call.path, json=call.json, params=call.params)
        _raise_for(response)
        if not call.paged:
            return call.parse(response.json() if response.content else None)
        items, body = [], response.json()
        while True:
            items.extend(body["results"])
            following = _next_path(body.get("next"))
            if not following:
                return call.parse(items)
            response = await self._send("GET", following)
            _raise_for(response)
            body = response.json()


def get_client(sync_client: bool = False) -> AsyncClient | SyncClient:
    """A client of the REST API: async by default, ``sync_client=True`` for plain calls."""
    return SyncClient() if sync_client else AsyncClient()
