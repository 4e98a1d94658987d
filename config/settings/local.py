"""Local development and `make run`: embedded SQLite + filesystem broker unless configured."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
FORODHA_SANDBOX = env.bool("FORODHA_SANDBOX", default=True)
