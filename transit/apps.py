from django.apps import AppConfig


class TransitConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transit"
    verbose_name = "EAC transit (SCT), regional bonds, cargo tracking"
