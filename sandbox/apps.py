from django.apps import AppConfig
from django.conf import settings

from core import policy


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Training sandbox"

    def ready(self) -> None:
        # The one seam of sandbox behaviour in domain services (core.policy); neutral while
        # FORODHA_SANDBOX is off, so it is installed whatever the mode (tests switch it).
        from .policy import SandboxPolicy

        policy.install(SandboxPolicy())
        # The officer site reads models: imported once the app registry is ready (not a cycle).
        from officers.site import register_page

        from .admin_pages import agent_report_view, clock_view, drill_view, officer_report_view, reports_view

        register_page("sandbox/clock/", clock_view, "sandbox_clock")
        register_page("sandbox/drill/", drill_view, "sandbox_drill")
        register_page("sandbox/reports/", reports_view, "sandbox_reports")
        register_page("sandbox/reports/agent/<uuid:firm_id>/", agent_report_view, "sandbox_report_agent")
        register_page("sandbox/reports/officer/<str:username>/", officer_report_view, "sandbox_report_officer")
        if settings.FORODHA_SANDBOX:
            from django.contrib import admin

            admin.site.site_header = "Forodha officer workspace — TRAINING SANDBOX"
            admin.site.site_title = "Forodha SANDBOX"
            admin.site.index_title = "Training sandbox: data is fictitious and the clock may be moved"
