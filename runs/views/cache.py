"""The cache page: cached results with a search, and expiring one key or all of a task's."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from runs.selectors import cache as cache_selectors
from runs.services import cache as cache_service
from runs.views.common import render_page
from runs.views.permissions import can_operate, can_view


@can_view
def cache_list(request: HttpRequest) -> HttpResponse:
    """Cache entries (task, key, created, expires, size) matching ``?q=``."""
    search = request.GET.get("q", "").strip()
    show_expired = request.GET.get("expired") == "1"
    entries = cache_selectors.cache_entries(search=search, include_expired=show_expired)
    context = {"entries": entries, "q": search, "show_expired": show_expired}
    return render_page(
        request, "runs/cache.html", context, partial="runs/partials/cache_entries.html"
    )


def _back(request: HttpRequest):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("runs:cache")


@can_operate
@require_POST
def cache_expire(request: HttpRequest) -> HttpResponse:
    """Expire one cache key now: the next run with that key runs its task."""
    key = request.POST.get("cache_key", "")
    count = cache_service.expire_cache_key(cache_key=key) if key else 0
    if count:
        messages.success(
            request, "Expired the cache entry; the next run with this key will run the task again."
        )
    else:
        messages.info(request, "Nothing to expire: that cache entry had already expired.")
    return _back(request)


@can_operate
@require_POST
def cache_expire_task(request: HttpRequest) -> HttpResponse:
    """Expire every cache entry a task wrote."""
    task_key = request.POST.get("task_key", "")
    task_name = request.POST.get("task_name", "") or "the task"
    count = cache_service.expire_task_cache(task_key=task_key) if task_key else 0
    if count:
        messages.success(
            request, f"Expired {count} cache entr{'y' if count == 1 else 'ies'} of {task_name}."
        )
    else:
        messages.info(request, f"{task_name} has no unexpired cache entries.")
    return _back(request)
