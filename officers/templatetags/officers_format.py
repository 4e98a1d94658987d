"""Template filters of the officer workspace (see `officers.formatting`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from officers import formatting

register = template.Library()


@register.filter
def kes(value: Any) -> str:
    return formatting.money(value)


@register.filter
def eat(value: dt.datetime | None) -> str:
    return formatting.eat(value)


@register.filter
def tax_name(value: str) -> str:
    return formatting.tax_name(value)


@register.filter
def yes_no(value: Any) -> str:
    return formatting.yes_no(value)
