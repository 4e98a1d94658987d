"""Production settings: refuse to start without a real secret and real services."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False

_secret = env.str("SECRET_KEY", default="")
if not _secret or _secret.startswith("insecure") or len(_secret) < 50 or len(set(_secret)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production."
    )
SECRET_KEY = _secret

if env.bool("FORODHA_SANDBOX", default=False):
    raise ImproperlyConfigured("Sandbox mode (FORODHA_SANDBOX) cannot be enabled in production.")
FORODHA_SANDBOX = False

if env.str("FORODHA_CLOCK_PIN", default=""):
    raise ImproperlyConfigured("FORODHA_CLOCK_PIN pins the clock for tests; it cannot be set in production.")

if "DATABASE_URL" not in env.ENVIRON:
    raise ImproperlyConfigured("DATABASE_URL must be set in production (PostgreSQL).")

# Contingency receipts must be signed with a managed key (docs/maintenance.md), never a generated one.
RECEIPT_SIGNING_KEY_AUTOGENERATE = False

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
