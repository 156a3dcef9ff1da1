"""Included by runs/api/urls.py under ``concurrency-limits/``."""

from __future__ import annotations

from django.urls import path

from runs_limits.api import views

urlpatterns = [
    path("", views.ConcurrencyLimitListView.as_view(), name="concurrency-limit-list"),
    path(
        "<uuid:limit_id>/",
        views.ConcurrencyLimitDetailView.as_view(),
        name="concurrency-limit-detail",
    ),
    path(
        "tag/<path:tag>/",
        views.ConcurrencyLimitByTagView.as_view(),
        name="concurrency-limit-by-tag",
    ),
]
