"""Shared helpers of the reliability and security campaign (issue 11)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import clock
from declarations.services import declaration_lodge
from notifications.models import WebhookSubscription
from tests.factories.declarations import body_im4, world_create
from tests.factories.manifests import carrier_with_token
from tests.factories.transit import RegionalBondFactory, tracking_system_token, transit_world


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


@pytest.fixture
def principals(officer_token: str) -> tuple[dict[str, str | None], dict[str, Any]]:
    """Tokens of every kind of principal, and objects owned by `agent`, `carrier` and `transit_agent`."""
    world = world_create()
    other = world_create()
    transit = transit_world(containers=1)
    RegionalBondFactory(principal_agent=transit.agent, amount=Decimal("1000000.00"))
    _, carrier_token = carrier_with_token(carrier=world.manifest.carrier)
    _, carrier_other_token = carrier_with_token()
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world), actor=world.user)
    webhook = WebhookSubscription.objects.create(agent=world.agent, url="https://hooks.example.test/forodha",
                                                 secret="s" * 64, created_at=clock.now())
    from tests.transit.conftest import lodge

    movement = lodge(transit)
    from manifests.models import ManifestVersion

    ManifestVersion.objects.get_or_create(manifest=world.manifest, version=1, defaults={
        "snapshot": {}, "reason": "lodged", "created_at": clock.now()})
    tokens: dict[str, str | None] = {
        "agent": world.token, "agent_other": other.token, "carrier": carrier_token,
        "carrier_other": carrier_other_token, "transit_agent": transit.token, "officer": officer_token,
        "anonymous": None, "tracking": tracking_system_token(),
    }
    assert Token.objects.filter(key__in=[t for t in tokens.values() if t]).count() == 7
    from declarations.services import document_upload

    document = document_upload(declaration_id=declaration.pk, agent=world.agent, kind="INV", reference="INV-1",
                               item_line_no=None, filename="invoice.pdf", claimed_content_type="application/pdf",
                               data=b"%PDF-1.7\n%%EOF\n", actor=world.user)
    from tests.factories.maintenance import BufferedSubmissionFactory

    submission = BufferedSubmissionFactory(agent=world.user)  # a contingency receipt of the agent's
    from intake.identity import token_copies_reconcile

    token_copies_reconcile()  # intake authenticates from its copies (filled after commit in real use)
    objects = {"declaration": declaration.pk, "document": document.pk, "webhook": webhook.pk, "movement": movement.pk,
               "manifest": world.manifest.pk, "bl": world.bl.number, "pin": world.trader.pin,
               "submission": submission.pk}
    return tokens, objects
