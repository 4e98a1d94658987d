"""Shared helpers of the reliability and security campaign (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from rest_framework.test import APIClient


def client_for(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def table_counts() -> dict[str, int]:
    """Row counts of every table of every installed model (one query)."""
    tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True) if m._meta.managed})
    existing = set(connection.introspection.table_names())
    tables = [t for t in tables if t in existing]
    qn = connection.ops.quote_name
    sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {qn(t)}" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {name: int(count) for name, count in cursor.fetchall()}


@pytest.fixture
def officer_token(db: Any) -> str:
    from rest_framework.authtoken.models import Token

    from tests.factories.officers import officer_create

    officer = officer_create("officer")
    token, _ = Token.objects.get_or_create(user=officer)
    return str(token.key)
