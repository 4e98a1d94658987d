"""The officer groups a sandbox seeds (names and permissions belong to the officers app)."""

from __future__ import annotations

from officers.groups import (
    INSPECTOR,
    MAINTENANCE_ADMIN,
    OFFICER,
    RISK_ANALYST,
    SUPERVISOR,
    TRAINER,
    TRANSIT_OFFICER,
)

__all__ = ["INSPECTOR", "MAINTENANCE_ADMIN", "OFFICER", "OFFICER_GROUPS", "RISK_ANALYST", "SUPERVISOR", "TRAINER",
           "TRANSIT_OFFICER"]

OFFICER_GROUPS: tuple[str, ...] = (OFFICER, INSPECTOR, SUPERVISOR, RISK_ANALYST, MAINTENANCE_ADMIN, TRANSIT_OFFICER)
