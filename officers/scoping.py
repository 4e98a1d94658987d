"""Office scoping for the admin lists of other apps (release orders, risk assessments, officer
tasks, post-clearance audits): an officer sees the rows of their office's declarations only,
unless their role spans offices (`officers.view_all_offices`, see `selectors.officer_office`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from .selectors import scope_declarations


class OfficeScopedAdminMixin:
    """For a ModelAdmin whose model has a `declaration` foreign key."""

    declaration_path = "declaration__"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        return scope_declarations(qs, request.user, prefix=self.declaration_path)
