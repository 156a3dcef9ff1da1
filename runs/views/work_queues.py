"""Work queues: each queue's limit, running and waiting runs; pause, resume, set a limit, create."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from runs import roles
from runs.exceptions import ObjectNotFound
from runs.selectors import work_queues as queue_selectors
from runs.services import work_queues as queue_services
from runs.services.work_queues import WorkQueueError
from runs.states import now
from runs.views.common import render_page
from runs.views.permissions import can_manage_limits, can_view, requires

LIMIT_HELP = "How many of its flow runs may run at once; empty: no limit; 0 holds every run."


def parse_limit(raw: str | None) -> int | None:
    """A limit typed in a form: empty is no limit, else a whole number of 0 or more."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise forms.ValidationError(
            f"{text!r} is not a whole number: give 0 or more, or leave it empty for no limit."
        ) from None
    if value < 0:
        raise forms.ValidationError(
            "The limit cannot be negative: give 0 or more, or leave it empty for no limit."
        )
    return value


class WorkQueueForm(forms.Form):
    """A new work queue; the name's own checks are the service's (its error names the field)."""

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        help_text="The Celery queue: `runs worker -Q NAME` serves it.",
    )
    concurrency_limit = forms.CharField(
        label="Limit",
        required=False,
        help_text=LIMIT_HELP,
        widget=forms.NumberInput(attrs={"min": "0", "step": "1"}),
    )
    description = forms.CharField(label="Description", required=False, max_length=2000)

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError("Give the queue a name, e.g. reports.")
        return name

    def clean_concurrency_limit(self) -> int | None:
        return parse_limit(self.cleaned_data.get("concurrency_limit"))


def _get_detail(name: str):
    try:
        return queue_selectors.work_queue_detail(name)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None


def _back(request: HttpRequest, name: str) -> HttpResponse:
    """Where an action returns: the queue's page when it was sent from there, else the list."""
    if request.POST.get("next") == "detail":
        return redirect("runs:work-queue", name=name)
    return redirect("runs:work-queues")


def _list_context(form: WorkQueueForm, limit_errors: dict | None = None) -> dict:
    summaries = queue_selectors.work_queue_summaries()
    return {
        "queues": summaries,
        "form": form,
        "limit_errors": limit_errors or {},
        "limit_help": LIMIT_HELP,
        "live": any(s.running or s.waiting for s in summaries),
    }


@requires(roles.VIEW, writes=roles.MANAGE_LIMITS)
@require_http_methods(["GET", "POST"])
def work_queue_list(request: HttpRequest) -> HttpResponse:
    """Every work queue with its limit, running and waiting runs; the create form (errors
    beside the fields)."""
    form = WorkQueueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            queue = queue_services.create_work_queue(
                name=form.cleaned_data["name"],
                concurrency_limit=form.cleaned_data["concurrency_limit"],
                description=form.cleaned_data["description"],
            )
        except WorkQueueError as exc:
            field = getattr(exc, "field", None)
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            limit = (
                "no limit"
                if queue.concurrency_limit is None
                else f"limit {queue.concurrency_limit}"
            )
            messages.success(
                request,
                f"Created work queue {queue.name!r} ({limit}); serve it with "
                f"`runs worker -Q {queue.name}`.",
            )
            return redirect("runs:work-queues")
    status = 400 if request.method == "POST" else 200
    return render_page(request, "runs/work_queues.html", _list_context(form), status=status)


@can_view
def work_queue_detail(request: HttpRequest, name: str) -> HttpResponse:
    """One queue: the runs holding its places, the waiting line in order, the later runs."""
    detail = _get_detail(name)
    context = {
        "detail": detail,
        "queue": detail.queue,
        "now": now(),
        "limit_help": LIMIT_HELP,
        "limit_error": "",
        "live": bool(detail.running or detail.waiting),
    }
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "live":
        return render_page(
            request,
            "runs/work_queue.html",
            context,
            partial="runs/partials/work_queue_live.html",
        )
    return render_page(request, "runs/work_queue.html", context)


@can_manage_limits
@require_POST
def work_queue_pause(request: HttpRequest, name: str) -> HttpResponse:
    """Pause a queue: it starts nothing new; what runs goes on."""
    try:
        queue_services.pause_work_queue(name)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    messages.success(request, f"Paused work queue {name!r}: it starts nothing new until resumed.")
    return _back(request, name)


@can_manage_limits
@require_POST
def work_queue_resume(request: HttpRequest, name: str) -> HttpResponse:
    """Resume a queue: its waiting runs start as it has room."""
    try:
        queue_services.resume_work_queue(name)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    messages.success(request, f"Resumed work queue {name!r}: its waiting runs start again.")
    return _back(request, name)


@can_manage_limits
@require_POST
def work_queue_limit(request: HttpRequest, name: str) -> HttpResponse:
    """Set (or clear, when empty) a queue's limit; a bad value is shown beside the field."""
    error = ""
    try:
        limit = parse_limit(request.POST.get("concurrency_limit"))
        queue_services.set_work_queue_limit(name, limit)
    except forms.ValidationError as exc:
        error = exc.messages[0]
    except WorkQueueError as exc:
        error = str(exc)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None
    if not error:
        shown = "no limit" if limit is None else f"a limit of {limit}"
        messages.success(request, f"Work queue {name!r} now has {shown}.")
        return _back(request, name)
    if request.POST.get("next") == "detail":
        detail = _get_detail(name)
        context = {
            "detail": detail,
            "queue": detail.queue,
            "now": now(),
            "limit_help": LIMIT_HELP,
            "limit_error": error,
            "limit_value": request.POST.get("concurrency_limit", ""),
            "live": bool(detail.running or detail.waiting),
        }
        return render_page(request, "runs/work_queue.html", context, status=400)
    context = _list_context(
        WorkQueueForm(),
        {name: {"error": error, "value": request.POST.get("concurrency_limit", "")}},
    )
    return render_page(request, "runs/work_queues.html", context, status=400)
