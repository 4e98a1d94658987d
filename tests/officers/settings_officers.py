"""Private settings for running tests/officers before the lead wires the app into config/:
config.settings.test + the officer workspace + django-axes (see docs/officers.md, "Settings")."""

from config.settings.test import *  # noqa: F403
from config.settings.test import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    "officers.apps.OfficersConfig",
    *("officers.apps.OfficersAdminConfig" if app == "django.contrib.admin" else app for app in INSTALLED_APPS),
    "axes",
]
MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
