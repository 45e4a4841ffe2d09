"""Read-only view of the warehouse catalogue in the admin site (the catalogue is written by services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from probity.warehouse.models import WarehouseTable


@admin.register(WarehouseTable)
class WarehouseTableAdmin(admin.ModelAdmin):
    list_display = ("name", "engine", "row_count", "refreshed_at", "source")
    list_filter = ("engine",)
    search_fields = ("name", "description", "source")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
