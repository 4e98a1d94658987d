"""System checks: no default or empty secret outside a sandbox (issue 17).

Two registrations, one list of problems (`core.secrets.secret_problems`):
- always (every `manage.py` command, `runserver`, `migrate`): errors unless the settings allow
  development secrets (sandbox mode, `config.settings.local`, `config.settings.test`);
- `check --deploy`: reports the same problems even where development secrets are allowed, so a
  deployment check never passes on a default secret. The two never report the same problem twice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from .secrets import development_secrets_allowed, secret_problems


def _errors() -> list[CheckMessage]:
    return [Error(p.message, hint=p.hint, id=p.check_id) for p in secret_problems(settings)]


@register(Tags.security)
def secrets_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if development_secrets_allowed(settings):
        return []
    return _errors()


@register(Tags.security, deploy=True)
def secrets_deploy_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not development_secrets_allowed(settings):
        return []  # secrets_check above already reports them
    return _errors()
