"""Settings shared by every environment; values come from the environment (12-factor).

Environment-specific modules (`local`, `test`, `production`) import this and override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The officer workspace overrides admin templates, so it comes first; OfficersAdminConfig makes
    # admin.site the officer site (agents kept out, dashboard, queues).
    "officers.apps.OfficersConfig",
    "officers.apps.OfficersAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "reference",
    "traders",
    "tariff",
    "manifests",
    "declarations",
    "risk",
    "clearance",
    "intake",
    "maintenance",
    "notifications",
    "sandbox",
    "transit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    # NUL / lone surrogates in path, query or JSON body: 400 before anything stores or reads them.
    "core.middleware.InputTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before idempotency: a request refused by a maintenance window never touches the database.
    "maintenance.middleware.MaintenanceMiddleware",
    "core.idempotency.IdempotencyMiddleware",
    "sandbox.middleware.SandboxHeaderMiddleware",
    # Login throttling for the officer admin (5 failures per username + address: 15 min lockout).
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sandbox.context_processors.sandbox_clock",
            ],
        },
    },
]

# Embedded default: SQLite in var/ (WAL so the web process and the worker can share it).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'forodha.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    # Persistent connections: the web process keeps one connection per thread instead of paying a
    # TCP + auth round trip on every request. health checks keep a dead one from being reused.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameter binding + prepared statements (psycopg 3): every hot statement is
    # planned once per connection instead of on each call. The status look-up's 4-join query plans
    # in ~0.7 ms and runs in ~0.1 ms; a lodging's 30 statements cost PostgreSQL about half as much
    # CPU prepared (docs/performance.md). Off with DB_PREPARED_STATEMENTS=0, e.g. behind a
    # transaction-pooling PgBouncer older than 1.21 (no prepared-statement support).
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": env.int("DB_PREPARE_THRESHOLD", default=2)}
        )

    # Bounded waits when the primary goes away (docs/maintenance.md, "When the database is down"):
    # a refused or silent server costs at most DB_CONNECT_TIMEOUT seconds to notice, and a statement
    # hung on a dead server, in a WEB process, at most DB_STATEMENT_TIMEOUT_MS (below).
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=2)

# PostgreSQL `statement_timeout` of the primary, for web processes only (core/process_role.py: set
# by config.wsgi / config.asgi when a connection opens). Workers, beat and management commands (the
# replay, deadline shifts, migrations) run long statements by design and get none. 0 = off.
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=15000)

# The contingency intake store (app `intake`, router below): a database of its own, so agents keep
# lodging, with signed receipts, while the primary is away. Embedded default: an SQLite file in
# var/ (WAL: several web processes share it); docker-compose and production: a separate PostgreSQL.
DATABASES["intake"] = env.db("INTAKE_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'intake.sqlite3'}")
if DATABASES["intake"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["intake"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["intake"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
    DATABASES["intake"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["intake"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=2)
DATABASE_ROUTERS = ["intake.routers.IntakeRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL: str | None = env.str("REDIS_URL", default=None)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="forodha"),
            "TIMEOUT": 300,
        }
    }
else:
    # No Redis: a file cache is still shared by every process on the machine (web, worker, beat).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "TIMEOUT": 300,
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Africa/Nairobi"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded files (declaration documents) go through Django's storage API. Embedded default: the
# filesystem under var/media (never served by URL: the API streams them as attachments). With
# DOCUMENTS_STORAGE=s3, S3-compatible object storage through django-storages (docker-compose runs
# MinIO); the files stay private (no ACL, no public URL), the API reads and streams them.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
DOCUMENTS_STORAGE = env.str("DOCUMENTS_STORAGE", default="filesystem")
if DOCUMENTS_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "access_key": env.str("S3_ACCESS_KEY_ID"),
            "secret_key": env.str("S3_SECRET_ACCESS_KEY"),
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "addressing_style": "path",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif DOCUMENTS_STORAGE == "filesystem":
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": str(MEDIA_ROOT)}}
else:
    raise ValueError(f"DOCUMENTS_STORAGE must be 'filesystem' or 's3', not {DOCUMENTS_STORAGE!r}")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Largest supporting document (bytes); below the request body limit, which the multipart framing
# also counts against.
DECLARATION_DOCUMENT_MAX_BYTES = env.int("DECLARATION_DOCUMENT_MAX_BYTES", default=1536 * 1024)
WHITENOISE_USE_FINDERS = True

# Requests larger than this are refused with 413 problem+json before any parsing.
FORODHA_MAX_BODY_BYTES = env.int("FORODHA_MAX_BODY_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = FORODHA_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.AgentTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.ForodhaAutoSchema",
    "EXCEPTION_HANDLER": "core.exception_handler.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.CredentialRateThrottle",
        "core.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER_RATE", default="6000/min"),
        "anon": env.str("THROTTLE_ANON_RATE", default="600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Forodha API",
    "DESCRIPTION": (
        "Customs declaration lodging backend simulating Kenya's integrated Customs Management "
        "System (iCMS). Errors are RFC 9457 application/problem+json."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    # The problem answers every operation can give (core/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.problem_responses"],
}

# --- Celery -------------------------------------------------------------------------------------
# Without Redis the embedded default is kombu's filesystem transport: a real broker between
# processes that needs no server (used by `make run`).
# (With a host in the URL: a bare "filesystem://" makes kombu warn "No hostname was supplied" in
# every process, under the `make run` banner.)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # The visibility timeout must exceed the longest task time limit (and any countdown/ETA),
    # or Redis redelivers a message that a worker is still running (acks_late).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# Every task in Forodha takes ids and re-checks state, so redelivery is safe: ack after the work.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues by work type, so each can get its own workers (README, "Running on several machines").
# Patterns are matched in order; the first match wins.
CELERY_TASK_ROUTES = {
    "risk.score_*": {"queue": "scoring"},
    "maintenance.replay_*": {"queue": "replay"},
    # Webhook deliveries have their own queue: a firm's dead endpoints (retries, timeouts) never
    # sit in front of the notifications fan-out or another app's messages. (`risk.deliver_webhook`:
    # the name before the move to notifications, kept for messages sent before an upgrade.)
    "notifications.dispatch_webhooks": {"queue": "webhooks"},
    "notifications.sweep_webhooks": {"queue": "webhooks"},
    "risk.deliver_webhook": {"queue": "webhooks"},
    "notifications.*": {"queue": "notifications"},
    "transit.deliver_partner_message": {"queue": "notifications"},
    "transit.sweep_deliveries": {"queue": "notifications"},
    "clearance.*": {"queue": "clearance"},
    # The clearance tasks' names before the app was split out of risk (aliases kept for messages
    # sent before an upgrade, docs/clearance.md) and risk's sweeper.
    "risk.*": {"queue": "clearance"},
    "transit.*": {"queue": "clearance"},
    "maintenance.*": {"queue": "clearance"},
}
# Every queue is declared, so a plain `celery -A config worker` (no -Q: how Celery's docs and most
# people start one) consumes all of them; a worker started with `-Q scoring` still gets only its
# own. Without this list Celery declares only the default queue and a one-worker deployment would
# leave scoring and clearance messages waiting forever. Each queue gets the exchange and routing
# key Celery would have made for it (direct exchange named after the queue), so messages already
# in Redis from before stay routable. tests/core/test_celery_queues.py checks every route lands
# on a declared queue.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("default", "scoring", "clearance", "notifications", "webhooks", "replay")
)
FORODHA_QUEUES = [queue.name for queue in CELERY_TASK_QUEUES]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "purge-idempotency-keys": {"task": "core.purge_idempotency_keys", "schedule": 3600.0},
    "outbox-relay": {"task": "core.outbox_relay", "schedule": 5.0},
    "outbox-purge": {"task": "core.outbox_purge", "schedule": 3600.0},
}

# --- Forodha ------------------------------------------------------------------------------------
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=48)
# A record left "in flight" longer than this (a crashed process) may be taken over by a retry.
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS", default=120)
FORODHA_SANDBOX = env.bool("FORODHA_SANDBOX", default=False)
# The "insecure-..." defaults in this file are for development only: outside a sandbox, unless a
# settings module opts in (local, test), `manage.py check` fails on them and production settings
# refuse to import (core.checks, core.secrets). `python manage.py generate_secrets` makes real ones.
FORODHA_DEVELOPMENT_SECRETS = False
# Sandbox API-error recorder (trainee reports): newest rows kept per API user, older ones dropped.
SANDBOX_API_ERROR_RECORDS_PER_USER = env.int("SANDBOX_API_ERROR_RECORDS_PER_USER", default=500)

# LOG_LEVEL is what is logged; FORODHA_LOG_FILE adds a file that gets all of it, and
# FORODHA_CONSOLE_LOG_LEVEL raises the console's threshold (`manage.py devstack` sets both so the
# web's INFO lines go to var/log/web.log and the console shows warnings; README "Logs").
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "level": env.str("FORODHA_CONSOLE_LOG_LEVEL", default="NOTSET").upper(),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes says INFO on every process start ("AXES: BEGIN ...") and on every successful
        # login: noise on each management command. Lock-outs are WARNING and still show.
        "axes": {"level": "WARNING"},
    },
}
if env.str("FORODHA_LOG_FILE", default=""):
    LOGGING["handlers"]["file"] = {
        # Watched: several gunicorn workers append to it, and it survives logrotate.
        "class": "logging.handlers.WatchedFileHandler",
        "filename": env.str("FORODHA_LOG_FILE"),
        "formatter": "plain",
    }
    LOGGING["root"]["handlers"].append("file")

# --- risk ---------------------------------------------------------------------------------------
# Selectivity lanes by score (docs/risk.md): < BLUE green, < YELLOW blue, < RED yellow, else red.
RISK_LANE_BLUE_FROM = env.int("RISK_LANE_BLUE_FROM", default=30)
RISK_LANE_YELLOW_FROM = env.int("RISK_LANE_YELLOW_FROM", default=50)
RISK_LANE_RED_FROM = env.int("RISK_LANE_RED_FROM", default=80)
# Active AEOs with reduced inspection are drawn at this fraction of a random rule's rate.
RISK_AEO_RANDOM_RATE_FACTOR = env.str("RISK_AEO_RANDOM_RATE_FACTOR", default="0.2")
# Declarations lodged but unscored for longer than this are re-enqueued by risk's sweeper.
RISK_SWEEP_UNSCORED_MINUTES = env.int("RISK_SWEEP_UNSCORED_MINUTES", default=5)
# Declarations ready for clearance (paid, or nothing to pay) and scored but not advanced for longer
# than this are re-enqueued by clearance's sweeper (clearance.sweep_stalled, docs/clearance.md).
CLEARANCE_SWEEP_STALLED_MINUTES = env.int("CLEARANCE_SWEEP_STALLED_MINUTES", default=5)
# Unassigned yellow/red officer tasks escalate to supervisors when past their queue's service
# level (OFFICERS_SLA_HOURS below, clearance.sla): one rule for the timer and the pages.
# Webhook deliveries: attempts before giving up, first back-off (doubles each time, jittered),
# HTTP connect and read timeouts (docs/risk.md, "Push notifications").
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_SECONDS = env.int("WEBHOOK_BACKOFF_SECONDS", default=30)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3.0)
# Subscriptions per agent firm; failures in a row before an endpoint is suspended (circuit breaker);
# attempts of one firm in flight at once -- so one firm's dead endpoints can hold at most this many
# worker threads (the dispatcher skips the firm meanwhile, docs/notifications.md); how long one
# dispatcher message keeps claiming deliveries before handing its thread back (a fresh message
# carries on); dispatcher messages the beat sweeper sends at most when deliveries wait unclaimed.
WEBHOOK_MAX_SUBSCRIPTIONS_PER_AGENT = env.int("WEBHOOK_MAX_SUBSCRIPTIONS_PER_AGENT", default=10)
WEBHOOK_BREAKER_THRESHOLD = env.int("WEBHOOK_BREAKER_THRESHOLD", default=10)
WEBHOOK_AGENT_CONCURRENCY = env.int("WEBHOOK_AGENT_CONCURRENCY", default=2)
WEBHOOK_DISPATCH_BUDGET_SECONDS = env.float("WEBHOOK_DISPATCH_BUDGET_SECONDS", default=20.0)
WEBHOOK_DISPATCH_MAX_SWEEP_KICKS = env.int("WEBHOOK_DISPATCH_MAX_SWEEP_KICKS", default=8)
CELERY_BEAT_SCHEDULE.update(
    {
        "risk-sweep-unscored": {"task": "risk.sweep_unscored", "schedule": 60.0},
        "clearance-sweep-stalled": {"task": "clearance.sweep_stalled", "schedule": 60.0},
        "clearance-escalate-tasks": {"task": "clearance.escalate_overdue_tasks", "schedule": 60.0},
    }
)

# --- maintenance ---------------------------------------------------------------------------------
# Scheduled windows need this much notice unless marked emergency.
MAINTENANCE_MIN_NOTICE_HOURS = env.int("MAINTENANCE_MIN_NOTICE_HOURS", default=24)
# Each process re-reads the version stamp in the cache at most this often (changes show within it).
MAINTENANCE_CACHE_SECONDS = env.float("MAINTENANCE_CACHE_SECONDS", default=2.0)
# ... and reloads the windows from the database at least this often even without a bump.
MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = env.float("MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS", default=60.0)
# `Forodha-Maintenance` header on API responses when a window starts within this many hours.
MAINTENANCE_NOTICE_HORIZON_HOURS = env.int("MAINTENANCE_NOTICE_HORIZON_HOURS", default=72)
# Tasks deferred by a `full` window sleep at most this long per hop (below the broker visibility timeout).
MAINTENANCE_DEFER_MAX_COUNTDOWN_SECONDS = env.int("MAINTENANCE_DEFER_MAX_COUNTDOWN_SECONDS", default=900)
# Extra HS prefixes replayed first as perishables (exports of chapters 06-09 always are).
CONTINGENCY_PERISHABLE_HS_PREFIXES: list[str] = env.list("CONTINGENCY_PERISHABLE_HS_PREFIXES", default=[])
# Who lodges a buffered submission during replay is not a setting: the owning apps register their
# handlers in maintenance.replay_handlers from their AppConfig.ready (README "Architecture").
CONTINGENCY_REPLAY_BATCH_SIZE = env.int("CONTINGENCY_REPLAY_BATCH_SIZE", default=200)
# Ed25519 receipt key: base64 of the raw 32-byte private key. Without it, and with autogeneration on
# (dev/test/sandbox; production should set the key and turn it off), a key is kept in the file below.
RECEIPT_SIGNING_KEY = env.str("RECEIPT_SIGNING_KEY", default="")
RECEIPT_SIGNING_KEY_FILE = env.str("RECEIPT_SIGNING_KEY_FILE", default=str(VAR_DIR / "receipt_signing_key"))
RECEIPT_SIGNING_KEY_AUTOGENERATE = env.bool("RECEIPT_SIGNING_KEY_AUTOGENERATE", default=True)
CELERY_BEAT_SCHEDULE["maintenance-advance-windows"] = {"task": "maintenance.advance_windows", "schedule": 15.0}
CELERY_BEAT_SCHEDULE["notifications-sweep-webhooks"] = {"task": "notifications.sweep_webhooks", "schedule": 60.0}

# --- manifests ---
# Pre-arrival rule (KRA public notice 554): hours before ETA a manifest is due; later is "late".
MANIFEST_SEA_PRE_ARRIVAL_HOURS = env.int("MANIFEST_SEA_PRE_ARRIVAL_HOURS", default=48)
MANIFEST_AIR_PRE_ARRIVAL_HOURS = env.int("MANIFEST_AIR_PRE_ARRIVAL_HOURS", default=4)
# Percentage of a B/L's gross weight that declarations may write off beyond it (0: never more).
MANIFEST_WRITEOFF_WEIGHT_TOLERANCE_PERCENT = env.str("MANIFEST_WRITEOFF_WEIGHT_TOLERANCE_PERCENT", default="0")

# --- declarations ---
# Days between registration (lodging) and the e-slip's payment due date.
PAYMENT_DUE_DAYS = env.int("PAYMENT_DUE_DAYS", default=5)
# Late-payment interest on unpaid tax past the payment due date: Tax Procedures Act 2015 s.38,
# "one percent per month or part thereof on the amount of unpaid tax" (declarations/interest.py).
# RATE per month; RULE `month_or_part` (s.38: a month begun counts whole) or `whole_months`.
LATE_PAYMENT_INTEREST_RATE = env.str("LATE_PAYMENT_INTEREST_RATE", default="0.01")
LATE_PAYMENT_INTEREST_RULE = env.str("LATE_PAYMENT_INTEREST_RULE", default="month_or_part")
CELERY_BEAT_SCHEDULE["declarations-record-interest"] = {"task": "declarations.record_interest", "schedule": 3600.0}
# Shared secret of the bank's HMAC-SHA256 callback signature (X-Forodha-Signature over timestamp,
# nonce and body; docs/declarations.md). The default is refused outside sandboxes/dev/tests.
BANK_CALLBACK_SECRET = env.str("BANK_CALLBACK_SECRET", default="insecure-bank-callback-secret")
# A callback's X-Forodha-Timestamp must be within this many seconds of clock.now() (either side);
# its nonce is remembered at least this long (twice over) so a captured call cannot be replayed.
BANK_CALLBACK_TOLERANCE_SECONDS = env.int("BANK_CALLBACK_TOLERANCE_SECONDS", default=300)
# Late entry (EACCMA s.34, > 21 days after discharge): a flat penalty line. ILLUSTRATIVE amount,
# not a KRA figure (the Act's remedy is removal to a customs warehouse plus charges).
DECLARATION_LATE_ENTRY_PENALTY_KES = env.str("DECLARATION_LATE_ENTRY_PENALTY_KES", default="10000.00")
# Agent alteration of a non-tax field after lodging (KRA iCMS practice): USD per field changed.
DECLARATION_ALTERATION_FEE_USD = env.str("DECLARATION_ALTERATION_FEE_USD", default="5")
# Regimes whose declarations must quote an IDF of the (simulated) single window, and how far the
# declared invoice amount may differ from the IDF's value (percent of the IDF value, either way).
DECLARATION_IDF_REGIMES = env.list("DECLARATION_IDF_REGIMES", default=["IM4", "IM5", "IM6", "IM7"])
DECLARATION_IDF_VALUE_TOLERANCE_PERCENT = env.str("DECLARATION_IDF_VALUE_TOLERANCE_PERCENT", default="10")

# --- security headers (every environment) ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- officers ---
# Officer sessions: 8 hours (one shift), ended when the browser closes; the expiry slides with use.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = True
# Login throttling (django-axes): 5 failures lock out for 15 minutes both the username + address
# pair and the address on its own, counted across usernames, so one password sprayed over many
# usernames from one address is stopped too (issue 17). A successful login resets the counters.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_TIME_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "officers/lockout.html"
# Service level per queue (hours from the task's creation, the clock stopped while a query waits
# for the agent; AEO tasks get the AEO target). Also the escalation limit (clearance.sla).
OFFICERS_SLA_HOURS = {"documentary_check": 4, "inspection": 24, "aeo": 6}

# --- transit ---
# EAC Single Customs Territory transit (docs/transit.md). Days from release (departure) to the
# latest confirmed exit before a movement is overdue.
TRANSIT_PERIOD_DAYS = env.int("TRANSIT_PERIOD_DAYS", default=7)
# Destination partner states accepted for IM8/SCT transit out of Kenya.
TRANSIT_DESTINATIONS: list[str] = env.list("TRANSIT_DESTINATIONS", default=["UG", "RW", "SS", "CD", "BI", "TZ"])
# EAC regional AEO: fraction of the taxes at risk that the bond must secure (0.50 = half).
TRANSIT_AEO_BOND_FACTOR = env.str("TRANSIT_AEO_BOND_FACTOR", default="0.50")
# Django group of the cargo-tracking system client (RECTS) allowed to post e-seal events.
TRANSIT_TRACKING_GROUP = env.str("TRANSIT_TRACKING_GROUP", default="cargo_tracking_system")
# E-seal events stamped further than this in the future are refused (clock skew tolerance).
TRANSIT_EVENT_FUTURE_TOLERANCE_SECONDS = env.int("TRANSIT_EVENT_FUTURE_TOLERANCE_SECONDS", default=300)
# Exit on evidence: the shortest plausible journey (minutes) from the office of entry to the exit
# post, keyed "ENTRY:EXIT" ("*" for any other route). An arrival or exit confirmation sooner after
# departure opens a `too_fast` alert that holds the movement open. Road distances over the corridor
# speed limit for trucks (80 km/h) with no stops; Mombasa-Malaba is ~930 km.
TRANSIT_MIN_JOURNEY_MINUTES: dict[str, int] = env.json("TRANSIT_MIN_JOURNEY_MINUTES", default={
    "MBA:MAL": 720, "MBA:BSA": 720, "MBA:NMG": 360, "MBA:LUN": 75, "MBA:TVT": 180, "MBA:ISB": 660,
    "MBA:LKG": 1080, "MBA:MOY": 840, "NBO:MAL": 330, "NBO:BSA": 330, "NBO:NMG": 120, "NVS:MAL": 270,
    "KSM:BSA": 90, "KSM:MAL": 105, "*": 60,
})
# Partner-state messages: signature timestamp tolerance, delivery attempts, first back-off, HTTP timeout.
TRANSIT_SIGNATURE_TOLERANCE_SECONDS = env.int("TRANSIT_SIGNATURE_TOLERANCE_SECONDS", default=300)
TRANSIT_PARTNER_MAX_ATTEMPTS = env.int("TRANSIT_PARTNER_MAX_ATTEMPTS", default=6)
TRANSIT_PARTNER_BACKOFF_SECONDS = env.int("TRANSIT_PARTNER_BACKOFF_SECONDS", default=30)
TRANSIT_PARTNER_TIMEOUT_SECONDS = env.float("TRANSIT_PARTNER_TIMEOUT_SECONDS", default=5.0)
# Per partner: signing scheme ("hmac" or "ed25519"), endpoint URL ("" = the sandbox simulator),
# HMAC secret / partner's Ed25519 public key (base64). Empty keys are derived from SECRET_KEY
# (development and sandbox only; production sets every key).
TRANSIT_PARTNERS: dict[str, dict[str, str]] = env.json("TRANSIT_PARTNERS", default={
    "UG": {"name": "Uganda Revenue Authority", "scheme": "hmac", "endpoint": "", "secret": ""},
    "RW": {"name": "Rwanda Revenue Authority", "scheme": "ed25519", "endpoint": "", "public_key": ""},
    "SS": {"name": "South Sudan Revenue Authority", "scheme": "hmac", "endpoint": "", "secret": ""},
    "CD": {"name": "DGDA (DR Congo customs)", "scheme": "hmac", "endpoint": "", "secret": ""},
    "BI": {"name": "Office Burundais des Recettes", "scheme": "hmac", "endpoint": "", "secret": ""},
    "TZ": {"name": "Tanzania Revenue Authority", "scheme": "ed25519", "endpoint": "", "public_key": ""},
})
# Forodha's own Ed25519 key for messages to ed25519 partners (base64 of the raw 32 bytes; "" = derived).
TRANSIT_SIGNING_KEY = env.str("TRANSIT_SIGNING_KEY", default="")
# Partner-state simulator: on in sandbox mode, or forced with this flag (tests, demos).
TRANSIT_PARTNER_SIMULATOR = env.bool("TRANSIT_PARTNER_SIMULATOR", default=False)
# Simulator mode when no PartnerSimulatorControl row exists: auto, delay, refuse, silent, unreachable.
TRANSIT_SIMULATOR_DEFAULT_MODE = env.str("TRANSIT_SIMULATOR_DEFAULT_MODE", default="auto")
CELERY_BEAT_SCHEDULE["transit-flag-overdue"] = {"task": "transit.flag_overdue", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["transit-simulator-tick"] = {"task": "transit.simulator_tick", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["transit-sweep-deliveries"] = {"task": "transit.sweep_deliveries", "schedule": 120.0}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({  # type: ignore[attr-defined]
    "BillKindEnum": "manifests.enums.BillKind",
    "ManifestStatusEnum": "manifests.enums.ManifestStatus",
    "TransportModeEnum": "manifests.enums.TransportMode",
    "WebhookSubscriptionStatusEnum": "notifications.webhooks.models.WebhookSubscriptionStatus",
})
# --- maintenance (replay parallelism) ---
# Replay tasks started together when service returns (rows are claimed with SKIP LOCKED, so
# parallel replayers never lodge a submission twice; priority order holds within each stream).
CONTINGENCY_REPLAY_WORKERS = env.int("CONTINGENCY_REPLAY_WORKERS", default=2)
# Replayed submissions committed per transaction (each still in its own savepoint).
CONTINGENCY_REPLAY_COMMIT_EVERY = env.int("CONTINGENCY_REPLAY_COMMIT_EVERY", default=20)
# Set-based replay (docs/maintenance.md "Set-based replay"): declarations validated together and
# lodged in one transaction per chunk, each table written once (through the chunk callables the
# apps register with their replay handlers). False: one by one.
CONTINGENCY_REPLAY_SET_BASED = env.bool("CONTINGENCY_REPLAY_SET_BASED", default=True)
CONTINGENCY_REPLAY_CHUNK_SIZE = env.int("CONTINGENCY_REPLAY_CHUNK_SIZE", default=100)
# Each replayed chunk is scored (selectivity, channel) inside its own transaction, by the replay
# process, instead of by the scoring workers after commit: the backlog is done when the replay is.
# False: the chunk's scoring messages go through the outbox to the `scoring` queue, as a lodging's.
CONTINGENCY_REPLAY_SCORE_INLINE = env.bool("CONTINGENCY_REPLAY_SCORE_INLINE", default=True)
# Webhook URLs must resolve to public addresses (SSRF guard), at subscription and at every
# delivery, in every mode -- sandboxes and local runs included. Receivers on a private network
# (a trainer's laptop) need this set explicitly in the environment.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- intake (contingency that survives the primary database going away; docs/maintenance.md) ---
# Consecutive failures to reach the primary that open the circuit breaker, and how long it stays
# open (bufferable requests go straight to the intake store, others get 503) before one probe.
INTAKE_BREAKER_FAILURES = env.int("INTAKE_BREAKER_FAILURES", default=3)
INTAKE_BREAKER_OPEN_SECONDS = env.float("INTAKE_BREAKER_OPEN_SECONDS", default=5.0)
# Retry-After on the 503 `database_unavailable` answers.
INTAKE_RETRY_AFTER_SECONDS = env.int("INTAKE_RETRY_AFTER_SECONDS", default=10)
# A resubmission naming a rejected submission (Forodha-Corrects) within this many days keeps its
# receipt time and deadline relief.
INTAKE_CORRECTION_DAYS = env.int("INTAKE_CORRECTION_DAYS", default=7)
# The hashed token copy is reconciled with the primary this often (revocations show within 60 s).
INTAKE_TOKEN_RECONCILE_SECONDS = env.float("INTAKE_TOKEN_RECONCILE_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE["intake-reconcile-tokens"] = {"task": "intake.reconcile_tokens",
                                                   "schedule": INTAKE_TOKEN_RECONCILE_SECONDS}
CELERY_TASK_ROUTES["intake.*"] = {"queue": "clearance"}

# --- provisional release during contingency (docs/maintenance.md, "Provisional release") ---------
# The qualifying rules, AEO statuses and watch-list are copied to the intake store this often (and
# on every rule change), so a decision made with the primary away is at most this old.
PROVISIONAL_RELEASE_SNAPSHOT_SECONDS = env.float("PROVISIONAL_RELEASE_SNAPSHOT_SECONDS", default=60.0)
# After recovery, provisionally released submissions are compared with their full processing this often.
PROVISIONAL_RELEASE_RECONCILE_SECONDS = env.float("PROVISIONAL_RELEASE_RECONCILE_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["maintenance-refresh-release-snapshot"] = {
    "task": "maintenance.refresh_release_snapshot", "schedule": PROVISIONAL_RELEASE_SNAPSHOT_SECONDS}
CELERY_BEAT_SCHEDULE["clearance-reconcile-provisional-releases"] = {
    "task": "clearance.reconcile_provisional_releases", "schedule": PROVISIONAL_RELEASE_RECONCILE_SECONDS}
