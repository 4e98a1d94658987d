"""The admin site officers use. Agents (users with an `agent_staff` link) never get in: they use
the API with a token, and a clearing agent's staff account must not see other firms' work."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path

from traders.models import AgentStaff


def is_agent(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_officers_is_agent", None)
    if cached is None:
        cached = AgentStaff.objects.filter(user_id=user.pk).exists()
        user._officers_is_agent = cached
    return bool(cached)


class OfficerAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "agent": "Clearing-agent accounts cannot use the officer workspace; use the API.",
    }

    def confirm_login_allowed(self, user: Any) -> None:
        if is_agent(user):
            raise forms.ValidationError(self.error_messages["agent"], code="agent")
        super().confirm_login_allowed(user)


# Pages that apps above `officers` add to the officer site (e.g. the sandbox's trainer clock),
# registered from their AppConfig.ready: (route, view(request, *, site), url name).
EXTRA_PAGES: list[tuple[str, Callable[..., HttpResponse], str]] = []


def register_page(route: str, view: Callable[..., HttpResponse], name: str) -> None:
    if all(existing != name for _, _, existing in EXTRA_PAGES):
        EXTRA_PAGES.append((route, view, name))


class OfficerAdminSite(admin.AdminSite):
    site_header = "Forodha officer workspace"
    site_title = "Forodha officers"
    index_title = "Work queues and administration"
    login_form = OfficerAuthenticationForm
    index_template = "officers/index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and not is_agent(user))

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path("dashboard/", self.admin_view(self._dashboard), name="officers_dashboard"),
            path("take-next/<slug:queue>/", self.admin_view(self._take_next), name="officers_take_next"),
            *(path(route, self.admin_view(partial(view, site=self)), name=name) for route, view, name in EXTRA_PAGES),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from .selectors import my_work

        return super().index(request, {**(extra_context or {}), "my_work": my_work(user=request.user)})

    def _take_next(self, request: HttpRequest, queue: str) -> HttpResponse:
        from .views import take_next_view

        return take_next_view(request, queue=queue)

    def _dashboard(self, request: HttpRequest) -> HttpResponse:
        from .dashboard import dashboard_view

        return dashboard_view(request, site=self)
