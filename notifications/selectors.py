from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Notification


def notifications_for_agent(*, agent: Any, after: int = 0) -> QuerySet[Notification]:
    return Notification.objects.filter(agent=agent, seq__gt=after).order_by("seq")
