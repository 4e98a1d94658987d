from django.apps import AppConfig
from django.conf import settings

from core import policy


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Training sandbox"

    def ready(self) -> None:
        # The one seam of sandbox behaviour in domain services (core.policy); neutral while
        # FORODHA_SANDBOX is off, so it is installed whatever the mode (tests switch it).
        # local import: the policy and the admin pages import models, loadable once the registry is ready
        from . import admin_pages
        from .policy import SandboxPolicy

        policy.install(SandboxPolicy())
        # The trainer pages on the officer site.
        admin_pages.pages_register()
        if settings.FORODHA_SANDBOX:
            from django.contrib import admin

            admin.site.site_header = "Forodha officer workspace — TRAINING SANDBOX"
            admin.site.site_title = "Forodha SANDBOX"
            admin.site.index_title = "Training sandbox: data is fictitious and the clock may be moved"
