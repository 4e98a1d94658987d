"""Local development and `make run`: embedded SQLite + filesystem broker unless configured."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
FORODHA_SANDBOX = env.bool("FORODHA_SANDBOX", default=True)
# `make run` (embedded demo) works with no environment at all: the development secrets of
# base.py are allowed here and in tests only (core.checks; production refuses them).
FORODHA_DEVELOPMENT_SECRETS = env.bool("FORODHA_DEVELOPMENT_SECRETS", default=True)
