from django.apps import AppConfig
from django.conf import settings
from django.core.signals import setting_changed


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Training sandbox"

    def ready(self) -> None:
        # The one seam of sandbox behaviour in domain services (core.policy): SandboxPolicy in
        # sandbox mode, the neutral default otherwise; re-installed whenever FORODHA_SANDBOX
        # changes (override_settings, pytest's `settings` fixture).
        # local import: the policy and the admin pages import models, loadable once the registry is ready
        from . import admin_pages
        from .policy import mode_changed, policy_install

        policy_install()
        setting_changed.connect(mode_changed, dispatch_uid="sandbox.policy.mode_changed")
        # The trainer pages on the officer site.
        admin_pages.pages_register()
        if settings.FORODHA_SANDBOX:
            from django.contrib import admin

            admin.site.site_header = "Forodha officer workspace — TRAINING SANDBOX"
            admin.site.site_title = "Forodha SANDBOX"
            admin.site.index_title = "Training sandbox: data is fictitious and the clock may be moved"
