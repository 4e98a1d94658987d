from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("seq", "agent", "kind", "subject", "declaration_id", "created_at")
    list_filter = ("kind",)
    search_fields = ("subject", "declaration_id")
    list_select_related = ("agent",)
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
