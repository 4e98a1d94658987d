"""Audit trail: every event table is append-only (the database refuses UPDATE and DELETE, through
the ORM and raw SQL) and hash-chained per subject, `manage.py audit verify` detects tampering, and a
full lodging -> payment -> release -> exit path leaves exactly one event row per transition, each
with its actor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, models, transaction

from clearance import tasks as clearance_tasks
from clearance.services.release import declaration_gate_out
from core import clock
from core.audit import GENESIS_HASH, registered_chains
from declarations.models import Declaration, DeclarationEvent, ESlip
from declarations.services import declaration_lodge, declaration_pay
from manifests.models import ManifestEvent
from risk import tasks as risk_tasks
from tests.factories.declarations import body_im4, world_create
from tests.factories.officers import officer_create

pytestmark = pytest.mark.django_db


# --- one real event row of each registered chain -------------------------------------------------

def _declaration_event() -> models.Model:
    world = world_create()
    declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world), actor=world.user)
    return DeclarationEvent.objects.latest("pk")


def _manifest_event() -> models.Model:
    from manifests.enums import EventKind
    from manifests.models import Manifest
    from manifests.services.common import record_event

    world = world_create()
    with transaction.atomic():
        manifest = Manifest.objects.select_for_update().get(pk=world.manifest.pk)
        record_event(manifest=manifest, kind=EventKind.TRANSITION, actor=world.user, at=clock.now(),
                     from_status=manifest.status, to_status=manifest.status, reason="audit test")
    return ManifestEvent.objects.latest("pk")


def _window_event() -> models.Model:
    from maintenance.models import MaintenanceWindowEvent
    from maintenance.services import window_schedule

    start = clock.now() + dt.timedelta(days=10)
    window_schedule(starts_at=start, ends_at=start + dt.timedelta(hours=1), reason="Database upgrade", actor=None)
    return MaintenanceWindowEvent.objects.latest("pk")


def _outage_event() -> models.Model:
    from maintenance.models import OutageEvent
    from maintenance.services import outage_start

    outage_start(reason="Data centre power loss", actor=None)
    return OutageEvent.objects.latest("pk")


def _movement_event() -> models.Model:
    from tests.factories.transit import RegionalBondFactory, transit_world
    from tests.transit.conftest import lodge
    from transit.models import TransitMovementEvent

    world = transit_world(containers=1)
    RegionalBondFactory(principal_agent=world.agent, amount=Decimal("1000000.00"))
    lodge(world)
    return TransitMovementEvent.objects.latest("pk")


def _aeo_change() -> models.Model:
    from tests.factories.traders import TraderFactory
    from traders.models import AEOProfileChange
    from traders.services import aeo_profile_grant

    aeo_profile_grant(trader=TraderFactory(), valid_from=dt.date(2024, 1, 1), reason="granted")
    return AEOProfileChange.objects.latest("pk")


def _webhook_subscription_event() -> models.Model:
    from notifications.models import WebhookSubscriptionEvent
    from notifications.webhooks.services import webhook_subscription_create, webhook_subscription_delete
    from tests.factories.traders import agent_with_token

    staff, _ = agent_with_token()
    subscription = webhook_subscription_create(agent=staff.agent, url="https://hooks.example.test/h", actor=staff)
    webhook_subscription_delete(agent=staff.agent, subscription_id=subscription.pk, actor=staff)
    return WebhookSubscriptionEvent.objects.latest("pk")


def _release_rule_event() -> models.Model:
    from maintenance.models import ProvisionalReleaseRule, ProvisionalReleaseRuleEvent
    from maintenance.provisional import release_rule_save

    rule = ProvisionalReleaseRule.objects.get(code="perishable-exports")
    release_rule_save(rule=rule, data={"validity_hours": 48}, actor=None, reason="Shorter this season")
    return ProvisionalReleaseRuleEvent.objects.latest("pk")


def _provisional_release_case_event() -> models.Model:
    import uuid

    from clearance.models import ProvisionalReleaseCase, ProvisionalReleaseCaseEvent
    from clearance.services.reconciliation import provisional_release_case_close
    from tests.factories.officers import officer_create

    now = clock.now()
    case = ProvisionalReleaseCase.objects.create(
        release_id=uuid.uuid4(), submission_id=uuid.uuid4(), trader_pin="P051234567X", rule="perishable-exports",
        released_at=now, expires_at=now + dt.timedelta(hours=72), summary="Rejected at replay", created_at=now)
    ProvisionalReleaseCaseEvent.objects.create(case=case, to_status="open", created_at=now)
    provisional_release_case_close(case_id=case.pk, outcome="Audited", actor=officer_create("supervisor"))
    return ProvisionalReleaseCaseEvent.objects.latest("pk")


MAKERS: dict[str, Callable[[], models.Model]] = {
    "declarations.DeclarationEvent": _declaration_event,
    "manifests.ManifestEvent": _manifest_event,
    "maintenance.MaintenanceWindowEvent": _window_event,
    "maintenance.OutageEvent": _outage_event,
    "transit.TransitMovementEvent": _movement_event,
    "traders.AEOProfileChange": _aeo_change,
    "notifications.WebhookSubscriptionEvent": _webhook_subscription_event,
    "maintenance.ProvisionalReleaseRuleEvent": _release_rule_event,
    "clearance.ProvisionalReleaseCaseEvent": _provisional_release_case_event,
}


def test_every_event_table_is_registered_and_covered_here() -> None:
    # then: a new chain must get a maker above (and so the refusal tests below)
    assert {spec.model._meta.label for spec in registered_chains()} == set(MAKERS)


def _refused(action: Callable[[], Any]) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        action()


@pytest.mark.parametrize("label", sorted(MAKERS))
def test_updates_and_deletes_are_refused_through_the_orm_and_raw_sql(label: str) -> None:
    # given: a real event row, chained
    row = MAKERS[label]()
    model = type(row)
    table = connection.ops.quote_name(model._meta.db_table)
    before = model.objects.filter(pk=row.pk).values().get()
    assert len(before["hash"]) == 64
    assert before["prev_hash"] != ""

    def instance_save() -> None:
        row.reason = "rewritten history"  # type: ignore[attr-defined]
        row.save()

    def raw(sql: str) -> Callable[[], None]:
        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, [row.pk])
        return run

    # when / then: every way of changing or removing it is refused by the database
    _refused(lambda: model.objects.filter(pk=row.pk).update(reason="rewritten"))
    _refused(instance_save)
    _refused(lambda: model.objects.filter(pk=row.pk).delete())
    _refused(lambda: model.objects.get(pk=row.pk).delete())
    _refused(raw(f"UPDATE {table} SET reason = 'rewritten' WHERE id = %s"))
    _refused(raw(f"DELETE FROM {table} WHERE id = %s"))
    # and the row is exactly as written, its chain intact
    assert model.objects.filter(pk=row.pk).values().get() == before
    call_command("audit", "verify", stdout=_Sink())


def test_deleting_a_subject_with_events_is_refused_too() -> None:
    # given: a maintenance window with its event (the events cascade on delete; declarations are
    # protected by their assessments anyway)
    from maintenance.models import MaintenanceWindow, MaintenanceWindowEvent

    event = _window_event()
    # when / then: the cascade would delete the event row: refused, nothing removed
    _refused(lambda: MaintenanceWindow.objects.filter(pk=event.window_id).delete())  # type: ignore[attr-defined]
    assert MaintenanceWindow.objects.filter(pk=event.window_id).exists()  # type: ignore[attr-defined]
    assert MaintenanceWindowEvent.objects.filter(pk=event.pk).exists()


class _Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        return None


def _full_path() -> tuple[Declaration, Any, Any]:
    """Lodging (agent) -> scoring (system) -> payment (agent) -> automatic release (system) ->
    gate-out (officer), through the real services."""
    world = world_create(bl_packages=1)
    officer = officer_create("officer")
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world), actor=world.user)
    risk_tasks.score_declaration(str(declaration.pk))
    eslip = ESlip.objects.get(declaration=declaration, is_current=True)
    declaration_pay(declaration_id=declaration.pk, agent=world.agent, amount=eslip.amount, currency=eslip.currency,
                    method="mpesa", actor=world.user)
    assert clearance_tasks.advance_clearance(str(declaration.pk)) == "released"
    declaration_gate_out(declaration_id=declaration.pk, actor=officer)
    declaration.refresh_from_db()
    return declaration, world, officer


def test_every_transition_has_exactly_one_event_row_with_its_actor() -> None:
    # given / when
    declaration, world, officer = _full_path()
    # then: one row per status change, in order, each naming who did it
    events = list(DeclarationEvent.objects.filter(declaration=declaration).order_by("pk"))
    transitions = [(e.from_status, e.to_status, e.actor_id, e.actor_label) for e in events
                   if e.from_status != e.to_status]
    user = world.user
    assert transitions == [
        ("", "registered", user.pk, user.username),
        ("registered", "assessed", user.pk, user.username),
        ("assessed", "paid", user.pk, user.username),
        ("paid", "released", None, "system"),
        ("released", "exited", officer.pk, officer.username),
    ]
    assert declaration.status == "exited"
    others = [(e.kind, e.actor_id, e.actor_label) for e in events if e.from_status == e.to_status]
    assert others == [("channel", None, "system")]
    # and the chain of the declaration links every row to the one before
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert len({e.hash for e in events}) == len(events)
    # and the B/L settlement is on the manifest's chain, with the same actor as the release
    settled = ManifestEvent.objects.get(manifest=world.manifest, kind="bill_settled")
    assert (settled.actor_id, settled.to_status) == (None, "settled")


def _tamper(table: str, sql: str, params: list[Any]) -> None:
    """What a superuser could do behind the trigger's back (or a restored, edited backup)."""
    qn = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks: ALTER TABLE needs that
        cursor.execute(f"ALTER TABLE {qn} DISABLE TRIGGER ALL")
        cursor.execute(sql.format(table=qn), params)
        cursor.execute(f"ALTER TABLE {qn} ENABLE TRIGGER ALL")


