"""List filters shared by the queues and the declarations list (no per-row queries; the office
filter reads the small CustomsOffice table once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from clearance import sla
from core import clock
from declarations.enums import Status
from reference.models import CustomsOffice


class OfficeFilter(admin.SimpleListFilter):
    title = "office"
    parameter_name = "office"
    prefix = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from .selectors import ALL_OFFICES, officer_office

        # An officer of one office sees only that office's rows: choosing an office is pointless.
        if officer_office(request.user) != ALL_OFFICES:
            return []
        offices = CustomsOffice.objects.order_by("code").values_list("code", "name")
        return [(code, f"{code} {name}") for code, name in offices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(**{f"{self.prefix}office_id": self.value()})
        return queryset


class TaskOfficeFilter(OfficeFilter):
    prefix = "declaration__"


class TaskLaneFilter(admin.SimpleListFilter):
    """Only the lanes an officer task can have (green and blue are released without one)."""

    title = "lane"
    parameter_name = "lane"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yellow", "Yellow (documentary check)"), ("red", "Red (physical examination)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(lane=self.value()) if self.value() in ("yellow", "red") else queryset


class TaskStatusFilter(admin.SimpleListFilter):
    """Only the declaration statuses a live officer task can be in."""

    title = "declaration status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("under_control", "Under control"), ("queried", "Queried (waiting for the agent)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in (Status.UNDER_CONTROL, Status.QUERIED):
            return queryset.filter(declaration__status=self.value())
        return queryset


class AeoFilter(admin.SimpleListFilter):
    title = "AEO"
    parameter_name = "aeo"
    prefix = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "AEO trader"), ("no", "Not AEO")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        active = Q(**{f"{self.prefix}trader__aeo__status": "active"})
        if self.value() == "yes":
            return queryset.filter(active)
        if self.value() == "no":
            return queryset.exclude(active)
        return queryset


class TaskAeoFilter(AeoFilter):
    prefix = "declaration__"


_AGE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "lt1h": (None, 1), "1to4h": (1, 4), "4to24h": (4, 24), "gt24h": (24, None),
}


class AgeFilter(admin.SimpleListFilter):
    """Age of the declaration since lodging."""

    title = "age"
    parameter_name = "age"
    field = "lodged_at"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("lt1h", "under 1 hour"), ("1to4h", "1 to 4 hours"), ("4to24h", "4 to 24 hours"),
                ("gt24h", "over 24 hours")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = _AGE_BANDS.get(self.value() or "")
        if band is None:
            return queryset
        now = clock.now()
        younger_than, older_than = band[1], band[0]
        if younger_than is not None:
            queryset = queryset.filter(**{f"{self.field}__gt": now - dt.timedelta(hours=younger_than)})
        if older_than is not None:
            queryset = queryset.filter(**{f"{self.field}__lte": now - dt.timedelta(hours=older_than)})
        return queryset


class TaskAgeFilter(AgeFilter):
    """Age of the officer task, plus "over the SLA"."""

    field = "created_at"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*super().lookups(request, model_admin), ("overdue", "over the SLA")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() != "overdue":
            return super().queryset(request, queryset)
        # The same rule as the SLA column and the escalation timer (clearance.sla): a query waiting for
        # the agent has its clock stopped and is never over the SLA.
        return sla.overdue(queryset, clock.now())


class LodgedOnFilter(admin.SimpleListFilter):
    """`?lodged_on=YYYY-MM-DD`: declarations lodged that day (East Africa Time). No sidebar entry:
    the dashboard's per-day bars link here."""

    title = "lodged on"
    parameter_name = "lodged_on"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return False

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return queryset.none()
        start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
        return queryset.filter(lodged_at__gte=start, lodged_at__lt=start + dt.timedelta(days=1))
