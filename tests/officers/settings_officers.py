"""Private settings for running tests/officers (and bench/bench_officer_queues.py) before the lead
wires the app into config/: config.settings.test + the officer workspace + django-axes (see
docs/officers.md, "Installing it"). Once config/ has them, this module adds nothing."""

from config.settings.test import *  # noqa: F403
from config.settings.test import INSTALLED_APPS, MIDDLEWARE

_apps = list(INSTALLED_APPS)
if not any(app == "officers" or app.startswith("officers.apps.OfficersConfig") for app in _apps):
    _apps.insert(0, "officers.apps.OfficersConfig")
_apps = ["officers.apps.OfficersAdminConfig" if app == "django.contrib.admin" else app for app in _apps]
if "axes" not in _apps:
    _apps.append("axes")
INSTALLED_APPS = _apps
if "axes.middleware.AxesMiddleware" not in MIDDLEWARE:
    MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
