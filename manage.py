#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # An operator's command prints its own output; the apps' INFO lines ("risk: ... scored green")
    # are for servers and workers (their log files). `runserver` and `devstack` keep every level;
    # an explicit FORODHA_CONSOLE_LOG_LEVEL always wins.
    if len(sys.argv) > 1 and sys.argv[1] not in ("runserver", "devstack"):
        os.environ.setdefault("FORODHA_CONSOLE_LOG_LEVEL", "WARNING")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
