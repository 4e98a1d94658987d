"""The officer groups and their permissions: one table, synced idempotently.

Run by the data migration (historical models), by `manage.py officers_sync_groups`, and after
every `migrate`/flush (post_migrate), so a permission added later reaches its group. Sync only
ADDS what the table lists: permissions an administrator granted by hand are left alone.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("forodha.officers")

OFFICER = "officer"
INSPECTOR = "inspector"
SUPERVISOR = "supervisor"
RISK_ANALYST = "risk analyst"
MAINTENANCE_ADMIN = "maintenance admin"
TRAINER = "trainer"
TRANSIT_OFFICER = "transit officer"

QUEUES = ("documentarycheckqueue", "inspectionqueue", "assignedtomequeue", "escalatedqueue", "queriedqueue")

# What an officer reads on the declaration detail page (read-only everywhere).
_READ_DECLARATIONS = (
    "declarations.view_declaration",
    "risk.view_riskassessment",
    "clearance.view_releaseorder",
    "officers.view_dashboard",
)

# The transit workspace (EAC SCT transit): the queue, e-seal events, partner messages, bonds and
# their ledger, read-only. Working alerts and accepting an exit with seals missing are the transit
# officer's; demanding the security from the bond principal is a supervisor's decision.
_READ_TRANSIT = (
    "transit.view_transitmovement",
    "transit.view_transitalert",
    "transit.view_trackingevent",
    "transit.view_regionalbond",
    "transit.view_bondledger",
    "transit.view_partnermessage",
    "transit.view_partnersimulatorcontrol",
)
_WORK_TRANSIT = (
    *_READ_TRANSIT,
    "transit.work_alert",
    "transit.override_exit",
)

# Fiscal integrity (issue 21): the exemptions register with its drawdowns and change history (the
# admin's inlines need their own view permissions), KRA's CRSP list and depreciation schedule
# (read-only pages: loaded from KRA's workbook, corrected at the source, so nobody gets change),
# and the reference prices. Who reads them: everyone who checks a claim or a value (documentary
# check, inspection, supervision, risk analysis, training). Who keeps them: supervisors issue,
# suspend and revoke exemption certificates (never delete: drawdowns refer to them); risk analysts
# keep the reference prices with the rules that compare against them (below). Officers who review a
# valuation do not maintain the prices they check against.
_READ_EXEMPTIONS = (
    "tariff.view_exemptioncertificate",
    "tariff.view_exemptiondrawdown",
    "tariff.view_exemptioncertificatechange",
)
_READ_VALUATION = (
    "tariff.view_crspentry",
    "tariff.view_crspdepreciation",
    "tariff.view_crsptemplate",
    "risk.view_referenceprice",
)

GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Documentary check (yellow lane).
    OFFICER: (
        *_READ_DECLARATIONS,
        "officers.view_documentarycheckqueue",
        "officers.view_assignedtomequeue",
        "officers.view_queriedqueue",
        "officers.assign_task",
        "officers.release_declaration",
        "officers.query_agent",
        "officers.request_inspection",
        "officers.amend_assessment",
        "officers.decide_amendment",
        *_READ_EXEMPTIONS,
        *_READ_VALUATION,
    ),
    # Physical examination (red lane).
    INSPECTOR: (
        *_READ_DECLARATIONS,
        "officers.view_inspectionqueue",
        "officers.view_assignedtomequeue",
        "officers.view_queriedqueue",
        "officers.assign_task",
        "officers.release_declaration",
        "officers.query_agent",
        "officers.record_findings",
        "officers.reject_declaration",
        *_READ_EXEMPTIONS,
        *_READ_VALUATION,
    ),
    # Every queue and decision, every office; assigns officers to offices.
    SUPERVISOR: (
        *_READ_DECLARATIONS,
        *(f"officers.view_{q}" for q in QUEUES),
        "officers.assign_task",
        "officers.release_declaration",
        "officers.query_agent",
        "officers.request_inspection",
        "officers.record_findings",
        "officers.override_findings",
        "officers.amend_assessment",
        "officers.reject_declaration",
        "officers.decide_amendment",
        "officers.decide_cancellation",
        "officers.view_all_offices",
        "officers.view_officerprofile",
        "officers.add_officerprofile",
        "officers.change_officerprofile",
        "clearance.view_officertask",
        *_WORK_TRANSIT,
        "transit.demand_bond",
        "transit.add_regionalbond",
        "transit.change_regionalbond",
        "transit.change_partnersimulatorcontrol",
        *_READ_EXEMPTIONS,
        "tariff.add_exemptioncertificate",
        "tariff.change_exemptioncertificate",
        *_READ_VALUATION,
        # Provisional releases during contingency: the reconciliation queue and the published rules.
        "clearance.view_provisionalreleasecase",
        "clearance.change_provisionalreleasecase",
        "maintenance.view_provisionalreleaserule",
    ),
    # Transit (IM8 under the EAC SCT): the movement queue, e-seal alerts, bonds, partner messages.
    TRANSIT_OFFICER: (
        "officers.view_dashboard",
        "declarations.view_declaration",
        *_WORK_TRANSIT,
    ),
    # Rules and reference prices are theirs; declarations read-only, all offices.
    RISK_ANALYST: (
        *_READ_DECLARATIONS,
        "officers.view_all_offices",
        "risk.view_riskrule",
        "risk.add_riskrule",
        "risk.change_riskrule",
        "risk.add_referenceprice",
        "risk.change_referenceprice",
        "clearance.view_postclearanceaudit",
        *_READ_EXEMPTIONS,
        *_READ_VALUATION,
        "clearance.view_provisionalreleasecase",
        "clearance.change_provisionalreleasecase",
        "maintenance.view_provisionalreleaserule",
    ),
    # Windows, outages, buffered submissions (the maintenance app's own migration grants the same).
    MAINTENANCE_ADMIN: (
        "officers.view_dashboard",
        "maintenance.add_maintenancewindow",
        "maintenance.change_maintenancewindow",
        "maintenance.view_maintenancewindow",
        "maintenance.view_maintenancewindowevent",
        "maintenance.add_outage",
        "maintenance.change_outage",
        "maintenance.view_outage",
        "maintenance.view_outageevent",
        "intake.view_bufferedsubmission",
        "maintenance.view_outagereport",
        # The published rules for provisional release during contingency (changes are events).
        "maintenance.view_provisionalreleaserule",
        "maintenance.add_provisionalreleaserule",
        "maintenance.change_provisionalreleaserule",
        "intake.view_provisionalrelease",
    ),
    # Trainers show everything and decide nothing (decisions are made by trainees in the sandbox
    # under their own officer accounts).
    TRAINER: (
        *_READ_DECLARATIONS,
        *(f"officers.view_{q}" for q in QUEUES),
        "officers.view_all_offices",
        "risk.view_riskrule",
        *_READ_TRANSIT,
        *_READ_EXEMPTIONS,
        *_READ_VALUATION,
        "sandbox.change_clockstate",  # the sandbox clock page (only in a training sandbox)
    ),
}


def groups_sync(
    *, apps: Any = None, using: str = "default", create_missing_permissions: bool = False
) -> dict[str, int]:
    """Create the groups and add their permissions. Returns {group: permissions granted}.

    `apps` is the historical registry inside a migration, else the live one.
    """
    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    if create_missing_permissions:
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            had_module = getattr(app_config, "models_module", None)
            app_config.models_module = had_module or True
            try:
                create_permissions(app_config, apps=apps, verbosity=0, using=using)
            finally:
                app_config.models_module = had_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    result: dict[str, int] = {}
    for name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = {tuple(p.split(".", 1)) for p in perms}
        found = [
            perm
            for perm in Permission.objects.using(using)
            .filter(codename__in=[c for _, c in wanted])
            .select_related("content_type")
            if (perm.content_type.app_label, perm.codename) in wanted
        ]
        missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
        if missing:
            logger.info("group %r: permissions not (yet) present: %s", name, sorted(".".join(m) for m in missing))
        group.permissions.add(*found)
        result[name] = len(found)
    return result
