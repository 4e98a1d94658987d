"""Test settings: PostgreSQL and Redis when reachable (CI requires them), else SQLite.

`FORODHA_REQUIRE_SERVICES=1` (set by `make test`) turns every "service not reachable" into a test
failure instead of a skip, so CI can never pass without the real engines.
"""

import os
import socket


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


# `make test` with no variables set and CI run one configuration: when the machine's PostgreSQL and
# Redis answer, the environment is pointed at them *before* the base settings read it, so these
# settings, and every child process a test starts (Celery workers, gunicorn), are built exactly as
# for an explicit DATABASE_URL / REDIS_URL (same connection options, same broker).
if "DATABASE_URL" not in os.environ and _reachable("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/forodha"
if "REDIS_URL" not in os.environ and _reachable("127.0.0.1", 6379):
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/14"
os.environ.setdefault("CACHE_KEY_PREFIX", "forodha-test")

from .base import *  # noqa: E402, F403
from .base import CELERY_BEAT_SCHEDULE, DATABASES, REST_FRAMEWORK, VAR_DIR, env  # noqa: E402

DATABASES["default"]["CONN_MAX_AGE"] = 0
# The intake store in tests: an in-memory SQLite test database unless INTAKE_DATABASE_URL says
# otherwise (tests that need a file shared by several processes build their own settings).
DATABASES["intake"]["CONN_MAX_AGE"] = 0
if DATABASES["intake"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory: replayers and web threads write to it concurrently (WAL).
    # Named after the primary's database so that two suites on one machine never share it.
    _primary = str(DATABASES["default"]["NAME"]).rsplit("/", 1)[-1].replace(".", "_")
    DATABASES["intake"]["TEST"] = {"NAME": str(VAR_DIR / f"test_intake_{_primary}.sqlite3")}
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"user": "100000/min", "anon": "100000/min"}
FORODHA_SANDBOX = env.bool("FORODHA_SANDBOX", default=False)
CELERY_BEAT_SCHEDULE = dict(CELERY_BEAT_SCHEDULE)
# The maintenance middleware reloads its snapshot on a version stamp; a periodic reload in the
# middle of a query-count assertion would make those tests flaky.
MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 3600
# Webhook tests deliver to receivers on 127.0.0.1; the SSRF guard is tested with it off
# (tests/risk/test_webhooks.py), and the live Schemathesis run turns it off through the environment.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=True)
# Tests run on the development secrets of base.py (core.checks; production refuses them).
FORODHA_DEVELOPMENT_SECRETS = True

# Uploaded documents go to a throw-away directory per test run, never into var/media. The directory
# travels to the processes a test starts (gunicorn workers, Celery) through the environment, so a
# file uploaded through one worker is read back through another.
import tempfile  # noqa: E402

from .base import STORAGES  # noqa: E402

if not os.environ.get("FORODHA_TEST_MEDIA_ROOT"):
    os.environ["FORODHA_TEST_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="forodha-test-media-")
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                    "OPTIONS": {"location": os.environ["FORODHA_TEST_MEDIA_ROOT"]}}}
