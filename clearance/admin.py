"""Officer interface of clearance: the queue "Provisional releases to reconcile" (closing a case
goes through its service). Officer tasks, release orders and post-clearance audits are listed
office-scoped by the officers app (`officers.admin_clearance`), which sits above clearance."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.exceptions import ApplicationError
from maintenance.display import eat_text

from .models import ProvisionalReleaseCase
from .services.reconciliation import provisional_release_case_close


class CaseCloseForm(forms.ModelForm):
    """Closing goes through `reconciliation.provisional_release_case_close` (event with the actor)."""

    close_with_outcome = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Close with outcome",
        help_text="What was found and done (post-clearance audit, demand note, ...). Leave empty to keep it open.")

    actor: Any = None

    class Meta:
        model = ProvisionalReleaseCase
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        outcome = (data.get("close_with_outcome") or "").strip()
        if outcome:
            try:
                provisional_release_case_close(case_id=self.instance.pk, outcome=outcome, actor=self.actor)
            except ApplicationError as exc:
                self.add_error("close_with_outcome", exc.detail)
        return data

    def _post_clean(self) -> None:
        """The service closed the case."""


@admin.register(ProvisionalReleaseCase)
class ProvisionalReleaseCaseAdmin(admin.ModelAdmin):
    """The officer queue "Provisional releases to reconcile": open cases first, oldest first."""

    form = CaseCloseForm
    list_display = ["created_at", "status", "entry_number", "trader_pin", "rule", "summary", "released_at"]
    list_filter = ["status", "rule"]
    search_fields = ["entry_number", "trader_pin", "=release_id", "=submission_id"]
    ordering = ["-status", "created_at"]  # "open" sorts after "closed": descending puts open first
    readonly_fields = ["release_id", "submission_id", "declaration", "entry_number", "trader_pin", "agent_username",
                       "rule", "released_at", "expires_at", "summary", "differences", "status", "created_at",
                       "closed_at", "closed_by", "outcome", "history"]

    @admin.display(description="History")
    def history(self, obj: ProvisionalReleaseCase) -> str:
        rows = [format_html("<li>{} {} &rarr; {} by {}: {}</li>",
                            eat_text(e.created_at),
                            e.from_status or "-", e.to_status, e.actor or "system", e.reason)
                for e in obj.events.select_related("actor")]
        return format_html("<ul>{}</ul>", mark_safe("".join(rows)))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status == ProvisionalReleaseCase.Status.OPEN:
            return [*self.readonly_fields, "close_with_outcome"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ProvisionalReleaseCase, form: Any, change: bool) -> None:
        """The form's service call saved what changed."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # opened by the reconciliation only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
