"""List filters shared by the queues and the declarations list (no per-row queries; the office
filter reads the small CustomsOffice table once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.http import HttpRequest

from core import clock

from .selectors import sla_hours


class OfficeFilter(admin.SimpleListFilter):
    title = "office"
    parameter_name = "office"
    prefix = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from reference.models import CustomsOffice

        offices = CustomsOffice.objects.order_by("code").values_list("code", "name")
        return [(code, f"{code} {name}") for code, name in offices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(**{f"{self.prefix}office_id": self.value()})
        return queryset


class TaskOfficeFilter(OfficeFilter):
    prefix = "declaration__"


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
        now = clock.now()
        overdue = Q()
        for queue in ("documentary_check", "inspection"):
            for priority in (True, False):
                limit = dt.timedelta(hours=sla_hours(queue=queue, priority=priority))
                # SLA age = (waiting_since or now) - created_at - sla_paused (the clock stops
                # while a query waits for the agent).
                overdue |= Q(queue=queue, priority=priority, waiting_since__isnull=True,
                             sla_start__lt=now - limit)
                overdue |= Q(queue=queue, priority=priority, waiting_since__isnull=False,
                             sla_waited__gt=limit)
        return queryset.alias(
            sla_start=ExpressionWrapper(F("created_at") + F("sla_paused"), output_field=DateTimeField()),
            sla_waited=ExpressionWrapper(F("waiting_since") - F("created_at") - F("sla_paused"),
                                         output_field=DurationField()),
        ).filter(overdue)
