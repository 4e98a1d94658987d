"""Private test settings: the transit app on top of config.settings.test (until the lead adds
"transit" to INSTALLED_APPS and its urls to config/urls.py)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import INSTALLED_APPS

if "transit" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "transit"]
ROOT_URLCONF = "tests.transit.urls_transit"
