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

        from .admin_pages import clock_view

        register_page("sandbox/clock/", clock_view, "sandbox_clock")
        if settings.FORODHA_SANDBOX:
            from django.contrib import admin

            admin.site.site_header = "Forodha officer workspace — TRAINING SANDBOX"
            admin.site.site_title = "Forodha SANDBOX"
            admin.site.index_title = "Training sandbox: data is fictitious and the clock may be moved"
