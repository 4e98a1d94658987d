"""Officer group names (the officers app's table when installed; the same names otherwise)."""

from __future__ import annotations

try:  # the officers app owns the names and the permissions
    from officers.groups import (
        INSPECTOR,
        MAINTENANCE_ADMIN,
        OFFICER,
        RISK_ANALYST,
        SUPERVISOR,
        TRAINER,
    )
except ImportError:  # pragma: no cover - the officers app is always in the tree
    OFFICER, INSPECTOR, SUPERVISOR = "officer", "inspector", "supervisor"
    RISK_ANALYST, MAINTENANCE_ADMIN, TRAINER = "risk analyst", "maintenance admin", "trainer"

OFFICER_GROUPS: tuple[str, ...] = (OFFICER, INSPECTOR, SUPERVISOR, RISK_ANALYST, MAINTENANCE_ADMIN)
