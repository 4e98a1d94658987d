"""Admin pieces shared by the apps (no model of core is registered here)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Shown, never written through the admin: the rows change only through their services (and
    event tables are append-only). Put it before `admin.ModelAdmin` / `admin.TabularInline`."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
