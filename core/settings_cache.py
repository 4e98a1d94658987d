"""A per-process memo of the few settings read on every request.

`settings.NAME` goes through `LazyObject.__getattribute__` (Python code, about a microsecond);
the maintenance middleware and `core.clock.now()` read three settings per API request, which
was a third of the middleware's cost on the cheapest endpoint. The memo is dropped for a name
whenever Django announces a change (`override_settings`, pytest-django's `settings` fixture).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_values: dict[str, Any] = {}


def setting(name: str) -> Any:
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = getattr(settings, name)
        return value


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    _values.pop(setting, None)
