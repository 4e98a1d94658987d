"""Plumbing of the hot request paths (docs/performance.md): token authentication that brings the
agent along, prepared statements on PostgreSQL, COPY-based child-row inserts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.db import insert_rows
from declarations.models import Assessment, AssessmentLine
from tests.factories.declarations import World, body_im4, world_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: Any) -> World:
    return world_create()


def _client(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def test_an_agent_request_authenticates_and_finds_its_agent_in_one_query(world: World) -> None:
    # given an agent's token; when it lists its declarations
    with CaptureQueriesContext(connection) as ctx:
        response = _client(world.token).get("/api/v1/declarations")
    # then the first query joins token, user, staff row and agent; no second look-up of the agent
    assert response.status_code == 200
    first = ctx.captured_queries[0]["sql"]
    assert all(table in first for table in ("authtoken_token", "traders_agentstaff", "traders_clearingagent"))
    assert not [q for q in ctx.captured_queries[1:] if 'FROM "traders_agentstaff"' in q["sql"]]


def test_a_token_of_a_user_who_is_not_agent_staff_is_refused_as_before(world: World) -> None:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    outsider = User.objects.create_user("outsider", password="x-Very-long-passphrase-1")
    token = Token.objects.create(user=outsider)
    response = _client(token.key).get("/api/v1/declarations")
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_agent"


def test_invalid_and_inactive_tokens_get_401(world: World) -> None:
    assert _client("0" * 40).get("/api/v1/declarations").status_code == 401
    world.staff.user.is_active = False
    world.staff.user.save(update_fields=["is_active"])
    response = _client(world.token).get("/api/v1/declarations")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_status_look_up_is_a_prepared_statement_after_two_calls(world: World, postgres: None) -> None:
    # given a lodged declaration
    api = _client(world.token)
    lodged = api.post("/api/v1/declarations", body_im4(world), format="json")
    assert lodged.status_code == 201
    entry = lodged.json()["entry_number"]
    # when the agent's system polls its status three times
    for _ in range(3):
        assert api.get(f"/api/v1/status?entry_number={entry}").json()["results"][0]["entry_number"] == entry
    # then PostgreSQL holds the look-up as a prepared statement of this connection (planned once)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("JOIN authtoken_token t ON t.user_id = s.user_id" in sql for sql in prepared)


def test_insert_rows_writes_exact_values_without_orm_statements(world: World) -> None:
    api = _client(world.token)
    lodged = api.post("/api/v1/declarations", body_im4(world), format="json")
    assessment = Assessment.objects.get(declaration_id=lodged.json()["id"])
    before = AssessmentLine.objects.filter(assessment=assessment).count()
    rows = [(assessment.pk, 90 + n, "fee", Decimal("0.00"), f"rule {n} — ünïcode", Decimal(f"{n}.25"),
             f"basis {n} — § 1", json.dumps([{"currency": "USD", "kes_per_unit": "129.4", "date": "2026-11-01"}]))
            for n in range(3)]
    columns = ("assessment", "line_no", "tax", "base", "rule", "amount", "legal_basis", "exchange_rates")
    with CaptureQueriesContext(connection) as ctx:
        written = insert_rows(AssessmentLine, columns, rows)
    assert written == 3
    assert len(ctx.captured_queries) == (0 if connection.vendor == "postgresql" else 1)  # COPY is not an ORM query
    stored = list(AssessmentLine.objects.filter(assessment=assessment, line_no__gte=90).order_by("line_no")
                  .values_list("assessment_id", "line_no", "tax", "base", "rule", "amount", "legal_basis",
                               "exchange_rates"))
    assert stored == [(*row[:7], json.loads(row[7])) for row in rows]
    assert AssessmentLine.objects.filter(assessment=assessment).count() == before + 3
    assert insert_rows(AssessmentLine, ("assessment", "line_no"), []) == 0


def test_hot_settings_are_memoised_and_follow_every_announced_change(settings) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings as django_settings

    from core.settings_cache import setting

    settings.MAINTENANCE_NOTICE_HORIZON_HOURS = 72
    assert setting("MAINTENANCE_NOTICE_HORIZON_HOURS") == 72
    # a silent change (no setting_changed signal) is not seen: the value is memoised...
    django_settings._wrapped.MAINTENANCE_NOTICE_HORIZON_HOURS = 1
    assert setting("MAINTENANCE_NOTICE_HORIZON_HOURS") == 72
    # ...and an announced one (override_settings, the settings fixture) is seen at once
    settings.MAINTENANCE_NOTICE_HORIZON_HOURS = 24
    assert setting("MAINTENANCE_NOTICE_HORIZON_HOURS") == 24
