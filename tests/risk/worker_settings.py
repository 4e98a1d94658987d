"""Settings of the Celery worker subprocesses started by tests/risk/test_worker.py: the test
settings with a short Redis visibility timeout and a restore sweep every second, so a message
whose worker was SIGKILLed is redelivered within seconds instead of an hour."""

from config.settings.test import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 4,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
