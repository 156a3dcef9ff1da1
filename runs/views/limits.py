"""Concurrency limits: list with usage, create, edit, delete with confirmation, inspect."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from runs import roles
from runs.exceptions import ObjectNotFound
from runs.forms import LimitForm
from runs.views.common import render_page
from runs.views.permissions import can_manage_limits, can_view, requires
from runs_limits import selectors as limit_selectors
from runs_limits import services as limit_services
from runs_limits.services import LimitError


def _usage(limit, holders: list | None = None) -> dict:
    """The limit's usage bar; from ``holders`` when the page shows them too (one read)."""
    active = len(limit_selectors.active_slots(limit) if holders is None else holders)
    if limit.concurrency_limit:
        percent = min(100, round(100 * active / limit.concurrency_limit))
    else:
        percent = 100 if active else 0
    return {
        "limit": limit,
        "active": active,
        "percent": percent,
        "full": active >= limit.concurrency_limit,
    }


def _get(limit_id):
    try:
        return limit_selectors.get_limit(limit_id)
    except ObjectNotFound as exc:
        raise Http404(str(exc)) from None


@requires(roles.VIEW, writes=roles.MANAGE_LIMITS)
@require_http_methods(["GET", "POST"])
def limit_list(request: HttpRequest) -> HttpResponse:
    """Every limit with a usage bar, and the create form (errors shown beside the fields)."""
    form = LimitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            limit, _ = limit_services.create_limit(
                tag=form.cleaned_data["tag"],
                concurrency_limit=form.cleaned_data["concurrency_limit"],
            )
        except LimitError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Created the limit on tag {limit.tag!r}: {limit.concurrency_limit} at once.",
            )
            return redirect("runs:limits")
    limits = [_usage(limit) for limit in limit_selectors.list_limits()]
    context = {"limits": limits, "form": form, "live": any(u["active"] for u in limits)}
    if request.method == "POST" and getattr(request, "htmx", False):
        return render_page(
            request,
            "runs/limits.html",
            context,
            partial="runs/partials/limit_form.html",
            status=400,
        )
    return render_page(
        request, "runs/limits.html", context, status=400 if request.method == "POST" else 200
    )


@can_view
def limit_detail(request: HttpRequest, limit_id) -> HttpResponse:
    """A limit's holders (task runs with a slot) and waiters (task runs in line for one)."""
    limit = _get(limit_id)
    holders = list(limit_selectors.holders(limit))
    waiters = list(limit_selectors.waiters(limit))
    context = {
        "usage": _usage(limit, holders),
        "limit": limit,
        "holders": holders,
        "waiters": waiters,
        "live": bool(holders or waiters),
    }
    if getattr(request, "htmx", False) and request.GET.get("fragment") == "live":
        return render_page(
            request, "runs/limit.html", context, partial="runs/partials/limit_live.html"
        )
    return render_page(request, "runs/limit.html", context)


@can_manage_limits
@require_http_methods(["GET", "POST"])
def limit_edit(request: HttpRequest, limit_id) -> HttpResponse:
    """Change a limit's tag or number."""
    limit = _get(limit_id)
    form = LimitForm(request.POST or None, instance=limit)
    if request.method == "POST" and form.is_valid():
        try:
            limit_services.update_limit(
                limit=limit,
                tag=form.cleaned_data["tag"],
                concurrency_limit=form.cleaned_data["concurrency_limit"],
            )
        except LimitError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Saved the limit on tag {limit.tag!r}.")
            return redirect("runs:limits")
    return render_page(
        request,
        "runs/limit_edit.html",
        {"limit": limit, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@can_manage_limits
@require_http_methods(["GET", "POST"])
def limit_delete(request: HttpRequest, limit_id) -> HttpResponse:
    """Ask, then delete: the tag becomes unlimited and waiting runs go on."""
    limit = _get(limit_id)
    if request.method == "POST":
        tag = limit.tag
        limit_services.delete_limit(limit=limit)
        messages.success(request, f"Deleted the limit on tag {tag!r}; its runs are unlimited now.")
        return redirect("runs:limits")
    return render_page(request, "runs/limit_delete.html", {"limit": limit, "usage": _usage(limit)})
