"""Concurrency limits in the Django admin: the limit, the runs holding its slots and those waiting."""

from __future__ import annotations

from django.contrib import admin

from runs_limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter


class SlotInline(admin.TabularInline):
    model = ConcurrencySlot
    fields = ["task_run", "acquired"]
    readonly_fields = fields
    extra = 0
    can_delete = True
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:  # slots are taken by the engine
        return False


class WaiterInline(admin.TabularInline):
    model = SlotWaiter
    fields = ["task_run", "enqueued", "owner"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConcurrencyLimit)
class ConcurrencyLimitAdmin(admin.ModelAdmin):
    list_display = ["tag", "concurrency_limit", "active_slots", "updated"]
    search_fields = ["tag"]
    readonly_fields = ["id", "created", "updated"]
    inlines = [SlotInline, WaiterInline]

    @admin.display(description="active slots")
    def active_slots(self, limit: ConcurrencyLimit) -> int:
        return limit.slots.count()

    def save_model(self, request, obj, form, change) -> None:
        """Save through the service so waiting runs see the change at once."""
        from runs_limits import services

        if change:
            services.update_limit(limit=obj, tag=obj.tag, concurrency_limit=obj.concurrency_limit)
        else:
            limit, _ = services.create_limit(tag=obj.tag, concurrency_limit=obj.concurrency_limit)
            obj.pk = limit.pk

    def delete_model(self, request, obj) -> None:
        from runs_limits import services

        services.delete_limit(limit=obj)

    def delete_queryset(self, request, queryset) -> None:
        from runs_limits import services

        for limit in queryset:
            services.delete_limit(limit=limit)
