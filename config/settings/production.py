"""Production settings: refuse to start without real secrets and real services.

gunicorn and Celery never run Django's system checks, so the secret rules (core.secrets, also
reported by `manage.py check` and `check --deploy`) are enforced here, at import time.
"""

import sys

from django.core.exceptions import ImproperlyConfigured

from core.secrets import GENERATOR_HINT, secret_problems

from .base import *  # noqa: F403
from .base import env

DEBUG = False

SECRET_KEY = env.str("SECRET_KEY", default="")
if any(p.setting == "SECRET_KEY" for p in secret_problems(sys.modules[__name__])):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production "
        f"(generate one with `{GENERATOR_HINT}`)."
    )

if env.bool("FORODHA_SANDBOX", default=False):
    raise ImproperlyConfigured("Sandbox mode (FORODHA_SANDBOX) cannot be enabled in production.")
FORODHA_SANDBOX = False

if env.str("FORODHA_CLOCK_PIN", default=""):
    raise ImproperlyConfigured("FORODHA_CLOCK_PIN pins the clock for tests; it cannot be set in production.")

if "DATABASE_URL" not in env.ENVIRON:
    raise ImproperlyConfigured("DATABASE_URL must be set in production (PostgreSQL).")

# Contingency receipts must be signed with a managed key (docs/maintenance.md), never a generated one.
RECEIPT_SIGNING_KEY_AUTOGENERATE = False

# Every other secret: never empty, never the development default or the .env.example placeholder.
_problems = [p for p in secret_problems(sys.modules[__name__]) if p.setting != "SECRET_KEY"]
if _problems:
    raise ImproperlyConfigured(
        " ".join(p.message for p in _problems) + f" Generate values with `{GENERATOR_HINT}`.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