def test_audit_verify_passes_on_an_intact_database_and_fails_after_tampering(postgres: None) -> None:
    # given: a full path (declaration and manifest chains)
    declaration, _, _ = _full_path()
    out = _Sink()
    # when / then: intact
    call_command("audit", "verify", stdout=out)
    assert "audit chains intact" in out.text
    assert "declarations.DeclarationEvent: 6 rows, 0 problems" in out.text
    # when: the reason of the release event is rewritten with the trigger disabled
    released = DeclarationEvent.objects.get(declaration=declaration, to_status="released")
    _tamper("declarations_declarationevent", "UPDATE {table} SET reason = %s WHERE id = %s",
            ["officer approved", released.pk])
    # then: detected, exit status 1
    with pytest.raises(CommandError) as failed:
        call_command("audit", "verify", stdout=(out := _Sink()))
    assert failed.value.returncode == 1
    assert f"subject {declaration.pk} row {released.pk}: content does not match its hash" in out.text


def test_audit_verify_detects_a_removed_row(postgres: None) -> None:
    # given
    declaration, _, _ = _full_path()
    rows = list(DeclarationEvent.objects.filter(declaration=declaration).order_by("pk"))
    # when: the payment event is removed behind the trigger's back
    paid = next(e for e in rows if e.to_status == "paid")
    following = rows[rows.index(paid) + 1]
    _tamper("declarations_declarationevent", "DELETE FROM {table} WHERE id = %s", [paid.pk])
    # then
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=(out := _Sink()))
    assert f"row {following.pk}: broken link (row removed or reordered)" in out.text
    assert "1 problems" in out.text.replace("declarations.DeclarationEvent: 5 rows, 1 problems", "1 problems")


@pytest.mark.django_db(transaction=True)
def test_manage_py_audit_verify_exit_status_is_0_intact_and_1_after_tampering(postgres: None) -> None:
    """The real command line, in a subprocess, on committed data."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    # given: committed events (a lodged declaration)
    event = _declaration_event()
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    root = Path(__file__).resolve().parents[2]

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "manage.py", "audit", "verify"], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)

    # when / then
    intact = verify()
    assert intact.returncode == 0, intact.stdout + intact.stderr
    _tamper("declarations_declarationevent", "UPDATE {table} SET actor_label = %s WHERE id = %s",
            ["someone else", event.pk])
    tampered = verify()
    assert tampered.returncode == 1
    assert f"row {event.pk}: content does not match its hash" in tampered.stdout
